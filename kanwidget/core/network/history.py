"""Lineage: the event bus, version history, change door and running activity shared by related models.

Every state change of a model goes through `with lineage.change(model, label):` (one version per
outermost change, exact rollback on error); long operations run as an `Activity` with their own stop
event, and other threads get a ModelBusyError instead of blocking while one runs.
"""
from __future__ import annotations

import threading
import time
import warnings
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator

from kanwidget.core.network.loss_history import LossHistory
from kanwidget.core.network.state import ModelState, RestorePoint

if TYPE_CHECKING:
    from kanwidget.core.network.model import KAN

EVENTS = ("fit_start", "step", "fit_end", "grid_update", "structure", "version", "progress")
BUSY_POLL_SECONDS = 0.02


class ModelBusyError(RuntimeError):
    """A model operation was called from one thread while a fit or long operation runs in another."""


class OperationCancelled(Exception):
    """A long operation was stopped through its stop token; the model is left as it was before."""


@dataclass(frozen=True)
class Version:
    """One recorded state of the model: what produced it, its metrics, and its (compact, frozen) state."""
    id: int
    label: str
    metrics: dict[str, float]
    structure: str
    parent: int | None
    snapshot: ModelState = field(repr=False, compare=False)


@dataclass
class Activity:
    """What runs on a lineage now: a fit or a long operation, its thread, stop token and progress."""
    name: str
    thread_id: int
    stop: threading.Event
    done: int = 0
    total: int = 0
    started: float = field(default_factory=time.monotonic)
    unit: str = "step"

    def describe(self) -> str:
        progress = f" ({self.unit} {self.done}/{self.total})" if self.total else ""
        return f"{self.name}{progress}"

    def check(self) -> None:
        """Raise OperationCancelled if this activity's stop token is set."""
        if self.stop.is_set():
            raise OperationCancelled(f"{self.name} cancelled after {self.done}/{self.total} {self.unit}s; "
                                     "the model is left as it was before")


@dataclass
class Change:
    """The handle of `Lineage.change`: the body may set the result model, the label and the metrics."""
    model: "KAN"
    label: str
    metrics: dict[str, float] | None = None
    result: "KAN | None" = None


