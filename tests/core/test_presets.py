"""Teaching presets and typed-formula datasets; the named logistic loss (classification end to end)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from kanwidget import KAN
from kanwidget.core.operations.fit_config import FitConfig
from kanwidget.core.operations.losses import accuracy, logistic_loss
from kanwidget.core.presets import PRESETS, make_dataset, resolve_source

REGRESSION_TRUTH = {
    "exp_sin": lambda a: np.exp(np.sin(np.pi * a[:, 0]) + a[:, 1] ** 2),
    "product": lambda a: a[:, 0] * a[:, 1],
    "gaussian": lambda a: np.exp(-2 * (a[:, 0] ** 2 + a[:, 1] ** 2)),
    "sine_1d": lambda a: np.sin(np.pi * a[:, 0]),
}
CLASS_TRUTH = {
    "two_circles": lambda a: (np.hypot(a[:, 0], a[:, 1]) < 0.6).astype(float),
    "xor": lambda a: (a[:, 0] * a[:, 1] > 0).astype(float),
    "two_blobs": lambda a: (a[:, 0] + a[:, 1] > 0).astype(float),
}


@pytest.mark.parametrize("name", sorted(REGRESSION_TRUTH))
def test_regression_presets_label_with_their_formula(name):
    d = make_dataset(preset=name, n_train=200, test_fraction=0.2, seed=3, dtype=torch.float64)
    x = d["train_input"].numpy()
    assert x.shape == (200, PRESETS[name].n_var) and d["test_input"].shape[0] == 50
    assert np.all(np.abs(x) <= 1)
    np.testing.assert_allclose(d["train_label"].numpy()[:, 0], REGRESSION_TRUTH[name](x), rtol=1e-12)


@pytest.mark.parametrize("name", sorted(CLASS_TRUTH))
def test_classification_presets_label_by_their_rule(name):
    d = make_dataset(preset=name, n_train=300, seed=5, dtype=torch.float64)
    x, y = d["train_input"].numpy(), d["train_label"].numpy()[:, 0]
    assert set(np.unique(y)) == {0.0, 1.0}
    assert abs(y.mean() - 0.5) < 0.1           # balanced classes
    if name != "two_blobs":                     # blobs' samples may cross the Bayes line; the others never do
        np.testing.assert_array_equal(y, CLASS_TRUTH[name](x))
    else:
        assert (y == CLASS_TRUTH[name](x)).mean() > 0.97


def test_spirals_two_arms_match_their_label_function():
    d = make_dataset(preset="two_spirals", n_train=400, seed=2, dtype=torch.float64)
    source = resolve_source(preset="two_spirals")
    x, y = d["train_input"], d["train_label"]
    assert torch.equal(source.target(x), y)
    r = torch.linalg.norm(x, dim=1)
    assert float(r.min()) >= 0.1 - 1e-12 and float(r.max()) <= 1 + 1e-12


def test_formula_dataset_matches_numpy_and_uses_n_var():
    d = make_dataset(formula="sin(pi*x_1) * x_3", n_var=3, n_train=64, n_test=10, seed=1, dtype=torch.float64)
    x = d["train_input"].numpy()
    assert x.shape == (64, 3) and d["test_label"].shape == (10, 1)
    np.testing.assert_allclose(d["train_label"].numpy()[:, 0], np.sin(np.pi * x[:, 0]) * x[:, 2], rtol=1e-12)


def test_deterministic_per_seed_and_noise_has_its_std():
    a = make_dataset(preset="product", n_train=4000, noise=0.1, seed=7, dtype=torch.float64)
    b = make_dataset(preset="product", n_train=4000, noise=0.1, seed=7, dtype=torch.float64)
    c = make_dataset(preset="product", n_train=4000, noise=0.1, seed=8, dtype=torch.float64)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["train_input"], c["train_input"])
    x = a["train_input"]
    residual = a["train_label"][:, 0] - x[:, 0] * x[:, 1]
    assert abs(float(residual.std()) - 0.1) < 0.01


def test_classification_noise_moves_points_not_labels():
    clean = make_dataset(preset="xor", n_train=500, seed=4, dtype=torch.float64)
    noisy = make_dataset(preset="xor", n_train=500, noise=0.2, seed=4, dtype=torch.float64)
    assert set(torch.unique(noisy["train_label"]).tolist()) == {0.0, 1.0}
    assert not torch.equal(clean["train_input"], noisy["train_input"])


@pytest.mark.parametrize("kwargs, words", [
    ({}, "exactly one of preset"),
    ({"preset": "xor", "formula": "x_1"}, "exactly one of preset"),
    ({"preset": "nope"}, "unknown preset 'nope'; presets: exp_sin"),
    ({"preset": "xor", "n_var": 3}, "preset 'xor' has 2 inputs, but n_var is 3"),
    ({"formula": "x_3", "n_var": 2}, "beyond x_2"),
    ({"formula": "foo(x_1)"}, "unknown function 'foo'"),
    ({"formula": "log(x_1)"}, "gives NaN or inf"),
    ({"preset": "xor", "n_train": 0}, "n_train"),
    ({"preset": "xor", "n_train": 10 ** 6}, "n_train"),
    ({"preset": "xor", "n_train": 2.5}, "n_train"),
    ({"preset": "xor", "test_fraction": 0.0}, "test_fraction"),
    ({"preset": "xor", "test_fraction": 0.95}, "test_fraction"),
    ({"preset": "xor", "n_test": 0}, "n_test"),
    ({"preset": "xor", "noise": -1.0}, "noise"),
    ({"preset": "xor", "noise": float("nan")}, "noise"),
    ({"preset": "xor", "seed": -1}, "seed"),
    ({"preset": "xor", "dtype": torch.int64}, "dtype"),
    ({"formula": "x_1", "n_var": 0}, "n_var"),
])
def test_bad_arguments_are_named(kwargs, words):
    with pytest.raises((TypeError, ValueError)) as info:
        make_dataset(**kwargs)
    assert words in str(info.value)


def test_logistic_loss_against_the_formula_and_by_name():
    pred = torch.tensor([[0.3], [-1.2], [2.0]], dtype=torch.float64)
    y = torch.tensor([[1.0], [0.0], [0.0]], dtype=torch.float64)
    expected = -np.mean([math.log(1 / (1 + math.exp(-0.3))), math.log(1 - 1 / (1 + math.exp(1.2))),
                         math.log(1 - 1 / (1 + math.exp(-2.0)))])
    assert float(logistic_loss(pred, y)) == pytest.approx(expected, rel=1e-12)
    assert FitConfig(loss_fn="logistic").loss_fn is logistic_loss
    assert FitConfig(loss_fn="bce").loss_fn is logistic_loss and FitConfig(loss_fn="mse").loss_fn is None
    with pytest.raises(ValueError, match="unknown loss_fn 'hinge'; named losses: mse, logistic"):
        FitConfig(loss_fn="hinge")
    assert accuracy(pred, y) == pytest.approx(2 / 3)


@pytest.mark.parametrize("name", ["xor", "two_circles"])
def test_a_small_kan_learns_the_classification_preset(name):
    d = make_dataset(preset=name, n_train=200, test_fraction=0.25, seed=1, dtype=torch.float64)
    model = KAN([2, 4, 1], grid=5, k=3, seed=0, dtype=torch.float64)
    before = accuracy(model(d["test_input"]), d["test_label"])
    results = model.fit(d, steps=8, loss_fn="logistic", verbose=False)
    after = accuracy(model(d["test_input"]), d["test_label"])
    assert after >= 0.95 and after > before
    assert results["train_loss"][-1] < results["train_loss"][0]
