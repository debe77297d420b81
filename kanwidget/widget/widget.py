"""KANWidget: an anywidget view of a live KAN (traits, commands, event wiring, throttling).

Threading (see docs/ARCHITECTURE.md, "Widget protocol", and DESIGN.md §4):
- A fit started from the widget runs in a daemon thread (`trainer.Trainer`); a `model.fit()`
  run in a cell streams through the same lineage events in the caller's thread.
- The core's lineage lock guards the model. The widget never blocks on it while holding its own
  publish lock (lock order: lineage -> publish), and computes payloads only while holding the
  lineage lock (re-entrantly inside event handlers); when another thread holds it (a fit), the
  parts are marked dirty and published by that fit's next update.
- During a fit, updates are coalesced: at most 10 per second (status + new metric rows), and the
  graph + curves pair only as often as keeps its cost under 5 % of the wall time.

Commands during training: `pause`/`stop` stop it; `train`/`step` are refused (error: already
training); every model-changing command (prune, refine, auto_symbolic, fix/unfix, undo,
checkout) first pauses the fit (the core restores the last completed step), then runs;
`inspect` / `close_inspector` run alongside the fit.
"""
from __future__ import annotations

import threading
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import anywidget
import traitlets

from kanwidget.core.data import validate_dataset
from kanwidget.core.numerics.symbolic import SYMBOLIC_LIB
from kanwidget.widget import snapshot
from kanwidget.widget.commands import (READ_ONLY, STOPPERS, STRUCTURAL, TRAINERS, CommandError, ModelInfo,
                                       parse_message, validate)
from kanwidget.widget.protocol import page_table
from kanwidget.widget.trainer import Trainer

if TYPE_CHECKING:
    from kanwidget.core.network.model import KAN

STATIC = Path(__file__).resolve().parent.parent / "static"
ESM_PATH = STATIC / "widget.js"
CSS_PATH = STATIC / "widget.css"
BUNDLE_MISSING = ("the kanwidget front-end bundle is missing ({missing}); build it with\n"
                  "    cd js && npm ci && npm run build\n"
                  "(it writes kanwidget/static/widget.js and widget.css), then restart the kernel")
_BUNDLE_OK = ESM_PATH.is_file() and CSS_PATH.is_file()

#: seconds between two updates during a fit (at most 10 per second)
MIN_INTERVAL = 0.1
#: share of the wall time graph + curves updates may take during a fit
GRAPH_BUDGET = 0.05
#: seconds a structure-changing command waits for a running fit to pause
PAUSE_TIMEOUT = 10.0
#: commands that need a dataset
NEEDS_DATA = frozenset({"train", "step", "prune", "auto_symbolic", "fix_symbolic"})
EVENTS = ("fit_start", "step", "fit_end", "grid_update", "structure", "version")
ALL_PARTS = frozenset({"graph", "formula", "versions", "metrics", "library", "has_data", "inspector"})


class KANWidgetWarning(RuntimeWarning):
    """A problem reported by the widget (also shown in its error box)."""


def _guard(fn: Any) -> Any:
    """Decorator for event handlers: a failing view update is reported, never breaks training."""
    def wrapper(self: "KANWidget", *args: Any) -> None:
        try:
            fn(self, *args)
        except Exception as exc:  # noqa: BLE001
            self._report(exc, prefix="view update failed: ")
    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


def _idle(text: str = "", step: int = 0, steps: int = 0) -> dict[str, Any]:
    return {"state": "idle", "text": text, "step": int(step), "steps": int(steps)}


