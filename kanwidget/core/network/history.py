"""Lineage: the event bus and in-memory version history shared by models derived from one another."""
from __future__ import annotations

import threading
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable

EVENTS = ("fit_start", "step", "fit_end", "grid_update", "structure", "version")


@dataclass(frozen=True)
class Version:
    """One recorded state of the model: what produced it, its metrics, and a full snapshot."""
    id: int
    label: str
    metrics: dict[str, float]
    structure: str
    parent: int | None
    snapshot: dict[str, Any] = field(repr=False, compare=False)


class Lineage:
    """Shared by a model and every model made from it (prune, refine, checkout).

    Holds the subscribers of model events, the version list, the lock that serialises
    changes to the model, and the stop flag of a running fit.
    """

    def __init__(self, max_versions: int = 200) -> None:
        self._subscribers: dict[str, list[Callable[..., Any]]] = defaultdict(list)
        self.versions: list[Version] = []
        self.current: int | None = None
        self.max_versions = max_versions
        self.lock = threading.RLock()
        self.stop_event = threading.Event()
        self._next_id = 0

    def __deepcopy__(self, memo: dict) -> "Lineage":
        """A copied model starts a lineage of its own: same versions, no subscribers, fresh lock."""
        new = Lineage(self.max_versions)
        new.versions = list(self.versions)
        new.current, new._next_id = self.current, self._next_id
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
        for fn in list(self._subscribers.get(event, ())):
            try:
                fn(*payload)
            except Exception as exc:  # a view must never break training
                warnings.warn(f"kanwidget: {event!r} handler {fn!r} raised {exc!r}", RuntimeWarning, stacklevel=2)

    # -------------------------------------------------------------- versions
    def record(self, label: str, metrics: dict[str, float], structure: str, snapshot: dict[str, Any]) -> Version:
        version = Version(self._next_id, label, dict(metrics), structure, self.current, snapshot)
        self._next_id += 1
        self.versions.append(version)
        if len(self.versions) > self.max_versions:
            del self.versions[0]
        self.current = version.id
        self.emit("version", version)
        return version

    def get(self, version_id: int) -> Version:
        for v in self.versions:
            if v.id == version_id:
                return v
        ids = ", ".join(str(v.id) for v in self.versions) or "none"
        raise ValueError(f"unknown version {version_id!r}; recorded versions: {ids}")
