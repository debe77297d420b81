"""LossRows: exact recent steps, bounded older history, shared per-version storage, append vs full sends."""
from __future__ import annotations

import numpy as np
import pytest

from kanwidget.widget.loss_rows import LossRows, downsample


def fill(rows: LossRows, start: int, n: int) -> None:
    for s in range(start, start + n):
        rows.append(s, 1.0 / s, 2.0 / s, 0.0)


def test_recent_steps_exact_and_history_bounded():
    rows = LossRows(recent=100, old_cap=50, slack=20)
    fill(rows, 1, 10_000)
    a = rows.array()
    assert len(a) <= 100 + 20 + 50
    tail = a[-100:]
    np.testing.assert_array_equal(tail[:, 0], np.arange(9901, 10_001))
    np.testing.assert_allclose(tail[:, 1], 1.0 / np.arange(9901, 10_001), rtol=1e-6)
    assert np.all(np.diff(a[:, 0]) > 0)              # still ordered by step, oldest first
    assert a[0, 0] == 1                              # the first (highest-loss) step survives the min/max buckets


def test_downsample_keeps_bucket_extremes():
    steps = np.arange(1, 1001, dtype=np.float32)
    loss = np.sin(steps / 10).astype(np.float32)
    loss[500] = 50.0                                  # a spike must survive
    rows = np.stack([steps, loss, loss, 0 * loss], axis=1)
    out = downsample(rows, 100)
    assert len(out) <= 100 and 50.0 in out[:, 1] and loss.min() in out[:, 1]
    with pytest.raises(ValueError):
        LossRows(recent=0)


def test_append_then_full_only_when_rewritten():
    rows = LossRows(recent=10, old_cap=4, slack=5)
    fill(rows, 1, 3)
    kind, new = rows.take()
    assert kind == "append" and [r[0] for r in new] == [1, 2, 3]
    assert rows.take() is None
    fill(rows, 4, 2)
    assert [r[0] for r in rows.take()[1]] == [4, 5]
    fill(rows, 6, 20)                                 # passes recent + slack: old rows compacted
    kind, data = rows.take()
    assert kind == "full" and np.frombuffer(data, dtype="<f4").reshape(-1, 4)[-1, 0] == 25


def test_versions_share_storage_and_restore():
    rows = LossRows(recent=1000, old_cap=100, slack=100)
    for v in range(50):                               # 50 versions of 20 steps each
        fill(rows, 20 * v + 1, 20)
        rows.remember(v, range(v + 1))
    assert rows.versions_remembered == 50
    assert rows.stored_rows() == 1000                 # shared, not 50 x growing copies
    rows.restore(9, steps_trained=200)
    assert rows.array()[-1, 0] == 200 and len(rows) == 200
    assert rows.take()[0] == "full"
    rows.restore(None, steps_trained=50)              # unknown version: rows up to its steps
    assert len(rows) == 50
    rows.remember(99, alive=[99])                     # forgotten versions release their rows
    assert rows.versions_remembered == 1


def test_bounded_across_undo_cycles():
    """Checkout/undo (restore) must not reset the bound: the soak's train/undo cycles stay capped."""
    rows = LossRows(recent=100, old_cap=50, slack=20)
    step = 1
    for v in range(200):
        fill(rows, step, 30)
        step += 30
        rows.remember(2 * v, range(2 * v - 10, 2 * v + 1))
        rows.restore(2 * v, steps_trained=step - 1)           # undo back to the same rows
    assert len(rows) <= 100 + 50 + 20
    assert rows.array()[-1, 0] == step - 1
    assert rows.stored_rows() <= 11 * (100 + 50 + 20)         # versions kept alive share bounded segments
