"""Publishing view payloads: the dirty set, the throttle, one message per update (hold_sync).

Payloads are computed only where the model is steady: in the thread of the running activity
(inside its event handlers) or when no activity runs. While another thread's fit or long operation
runs, the parts are marked dirty and published by that activity's next update (or when it ends).
During a fit, updates come at most every MIN_INTERVAL seconds, and the graph + curves pair only as
often as keeps its cost under GRAPH_BUDGET of the wall time.
"""
from __future__ import annotations

import threading
import time
import warnings
from typing import TYPE_CHECKING, Any, Iterable

from kanwidget.core.numerics.symbolic import SYMBOLIC_LIB
from kanwidget.widget import snapshot
from kanwidget.widget.dataview import DataView
from kanwidget.widget.protocol import CommandError

if TYPE_CHECKING:
    from kanwidget.widget.session import Session

#: seconds between two updates during a fit (at most 10 per second)
MIN_INTERVAL = 0.1
#: share of the wall time graph + curves updates may take during a fit
GRAPH_BUDGET = 0.05
ALL_PARTS = frozenset({"graph", "formula", "versions", "metrics", "library", "has_data", "inspector", "dataview"})


class KANWidgetWarning(RuntimeWarning):
    """A problem reported by the widget (also shown in its error box)."""


def idle(text: str = "", step: int = 0, steps: int = 0) -> dict[str, Any]:
    """An idle `status` value."""
    return {"state": "idle", "text": text, "step": int(step), "steps": int(steps)}


class Publisher:
    """Computes payloads from the session's model and sets the widget's traits."""

    def __init__(self, session: "Session") -> None:
        self.s = session
        self.lock = threading.RLock()         # trait writes (never held while waiting for the model)
        self.dirty: set[str] = set()
        self.next_tick = 0.0
        self.next_graph = 0.0
        self.graph_cost = 0.0
        self.dataview = DataView()            # the data view's settings, target cache and pacing

    # ------------------------------------------------------------ when
    def busy_elsewhere(self) -> bool:
        """Another thread's fit or long operation is running on the model's lineage."""
        activity = self.s.model.lineage.activity
        return activity is not None and activity.thread_id != threading.get_ident()

    def fit_started(self) -> None:
        now = time.monotonic()
        self.next_tick = now + MIN_INTERVAL
        self.next_graph = now + max(MIN_INTERVAL, self.graph_cost / GRAPH_BUDGET)
        self.dataview.paced(now)

    def tick(self, status: dict[str, Any]) -> None:
        """A throttled update during a fit (called from its step events)."""
        now = time.monotonic()
        if now < self.next_tick:
            return
        with self.lock:
            parts = set(self.dirty)
            self.dirty.clear()
        graph_due = now >= self.next_graph
        if graph_due:
            parts.add("graph")
        view_due = self.dataview.due(now)
        if view_due:
            parts.add("dataview")
        started = time.perf_counter()
        values = self.compute(parts)
        values["status"] = status
        self.apply(values)
        cost = time.perf_counter() - started
        after = time.monotonic()
        self.next_tick = after + MIN_INTERVAL
        if graph_due:
            self.graph_cost = cost - (self.dataview.cost if view_due else 0.0)
            self.next_graph = after + max(MIN_INTERVAL, cost / GRAPH_BUDGET)
        if view_due:
            self.dataview.paced(after)

    def refresh(self, parts: Iterable[str], status: dict[str, Any] | None = None) -> bool:
        """Recompute `parts` (plus the dirty ones) and publish them with `status` in one message.

        While another thread's activity runs, only marks them dirty (and sets `status`); False then.
        """
        parts = set(parts)
        if parts & {"graph", "has_data"}:
            parts.add("dataview")             # the data view follows the model and the data
        if self.busy_elsewhere():
            with self.lock:
                self.dirty |= parts
                if status is not None:
                    self.s.widget.status = status
            return False
        with self.lock:
            parts |= self.dirty
            self.dirty.clear()
        values = self.compute(parts)
        if status is not None:
            values["status"] = status
        self.apply(values)
        return True

    # ------------------------------------------------------------ what
    def compute(self, parts: set[str]) -> dict[str, Any]:
        model = self.s.model
        values: dict[str, Any] = {}
        if "graph" in parts:
            current = model.lineage.current
            started = time.perf_counter()
            values["graph"], values["curves"] = snapshot.graph_payload(
                model, version=-1 if current is None else current)
            self.graph_cost = time.perf_counter() - started   # paces the first update of the next fit
        if "formula" in parts:
            values["formula"] = snapshot.formula_payload(model)
        if "versions" in parts:
            values["versions"] = snapshot.versions_payload(model)
        if "library" in parts:
            values["library"] = list(SYMBOLIC_LIB)
        if "has_data" in parts:
            values["has_data"] = model.data is not None
        if "inspector" in parts:
            values["inspector"] = self.s.inspector.value(model)
        if "dataview" in parts:
            values["dataview"], values["dataview_data"] = self.dataview.payload(model, self.s.target, self.s.task)
        # -- feature parts: add new parts above this line (and their names in ALL_PARTS) --
        return values

    def apply(self, values: dict[str, Any]) -> None:
        """Set traits in one message (hold_sync); new loss rows go as an appended chunk or the whole series."""
        w = self.s.widget
        with self.lock:
            rows = self.s.rows.take()
            if rows is not None and rows[0] == "append":
                w.send({"type": "metrics", "rows": rows[1]})
                data = self.s.rows.to_bytes()
                with w._lock_property(metrics=data):   # the page has these rows: update Python's copy only
                    w.metrics = data
            elif rows is not None:
                values["metrics"] = rows[1]
            with w.hold_sync():
                for name, value in values.items():
                    setattr(w, name, value)

    # ---------------------------------------------------------- status
    def set_status(self, status: dict[str, Any], force: bool = False) -> None:
        w = self.s.widget
        with self.lock:
            if force and status == w.status:
                w.status = {**status, "state": "busy"}   # the page only reacts to a change
            w.status = status

    def report(self, exc: BaseException | str, prefix: str = "") -> None:
        """Show a problem in the error box (and as a KANWidgetWarning); a busy status becomes idle."""
        if isinstance(exc, KeyboardInterrupt):
            msg = "interrupted"
        else:
            msg = exc if isinstance(exc, str) else (str(exc) or type(exc).__name__)
            if isinstance(exc, BaseException) and \
                    not isinstance(exc, (CommandError, ValueError, TypeError, RuntimeError)):
                msg = f"{type(exc).__name__}: {msg}"
        msg = prefix + msg
        w = self.s.widget
        with self.lock:
            if w.error == msg:
                w.error = ""      # the page shows a repeated message again
            w.error = msg
            if w.status.get("state") == "busy" and self.s.ops.current is None:
                w.status = idle("failed")
        warnings.warn(f"KANWidget: {msg}", KANWidgetWarning, stacklevel=3)
