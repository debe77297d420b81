"""Background training: one daemon thread running model.fit, with a prompt, race-free stop.

Messages from the page reach Python only while no cell runs, so a fit started from the widget
cannot run in the kernel's main thread. The core's lineage lock guards the model; the core's
`stop_training()` interrupts even inside an LBFGS closure and restores the last completed step.
"""
from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from kanwidget.core.network.model import KAN


class Trainer:
    """Runs `model.fit(dataset, **kwargs)` in a daemon thread.

    on_error(exc) is called (in the thread) when fit raises; on_done(results | None) always
    runs last in the thread.
    """

    def __init__(self, on_error: Callable[[BaseException], None],
                 on_done: Callable[[dict[str, list[float]] | None], None]) -> None:
        self._on_error = on_error
        self._on_done = on_done
        self._thread: threading.Thread | None = None
        self._model: "KAN | None" = None
        self._stop = threading.Event()
        self._returned = threading.Event()
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        """The thread is alive (its fit, or the final view update after it)."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    @property
    def fit_active(self) -> bool:
        """A fit is running in the thread (it has not returned yet)."""
        return self.running and not self._returned.is_set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def start(self, model: "KAN", dataset: dict[str, Any], **fit_kwargs: Any) -> None:
        with self._lock:
            if self.running:
                raise RuntimeError("training is already running; pause it first")
            self._stop.clear()
            self._returned.clear()
            self._model = model
            self._thread = threading.Thread(target=self._run, args=(model, dataset, fit_kwargs),
                                            name="kanwidget-trainer", daemon=True)
            self._thread.start()

    def _run(self, model: "KAN", dataset: dict[str, Any], fit_kwargs: dict[str, Any]) -> None:
        results, error = None, None
        try:
            if not self._stop.is_set():
                results = model.fit(dataset, verbose=False, callbacks=[self._check_stop], **fit_kwargs)
        except BaseException as exc:  # never lost: reported to the widget (error trait + warning)
            error = exc
        finally:
            self._returned.set()
        try:
            if error is not None:
                self._on_error(error)
        finally:
            self._on_done(results)

    def _check_stop(self, info: Any) -> None:
        if self._stop.is_set():
            info.model.stop_training()

    def stop(self, timeout: float = 10.0) -> bool:
        """Ask the fit to stop; True once it has returned (within timeout).

        Returns as soon as model.fit has returned (weights restored to the last completed step);
        the final view update then runs in the thread (`join` waits for it). The core clears its
        stop flag when a fit starts, so the request is repeated until the fit returns (a pause
        right after start is never lost).
        """
        thread, model = self._thread, self._model
        if thread is None or not thread.is_alive() or self._returned.is_set():
            return True
        self._stop.set()
        deadline = time.monotonic() + timeout
        while not self._returned.is_set():
            if model is not None:
                model.stop_training()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._returned.wait(min(0.005, remaining))
        if model is not None:
            model.lineage.stop_event.clear()   # a repeated request may have outlived the fit
        return True

    def join(self, timeout: float | None = None) -> bool:
        thread = self._thread
        if thread is None:
            return True
        if thread is threading.current_thread():
            return False
        thread.join(timeout)
        return not thread.is_alive()
