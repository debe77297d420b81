"""Long commands (auto-symbolic, refine, ...): one at a time, with progress, cancel and a truthful status.

A job owns a stop token passed to the core operation (`stop=`); the core reports progress through
"progress" events and raises OperationCancelled (model left as before) when the token is set.
While a job runs, the status is {"state": "busy", "command", "done", "total", "eta_s", "cancellable"}
and every other model-changing command is refused (`busy_message`), never queued.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from kanwidget.core import OperationCancelled
from kanwidget.widget.protocol import CommandError
from kanwidget.widget.publisher import MIN_INTERVAL, idle

if TYPE_CHECKING:
    from kanwidget.widget.session import Session

#: the work of a job: fn(stop) -> (result, status text)
Work = Callable[[threading.Event], "tuple[Any, str]"]


@dataclass
class Job:
    """One running long command."""
    name: str
    note: str = ""                              # e.g. "paused training at step 3/50; "
    stop: threading.Event = field(default_factory=threading.Event)
    done: int = 0
    total: int = 0
    unit: str = ""
    started: float = field(default_factory=time.monotonic)
    thread: threading.Thread | None = None
    thread_id: int | None = None
    finished: threading.Event = field(default_factory=threading.Event)

    @property
    def label(self) -> str:
        return self.name.replace("_", "-")

    def eta(self) -> float | None:
        if self.done <= 0 or self.total <= 0:
            return None
        elapsed = time.monotonic() - self.started
        return round(elapsed / self.done * max(self.total - self.done, 0), 1)

    def status(self) -> dict[str, Any]:
        progress = f" {self.done}/{self.total} {self.unit}s" if self.total else "…"
        return {"state": "busy", "text": f"{self.note}{self.label}{progress}", "step": self.done,
                "steps": self.total, "command": self.name, "done": self.done, "total": self.total,
                "eta_s": self.eta(), "cancellable": True}


class LongOps:
    """Runs at most one long command, in a background thread (page) or in the caller (Python API)."""

    def __init__(self, session: "Session") -> None:
        self.s = session
        self.current: Job | None = None
        self._lock = threading.Lock()
        self._next_status = 0.0

    def busy_message(self) -> str:
        job = self.current
        if job is None:
            return ""
        progress = f" {job.done}/{job.total} {job.unit}s" if job.total else ""
        return f"busy: {job.label}{progress}; press Cancel first"

    def claim(self, name: str, note: str = "") -> Job:
        """Reserve the slot for `name` (CommandError if another long command runs)."""
        with self._lock:
            if self.current is not None:
                raise CommandError(f"{name}: {self.busy_message()}")
            self.current = Job(name, note)
        self.s.publisher.set_status(self.current.status())
        return self.current

    def start(self, job: Job, work: Work) -> None:
        """Run the claimed job in a daemon thread; the outcome goes to status / error."""
        job.thread = threading.Thread(target=self._background, args=(job, work), name=f"kanwidget-{job.name}",
                                      daemon=True)
        job.thread.start()

    def run(self, job: Job, work: Work) -> Any:
        """Run the claimed job in the caller; its exceptions propagate (after the status is updated)."""
        return self._execute(job, work, reraise=True)

    def _background(self, job: Job, work: Work) -> None:
        self._execute(job, work, reraise=False)

    def _execute(self, job: Job, work: Work, reraise: bool) -> Any:
        job.thread_id = threading.get_ident()
        status = idle(f"{job.label} failed")
        try:
            result, text = work(job.stop)
            status = idle(job.note + text)
            return result
        except OperationCancelled:
            status = idle(f"{job.note}{job.label} cancelled; the model is unchanged")
            if reraise:
                raise
        except BaseException as exc:  # noqa: BLE001 - KeyboardInterrupt included: reported, then re-raised
            interrupted = isinstance(exc, KeyboardInterrupt)
            status = idle(f"{job.label} interrupted" if interrupted else f"{job.label} failed")
            self._release(job)
            self.s.publisher.report(exc, prefix=f"{job.label} {'' if interrupted else 'failed: '}")
            if reraise or interrupted:
                raise
        finally:
            self._release(job)
            self.s.publisher.refresh((), status=status)
            job.finished.set()
        return None

    def _release(self, job: Job) -> None:
        with self._lock:
            if self.current is job:
                self.current = None

    def progress(self, activity: Any) -> None:
        """A "progress" event of the core operation run by the current job: update the busy status."""
        job = self.current
        if job is None or activity.thread_id != job.thread_id:
            return
        job.done, job.total, job.unit = int(activity.done), int(activity.total), str(activity.unit)
        now = time.monotonic()
        if now >= self._next_status or job.done >= job.total:
            self._next_status = now + MIN_INTERVAL
            self.s.publisher.set_status(job.status())

    def cancel(self) -> bool:
        """Set the current job's stop token; False when none runs."""
        job = self.current
        if job is None:
            return False
        job.stop.set()
        self.s.publisher.set_status({**job.status(), "text": f"cancelling {job.label}…", "cancellable": False})
        return True

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the current job to finish; True when none runs."""
        job = self.current
        if job is None or job.thread_id == threading.get_ident():
            return job is None
        return job.finished.wait(timeout)
