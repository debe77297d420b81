"""Fit state of the widget: the widget's own fits (background thread or caller) and their stop tokens.

One stop token per fit: `start`/`run` create a threading.Event and pass it to `model.fit(stop=...)`;
`stop` sets it and waits for fit to return (the core restores the last completed step). Pause thus
runs one way: button -> Trainer.stop -> the fit's Event -> fit returns. Nothing else stops fits.

Messages from the page reach Python only while no cell runs, so a fit started from the page runs in
a daemon thread; its final view update runs in that thread after fit has returned.

Run until paused (`train` with steps=0, the page's Play button): the background thread runs fits of
CHUNK_STEPS steps (record=False; grids updated in the first chunk only) until the stop token is set,
the status counting the steps of the whole run; ONE version is recorded when it ends ("fit LBFGS x1234
(until paused)"), so versions stay bounded however long it runs, and the model's loss history (kept by
its lineage, bounded) gets a row per step as with any fit. Pause stops the running chunk after its
current step, so the model is always at a completed step.
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from kanwidget.widget.data_panel import accuracy_text
from kanwidget.widget.publisher import ALL_PARTS, idle

if TYPE_CHECKING:
    from kanwidget.core.network.model import KAN
    from kanwidget.widget.session import Session

Results = dict[str, list[float]]
#: optimiser steps per fit while running until paused
CHUNK_STEPS = 100


class Trainer:
    """Owns all fit state: the running fit's thread and stop token, its progress and settings."""

    def __init__(self, session: "Session") -> None:
        self.s = session
        self.settings: dict[str, Any] = {"opt": "LBFGS", "lr": 1.0, "lamb": 0.0}   # used by `step`
        self.progress = (0, 0)          # (step, steps) of the fit streaming into the view
        self.fitting = False            # a fit of the lineage streams into the view (the widget's or a cell's)
        self.pausing = False
        self.stall_note = ""            # a plateau the running fit detected and escaped (shown in the status)
        self.final_pending = False      # the final view update of a background fit has not run yet
        self.until_paused = False       # the running fit is a run until paused (train with steps=0)
        self.run_base = 0               # steps of that run completed in earlier chunks
        self._thread: threading.Thread | None = None
        self._token: threading.Event | None = None
        self._returned = threading.Event()
        self._returned.set()
        self._lock = threading.Lock()

    # ------------------------------------------------------------- state
    @property
    def running(self) -> bool:
        """The background thread is alive (its fit, or the final view update after it)."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    @property
    def fit_active(self) -> bool:
        """A fit started by the widget has not returned yet (background or caller)."""
        return not self._returned.is_set()

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    @property
    def stop_requested(self) -> bool:
        token = self._token
        return token is not None and token.is_set()

    # ------------------------------------------------------------ control
    def _claim(self, steps: int) -> threading.Event:
        with self._lock:
            if self.fit_active or self.running:
                raise RuntimeError("training is already running; pause it first")
            self._token = threading.Event()
            self._returned.clear()
            self.progress = (0, steps)
            self.until_paused, self.run_base = steps == 0, 0
            return self._token

    def at_step(self) -> str:
        """Where the fit is, for messages: "12/50", or "345" when running until paused."""
        done, n = self.progress
        return f"{done}/{n}" if n else str(done)

    def run_step(self, step: int, steps: int) -> tuple[int, int]:
        """(step, steps) for the status: the whole run's step count and 0 (no end) when running until paused."""
        return (self.run_base + step, 0) if self.until_paused and self.fit_active else (step, steps)

    def start(self, model: "KAN", dataset: dict[str, Any], **fit_kwargs: Any) -> None:
        """Run model.fit in a daemon thread with a fresh stop token."""
        token = self._claim(fit_kwargs.get("steps", 0))
        self.final_pending = True
        self._thread = threading.Thread(target=self._background, args=(model, dataset, token, fit_kwargs),
                                        name="kanwidget-trainer", daemon=True)
        self._thread.start()

    def run(self, model: "KAN", dataset: dict[str, Any], **fit_kwargs: Any) -> Results:
        """Run model.fit in the caller (still stoppable from other threads through its token)."""
        token = self._claim(fit_kwargs.get("steps", 0))
        try:
            return model.fit(dataset, verbose=False, stop=token, **fit_kwargs)
        finally:
            self._returned.set()
            if self.fitting or self.s.widget.status.get("state") == "training":   # fit raised: no fit_end
                self.fitting = False
                self.s.publisher.refresh(ALL_PARTS - {"library"}, status=idle("training stopped"))

    def _background(self, model: "KAN", dataset: dict[str, Any], token: threading.Event,
                    fit_kwargs: dict[str, Any]) -> None:
        results, error = None, None
        try:
            if not token.is_set():
                results = self._until_paused(model, dataset, token, fit_kwargs) if self.until_paused \
                    else model.fit(dataset, verbose=False, stop=token, **fit_kwargs)
        except BaseException as exc:  # never lost: reported to the widget (error trait + warning)
            error = exc
        finally:
            self._returned.set()
        try:
            if error is not None:
                self.s.publisher.report(error, prefix="training failed: ")
        finally:
            self._final_update(results)

    def _until_paused(self, model: "KAN", dataset: dict[str, Any], token: threading.Event,
                      fit_kwargs: dict[str, Any]) -> Results:
        """Fits of CHUNK_STEPS steps until the token is set (or a fit ends early); one version at the end."""
        lineage = model.lineage
        if not lineage.versions:
            with lineage.change(model, "init"):
                pass
        kwargs = {**fit_kwargs, "steps": CHUNK_STEPS, "record": False}
        total: Results = {"train_loss": [], "test_loss": [], "reg": []}
        try:
            while not token.is_set():
                results = model.fit(dataset, verbose=False, stop=token, **kwargs)
                for key in total:
                    total[key].extend(results[key])
                self.run_base = len(total["train_loss"])
                kwargs["update_grid"] = False
                if len(results["train_loss"]) < CHUNK_STEPS:    # stopped, or ended early (non-finite loss)
                    break
        finally:
            done = len(total["train_loss"])
            self.progress = (done, 0)
            if done:
                with lineage.change(model, f"fit {fit_kwargs.get('opt', 'LBFGS')} x{done} (until paused)",
                                    metrics={"train_loss": total["train_loss"][-1],
                                             "test_loss": total["test_loss"][-1]}):
                    pass
        return total

    def _final_update(self, results: Results | None) -> None:
        """Last thing in the trainer thread: the final view update of the fit."""
        self.fitting = False
        if results is not None:
            status = self.summary(results)
        else:  # fit raised (no fit_end event came) or was stopped before it started
            status = idle("training failed" if self.s.widget.error else "training cancelled")
        self.pausing = False
        try:
            self.s.publisher.refresh(ALL_PARTS - {"library"}, status=status)
        except Exception as exc:  # noqa: BLE001
            self.s.publisher.set_status(status)
            self.s.publisher.report(exc, prefix="view update failed: ")
        finally:
            self.final_pending = False
            self.until_paused = False

    def stop(self, timeout: float = 10.0) -> bool:
        """Set the running fit's stop token; True once fit has returned (within timeout)."""
        token = self._token
        if self._returned.is_set():
            return True
        self.pausing = True
        if token is not None:
            token.set()
        return self._returned.wait(timeout)

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the background thread (its fit and final view update); True when it has ended."""
        thread = self._thread
        if thread is None or thread is threading.current_thread():
            return thread is None
        thread.join(timeout)
        return not thread.is_alive()

    # ------------------------------------------------------------- status
    def summary(self, results: Results | None) -> dict[str, Any]:
        """The idle status after a fit: trained / paused / stopped, with its last losses."""
        results = results or {}
        done = len(results.get("train_loss", []))
        _, n = self.progress
        if self.until_paused:
            text = f"paused after {done} steps" if done else "no step completed"
        elif done and done < n:
            text = f"paused after {done}/{n} steps" if (self.pausing or self.stop_requested) \
                else f"stopped after {done}/{n} steps"
        elif done:
            text = f"trained {done} steps"
        else:
            text = "no step completed"
        if done:
            text += accuracy_text(self.s)     # before the losses: what a student reads first (the line may be cut)
            text += f" · train {results['train_loss'][-1]:.3g} · test {results['test_loss'][-1]:.3g}"
        if self.stall_note:
            text += f" · {self.stall_note}"
        return idle(text, done, n)
