"""The data view: what the model computes over its input box, next to the target and the data points.

Payload (`dataview` Dict + `dataview_data` Bytes, float32 little-endian):

- kind "2d" (two inputs), "slice" (more inputs: two on the axes, the others held) or "1d" (one input);
- target (when `session.target` is known), prediction and residual (prediction - target) for one output,
  on R x R cell centres over the box (row 0 = lowest value of the second axis, column 0 = lowest of the
  first), or R points along the box for 1d;
- the train / test points (evenly subsampled to a cap), rows of (first axis, second axis or label, label);
- node thumbnails: every hidden and output node's value over the same box at T x T (1d: T points),
  all from ONE batched forward pass (`model.layer_inputs`, the values of every level).

`meta["arrays"]` names each array's [offset, length] in floats. The cost is measured on every compute
and paces the view during fits (`DataView.due`), like the graph's GRAPH_BUDGET.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np
import torch

from kanwidget.widget.protocol import CommandError

if TYPE_CHECKING:
    from kanwidget.core.network.model import KAN
    from kanwidget.widget.session import Session

#: default cells per axis, the most allowed, the thumbnail size and the cap on points drawn
RESOLUTION, MAX_RESOLUTION, MIN_RESOLUTION = 100, 256, 8
THUMB_SIZE = 24
MAX_POINTS = 500
#: share of the wall time data-view updates may take during a fit
DATAVIEW_BUDGET = 0.04
MIN_INTERVAL = 0.1


@dataclass(frozen=True)
class ViewConfig:
    """What the user chose: the axes (inputs), the output, the held values (None: the data's medians)."""
    x_axis: int = 0
    y_axis: int = 1
    output: int = 0
    held: tuple[float, ...] | None = None
    resolution: int = RESOLUTION
    thumb_size: int = THUMB_SIZE


# ------------------------------------------------------------------ geometry
def input_box(model: "KAN") -> torch.Tensor:
    """(n_in, 2): the data's range per input (train and test), else the first layer's grid range."""
    data = model.data
    if data is not None:
        x = torch.cat([data["train_input"], data["test_input"]]).detach().to(torch.float64)
        box = torch.stack([x.min(0).values, x.max(0).values], dim=1)
    else:
        pts = model.layers[0].grid_points().detach().to(torch.float64)
        box = torch.stack([pts[:, 0], pts[:, -1]], dim=1)
    flat = (box[:, 1] - box[:, 0]) < 1e-9
    box[flat, 0] -= 0.5
    box[flat, 1] += 0.5
    return box.cpu()


def default_held(model: "KAN", box: torch.Tensor) -> list[float]:
    """The values the inputs off the axes are held at by default: the training data's medians."""
    if model.data is not None:
        return [float(v) for v in model.data["train_input"].detach().to(torch.float64).median(0).values.cpu()]
    return [float(v) for v in box.mean(1)]


def centres(lo: float, hi: float, n: int) -> torch.Tensor:
    """Cell centres of n equal cells over [lo, hi]."""
    return lo + (torch.arange(n, dtype=torch.float64) + 0.5) * ((hi - lo) / n)


def grid_inputs(box: torch.Tensor, axes: Sequence[int], held: Sequence[float], n: int) -> torch.Tensor:
    """Model inputs over the box: 1 axis -> (n, n_in); 2 axes -> (n*n, n_in), row-major with the second
    axis slowest (row r = r-th value of the second axis), every other input at its held value."""
    cols = torch.tensor(list(held), dtype=torch.float64)
    a = centres(float(box[axes[0], 0]), float(box[axes[0], 1]), n)
    if len(axes) == 1:
        x = cols.repeat(n, 1)
        x[:, axes[0]] = a
        return x
    b = centres(float(box[axes[1], 0]), float(box[axes[1], 1]), n)
    x = cols.repeat(n * n, 1)
    x[:, axes[0]] = a.repeat(n)
    x[:, axes[1]] = b.repeat_interleave(n)
    return x


def subsample(n: int, cap: int) -> torch.Tensor:
    """Evenly spaced indices of at most `cap` of n rows (stable from one update to the next)."""
    if n <= cap:
        return torch.arange(n)
    return torch.linspace(0, n - 1, cap).round().long()


def label_column(label: torch.Tensor, output: int) -> torch.Tensor:
    """One output's labels (class indices as numbers for 1-D integer labels)."""
    if label.dim() == 1:
        return label.to(torch.float64)
    return label[:, output].to(torch.float64)


def value_range(*arrays: np.ndarray) -> list[float]:
    finite = [a[np.isfinite(a)] for a in arrays if a.size]
    finite = [a for a in finite if a.size]
    if not finite:
        return [0.0, 1.0]
    lo = float(min(a.min() for a in finite))
    hi = float(max(a.max() for a in finite))
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    return [lo, hi]


# -------------------------------------------------------------- the target
def call_target(target: Callable[..., Any], x: torch.Tensor, n_out: int, what: str = "target") -> torch.Tensor:
    """target(x) as an (N, n_out) float64 tensor; a clear error naming `what` otherwise."""
    y = target(x)
    if not isinstance(y, torch.Tensor):
        try:
            y = torch.as_tensor(np.asarray(y, dtype=np.float64))
        except Exception as exc:  # noqa: BLE001 - any unusable return value
            raise TypeError(f"{what} must return a tensor of shape (N, {n_out}), got {type(y).__name__}") from exc
    y = y.detach().to(torch.float64).cpu()
    if y.dim() == 1 and n_out == 1 and y.shape[0] == x.shape[0]:
        y = y[:, None]
    if y.dim() != 2 or tuple(y.shape) != (x.shape[0], n_out):
        raise ValueError(f"{what} must map an (N, {x.shape[1]}) tensor to shape (N, {n_out}); "
                         f"for N = {x.shape[0]} it returned shape {tuple(y.shape)}")
    return y


def check_target(target: Any, model: "KAN") -> Callable[..., Any] | None:
    """Validate a target function on a probe of the input box (None passes); returns it."""
    if target is None:
        return None
    if not callable(target):
        raise TypeError(f"target must be a callable mapping an (N, n_in) tensor to (N, n_out), "
                        f"got {type(target).__name__}")
    box = input_box(model)
    probe = grid_inputs(box, list(range(min(2, model.width[0]))), box.mean(1).tolist(), 2)
    probe = probe.to(dtype=model.dtype, device=model.device)
    try:
        call_target(target, probe, model.width[-1])
    except (TypeError, ValueError) as exc:
        raise type(exc)(str(exc) if str(exc).startswith("target") else f"target failed on a probe: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - report what the user's function raised
        raise ValueError(f"target failed on a probe: {type(exc).__name__}: {exc}") from exc
    return target


# ------------------------------------------------------------------- views
class DataView:
    """The view's settings, the cached target values and the pacing during fits."""

    def __init__(self) -> None:
        self.config = ViewConfig()
        self.cost = 0.0
        self.next_due = 0.0
        self._target_key: Any = None
        self._target_values: torch.Tensor | None = None
        self.target_error = ""

    def due(self, now: float) -> bool:
        return now >= self.next_due

    def paced(self, now: float) -> None:
        """After an update during a fit: the next one when the cost stays under DATAVIEW_BUDGET."""
        self.next_due = now + max(MIN_INTERVAL, self.cost / DATAVIEW_BUDGET)

    def configure(self, model: "KAN", x_axis: int | None = None, y_axis: int | None = None,
                  output: int | None = None, held: Sequence[float] | None = None,
                  resolution: int | None = None) -> ViewConfig:
        """Check the settings against the model (errors name the argument); keep and return them."""
        n_in, n_out = model.width[0], model.width[-1]
        c = self.config
        x_axis = c.x_axis if x_axis is None else x_axis
        y_axis = c.y_axis if y_axis is None else y_axis
        output = c.output if output is None else output
        for name, value, n in (("x_axis", x_axis, n_in), ("y_axis", y_axis, n_in), ("output", output, n_out)):
            if n_in < 2 and name == "y_axis":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < n:
                raise CommandError(f"dataview: {name} must be an integer in [0, {n - 1}], got {value!r}")
        if n_in >= 2 and x_axis == y_axis:
            raise CommandError(f"dataview: x_axis and y_axis must differ, both are {x_axis}")
        if held is not None:
            if not isinstance(held, (list, tuple)) or len(held) != n_in:
                raise CommandError(f"dataview: held must be a list of {n_in} numbers (one per input), got {held!r}")
            for v in held:
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)):
                    raise CommandError(f"dataview: held must hold finite numbers, got {v!r}")
            held = tuple(float(v) for v in held)
        resolution = c.resolution if resolution is None else resolution
        if isinstance(resolution, bool) or not isinstance(resolution, int) \
                or not MIN_RESOLUTION <= resolution <= MAX_RESOLUTION:
            raise CommandError(f"dataview: resolution must be an integer in [{MIN_RESOLUTION}, {MAX_RESOLUTION}], "
                               f"got {resolution!r}")
        self.config = replace(c, x_axis=x_axis, y_axis=y_axis if n_in >= 2 else c.y_axis, output=output,
                              held=held, resolution=resolution)
        return self.config

    def _axes(self, n_in: int) -> list[int]:
        c = self.config
        if n_in == 1:
            return [0]
        x, y = (c.x_axis, c.y_axis) if max(c.x_axis, c.y_axis) < n_in and c.x_axis != c.y_axis else (0, 1)
        return [x, y]

    def _target(self, target: Any, x: torch.Tensor, n_out: int, key: Any) -> torch.Tensor | None:
        if target is None:
            self.target_error = ""
            return None
        key = (id(target), key)
        if key != self._target_key:
            self._target_key, self._target_values, self.target_error = key, None, ""
            try:
                self._target_values = call_target(target, x, n_out)
            except Exception as exc:  # noqa: BLE001 - the view shows the model without the target
                self.target_error = f"target: {type(exc).__name__}: {exc}"
        return self._target_values

    def payload(self, model: "KAN", target: Any = None, task: str = "regression") -> tuple[dict[str, Any], bytes]:
        """(meta, float32 LE bytes) of the current model; see the module docstring."""
        started = time.perf_counter()
        try:
            meta, data = self._compute(model, target, task)
        except Exception as exc:  # noqa: BLE001 - a view that cannot be drawn must not stop the others
            meta, data = {"kind": "none", "error": f"data view: {type(exc).__name__}: {exc}"}, b""
        self.cost = time.perf_counter() - started
        meta["cost_ms"] = round(self.cost * 1000, 2)
        return meta, data

    def _compute(self, model: "KAN", target: Any, task: str) -> tuple[dict[str, Any], bytes]:
        n_in, n_out = model.width[0], model.width[-1]
        c = self.config
        output = c.output if c.output < n_out else 0
        axes = self._axes(n_in)
        kind = "1d" if n_in == 1 else "2d" if n_in == 2 else "slice"
        box = input_box(model)
        held = list(c.held) if c.held is not None and len(c.held) == n_in else default_held(model, box)
        r, t = c.resolution, c.thumb_size
        x_view = grid_inputs(box, axes, held, r)
        x_thumb = grid_inputs(box, axes, held, t)
        x_all = torch.cat([x_view, x_thumb]).to(dtype=model.dtype, device=model.device)
        with torch.no_grad():
            levels = model.layer_inputs(x_all)
        nv = x_view.shape[0]
        pred_t = levels[-1][:nv, output].detach().to(torch.float64)
        if task == "classification":      # the output is a logit: show P(label 1), on the labels' 0..1 scale
            pred_t = torch.sigmoid(pred_t)
        pred = pred_t.cpu().numpy()
        tvals = self._target(target, x_view.to(dtype=model.dtype, device=model.device), n_out,
                             (kind, tuple(axes), tuple(held), r, tuple(box.flatten().tolist())))
        arrays: dict[str, np.ndarray] = {}
        if tvals is not None:
            arrays["target"] = tvals[:, output].numpy()
        arrays["pred"] = pred
        if tvals is not None:
            arrays["residual"] = pred - arrays["target"]
        thumbs, nodes, thumb_ranges = [], [], []
        for level in range(1, len(levels)):
            values = levels[level][nv:].detach().to(torch.float64).cpu().numpy()
            for i in range(values.shape[1]):
                thumbs.append(values[:, i])
                nodes.append([level, i])
                thumb_ranges.append(value_range(values[:, i]))
        arrays["thumbs"] = np.concatenate(thumbs) if thumbs else np.zeros(0)
        labels: list[np.ndarray] = []
        n_points = {"train": 0, "test": 0}
        data = model.data
        if data is not None:
            n_tr, n_te = data["train_input"].shape[0], data["test_input"].shape[0]
            caps = {"train": max(1, round(MAX_POINTS * n_tr / max(1, n_tr + n_te))),
                    "test": max(1, MAX_POINTS - round(MAX_POINTS * n_tr / max(1, n_tr + n_te)))}
            for part in ("train", "test"):
                x, y = data[f"{part}_input"], data[f"{part}_label"]
                idx = subsample(x.shape[0], caps[part]).to(x.device)
                xs = x[idx].detach().to(torch.float64).cpu()
                ys = label_column(y[idx].detach(), output).cpu()
                second = ys if kind == "1d" else xs[:, axes[1]]
                rows = torch.stack([xs[:, axes[0]], second, ys], dim=1).numpy()
                arrays[part] = rows.reshape(-1)
                n_points[part] = rows.shape[0]
                labels.append(rows[:, 2])
        value = value_range(pred, *(a for a in [arrays.get("target")] if a is not None), *labels)
        res = arrays.get("residual")
        m = float(np.nanmax(np.abs(res))) if res is not None and res.size else 0.0
        offsets, chunks, at = {}, [], 0
        for name, a in arrays.items():
            offsets[name] = [at, int(a.size)]
            chunks.append(a.astype("<f4", copy=False))
            at += int(a.size)
        in_vars = list(getattr(model, "in_vars", None) or [f"x_{i + 1}" for i in range(n_in)])
        out_vars = list(getattr(model, "out_vars", None) or [f"y_{i + 1}" for i in range(n_out)])
        meta = {
            "kind": kind, "resolution": r, "thumb_size": t, "axes": axes,
            "axis_names": [in_vars[a] if a < len(in_vars) else f"x_{a + 1}" for a in axes],
            "box": [[float(box[a, 0]), float(box[a, 1])] for a in axes],
            "input_box": box.tolist(), "held": held, "output": output, "n_outputs": n_out,
            "output_name": out_vars[output] if output < len(out_vars) else f"y_{output + 1}",
            "has_target": tvals is not None, "target_error": self.target_error, "task": task,
            "value_range": value, "residual_range": [-m if m > 0 else -1.0, m if m > 0 else 1.0],
            "nodes": nodes, "thumb_ranges": thumb_ranges, "n_train": n_points["train"], "n_test": n_points["test"],
            "arrays": offsets, "version": -1 if model.lineage.current is None else model.lineage.current,
        }
        data_bytes = np.concatenate(chunks).astype("<f4").tobytes() if chunks else b""
        return meta, data_bytes


def handle_dataview(s: "Session", stop: Any, x_axis: int, y_axis: int, output: int,
                    held: list[float] | None, resolution: int) -> tuple[Any, str]:
    """The `dataview` command: new settings, then the view is recomputed (or at the fit's next update)."""
    view = s.publisher.dataview
    config = view.configure(s.model, x_axis=x_axis, y_axis=y_axis, output=output, held=held,
                            resolution=resolution)
    s.publisher.refresh({"dataview"})
    return config, "data view updated"
