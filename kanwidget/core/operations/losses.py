"""Named losses for `fit(loss_fn=...)`: a string picks one of LOSSES (a callable still works as before).

- "mse": the default mean squared error (fit reports RMSE, as with loss_fn=None)
- "logistic" (alias "bce"): binary cross-entropy on logits, for one output and labels 0/1
  (classification: the model's output is a logit, P(label 1) = sigmoid(output)); fit reports the mean loss.
- "logistic_smoothed": the same with the labels smoothed by SMOOTHING (0 -> 0.005, 1 -> 0.995), what the
  widget's classification presets train with.

Why smoothing for the widget: on separable data (two blobs, two circles, XOR, spirals with enough points)
the plain logistic loss has no minimum: it keeps falling by growing the logits (a [2,4,1] KAN after 50 LBFGS
steps: loss ~1e-10, logits up to +/-640), so the probability map turns into a step and the loss chart
shows the logits growing, not learning. With labels t = eps/2 and 1 - eps/2 the loss has its minimum at
the finite logit log((1 - eps/2) / (eps/2)) (5.29 for eps = 0.01, P = 0.995), so every fit converges,
the prediction map keeps its shades of P(label 1), and the decision boundary (the sign of the logit) is the
same as before; this is label smoothing (Szegedy et al. 2016, "Rethinking the Inception architecture").
The floor of the smoothed loss is the entropy of the smoothed labels, H(eps/2) (0.0314 nats for 0.01): a
perfect classifier reports that value, not 0. `fit(loss_fn="logistic")` itself is unchanged (the textbook
loss, as pykan and torch compute it).
"""
from __future__ import annotations

import math
from typing import Any, Callable

import torch
from torch import Tensor

from kanwidget.core.checks import check_float

__all__ = ["LOSSES", "SMOOTHING", "logistic_loss", "smoothed_logistic", "smoothed_logit", "smoothed_floor", "named_loss", "accuracy"]

#: the label smoothing of the "logistic_smoothed" loss (the widget's classification presets)
SMOOTHING = 0.01


def logistic_loss(pred: Tensor, target: Tensor) -> Tensor:
    """Mean binary cross-entropy of logits `pred` against labels 0/1 `target` (same shape)."""
    return torch.nn.functional.binary_cross_entropy_with_logits(pred, target.to(pred.dtype))


def smoothed_logistic(smoothing: float = SMOOTHING) -> Callable[[Tensor, Tensor], Tensor]:
    """The logistic loss with labels 0/1 moved to smoothing/2 and 1 - smoothing/2 (0 <= smoothing < 1).

    Its minimum over one logit is at log((1 - smoothing/2) / (smoothing/2)) and its value there is
    `smoothed_floor(smoothing)`; smoothing 0 is `logistic_loss`.
    """
    eps = check_float("smoothing", smoothing, low=0.0, high=1.0, high_open=True)

    def loss(pred: Tensor, target: Tensor) -> Tensor:
        soft = target.to(pred.dtype) * (1.0 - eps) + eps / 2
        return torch.nn.functional.binary_cross_entropy_with_logits(pred, soft)

    loss.__name__ = loss.__qualname__ = f"smoothed_logistic_{eps:g}"
    loss.__doc__ = f"logistic loss with labels smoothed by {eps:g} (minimum at |logit| = {smoothed_logit(eps):.3g})"
    return loss


def smoothed_logit(smoothing: float) -> float:
    """The logit that minimises the smoothed loss for a label 1 (infinite for smoothing 0)."""
    return math.inf if smoothing == 0 else math.log((1 - smoothing / 2) / (smoothing / 2))


def smoothed_floor(smoothing: float) -> float:
    """The smallest value of the smoothed loss: the entropy (nats) of a label smoothed to smoothing/2."""
    t = smoothing / 2
    return 0.0 if t == 0 else -(t * math.log(t) + (1 - t) * math.log(1 - t))


#: name -> loss function; "mse" maps to None (fit's default mean squared error)
LOSSES: dict[str, Callable[[Tensor, Tensor], Tensor] | None] = {
    "mse": None, "logistic": logistic_loss, "bce": logistic_loss, "logistic_smoothed": smoothed_logistic(SMOOTHING)}


def named_loss(loss_fn: Any) -> Any:
    """`loss_fn` as fit uses it: a name from LOSSES resolved, anything else returned unchanged."""
    if isinstance(loss_fn, str):
        if loss_fn not in LOSSES:
            raise ValueError(f"unknown loss_fn {loss_fn!r}; named losses: {', '.join(LOSSES)} (or pass a callable)")
        return LOSSES[loss_fn]
    return loss_fn


def accuracy(logits: Tensor, labels: Tensor) -> float:
    """Share of samples where the sign of the logit matches the 0/1 label."""
    return float(((logits.reshape(-1) > 0) == (labels.reshape(-1) > 0.5)).double().mean())
