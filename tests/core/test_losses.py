"""Named losses (core/operations/losses.py): the logistic loss unchanged, the smoothed one for the widget's
classification presets (finite minimum at log((1 - eps/2) / (eps/2)), floor = entropy of the smoothed label)."""
from __future__ import annotations

import math

import pytest
import torch

from kanwidget import KAN
from kanwidget.core.operations.fit_config import FitConfig
from kanwidget.core.operations.losses import (LOSSES, SMOOTHING, accuracy, logistic_loss, smoothed_floor,
                                              smoothed_logistic, smoothed_logit)
from kanwidget.core.presets import make_dataset


def bce(logits: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy written out (independent of torch's fused function)."""
    p = torch.sigmoid(logits)
    return -(t * torch.log(p) + (1 - t) * torch.log(1 - p)).mean()


def test_smoothed_loss_is_bce_against_moved_labels():
    logits = torch.tensor([[-3.0], [0.2], [4.0], [-0.5]], dtype=torch.float64)
    labels = torch.tensor([[0.0], [1.0], [1.0], [0.0]], dtype=torch.float64)
    loss = smoothed_logistic(0.1)
    assert float(loss(logits, labels)) == pytest.approx(float(bce(logits, labels * 0.9 + 0.05)), rel=1e-12)
    assert float(smoothed_logistic(0.0)(logits, labels)) == pytest.approx(float(logistic_loss(logits, labels)), rel=1e-15)


@pytest.mark.parametrize("eps", [0.01, 0.05, 0.2])
def test_minimum_at_the_analytic_logit_with_the_entropy_as_floor(eps):
    z_star = math.log((1 - eps / 2) / (eps / 2))
    assert smoothed_logit(eps) == pytest.approx(z_star, rel=1e-15)
    z = torch.tensor([[z_star]], dtype=torch.float64, requires_grad=True)
    one = torch.ones(1, 1, dtype=torch.float64)
    loss_at = smoothed_logistic(eps)(z, one)
    loss_at.backward()
    value = loss_at.detach()
    assert abs(float(z.grad)) < 1e-12                          # stationary: sigmoid(z*) = 1 - eps/2
    t = eps / 2
    assert float(value) == pytest.approx(-(t * math.log(t) + (1 - t) * math.log(1 - t)), rel=1e-12)
    assert smoothed_floor(eps) == pytest.approx(float(value), rel=1e-12)
    for dz in (-0.5, 0.5, 3.0):                                # convex: larger on both sides
        assert float(smoothed_logistic(eps)(z.detach() + dz, one)) > float(value)


def test_names_resolve_and_logistic_is_unchanged():
    assert FitConfig(loss_fn="logistic").loss_fn is logistic_loss
    assert FitConfig(loss_fn="logistic_smoothed").loss_fn is LOSSES["logistic_smoothed"]
    assert LOSSES["logistic_smoothed"].__name__ == f"smoothed_logistic_{SMOOTHING:g}"
    assert smoothed_floor(0.0) == 0.0 and smoothed_logit(0.0) == math.inf


@pytest.mark.parametrize("bad, err", [(-0.1, ValueError), (1.0, ValueError), (float("nan"), ValueError), ("0.1", TypeError)])
def test_bad_smoothing_is_named(bad, err):
    with pytest.raises(err, match="smoothing"):
        smoothed_logistic(bad)


def test_separable_data_converge_to_bounded_logits_with_the_smoothed_loss_only():
    torch.manual_seed(0)
    data = make_dataset(preset="two_blobs", n_train=200, seed=0, dtype=torch.float64)
    results = {}
    for name in ("logistic", "logistic_smoothed"):
        model = KAN([2, 3, 1], grid=5, k=3, seed=0)
        fit = model.fit(data, steps=40, loss_fn=name, verbose=False)
        with torch.no_grad():
            logits = model(data["train_input"])
        results[name] = (fit["train_loss"][-1], float(logits.abs().max()), accuracy(logits, data["train_label"]))
    plain, smooth = results["logistic"], results["logistic_smoothed"]
    assert plain[2] == 1.0 and smooth[2] == 1.0                # both separate the blobs
    assert plain[0] < 1e-6 and plain[1] > 15                   # the plain loss keeps growing the logits
    assert smooth[0] == pytest.approx(smoothed_floor(SMOOTHING), rel=0.05)
    assert smooth[1] < 2 * smoothed_logit(SMOOTHING)           # near log(199) = 5.29, not +/-40
