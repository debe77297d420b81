"""The data panel's commands: choose the dataset from the page (a preset or a typed formula).

`set_data {preset | formula, noise, n_train, test_fraction, seed}` samples a dataset
(`kanwidget.core.presets`), sets `session.target` / `session.task` and the model's data through the change
door (one version "data: <name>", so Undo brings the old data back), and publishes `data_source`.
`regenerate {}` samples the same source with the next seed.

Versions do not hold data, so the panel remembers, per version id of the lineage, the data that was
loaded (dataset, `data_source`, target, task) and puts it back when a checkout / undo lands on a version.
A formula is parsed by `kanwidget.core.expression` (never evaluated as Python).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kanwidget.core.expression import FormulaError, parse_formula
from kanwidget.core.operations.losses import SMOOTHING, smoothed_floor
from kanwidget.core.presets import PRESETS, resolve_source, sample_dataset
from kanwidget.widget.protocol import CommandError

if TYPE_CHECKING:
    import threading

    from kanwidget.widget.session import Session

#: the loss the widget's fits use per task (fit's named losses, core/operations/losses.py): classification
#: presets train with the logistic loss on labels smoothed by SMOOTHING, so separable data (blobs, circles)
#: converge to logits of about +/-5.3 instead of growing without end (losses.py says why)
TASK_LOSS = {"regression": None, "classification": "logistic_smoothed"}


@dataclass(frozen=True)
class DataRecord:
    """What was loaded at one version: the dataset and the description of where it came from."""
    dataset: Any
    source: dict[str, Any]
    target: Any
    task: str


class DataPanel:
    """Per-widget state of the panel: the data per version of the current lineage."""

    def __init__(self, session: "Session") -> None:
        self.s = session
        self.lineage: Any = None
        self.records: dict[int, DataRecord] = {}
        self.initial: DataRecord | None = None

    def now(self) -> DataRecord:
        s = self.s
        return DataRecord(s.model.data, dict(s.widget.data_source), s.target, s.task)

    def follow(self) -> None:
        """Subscribe to the current model's lineage (once per lineage)."""
        lineage = self.s.model.lineage
        if lineage is self.lineage:
            return
        if self.lineage is not None:
            self.lineage.off("version", self._on_version)
            self.lineage.off("structure", self._on_structure)
        self.lineage, self.records, self.initial = lineage, {}, self.now()
        lineage.on("version", self._on_version)
        lineage.on("structure", self._on_structure)

    def stamp(self) -> None:
        """Remember what is loaded now for the current version (before a change of data)."""
        current = self.s.model.lineage.current
        if current is not None:
            self.records[current] = self.now()

    def _on_version(self, version: Any) -> None:
        if self.s.model.lineage is self.lineage:
            self.records[version.id] = self.now()

    def _on_structure(self, model: Any, kind: str) -> None:
        if kind != "checkout" or model.lineage is not self.lineage:
            return
        record = self._record_for(model.lineage.current)
        if record is None:
            return
        model.data = record.dataset
        self.apply(record)
        self.s.publisher.refresh(_data_parts())

    def _record_for(self, version_id: int | None) -> DataRecord | None:
        lineage = self.lineage
        while version_id is not None:
            if version_id in self.records:
                return self.records[version_id]
            try:
                version_id = lineage.get(version_id).parent
            except (KeyError, ValueError):
                break
        return self.initial

    def apply(self, record: DataRecord) -> None:
        s = self.s
        s.target, s.task = record.target, record.task
        s.widget.data_source = record.source


def panel_of(s: "Session") -> DataPanel:
    """The session's DataPanel (made on first use)."""
    panel = getattr(s, "data_panel", None)
    if panel is None:
        panel = DataPanel(s)
        s.data_panel = panel  # type: ignore[attr-defined]
    return panel


def _data_parts() -> set[str]:
    from kanwidget.widget.publisher import ALL_PARTS
    return {"graph", "has_data", "inspector"} | ({"dataview"} & set(ALL_PARTS))


def _fail(message: str) -> CommandError:
    return CommandError(f"set_data: {message}")


def _source(s: "Session", preset: str | None, formula: str | None) -> Any:
    width = s.model.width
    n_in, n_out = width[0], width[-1]
    if n_out != 1:
        raise _fail(f"the data panel makes one output, but the model has {n_out} outputs (width[-1] = {n_out})")
    if (preset is None) == (formula is None):
        raise _fail("give exactly one of preset or formula")
    if preset is not None:
        p = PRESETS[preset]
        if p.n_var != n_in:
            raise _fail(f"preset {preset!r} has {p.n_var} input{'s' if p.n_var != 1 else ''} but the model has "
                        f"{n_in} (width[0] = {n_in}); choose a preset with {n_in} input{'s' if n_in != 1 else ''} "
                        "or build a model for it")
        return resolve_source(preset=preset)
    try:
        parsed = parse_formula(formula)
    except FormulaError as exc:
        raise _fail(str(exc)) from None
    if parsed.n_var > n_in:
        raise _fail(f"formula {formula!r} uses x_{parsed.n_var} but the model has {n_in} input"
                    f"{'s' if n_in != 1 else ''} (width[0] = {n_in}): use x_1..x_{n_in}")
    return resolve_source(formula=formula, n_var=n_in)


