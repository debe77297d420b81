"""The loss chart follows the model's own loss history: a model trained before the widget shows its
curve; new rows go as appended chunks, the whole series only when the history was rewritten."""
from __future__ import annotations

import numpy as np

from kanwidget import KAN, KANWidget
from kanwidget.core.network.loss_history import LossHistory
from kanwidget.widget.loss_rows import LossRows


def decode(metrics: bytes) -> np.ndarray:
    return np.frombuffer(metrics, dtype="<f4").reshape(-1, 4)


def test_a_model_trained_before_the_widget_shows_its_loss_curve(data):
    model = KAN(width=[2, 3, 1], grid=3, k=3, seed=1)
    res = model.fit(data, steps=30, opt="Adam", lr=1e-2, verbose=False)
    w = KANWidget(model, data)
    try:
        rows = decode(w.metrics)
        assert rows[:, 0].tolist() == list(range(1, 31))
        np.testing.assert_allclose(rows[:, 1], res["train_loss"], rtol=1e-6)
        np.testing.assert_allclose(rows[:, 2], res["test_loss"], rtol=1e-6)
        np.testing.assert_allclose(rows[:, 3], res["reg"], atol=1e-12)
        assert len(w.versions) == 2        # init + the fit: the versions and the chart agree
    finally:
        w.close()


def test_replacing_the_model_shows_the_new_models_curve(widget, data):
    other = KAN(width=[2, 2, 1], grid=3, seed=4)
    other.fit(data, steps=6, opt="Adam", lr=1e-2, verbose=False)
    widget.model = other
    assert decode(widget.metrics)[:, 0].tolist() == [1, 2, 3, 4, 5, 6]


def test_take_appends_new_rows_and_sends_everything_after_a_rewrite():
    history = LossHistory(recent=10, old_cap=4, slack=5)
    source = [history]
    rows = LossRows(lambda: source[0])
    assert rows.take() == ("full", b"")                      # a fresh page gets the (empty) series once
    for s in (1, 2, 3):
        history.append(s, 1.0 / s, 2.0 / s, 0.0)
    kind, new = rows.take()
    assert kind == "append" and [r[0] for r in new] == [1, 2, 3]
    assert rows.take() is None
    history.restore(None, steps_trained=2)                    # checkout: the history was rewritten
    kind, data = rows.take()
    assert kind == "full" and decode(data)[:, 0].tolist() == [1, 2]
    source[0] = LossHistory()                                  # another lineage's history
    assert rows.take() == ("full", b"")
    rows.clear()
    assert rows.take()[0] == "full" and rows.take() is None
