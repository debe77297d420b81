"""LossHistory (a lineage's loss rows): exact recent steps, bounded older history, shared per-version storage,
rewrites counted; kept by the model through fits, versions, checkout, undo, failed changes and copies."""
from __future__ import annotations

import numpy as np
import pytest

from kanwidget.core.network.loss_history import LossHistory, downsample


def fill(rows: LossHistory, start: int, n: int) -> None:
    for s in range(start, start + n):
        rows.append(s, 1.0 / s, 2.0 / s, 0.0)


def test_recent_steps_exact_and_history_bounded():
    rows = LossHistory(recent=100, old_cap=50, slack=20)
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
        LossHistory(recent=0)


def test_revision_counts_rewrites_not_appends():
    rows = LossHistory(recent=10, old_cap=4, slack=5)
    fill(rows, 1, 5)
    assert rows.revision == 0 and rows.array()[:, 0].tolist() == [1, 2, 3, 4, 5]
    fill(rows, 6, 20)                                 # passes recent + old_cap + slack: old rows compacted
    assert rows.revision == 1 and rows.array()[-1, 0] == 25 and len(rows) <= 19
    mark, kept = rows.mark(), rows.array().copy()
    fill(rows, 26, 3)
    before = rows.revision
    rows.rollback(mark)                               # a failed change puts the series back
    assert rows.revision == before + 1
    np.testing.assert_array_equal(rows.array(), kept)
    rows.clear()
    assert rows.revision == before + 2 and len(rows) == 0


def test_versions_share_storage_and_restore():
    rows = LossHistory(recent=1000, old_cap=100, slack=100)
    for v in range(50):                               # 50 versions of 20 steps each
        fill(rows, 20 * v + 1, 20)
        rows.remember(v, range(v + 1))
    assert rows.versions_remembered == 50
    assert rows.stored_rows() == 1000                 # shared, not 50 x growing copies
    rows.restore(9, steps_trained=200)
    assert rows.array()[-1, 0] == 200 and len(rows) == 200
    assert rows.revision == 1
    rows.restore(None, steps_trained=50)              # unknown version: rows up to its steps
    assert len(rows) == 50
    rows.remember(99, alive=[99])                     # forgotten versions release their rows
    assert rows.versions_remembered == 1


def test_bounded_across_undo_cycles():
    """Checkout/undo (restore) must not reset the bound: the soak's train/undo cycles stay capped."""
    rows = LossHistory(recent=100, old_cap=50, slack=20)
    step = 1
    for v in range(200):
        fill(rows, step, 30)
        step += 30
        rows.remember(2 * v, range(2 * v - 10, 2 * v + 1))
        rows.restore(2 * v, steps_trained=step - 1)           # undo back to the same rows
    assert len(rows) <= 100 + 50 + 20
    assert rows.array()[-1, 0] == step - 1
    assert rows.stored_rows() <= 11 * (100 + 50 + 20)         # versions kept alive share bounded segments


# ------------------------------------------------------------------ kept by the model
def _fit_data():
    from kanwidget import create_dataset
    return create_dataset(lambda x: x[:, [0]] * x[:, [1]], n_var=2, train_num=100, test_num=50, seed=0)


def _model():
    from kanwidget import KAN
    return KAN(width=[2, 2, 1], grid=3, seed=0)


def test_the_model_keeps_the_rows_of_its_fits():
    model, ds = _model(), _fit_data()
    res = model.fit(ds, steps=8, opt="Adam", lr=1e-2, verbose=False)
    res2 = model.fit(ds, steps=4, opt="Adam", lr=1e-2, verbose=False, lamb=1e-3)
    rows = model.lineage.losses.array()
    assert rows[:, 0].tolist() == list(range(1, 13))
    np.testing.assert_allclose(rows[:, 1], res["train_loss"] + res2["train_loss"], rtol=1e-6)
    np.testing.assert_allclose(rows[:, 2], res["test_loss"] + res2["test_loss"], rtol=1e-6)
    np.testing.assert_allclose(rows[:, 3], res["reg"] + res2["reg"], rtol=1e-6)
    pruned = model.prune(node_th=0.0, edge_th=0.0)          # same lineage: the curve goes on
    pruned.fit(ds, steps=2, opt="Adam", lr=1e-2, verbose=False)
    assert pruned.lineage.losses.array()[:, 0].tolist() == list(range(1, 15))


def test_undo_and_checkout_show_the_curve_of_that_version():
    model, ds = _model(), _fit_data()
    model.fit(ds, steps=5, opt="Adam", lr=1e-2, verbose=False)
    first = model.lineage.current
    model.fit(ds, steps=3, opt="Adam", lr=1e-2, verbose=False)
    back = model.undo()
    assert back.lineage.current == first and back.lineage.losses.array()[:, 0].tolist() == [1, 2, 3, 4, 5]
    back.fit(ds, steps=2, opt="Adam", lr=1e-2, verbose=False)   # a new branch continues from step 5
    assert back.lineage.losses.array()[:, 0].tolist() == [1, 2, 3, 4, 5, 6, 7]
    again = back.checkout(first)
    assert len(again.lineage.losses) == 5


def test_failed_steps_changes_and_copies():
    import copy

    import pytest
    from kanwidget.core import FitError
    model, ds = _model(), _fit_data()

    def explode(info):
        if info.step == 3:
            raise KeyError("boom")
    with pytest.raises(FitError):
        model.fit(ds, steps=10, opt="Adam", lr=1e-2, verbose=False, callbacks=[explode])
    assert model.lineage.losses.array()[:, 0].tolist() == [1, 2]     # the undone step has no row
    with pytest.raises(RuntimeError, match="inside"):
        with model.lineage.change(model, "failing"):
            model.fit(ds, steps=2, opt="Adam", lr=1e-2, verbose=False, record=False)
            raise RuntimeError("inside")
    assert len(model.lineage.losses) == 2                             # rolled back with the model
    twin = copy.deepcopy(model)
    twin.fit(ds, steps=1, opt="Adam", lr=1e-2, verbose=False)
    assert len(twin.lineage.losses) == 3 and len(model.lineage.losses) == 2