class KANWidget(anywidget.AnyWidget):
    """A live view of a KAN: network with edge curves, loss chart, formula, versions, commands.

    >>> w = KANWidget(model, dataset); w          # doctest: +SKIP

    `w.model` is always the current model (it follows prune / refine / checkout / undo, also
    when run in a cell as `model = model.prune()`); `w.dataset` may be set later.
    """

    _esm = ESM_PATH if _BUNDLE_OK else "export default { render() {} };"
    _css = CSS_PATH if _BUNDLE_OK else ""

    graph = traitlets.Dict().tag(sync=True)
    curves = traitlets.Bytes(b"").tag(sync=True)
    metrics = traitlets.Bytes(b"").tag(sync=True)
    status = traitlets.Dict(_idle()).tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    formula = traitlets.Dict({"latex": [], "sympy": [], "spline_edges": 0}).tag(sync=True)
    versions = traitlets.List().tag(sync=True)
    inspector = traitlets.Dict().tag(sync=True)
    library = traitlets.List().tag(sync=True)
    has_data = traitlets.Bool(False).tag(sync=True)
    protocol = traitlets.Dict(page_table()).tag(sync=True)   # the command table (kanwidget.widget.protocol)

    def __init__(self, model: "KAN", dataset: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if not _BUNDLE_OK:
            missing = ", ".join(str(p) for p in (ESM_PATH, CSS_PATH) if not p.is_file())
            raise RuntimeError(BUNDLE_MISSING.format(missing=missing or "found after import"))
        _check_model(model)
        super().__init__(**kwargs)
        self._model: "KAN" = model
        self._lineage: Any = None
        self._handlers = {name: getattr(self, f"_on_{name}") for name in EVENTS}
        self._publish_lock = threading.RLock()
        self._rows: list[tuple[float, float, float, float]] = []   # (step, train, test, reg)
        self._rows_sent = 0                                         # rows the page already holds
        self._rows_at_version: dict[int, list[tuple[float, float, float, float]]] = {}
        self._dirty: set[str] = set()
        self._fitting = False
        self._fit_progress = (0, 0)
        self._fit_opt = ""
        self._next_tick = 0.0
        self._next_graph = 0.0
        self._graph_cost = 0.0
        self._inspected: tuple[int, int, int] | None = None
        self._candidates: list[dict[str, Any]] = []
        self._train_settings: dict[str, Any] = {"opt": "LBFGS", "lr": 1.0, "lamb": 0.0}
        self._pausing = False
        self._final_published = True
        self._trainer = Trainer(self._on_train_error, self._on_train_done)
        self._closed = False
        self.on_msg(self._handle_message)
        self._attach(model)
        if dataset is not None:
            self._set_dataset(dataset)
        self._refresh(ALL_PARTS, status=_idle("ready"))

    # ================================================================ public
    @property
    def model(self) -> "KAN":
        """The current model (follows prune / refine / undo / checkout of its lineage)."""
        return self._model

    @model.setter
    def model(self, model: "KAN") -> None:
        _check_model(model)
        self._pause_for("replacing the model")
        self._attach(model)
        self._rows, self._rows_sent, self._rows_at_version = [], 0, {}
        self._inspected = None
        self._refresh(ALL_PARTS, status=_idle("model replaced"))

    @property
    def dataset(self) -> dict[str, Any] | None:
        """The data of the view (the model's `data`); set it to enable training and simplification."""
        return self._model.data

    @dataset.setter
    def dataset(self, dataset: dict[str, Any] | None) -> None:
        self._set_dataset(dataset)
        self._refresh({"graph", "has_data", "inspector"})

    @property
    def training(self) -> bool:
        """True while a fit started by the widget runs in the background."""
        return self._trainer.running

    def train(self, steps: int = 50, opt: str = "LBFGS", lr: float = 1.0, lamb: float = 0.0,
              update_grid: bool = True, block: bool = False) -> dict[str, list[float]] | None:
        """Train in a background thread (block=False, returns None) or in the caller (returns fit's results)."""
        args = {"steps": steps, "opt": opt, "lr": lr, "lamb": lamb, "update_grid": update_grid}
        return self._command("train", args, block=bool(block))

    def pause(self, timeout: float = PAUSE_TIMEOUT) -> bool:
        """Stop a running fit (within one LBFGS closure evaluation); True once it has stopped."""
        return self._do_pause(timeout)

    stop = pause

    def step(self) -> dict[str, list[float]]:
        """One optimiser step (the optimiser, lr and lamb of the last train), in the caller."""
        return self._command("step", {})

    def prune(self, node_th: float = 1e-2, edge_th: float = 3e-2) -> "KAN":
        return self._command("prune", {"node_th": node_th, "edge_th": edge_th})

    def refine(self, grid: int) -> "KAN":
        return self._command("refine", {"grid": grid})

    def auto_symbolic(self, lib: Sequence[str] | None = None, weight_simple: float = 0.8) -> list[Any]:
        return self._command("auto_symbolic", {"lib": None if lib is None else list(lib),
                                               "weight_simple": weight_simple})

    def inspect(self, l: int, i: int, j: int) -> dict[str, Any]:
        """Open the inspector on edge (l, i, j); returns the `inspector` payload."""
        return self._command("inspect", {"l": l, "i": i, "j": j})

    def close_inspector(self) -> None:
        self._command("close_inspector", {})

    def fix_symbolic(self, l: int, i: int, j: int, name: str) -> float:
        return self._command("fix_symbolic", {"l": l, "i": i, "j": j, "name": name})

    def unfix_symbolic(self, l: int, i: int, j: int) -> None:
        self._command("unfix_symbolic", {"l": l, "i": i, "j": j})

    def undo(self) -> "KAN":
        return self._command("undo", {})

    def checkout(self, id: int) -> "KAN":  # noqa: A002 - the protocol's name
        return self._command("checkout", {"id": id})

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a background fit to end; True when none is running any more."""
        return self._trainer.join(timeout)

    def refresh(self) -> None:
        """Recompute every view payload from the model (after changes made without events)."""
        self._refresh(ALL_PARTS)

    def close(self) -> None:
        """Stop a background fit, unsubscribe from the model's events and close the comm."""
        if not getattr(self, "_closed", True):      # also called by __del__ of a half-built widget
            self._closed = True
            self._trainer.stop(PAUSE_TIMEOUT)
            self._trainer.join(PAUSE_TIMEOUT)
            self._detach()
        try:
            super().close()
        except Exception:  # noqa: BLE001 - a widget whose __init__ failed has no comm to close
            pass

    # ============================================================== commands
    def _handle_message(self, widget: Any, content: Any, buffers: Sequence[Any] | None = None) -> None:
        """Custom messages from the page. Never raises: problems go to `error` and a warning."""
        try:
            name, args = parse_message(content)
            self._command(name, args)
        except Exception as exc:  # noqa: BLE001 - the comm handler must never raise
            self._report(exc)

    def _model_info(self) -> ModelInfo:
        return ModelInfo(width=self._model.width, grid=self._model.grid, library=list(SYMBOLIC_LIB),
                         version_ids=[v.id for v in self._model.history])

    def _command(self, name: str, raw_args: dict[str, Any], block: bool = False) -> Any:
        args = validate(name, raw_args, self._model_info())
        if name in STOPPERS:
            return self._do_pause(PAUSE_TIMEOUT)
        if name in READ_ONLY:
            return self._do_inspect(**args) if name == "inspect" else self._do_close_inspector()
        if self.error:
            self.error = ""
        if name in NEEDS_DATA and self._model.data is None:
            raise CommandError(f"{name} needs a dataset: set w.dataset = create_dataset(...) "
                               "(or pass it as KANWidget(model, dataset))")
        if name in TRAINERS:
            if self._trainer.fit_active or self._fitting:
                s, n = self._fit_progress
                raise CommandError(f"{name}: training is already running (step {s}/{n}); press Pause first")
            self._trainer.join(PAUSE_TIMEOUT)     # a paused fit's final view update
            return self._do_train(args, block) if name == "train" else self._do_step()
        assert name in STRUCTURAL
        note = self._pause_for(name)
        self._set_status({"state": "busy", "text": f"{note}running {name.replace('_', '-')}…",
                          "step": 0, "steps": 0})
        text = ""
        try:
            result, text = getattr(self, f"_do_{name}")(**args)
        finally:
            self._set_status(_idle(note + text if text else f"{name} failed"))
        return result

    def _pause_for(self, what: str) -> str:
        """Pause a running fit before `what`; returns a note for the status line."""
        if not self._trainer.running:
            return ""
        note = ""
        if self._trainer.fit_active:
            s, n = self._fit_progress
            if not self._do_pause(PAUSE_TIMEOUT):
                raise CommandError(f"{what}: training did not pause within {PAUSE_TIMEOUT:g} s; try again")
            note = f"paused training at step {s}/{n}; "
        if not self._trainer.join(PAUSE_TIMEOUT):   # let the final view update of the fit finish
            raise CommandError(f"{what}: the training thread did not finish within {PAUSE_TIMEOUT:g} s; try again")
        return note

    def _do_pause(self, timeout: float) -> bool:
        if self._trainer.fit_active:
            self._pausing = True
            s, n = self._fit_progress
            stopped = self._trainer.stop(timeout)
            with self._publish_lock:
                if stopped and not self._final_published:   # the final view update is on its way
                    self.status = {"state": "busy", "text": f"paused at step {s}/{n}; updating the view…",
                                   "step": s, "steps": n}
            return stopped
        if self._fitting:
            lock = self._model.lineage.lock
            if not lock.acquire(blocking=False):
                self._model.stop_training()       # a fit of this lineage running in another thread
                return False
            try:                                  # a cell's fit that ended without fit_end (interrupted)
                self._fitting = False
            finally:
                lock.release()
            self._refresh(ALL_PARTS, status=_idle("training interrupted"))
            return True
        self._set_status(_idle("not training"), force=True)
        return True

    def _do_train(self, args: dict[str, Any], block: bool) -> dict[str, list[float]] | None:
        self._train_settings = {k: args[k] for k in ("opt", "lr", "lamb")}
        fit_kwargs = dict(steps=args["steps"], opt=args["opt"], lr=args["lr"], lamb=args["lamb"],
                          update_grid=args["update_grid"])
        self._fit_progress = (0, args["steps"])
        self._set_status({"state": "training", "text": f"training {args['opt']} · starting",
                          "step": 0, "steps": args["steps"]})
        if block:
            try:
                return self._model.fit(self._model.data, verbose=False, **fit_kwargs)
            finally:
                if self._fitting or self.status.get("state") == "training":
                    self._fitting = False
                    self._refresh(ALL_PARTS, status=_idle("training stopped"))
        self._final_published = False
        self._trainer.start(self._model, self._model.data, **fit_kwargs)
        return None

    def _do_step(self) -> dict[str, list[float]]:
        s = self._train_settings
        self._set_status({"state": "busy", "text": f"one {s['opt']} step…", "step": 0, "steps": 1})
        try:
            return self._model.fit(self._model.data, steps=1, update_grid=False, verbose=False, **s)
        finally:
            if self._fitting or self.status.get("state") != "idle":
                self._fitting = False
                self._refresh(ALL_PARTS, status=_idle("step failed"))

    def _do_prune(self, node_th: float, edge_th: float) -> tuple["KAN", str]:
        before = self._model.width
        new = self._model.prune(node_th=node_th, edge_th=edge_th)
        self._follow(new)
        return new, f"pruned {before} → {new.width}"

    def _do_refine(self, grid: int) -> tuple["KAN", str]:
        before = self._model.grid
        new = self._model.refine(grid)
        self._follow(new)
        return new, f"refined grid {before} → {grid}"

    def _do_auto_symbolic(self, lib: list[str] | None, weight_simple: float) -> tuple[list[Any], str]:
        choices = self._model.auto_symbolic(lib=lib, weight_simple=weight_simple, verbose=0)
        fixed = sum(c.name is not None for c in choices)
        return choices, f"auto-symbolic fixed {fixed} edge{'s' if fixed != 1 else ''}"

    def _do_fix_symbolic(self, l: int, i: int, j: int, name: str) -> tuple[float, str]:
        r2 = self._model.fix_symbolic(l, i, j, name)
        return r2, f"fixed ({l},{i},{j}) to {name}, R² = {r2:.4f}"

    def _do_unfix_symbolic(self, l: int, i: int, j: int) -> tuple[None, str]:
        self._model.unfix_symbolic(l, i, j)
        return None, f"({l},{i},{j}) is a spline again"

    def _do_undo(self) -> tuple["KAN", str]:
        new = self._model.undo()
        self._follow(new)
        return new, f"undo → version {new.lineage.current}"

    def _do_checkout(self, id: int) -> tuple["KAN", str]:  # noqa: A002
        new = self._model.checkout(id)
        self._follow(new)
        return new, f"checked out version {id}"

    def _do_inspect(self, l: int, i: int, j: int) -> dict[str, Any]:
        payload = snapshot.inspector_payload(self._model, l, i, j)
        self._inspected = (l, i, j)
        self._candidates = payload["candidates"]
        with self._publish_lock:
            self.inspector = payload
        return payload

    def _do_close_inspector(self) -> None:
        self._inspected = None
        with self._publish_lock:
            self.inspector = {}

    def _follow(self, model: "KAN") -> None:
        """Make `model` current (the structure event normally did it already)."""
        if model is not self._model:
            self._model = model
            self._refresh(ALL_PARTS)

    # ================================================================ events
    def _attach(self, model: "KAN") -> None:
        if self._lineage is not model.lineage:
            self._detach()
            self._lineage = model.lineage
            for event, fn in self._handlers.items():
                model.on(event, fn)
        self._model = model

    def _detach(self) -> None:
        if self._lineage is not None:
            for event, fn in self._handlers.items():
                self._lineage.off(event, fn)
            self._lineage = None

    @_guard
    def _on_fit_start(self, model: "KAN", steps: int) -> None:
        self._model = model
        self._fitting = True
        self._fit_progress = (0, int(steps))
        now = time.monotonic()
        self._next_tick = now + MIN_INTERVAL
        self._next_graph = now + max(MIN_INTERVAL, self._graph_cost / GRAPH_BUDGET)
        if self._rows_sent > len(self._rows):
            self._rows_sent = len(self._rows)
        self._set_status({"state": "training", "text": "training…", "step": 0, "steps": int(steps)})
        if self._trainer.stop_requested and self._trainer.running:
            model.stop_training()

    @_guard
    def _on_step(self, info: Any) -> None:
        self._model = info.model
        self._rows.append((float(info.total_step), info.train_loss, info.test_loss, info.reg))
        self._fit_progress = (info.step, info.steps)
        now = time.monotonic()
        if now < self._next_tick:
            return
        self._tick(now, info)

    def _tick(self, now: float, info: Any) -> None:
        status = {"state": "training",
                  "text": f"train {info.train_loss:.3g} · test {info.test_loss:.3g}",
                  "step": int(info.step), "steps": int(info.steps)}
        parts = set(self._dirty) - {"metrics"}
        self._dirty.clear()
        graph_due = now >= self._next_graph
        if graph_due:
            parts.add("graph")
        started = time.perf_counter()
        values = self._compute(parts)
        values["status"] = status
        self._apply(values, rows=True)
        cost = time.perf_counter() - started
        after = time.monotonic()
        self._next_tick = after + MIN_INTERVAL
        if graph_due:
            self._graph_cost = cost
            self._next_graph = after + max(MIN_INTERVAL, cost / GRAPH_BUDGET)

    @_guard
    def _on_fit_end(self, model: "KAN", results: dict[str, list[float]]) -> None:
        self._model = model
        self._fitting = False
        if threading.current_thread() is self._trainer.thread:
            return   # the final update runs after fit returns (_on_train_done): pause returns sooner
        self._refresh(ALL_PARTS - {"library"}, status=self._fit_summary(results))

    def _fit_summary(self, results: dict[str, list[float]] | None) -> dict[str, Any]:
        results = results or {}
        done = len(results.get("train_loss", []))
        s, n = self._fit_progress
        if done and done < n:
            text = f"paused after {done}/{n} steps" if (self._pausing or self._trainer.stop_requested) \
                else f"stopped after {done}/{n} steps"
        elif done:
            text = f"trained {done} steps"
        else:
            text = "no step completed"
        if done:
            text += f" · train {results['train_loss'][-1]:.3g} · test {results['test_loss'][-1]:.3g}"
        return _idle(text, done, n)

    @_guard
    def _on_grid_update(self, model: "KAN") -> None:
        if not self._fitting:
            self._model = model
            self._refresh({"graph", "inspector"})

    @_guard
    def _on_version(self, version: Any) -> None:
        self._rows_at_version[version.id] = list(self._rows)
        alive = {v.id for v in self._model.lineage.versions}
        for vid in [v for v in self._rows_at_version if v not in alive]:
            del self._rows_at_version[vid]
        if self._fitting:
            self._dirty.add("versions")
        else:
            self._refresh({"versions"})

    @_guard
    def _on_structure(self, model: "KAN", kind: str) -> None:
        self._model = model
        if kind == "checkout":
            rows = self._rows_at_version.get(model.lineage.current)
            if rows is None:
                rows = [r for r in self._rows if r[0] <= model.steps_trained]
            self._rows = list(rows)
            self._rows_sent = 0
        if self._inspected is not None and kind in ("prune", "checkout"):
            self._inspected = None
        self._refresh(ALL_PARTS)

    # ======================================================== trainer hooks
    def _on_train_error(self, exc: BaseException) -> None:
        self._report(exc, prefix="training failed: ")

    def _on_train_done(self, results: dict[str, list[float]] | None) -> None:
        """Last thing in the trainer thread: the final view update of the fit."""
        self._pausing = False
        self._fitting = False
        if results is not None:
            status = self._fit_summary(results)
        else:  # fit raised (no fit_end event came) or was cancelled before it started
            status = _idle("training failed" if self.error else "training cancelled")
        try:
            self._refresh(ALL_PARTS - {"library"}, status=status, wait=True, final=True)
        except Exception as exc:  # noqa: BLE001
            with self._publish_lock:
                self._final_published = True
                self.status = status
            self._report(exc, prefix="view update failed: ")

    # ============================================================ publishing
    def _refresh(self, parts: Iterable[str], status: dict[str, Any] | None = None, wait: bool = False,
                 final: bool = False) -> bool:
        """Recompute `parts` and publish them with `status` in one message.

        Computes only while holding the lineage lock (re-entrant inside event handlers); when
        another thread holds it (a fit), marks them dirty for that fit's next update instead
        (wait=True: waits up to PAUSE_TIMEOUT for the lock first).
        """
        parts = set(parts)
        lock = self._model.lineage.lock
        if not lock.acquire(timeout=PAUSE_TIMEOUT) if wait else not lock.acquire(blocking=False):
            self._dirty |= parts
            with self._publish_lock:
                self._final_published |= final
                if status is not None:
                    self.status = status
            return False
        try:
            parts |= self._dirty
            self._dirty.clear()
            values = self._compute(parts)
        finally:
            lock.release()
        if status is not None:
            values["status"] = status
        self._apply(values, final=final)
        return True

    def _compute(self, parts: set[str]) -> dict[str, Any]:
        model = self._model
        values: dict[str, Any] = {}
        if "graph" in parts:
            current = model.lineage.current
            started = time.perf_counter()
            values["graph"], values["curves"] = snapshot.graph_payload(
                model, version=-1 if current is None else current)
            self._graph_cost = time.perf_counter() - started   # paces the first update of the next fit
        if "formula" in parts:
            values["formula"] = snapshot.formula_payload(model)
        if "versions" in parts:
            values["versions"] = snapshot.versions_payload(model)
        if "metrics" in parts:
            values["metrics"] = snapshot.metrics_bytes(self._rows)
        if "library" in parts:
            values["library"] = list(SYMBOLIC_LIB)
        if "has_data" in parts:
            values["has_data"] = model.data is not None
        if "inspector" in parts:
            values["inspector"] = self._inspector_value(model)
        return values

    def _inspector_value(self, model: "KAN") -> dict[str, Any]:
        if self._inspected is None:
            return {}
        l, i, j = self._inspected
        if l >= model.depth or i >= model.width[l] or j >= model.width[l + 1]:
            self._inspected = None
            return {}
        # curve, samples, knots and symbolic name follow the model; the candidates (a symbolic fit
        # over the whole library, the costly part) are those computed when the edge was inspected
        payload = snapshot.inspector_payload(model, l, i, j, candidates=not self._candidates)
        if self._candidates:
            payload["candidates"] = self._candidates
        else:
            self._candidates = payload["candidates"]     # e.g. data given after the edge was opened
        return payload

    def _apply(self, values: dict[str, Any], rows: bool = False, final: bool = False) -> None:
        """Set traits in one message (hold_sync); rows=True also streams the new metric rows."""
        with self._publish_lock:
            self._final_published |= final
            if "metrics" in values:
                self._rows_sent = len(self._rows)
            elif rows and len(self._rows) > self._rows_sent:
                new = self._rows[self._rows_sent:]
                self._rows_sent += len(new)
                self.send({"type": "metrics", "rows": [list(r) for r in new]})
            with self.hold_sync():
                for name, value in values.items():
                    setattr(self, name, value)

    def _set_status(self, status: dict[str, Any], force: bool = False) -> None:
        with self._publish_lock:
            if force and status == self.status:
                self.status = {**status, "state": "busy"}   # the page only reacts to a change
            self.status = status

    def _report(self, exc: BaseException | str, prefix: str = "") -> None:
        msg = exc if isinstance(exc, str) else (str(exc) or type(exc).__name__)
        if isinstance(exc, BaseException) and not isinstance(exc, (CommandError, ValueError, TypeError, RuntimeError)):
            msg = f"{type(exc).__name__}: {msg}"
        msg = prefix + msg
        with self._publish_lock:
            if self.error == msg:
                self.error = ""      # the page shows a repeated message again
            self.error = msg
            if self.status.get("state") == "busy":
                self.status = _idle("failed")
        warnings.warn(f"KANWidget: {msg}", KANWidgetWarning, stacklevel=3)

    def _set_dataset(self, dataset: dict[str, Any] | None) -> None:
        if dataset is not None:
            model = self._model
            validate_dataset(dataset, model.width[0], model.width[-1], dtype=model.dtype, device=model.device)
        self._model.data = dataset


def _check_model(model: Any) -> None:
    from kanwidget.core.network.model import KAN
    if not isinstance(model, KAN):
        raise TypeError(f"KANWidget needs a kanwidget.KAN model, got {type(model).__name__}")