def load(s: "Session", preset: str | None, formula: str | None, noise: float, n_train: int,
         test_fraction: float, seed: int) -> tuple[Any, str]:
    """Validate, sample and load a dataset as one version; the model and data stay as they were on error."""
    source = _source(s, preset, formula)
    model = s.model
    try:
        dataset = sample_dataset(source, n_train=n_train, test_fraction=test_fraction, noise=noise, seed=seed,
                                 dtype=model.dtype)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    dataset = {k: v.to(model.device) for k, v in dataset.items()}
    panel = panel_of(s)
    panel.follow()
    if not model.lineage.versions:          # a first version to come back to (the data before)
        with model.lineage.change(model, "init"):
            pass
    panel.stamp()
    before = panel.now()
    n_test = dataset["test_input"].shape[0]
    info = {"kind": source.kind, "name": source.name, "formula": source.text, "latex": _latex(source),
            "noise": noise, "n_train": n_train, "n_test": n_test, "test_fraction": test_fraction, "seed": seed,
            "task": source.task, "n_var": source.n_var, **_loss_info(source.task)}
    panel.apply(DataRecord(dataset, info, source.target, source.task))
    try:
        with model.lineage.change(model, f"data: {source.name}", kind="data"):
            model.data = dataset
    except BaseException:
        panel.apply(before)
        raise
    s.publisher.refresh(_data_parts())
    what = source.name if source.kind == "preset" else f"formula {source.text}"
    return dataset, f"data: {what} · {n_train} train / {n_test} test points · seed {seed}"


def _loss_info(task: str) -> dict[str, float]:
    """For a classification: the label smoothing of its loss and the loss's floor (what a perfect fit reports)."""
    if TASK_LOSS.get(task) != "logistic_smoothed":
        return {}
    return {"smoothing": SMOOTHING, "loss_floor": smoothed_floor(SMOOTHING)}


def _latex(source: Any) -> str:
    try:
        return source.latex()
    except Exception:  # noqa: BLE001 - display only
        return ""


def set_data(s: "Session", stop: "threading.Event", preset: str | None, formula: str | None, noise: float,
             n_train: int, test_fraction: float, seed: int) -> tuple[Any, str]:
    """The `set_data` command."""
    return load(s, preset, formula, noise, n_train, test_fraction, seed)


def regenerate(s: "Session", stop: "threading.Event") -> tuple[Any, str]:
    """The `regenerate` command: the loaded preset or formula sampled again with the next seed."""
    info = s.widget.data_source
    if info.get("kind") not in ("preset", "formula"):
        raise CommandError("regenerate: load a preset or a formula first (set_data); data given from Python "
                           "cannot be sampled again")
    preset = info["name"] if info["kind"] == "preset" else None
    formula = info["formula"] if info["kind"] == "formula" else None
    return load(s, preset, formula, info["noise"], info["n_train"], info["test_fraction"], int(info["seed"]) + 1)


def python_data(s: "Session") -> None:
    """`w.dataset = {...}` from Python: the panel shows kind "python", no target, task regression."""
    data, previous = s.model.data, dict(s.widget.data_source)
    if data is None:
        s.widget.data_source = {}
    else:
        n = int(data["train_input"].shape[0])
        s.widget.data_source = {"kind": "python", "name": "python", "formula": "", "latex": "",
                                "n_train": n, "n_test": int(data["test_input"].shape[0]),
                                "n_var": int(data["train_input"].shape[1]), "task": "regression"}
    if previous.get("kind") in ("preset", "formula"):     # the panel's target no longer describes the data
        s.target, s.task = None, "regression"


def accuracy_text(s: "Session") -> str:
    """" · accuracy train 97% / test 95%" for a classification task with data, else "" (display only)."""
    data = s.model.data
    if s.task != "classification" or data is None:
        return ""
    import torch

    from kanwidget.core.operations.losses import accuracy
    try:
        with torch.no_grad():
            shares = [accuracy(s.model(data[f"{part}_input"]), data[f"{part}_label"]) for part in ("train", "test")]
    except Exception:  # noqa: BLE001 - display only (a model of another shape than the data)
        return ""
    return f" · accuracy train {shares[0]:.0%} / test {shares[1]:.0%}"


def fit_loss(s: "Session") -> dict[str, Any]:
    """Extra fit arguments for the loaded task: {"loss_fn": "logistic_smoothed"} for classification, else {}."""
    loss = TASK_LOSS.get(s.task)
    return {} if loss is None else {"loss_fn": loss}
