"""What the page holds of the model's loss history, and what it is missing.

The rows themselves belong to the model: its lineage keeps them (`kanwidget.core.network.loss_history`,
bounded: recent steps exact, older ones min/max-bucketed; restored by checkout / undo), so a model
trained before the widget was created shows its whole loss curve. This mirror only tracks what
was sent: new rows go to the page as appended chunks (`take`); the whole series is re-sent when the
history was rewritten (checkout / undo / compaction / a failed change) or belongs to another
lineage (the model was replaced).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from kanwidget.core.network.loss_history import LossHistory, downsample  # noqa: F401 - re-exported


class LossRows:
    """The page's copy of the current model's loss history (see the module docstring)."""

    def __init__(self, source: Callable[[], LossHistory]) -> None:
        self._source = source
        self._synced: tuple[int, int] | None = None    # (id of the history, its revision) the page holds
        self._sent = 0                                 # rows of that series the page holds

    @property
    def history(self) -> LossHistory:
        """The current model's loss history (its lineage's)."""
        return self._source()

    # ------------------------------------------------------------- reading
    def __len__(self) -> int:
        return len(self.history)

    def array(self) -> np.ndarray:
        return self.history.array()

    def to_bytes(self) -> bytes:
        """The `metrics` trait: float32 LE rows (step, train, test, reg)."""
        return self.history.to_bytes()

    # ------------------------------------------------------------- syncing
    def take(self) -> tuple[str, object] | None:
        """What the page is missing: ("full", bytes), ("append", [[step, train, test, reg], ...]) or None."""
        history = self.history
        key = (id(history), history.revision)
        n = len(history)
        if key != self._synced:
            self._synced, self._sent = key, n
            return "full", history.to_bytes()
        if n <= self._sent:
            return None
        new = history.array()[self._sent:]
        self._sent = n
        return "append", new.tolist()

    def mark_sent(self) -> None:
        """The page was just given the whole series."""
        history = self.history
        self._synced, self._sent = (id(history), history.revision), len(history)

    def clear(self) -> None:
        """The page must get the whole series again at the next update (the model was replaced)."""
        self._synced = None
