"""Named losses for `fit(loss_fn=...)`: a string picks one of LOSSES (a callable still works as before).

- "mse": the default mean squared error (fit reports RMSE, as with loss_fn=None)
- "logistic" (alias "bce"): binary cross-entropy on logits, for one output and labels 0/1
  (classification: the model's output is a logit, P(label 1) = sigmoid(output)); fit reports the mean loss.
"""
from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor

__all__ = ["LOSSES", "logistic_loss", "named_loss", "accuracy"]


def logistic_loss(pred: Tensor, target: Tensor) -> Tensor:
    """Mean binary cross-entropy of logits `pred` against labels 0/1 `target` (same shape)."""
    return torch.nn.functional.binary_cross_entropy_with_logits(pred, target.to(pred.dtype))


#: name -> loss function; "mse" maps to None (fit's default mean squared error)
LOSSES: dict[str, Callable[[Tensor, Tensor], Tensor] | None] = {"mse": None, "logistic": logistic_loss,
                                                                  "bce": logistic_loss}


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
