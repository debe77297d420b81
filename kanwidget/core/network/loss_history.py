"""The loss history a lineage keeps: one row (step, train, test, reg) per fit step, bounded.

Every fit step the lineage announces ("step" event) is appended, so a model trained before any
view was attached still has its loss curve. The newest `recent` steps are kept exactly; older ones
are summarised by min/max buckets of the train loss into at most `old_cap` rows, so memory stays
bounded however long the session runs. Rows live in immutable float32 segments: a version
remembers only the tuple of segments it saw (shared, never copied), and checkout / undo restore
that tuple (the series then ends at the checked-out version's step). `revision` counts rewrites
(compaction, restore, rollback, clear) so a reader that mirrors the rows (the widget's page) knows
when appending is not enough.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

#: newest steps kept exactly
RECENT = 2000
#: rows that summarise all older steps
OLD_CAP = 2000
#: rows allowed beyond RECENT + OLD_CAP before old rows are compacted (amortises the compaction)
SLACK = 1000

Segments = tuple[np.ndarray, ...]


def _frozen(rows: np.ndarray) -> np.ndarray:
    rows = np.ascontiguousarray(rows, dtype="<f4").reshape(-1, 4)
    rows.setflags(write=False)
    return rows


def downsample(rows: np.ndarray, cap: int) -> np.ndarray:
    """At most `cap` rows of `rows` (ordered by step): per bucket the rows of min and max train loss."""
    n = len(rows)
    if n <= cap:
        return rows
    buckets = max(1, cap // 2)
    edges = np.linspace(0, n, buckets + 1).astype(np.int64)
    keep: list[int] = []
    for a, b in zip(edges[:-1], edges[1:]):
        if b <= a:
            continue
        loss = rows[a:b, 1].astype(np.float64)
        finite = np.isfinite(loss)
        lo = a + int(np.argmin(np.where(finite, loss, np.inf)))
        hi = a + int(np.argmax(np.where(finite, loss, -np.inf)))
        keep.extend(sorted({lo, hi}))
    return rows[np.asarray(keep, dtype=np.int64)]


class LossHistory:
    """The bounded loss series of a lineage; see the module docstring."""

    def __init__(self, recent: int = RECENT, old_cap: int = OLD_CAP, slack: int = SLACK) -> None:
        if recent < 1 or old_cap < 2 or slack < 1:
            raise ValueError("recent, old_cap and slack must be positive (old_cap >= 2)")
        self.recent, self.old_cap, self.slack = recent, old_cap, slack
        self._segments: Segments = ()
        self._open: list[tuple[float, float, float, float]] = []
        self._at_version: dict[int, Segments] = {}
        #: bumped whenever rows other than the newest were changed (not by append)
        self.revision = 0

    def copy(self) -> "LossHistory":
        """An independent history with the same rows (segments are immutable and shared)."""
        new = LossHistory(self.recent, self.old_cap, self.slack)
        self._freeze()
        new._segments, new._at_version = self._segments, dict(self._at_version)
        return new

    # ------------------------------------------------------------- reading
    def __len__(self) -> int:
        return sum(len(s) for s in self._segments) + len(self._open)

    def array(self) -> np.ndarray:
        """All rows, oldest first, as a (n, 4) float32 array (step, train, test, reg)."""
        self._freeze()
        return np.concatenate(self._segments) if self._segments else np.zeros((0, 4), dtype="<f4")

    def to_bytes(self) -> bytes:
        """float32 LE rows (step, train, test, reg): the widget's `metrics` trait."""
        return self.array().tobytes()

    @property
    def versions_remembered(self) -> int:
        return len(self._at_version)

    def stored_rows(self) -> int:
        """Rows held in memory, each shared segment counted once (current series and all versions)."""
        seen: dict[int, int] = {}
        for segs in (self._segments, *self._at_version.values()):
            for s in segs:
                seen[id(s)] = len(s)
        return sum(seen.values()) + len(self._open)

    # ------------------------------------------------------------- writing
    def append(self, step: float, train: float, test: float, reg: float) -> None:
        self._open.append((float(step), float(train), float(test), float(reg)))
        if len(self) > self.recent + self.old_cap + self.slack:
            self._compact()

    def _freeze(self) -> None:
        if self._open:
            self._segments = self._segments + (_frozen(np.asarray(self._open, dtype=np.float64)),)
            self._open = []

    def _compact(self) -> None:
        rows = self.array()
        cut = len(rows) - self.recent
        old = downsample(rows[:cut], self.old_cap)
        self._segments = (_frozen(old), _frozen(rows[cut:]))
        self.revision += 1

    def mark(self) -> Segments:
        """The current series, to put back with `rollback` (a failed change)."""
        self._freeze()
        return self._segments

    def rollback(self, segments: Segments) -> None:
        if segments is not self._segments or self._open:
            self._segments, self._open = segments, []
            self.revision += 1

    def clear(self) -> None:
        """Forget every row."""
        self._segments, self._open, self._at_version = (), [], {}
        self.revision += 1

    # ------------------------------------------------------------ versions
    def remember(self, version_id: int, alive: Iterable[int]) -> None:
        """Remember the current series for `version_id`; forget versions no longer in `alive`."""
        self._freeze()
        self._at_version[version_id] = self._segments
        keep = set(alive) | {version_id}
        for vid in [v for v in self._at_version if v not in keep]:
            del self._at_version[vid]

    def restore(self, version_id: int | None, steps_trained: int) -> None:
        """The series of a checked-out version (else the rows up to its step count)."""
        segs = self._at_version.get(version_id) if version_id is not None else None
        if segs is None:
            rows = self.array()
            segs = (_frozen(rows[rows[:, 0] <= steps_trained]),) if len(rows) else ()
        self._segments, self._open = segs, []
        self.revision += 1
