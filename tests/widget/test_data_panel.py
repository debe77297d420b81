"""The data panel: set_data / regenerate from the page and Python, errors, undo of data, classification."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from kanwidget import KAN, KANWidget, create_dataset
from kanwidget.core.operations.losses import accuracy
from kanwidget.widget.protocol import COMMANDS, CommandError, ModelInfo, page_table
from kanwidget.widget.validation import validate
from widget_helpers import command, wait_until

PAGE_ARGS = {"preset": None, "formula": "sin(pi*x_1) * x_2", "noise": 0.0, "n_train": 120, "test_fraction": 0.25,
             "seed": 3}


def make_widget(width=(2, 3, 1)) -> KANWidget:
    return KANWidget(KAN(list(width), grid=3, k=3, seed=0))


def info() -> ModelInfo:
    return ModelInfo(width=[2, 3, 1], grid=3, library=["x"], version_ids=[0])


def test_set_data_from_the_page_loads_the_formula_as_a_version():
    w = make_widget()
    command(w, "set_data", **PAGE_ARGS)
    assert w.error == ""
    data = w.model.data
    x = data["train_input"].numpy()
    assert x.shape == (120, 2) and data["test_input"].shape[0] == 40
    np.testing.assert_allclose(data["train_label"].numpy()[:, 0], np.sin(np.pi * x[:, 0]) * x[:, 1], rtol=1e-5)
    assert w.has_data and w._session.task == "regression"
    assert [v.label for v in w.model.history] == ["init", "data: formula"]
    src = w.data_source
    assert src["kind"] == "formula" and src["formula"] == PAGE_ARGS["formula"] and src["seed"] == 3
    assert src["n_var"] == 2 and "\\sin" in src["latex"]
    t = w._session.target(torch.tensor([[0.5, 2.0]]))
    assert t.shape == (1, 1) and float(t) == pytest.approx(2.0)


@pytest.mark.parametrize("args, words", [
    ({"formula": "x_1 + foo(x_2)"}, "unknown function 'foo'"),
    ({"formula": "__import__('os')"}, "strings are not allowed"),
    ({"formula": "x_1 * x_3"}, "formula 'x_1 * x_3' uses x_3 but the model has 2 inputs (width[0] = 2)"),
    ({"formula": "log(x_1 - 5)"}, "NaN or inf"),
    ({"formula": None, "preset": "sine_1d"}, "preset 'sine_1d' has 1 input but the model has 2"),
    ({"formula": None}, "exactly one of preset or formula"),
    ({"preset": "xor"}, "exactly one of preset or formula"),
])
def test_bad_data_names_the_argument_and_leaves_model_and_data(args, words):
    w = make_widget()
    command(w, "set_data", **{**PAGE_ARGS, "formula": "x_1*x_2"})
    before_data, before_versions = w.model.data, len(w.model.history)
    before_state = {k: v.clone() for k, v in w.model.state_dict().items()}
    before_source = dict(w.data_source)
    with pytest.warns(Warning):
        command(w, "set_data", **{**PAGE_ARGS, **args})
    assert words in w.error and "set_data" in w.error
    assert w.model.data is before_data and len(w.model.history) == before_versions
    assert w.data_source == before_source
    assert all(torch.equal(v, before_state[k]) for k, v in w.model.state_dict().items())


def test_the_text_type_is_bounded_and_refuses_control_characters():
    table = page_table()["commands"]["set_data"]
    formula = next(a for a in table["args"] if a["name"] == "formula")
    assert formula["type"] == "text" and formula["max_length"] == 500 and formula["nullable"]
    good = validate("set_data", PAGE_ARGS, info())
    assert good["formula"] == PAGE_ARGS["formula"]
    for bad, words in [("x" * 501, "formula is too long: 501 characters"), ("x_1\n+1", "control character"),
                       (3, "formula must be text")]:
        with pytest.raises(CommandError, match=words):
            validate("set_data", {**PAGE_ARGS, "formula": bad}, info())
    with pytest.raises(CommandError, match="preset must be one of exp_sin"):
        validate("set_data", {**PAGE_ARGS, "preset": "nope"}, info())
    assert COMMANDS["regenerate"].args == ()


def test_undo_restores_the_previous_data_and_source():
    w = make_widget()
    first = create_dataset(lambda x: x[:, [0]], n_var=2, train_num=30, test_num=10, seed=0)
    w.dataset = first
    assert w.data_source["kind"] == "python"
    w.set_data(preset="product", n_train=50)
    assert w.data_source["name"] == "product" and w.model.data["train_input"].shape[0] == 50
    w.set_data(formula="x_1 + x_2", n_train=70)
    w.undo()
    assert w.data_source["name"] == "product" and w.model.data["train_input"].shape[0] == 50
    assert float(w._session.target(torch.tensor([[0.5, 0.5]]))) == pytest.approx(0.25)
    w.undo()
    assert w.data_source["kind"] == "python" and w.model.data is first and w._session.target is None


def test_regenerate_uses_the_next_seed_and_python_data_cannot_regenerate():
    w = make_widget()
    w.set_data(preset="gaussian", n_train=40, seed=5)
    first = w.model.data["train_input"].clone()
    w.regenerate()
    assert w.data_source["seed"] == 6 and w.data_source["name"] == "gaussian"
    assert not torch.equal(first, w.model.data["train_input"])
    w.dataset = create_dataset(lambda x: x[:, [0]], n_var=2, train_num=20, test_num=5)
    with pytest.raises(CommandError, match="regenerate: load a preset or a formula first"):
        w.regenerate()


def test_model_width_mismatch_refuses_presets_and_outputs():
    w = make_widget((1, 2, 1))
    w.set_data(preset="sine_1d", n_train=30)
    assert w.model.data["train_input"].shape == (30, 1)
    with pytest.raises(CommandError, match="preset 'xor' has 2 inputs but the model has 1"):
        w.set_data(preset="xor")
    w2 = make_widget((2, 2, 2))
    with pytest.raises(CommandError, match="width\\[-1\\] = 2"):
        w2.set_data(preset="product")


def test_classification_trains_with_the_smoothed_logistic_loss_from_the_page():
    w = KANWidget(KAN([2, 4, 1], grid=5, k=3, seed=0))
    command(w, "set_data", **{**PAGE_ARGS, "formula": None, "preset": "xor", "n_train": 200})
    assert w._session.task == "classification" and w.data_source["task"] == "classification"
    # the page is told the smoothing and the loss's floor: the entropy of a label 0.005 / 0.995 (nats)
    assert w.data_source["smoothing"] == 0.01
    assert w.data_source["loss_floor"] == pytest.approx(-(0.005 * np.log(0.005) + 0.995 * np.log(0.995)), rel=1e-12)
    command(w, "train", steps=30, opt="LBFGS", lr=1.0, lamb=0.0, update_grid=True)
    wait_until(lambda: not w.training, 300)
    assert w.error == ""
    d = w.model.data
    assert accuracy(w.model(d["test_input"]), d["test_label"]) >= 0.95
    # the logistic loss on smoothed labels, not MSE: the recorded train loss is that mean BCE of the final model
    logits = w.model(d["train_input"]).detach()
    t = d["train_label"] * 0.99 + 0.005
    p = torch.sigmoid(logits)
    bce = -(t * torch.log(p) + (1 - t) * torch.log(1 - p)).mean()
    assert w.model.history[-1].metrics["train_loss"] == pytest.approx(float(bce), rel=1e-3, abs=1e-9)
    # separable data: the loss stops at its floor with logits near log(199) = 5.29, not growing without end
    assert float(bce) >= w.data_source["loss_floor"] - 1e-12
    assert float(logits.abs().max()) < 12
    # the status after the fit says how many points land on the right side (the sign of the logit)
    shares = [accuracy(w.model(d[f"{p}_input"]), d[f"{p}_label"]) for p in ("train", "test")]
    assert f"accuracy train {shares[0]:.0%} / test {shares[1]:.0%}" in w.status["text"], w.status


def test_data_given_to_the_constructor_is_the_users_own():
    data = create_dataset(lambda x: x[:, [0]] * x[:, [1]], n_var=2, train_num=30, test_num=10, seed=0)
    w = KANWidget(KAN([2, 3, 1], grid=3, k=3, seed=0), data)
    src = w.data_source
    assert src["kind"] == "python" and src["n_train"] == 30 and src["n_test"] == 10 and src["n_var"] == 2
    assert "smoothing" not in src and w._session.task == "regression"     # the page lists it as "your data"
