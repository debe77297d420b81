"""Command handling: one command at a time, an explicit table from command name to handler.

- `pause` / `stop` / `cancel` / `close_inspector` take the fast path (never wait behind another command).
- Every other command is validated and dispatched under one lock, so commands from several threads
  run one after the other against the current model.
- While a long command (auto-symbolic, refine) runs, other commands are refused with a clear
  "busy: ...; press Cancel first" error, never queued (a queued checkout would silently undo it).
- A model-changing command during a fit pauses the fit first (its completed steps are kept).
- From the page, long commands and fits run in the background; from Python, in the caller.
"""
from __future__ import annotations

import functools
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from kanwidget.widget import data_panel
from kanwidget.widget.protocol import NEEDS_DATA, STOPPERS, TRAINERS, CommandError
from kanwidget.widget.validation import parse_message, validate
from kanwidget.widget.dataview import handle_dataview  # dataview
from kanwidget.widget.publisher import idle
from kanwidget.widget import net_edit

if TYPE_CHECKING:
    from kanwidget.core.network.model import KAN
    from kanwidget.widget.session import Session

#: seconds a command waits for a running fit to pause
PAUSE_TIMEOUT = 10.0


def _follow(s: "Session", model: "KAN") -> "KAN":
    """Make `model` current (the structure event normally did it already)."""
    if model is not s.model:
        s.events.attach(model)
        s.publisher.refresh({"graph", "formula", "versions", "has_data", "inspector"})
    return model


def _prune(s: "Session", stop: threading.Event, node_th: float | None, edge_th: float) -> tuple[Any, str]:
    before = s.model.width
    new = _follow(s, s.model.prune(node_th=node_th, edge_th=edge_th))
    return new, f"pruned {before} → {new.width}"


def _refine(s: "Session", stop: threading.Event, grid: int) -> tuple[Any, str]:
    before = s.model.grid
    new = _follow(s, s.model.refine(grid, stop=stop))
    return new, f"refined grid {before} → {grid}"


def _auto_symbolic(s: "Session", stop: threading.Event, lib: list[str] | None,
                   weight_simple: float) -> tuple[Any, str]:
    choices = s.model.auto_symbolic(lib=lib, weight_simple=weight_simple, verbose=0, stop=stop)
    fixed = sum(c.name is not None for c in choices)
    return choices, f"auto-symbolic fixed {fixed} edge{'s' if fixed != 1 else ''}"


def _discover(s: "Session", stop: threading.Event, lib: list[str] | None) -> tuple[Any, str]:
    # classification data from the data panel: the same loss as Train (the report then judges accuracy)
    report = s.model.discover(s.model.data, lib=lib, verbose=False, stop=stop, **data_panel.fit_loss(s))
    _follow(s, report.model)
    return report, report.message


def _fix_symbolic(s: "Session", stop: threading.Event, l: int, i: int, j: int, name: str) -> tuple[Any, str]:
    r2 = s.model.fix_symbolic(l, i, j, name)
    return r2, f"fixed ({l},{i},{j}) to {name}, R² = {r2:.4f}"


def _unfix_symbolic(s: "Session", stop: threading.Event, l: int, i: int, j: int) -> tuple[Any, str]:
    s.model.unfix_symbolic(l, i, j)
    return None, f"({l},{i},{j}) is a spline again"


def _undo(s: "Session", stop: threading.Event) -> tuple[Any, str]:
    new = _follow(s, s.model.undo())
    return new, f"undo → version {new.lineage.current}"


def _checkout(s: "Session", stop: threading.Event, id: int) -> tuple[Any, str]:  # noqa: A002
    new = _follow(s, s.model.checkout(id))
    return new, f"checked out version {id}"


@dataclass(frozen=True)
class Handler:
    """run(session, stop, **args) -> (result, status text); long: in the background from the page."""
    run: Callable[..., tuple[Any, str]]
    long: bool = False


HANDLERS: dict[str, Handler] = {
    "prune": Handler(_prune),
    "refine": Handler(_refine, long=True),
    "auto_symbolic": Handler(_auto_symbolic, long=True),
    "discover": Handler(_discover, long=True),
    "fix_symbolic": Handler(_fix_symbolic),
    "unfix_symbolic": Handler(_unfix_symbolic),
    "undo": Handler(_undo),
    "checkout": Handler(_checkout),
    "add_node": Handler(net_edit.add_node),
    "delete_node": Handler(net_edit.delete_node),
    "add_layer": Handler(net_edit.add_layer),
    "delete_layer": Handler(net_edit.delete_layer),
    "regrid": Handler(net_edit.regrid),
    "reinit": Handler(net_edit.reinit),
    "set_data": Handler(data_panel.set_data),
    "regenerate": Handler(data_panel.regenerate),
    # -- feature handlers (imported from their own modules): add new entries above this line --
}
#: view settings (read-only): run at once, never pause a fit nor wait behind a command
VIEW_HANDLERS: dict[str, Callable[..., tuple[Any, str]]] = {"dataview": handle_dataview}


def _work(handler: Handler, s: "Session", args: dict[str, Any], stop: threading.Event) -> tuple[Any, str]:
    return handler.run(s, stop, **args)