class Lineage:
    """Shared by a model and every model made from it (prune, refine, checkout).

    Holds the subscribers of model events, the version list, the lock that serialises changes
    to the model, and the stack of running activities (see `change`, `begin`, `cancel`).
    """

    def __init__(self, max_versions: int = 200) -> None:
        self._subscribers: dict[str, list[Callable[..., Any]]] = defaultdict(list)
        self.versions: list[Version] = []
        self.current: int | None = None
        self.max_versions = max_versions
        self.lock = threading.RLock()
        self._activities: list[Activity] = []
        self._change_depth = 0
        self._next_id = 0
        #: views attached to this lineage (a KANWidget counts itself while subscribed); fit hides its
        #: progress bar while this is > 0 because the view shows progress itself
        self.viewers = 0
        #: the loss rows of every fit step announced on this lineage (bounded; restored with checkout)
        self.losses = LossHistory()

    def __deepcopy__(self, memo: dict) -> "Lineage":
        """A copied model starts a lineage of its own: same versions, no subscribers, fresh lock."""
        new = Lineage(self.max_versions)
        new.versions = list(self.versions)
        new.current, new._next_id = self.current, self._next_id
        new.losses = self.losses.copy()
        return new

    # ---------------------------------------------------------------- events
    def on(self, event: str, fn: Callable[..., Any]) -> None:
        """Call fn(*payload) whenever `event` is emitted."""
        if event not in EVENTS:
            raise ValueError(f"unknown event {event!r}; valid events: {', '.join(EVENTS)}")
        if not callable(fn):
            raise TypeError("event handler must be callable")
        self._subscribers[event].append(fn)

    def off(self, event: str, fn: Callable[..., Any]) -> None:
        """Remove a handler added with on(); unknown handlers are ignored."""
        handlers = self._subscribers.get(event, [])
        if fn in handlers:
            handlers.remove(fn)

    def emit(self, event: str, *payload: Any) -> None:
        """Call the handlers of `event`; a "step" (a FitStep) is first added to the loss history."""
        if event == "step":
            info = payload[0]
            self.losses.append(info.total_step, info.train_loss, info.test_loss, info.reg)
        for fn in list(self._subscribers.get(event, ())):
            try:
                fn(*payload)
            except Exception as exc:  # a view must never break training
                warnings.warn(f"kanwidget: {event!r} handler {fn!r} raised {exc!r}", RuntimeWarning, stacklevel=2)

    # ------------------------------------------------------- busy, activities
    @property
    def activity(self) -> Activity | None:
        """The innermost running activity, else None."""
        return self._activities[-1] if self._activities else None

    def _acquire(self, what: str) -> None:
        """Take the lock; raise ModelBusyError at once if another thread's activity runs."""
        me = threading.get_ident()
        while True:
            running = self.activity
            if running is not None and running.thread_id != me:
                raise ModelBusyError(f"the model is busy: {running.describe()} running in another thread; "
                                     f"cannot {what} now; call model.stop_training() or wait")
            if self.lock.acquire(timeout=BUSY_POLL_SECONDS):
                return

    @contextmanager
    def guard(self, what: str) -> Iterator[None]:
        """Hold the lock for a short model operation (ModelBusyError while another thread's activity runs)."""
        self._acquire(what)
        try:
            yield
        finally:
            self.lock.release()

    @contextmanager
    def begin(self, name: str, total: int = 0, stop: threading.Event | None = None,
              unit: str = "step") -> Iterator[Activity]:
        """Run a fit or long operation as this lineage's activity (stop token: `stop` or a new Event)."""
        if stop is not None and not (callable(getattr(stop, "is_set", None)) and callable(getattr(stop, "set", None))):
            raise TypeError(f"stop must be a threading.Event, got {type(stop).__name__}")
        self._acquire(name)
        activity = Activity(name, threading.get_ident(), stop if stop is not None else threading.Event(),
                            total=total, unit=unit)
        self._activities.append(activity)
        try:
            yield activity
        finally:
            self._activities.remove(activity)
            self.lock.release()

    def advance(self, activity: Activity, n: int = 1) -> None:
        """Count n more units done and emit "progress"(activity)."""
        activity.done += n
        self.emit("progress", activity)

    def cancel(self) -> bool:
        """Set the stop token of the running activities; False when nothing runs."""
        running = list(self._activities)
        for activity in running:
            activity.stop.set()
        return bool(running)

    # ------------------------------------------------------------ the door
    @contextmanager
    def change(self, model: "KAN", label: str, kind: str | None = None,
               metrics: dict[str, float] | None = None) -> Iterator[Change]:
        """The one door for state changes.

        The body changes `model` in place and/or sets `ch.result`; it may also set `ch.label` and
        `ch.metrics`. When the outermost change succeeds, one version of (ch.result or model) is
        recorded, then "structure"(result, kind) is emitted if kind is given. Nested changes fold
        into the outer one. If the body raises, the model and the history are restored exactly and
        the exception propagates.
        """
        self._acquire(label)
        try:
            outer = self._change_depth == 0
            point = RestorePoint(model)
            history = (list(self.versions), self.current, self._next_id) if outer else None
            losses = self.losses.mark() if outer else None
            ch = Change(model, label, metrics)
            self._change_depth += 1
            try:
                yield ch
            except BaseException:
                point.restore()
                if history is not None:
                    self.versions[:], self.current, self._next_id = history
                if losses is not None:
                    self.losses.rollback(losses)
                raise
            finally:
                self._change_depth -= 1
            if outer:
                result = ch.result if ch.result is not None else model
                self.record_state(ch.label, ch.metrics or {}, result)
                if kind is not None:
                    self.emit("structure", result, kind)
        finally:
            self.lock.release()

    # -------------------------------------------------------------- versions
    def base_state(self) -> ModelState | None:
        """The state new versions share unchanged tensors with: the current version's, else the latest."""
        if self.current is not None:
            for v in reversed(self.versions):
                if v.id == self.current:
                    return v.snapshot
        return self.versions[-1].snapshot if self.versions else None

    def record_state(self, label: str, metrics: dict[str, float], model: "KAN") -> Version:
        """Record `model`'s current state as a new version (sharing unchanged tensors)."""
        return self.record(label, metrics, str(model.width), ModelState.of(model, previous=self.base_state()))

    def record(self, label: str, metrics: dict[str, float], structure: str, snapshot: ModelState) -> Version:
        version = Version(self._next_id, label, dict(metrics), structure, self.current, snapshot)
        self._next_id += 1
        self.versions.append(version)
        if len(self.versions) > self.max_versions:
            del self.versions[0]
        self.current = version.id
        self.losses.remember(version.id, (v.id for v in self.versions))
        self.emit("version", version)
        return version

    def get(self, version_id: int) -> Version:
        for v in self.versions:
            if v.id == version_id:
                return v
        ids = ", ".join(str(v.id) for v in self.versions) or "none"
        raise ValueError(f"unknown version {version_id!r}; recorded versions: {ids}")
