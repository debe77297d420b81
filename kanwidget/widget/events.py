"""The widget's subscription to its model's lineage: events -> session state -> published view.

Handlers run in the thread that emits (a fit's thread, a cell's thread, a long command's thread);
they follow the current model, record loss rows and fit progress, and publish through the
Publisher. A failing view update is reported, never breaks training.
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Callable

from kanwidget.widget.publisher import ALL_PARTS

if TYPE_CHECKING:
    from kanwidget.core.network.model import KAN
    from kanwidget.widget.session import Session


class LineageEvents:
    """Subscribes to one lineage at a time (the current model's) and handles its events."""

    def __init__(self, session: "Session") -> None:
        self.s = session
        self._lineage: Any = None
        self._handlers: dict[str, Callable[..., None]] = {
            "fit_start": self._guard(self.fit_start), "step": self._guard(self.step),
            "fit_end": self._guard(self.fit_end), "grid_update": self._guard(self.grid_update),
            "structure": self._guard(self.structure), "version": self._guard(self.version),
            "progress": self._guard(self.s.ops.progress)}

    def _guard(self, fn: Callable[..., None]) -> Callable[..., None]:
        def handler(*args: Any) -> None:
            try:
                fn(*args)
            except Exception as exc:  # noqa: BLE001
                self.s.publisher.report(exc, prefix="view update failed: ")
        return handler

    def attach(self, model: "KAN") -> None:
        if self._lineage is not model.lineage:
            self.detach()
            self._lineage = model.lineage
            self._lineage.viewers = getattr(self._lineage, "viewers", 0) + 1   # fit hides its bar (we show progress)
            for event, fn in self._handlers.items():
                model.on(event, fn)
        self.s.model = model

    def detach(self) -> None:
        if self._lineage is not None:
            for event, fn in self._handlers.items():
                self._lineage.off(event, fn)
            self._lineage.viewers = max(0, getattr(self._lineage, "viewers", 1) - 1)
            self._lineage = None

    # ------------------------------------------------------------ handlers
    def fit_start(self, model: "KAN", steps: int) -> None:
        s = self.s
        s.model = model
        s.trainer.fitting = True
        step, n = s.trainer.run_step(0, int(steps))      # n == 0: a run until paused (its chunks go on)
        s.trainer.progress = (step, n)
        s.publisher.fit_started()
        if step == 0:
            s.trainer.stall_note = ""
        text = "training…" if n else f"step {step} · until paused"
        s.publisher.set_status({"state": "training", "text": text, "step": step, "steps": n})

    def step(self, info: Any) -> None:
        s = self.s
        s.model = info.model
        step, steps = s.trainer.run_step(int(info.step), int(info.steps))
        s.trainer.progress = (step, steps)
        if getattr(info, "stall", ""):     # the core detected a plateau and escaped it: say so, also after the fit
            s.trainer.stall_note = f"step {step}: {info.stall}"
        text = f"train {info.train_loss:.3g} · test {info.test_loss:.3g}"
        if not steps:                                            # running until paused: the live counter
            text = f"step {step} · {text} · until paused"
        if s.trainer.stall_note:
            text += f" · {s.trainer.stall_note}"
        s.publisher.tick({"state": "training", "text": text, "step": step, "steps": steps})

    def fit_end(self, model: "KAN", results: dict[str, list[float]]) -> None:
        s = self.s
        s.model = model
        s.trainer.fitting = False
        if threading.current_thread() is s.trainer.thread:
            return   # the final update runs after fit returns (Trainer._final_update): pause returns sooner
        status = s.trainer.summary(results)
        s.trainer.pausing = False
        s.publisher.refresh(ALL_PARTS - {"library"}, status=status)

    def grid_update(self, model: "KAN") -> None:
        if not self.s.trainer.fitting:
            self.s.model = model
            self.s.publisher.refresh({"graph", "inspector"})

    def version(self, version: Any) -> None:
        s = self.s                     # the lineage remembered the loss rows of this version itself
        if s.trainer.fitting:
            s.publisher.dirty.add("versions")
        else:
            s.publisher.refresh({"versions"})

    def structure(self, model: "KAN", kind: str) -> None:
        s = self.s
        s.model = model
        if s.inspector.edge is not None and kind in ("prune", "checkout"):
            s.inspector.edge = None
        s.publisher.refresh(ALL_PARTS)