class CommandRunner:
    """Validates and runs commands one at a time (see the module docstring)."""

    def __init__(self, session: "Session") -> None:
        self.s = session
        self._lock = threading.Lock()

    def handle_message(self, content: Any) -> None:
        """A custom message from the page. Never raises: problems go to `error` and a warning."""
        try:
            name, args = parse_message(content)
            self.run(name, args, background=True)
        except Exception as exc:  # noqa: BLE001 - the comm handler must never raise
            self.s.publisher.report(exc)

    def run(self, name: str, raw_args: dict[str, Any], background: bool = False) -> Any:
        """Run command `name`; background=True (the page) runs fits and long commands in a thread."""
        s = self.s
        if name in VIEW_HANDLERS:
            return VIEW_HANDLERS[name](s, None, **validate(name, raw_args, s.model_info()))[0]
        if name in STOPPERS or name == "close_inspector":
            validate(name, raw_args, s.model_info())
            if name == "close_inspector":
                return s.inspector.close()
            return self.cancel() if name == "cancel" else self.pause()
        with self._lock:
            args = validate(name, raw_args, s.model_info())
            if s.ops.current is not None:
                raise CommandError(f"{name}: {s.ops.busy_message()}")
            if s.widget.error:
                s.widget.error = ""
            if name == "inspect":
                return s.inspector.open(s.model, block=not background, **args)
            if name in NEEDS_DATA and s.model.data is None:
                raise CommandError(f"{name} needs a dataset: set w.dataset = create_dataset(...) "
                                   "(or pass it as KANWidget(model, dataset))")
            if name in TRAINERS:
                later = self._train(name, args, background)
            else:
                note = self._pause_for(name)
                handler = HANDLERS[name]
                job = s.ops.claim(name, note)
                work = functools.partial(_work, handler, s, args)
                if handler.long and background:
                    return s.ops.start(job, work)
                if not handler.long:
                    return s.ops.run(job, work)
                later = functools.partial(s.ops.run, job, work)
        return later() if later is not None else None

    # ---------------------------------------------------------- training
    def _train(self, name: str, args: dict[str, Any], background: bool) -> Callable[[], Any] | None:
        s, trainer = self.s, self.s.trainer
        if trainer.fit_active or trainer.fitting:
            raise CommandError(f"{name}: training is already running (step {trainer.at_step()}); press Pause first")
        trainer.join(PAUSE_TIMEOUT)     # a paused fit's final view update
        data = s.model.data
        if name == "step":
            kwargs = dict(steps=1, update_grid=False, **trainer.settings)
            s.publisher.set_status({"state": "busy", "text": f"one {kwargs['opt']} step…", "step": 0, "steps": 1})
        else:
            trainer.settings = {k: args[k] for k in ("opt", "lr", "lamb")}
            kwargs = dict(args)
            s.publisher.set_status({"state": "training", "text": f"training {args['opt']} · starting",
                                    "step": 0, "steps": args["steps"]})
        kwargs.update(data_panel.fit_loss(s))      # classification data (data panel): the logistic loss
        if background and name == "train":
            trainer.start(s.model, data, **kwargs)
            return None
        return functools.partial(trainer.run, s.model, data, **kwargs)

    def _pause_for(self, what: str) -> str:
        """Pause a fit of the widget before `what`; returns a note for the status line."""
        trainer = self.s.trainer
        if not trainer.fit_active and not trainer.running:
            return ""
        note = ""
        if trainer.fit_active:
            at = trainer.at_step()
            if not trainer.stop(PAUSE_TIMEOUT):
                raise CommandError(f"{what}: training did not pause within {PAUSE_TIMEOUT:g} s; try again")
            note = f"paused training at step {at}; "
        if not trainer.join(PAUSE_TIMEOUT):   # let the final view update of the fit finish
            raise CommandError(f"{what}: the training thread did not finish within {PAUSE_TIMEOUT:g} s; try again")
        return note

    # ------------------------------------------------------- fast path
    def pause(self, timeout: float = PAUSE_TIMEOUT) -> bool:
        """Stop the widget's fit, a cell's fit or a long command; True once it has stopped."""
        s = self.s
        if s.ops.cancel():
            return s.ops.join(timeout)
        if s.trainer.fit_active:
            (done, n), at = s.trainer.progress, s.trainer.at_step()
            stopped = s.trainer.stop(timeout)
            with s.publisher.lock:
                if stopped and s.trainer.final_pending:   # the final view update is on its way
                    s.widget.status = {"state": "busy", "text": f"paused at step {at}; updating the view…",
                                       "step": done, "steps": n}
            return stopped
        lineage = s.model.lineage
        if lineage.activity is not None:            # a cell's fit (or operation) in another thread
            s.model.stop_training()
            deadline = time.monotonic() + timeout
            while lineage.activity is not None and time.monotonic() < deadline:
                time.sleep(0.005)
            return lineage.activity is None
        if s.trainer.fitting:                       # a cell's fit that ended without fit_end (interrupted)
            s.trainer.fitting = False
            s.publisher.refresh({"graph", "formula", "versions", "inspector"}, status=idle("training interrupted"))
            return True
        s.publisher.set_status(idle("not training"), force=True)
        return True

    def cancel(self, timeout: float = PAUSE_TIMEOUT) -> bool:
        """Cancel the running long command or fit and the inspector's search; True once stopped."""
        self.s.inspector.cancel()
        if self.s.ops.current is not None or self.s.trainer.fit_active or self.s.model.lineage.activity:
            return self.pause(timeout)
        self.s.publisher.set_status(idle("nothing to cancel"), force=True)
        return True
