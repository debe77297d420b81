"""What `KAN.discover` fits and how it judges the formula: regression or classification.

- regression (loss_fn None or "mse", the default): every fit minimises the squared error; the formula is
  judged by its RMSE on held-out data relative to the labels' std (discover.py, unchanged).
- classification (loss_fn "logistic" / "bce", or another logistic name in losses.LOSSES): one output,
  labels in [0, 1] (0/1 classes); every fit minimises the logistic loss, so the model's output and the
  formula are a logit: P(label 1) = sigmoid(formula), the predicted class is formula > 0. The formula is
  judged by classification measures on held-out data: its accuracy (share of points on the right side of
  the boundary) and its log-loss (mean binary cross-entropy, nats), next to the fitted spline model's.
  It counts as recovered when it classifies at least `min_accuracy` of the held-out points correctly and
  at most ACCURACY_SLACK (1 point) fewer than the spline model it was read from.

With loss_fn not given (None) the fit stays a regression even when every label is 0 or 1 (the same call
gives the same fit whatever the labels), but discover warns (UserWarning) and the report's notes carry
BINARY_HINT; loss_fn="mse" is the same regression without the warning.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from torch import Tensor

from kanwidget.core.operations.losses import LOSSES

ACCURACY_SLACK = 0.01      # the formula may classify at most this share of points worse than the spline model
BINARY_HINT = ("every label is 0 or 1: discover fitted them as a regression (squared error, RMSE); for "
               "classification pass loss_fn='logistic' (the formula is then a logit, judged by held-out accuracy)")


@dataclass(frozen=True)
class Task:
    """kind: "regression" | "classification"; loss_fn: the name fit gets (None: squared error);
    hint: a remark on the data (binary labels fitted as a regression), "" otherwise."""
    kind: str
    loss_fn: str | None
    hint: str = ""

    @property
    def classification(self) -> bool:
        return self.kind == "classification"


def _labels(data: dict[str, Tensor]) -> np.ndarray:
    return np.concatenate([data[k].detach().cpu().double().numpy().reshape(-1)
                           for k in ("train_label", "test_label")])


def is_binary(data: dict[str, Tensor], n_out: int) -> bool:
    """One output and every train and test label exactly 0 or 1."""
    labels = _labels(data)
    return n_out == 1 and labels.size > 0 and bool(np.all((labels == 0) | (labels == 1)))


def resolve_task(loss_fn: Any, data: dict[str, Tensor], n_out: int) -> Task:
    """The task for `loss_fn` (None, "mse", or a logistic name from losses.LOSSES) on validated data.

    Raises TypeError / ValueError naming loss_fn for anything else (callables included: discover must
    know how to judge the formula), or for a logistic loss on data that is not one output with labels in [0, 1].
    """
    classifying = sorted(name for name, fn in LOSSES.items() if fn is not None)
    names = ["mse", *classifying]
    if loss_fn is None or loss_fn == "mse":    # an explicit "mse" is a choice: no hint
        return Task("regression", None, BINARY_HINT if loss_fn is None and is_binary(data, n_out) else "")
    if not isinstance(loss_fn, str):
        raise TypeError(f"loss_fn must be None or one of {names} (discover judges the formula by the loss's "
                        f"kind, so a callable is not accepted), got {type(loss_fn).__name__}")
    if loss_fn not in classifying:
        raise ValueError(f"unknown loss_fn {loss_fn!r} for discover; use None or one of {names}")
    labels = _labels(data)
    if n_out != 1:
        raise ValueError(f"loss_fn={loss_fn!r} (classification) needs a model with one output (a logit), "
                         f"this one has {n_out}")
    if not np.all((labels >= 0) & (labels <= 1)):
        raise ValueError(f"loss_fn={loss_fn!r} (classification) needs labels 0/1 (or in [0, 1]); the labels "
                         f"range over [{labels.min():.3g}, {labels.max():.3g}]")
    return Task("classification", loss_fn)


# ------------------------------------------------------------------ classification measures
def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Share of points whose logit has the label's sign (label > 0.5 is class 1); non-finite logits count wrong."""
    z, y = np.asarray(logits, dtype=np.float64).reshape(-1), np.asarray(labels, dtype=np.float64).reshape(-1)
    right = np.isfinite(z) & ((z > 0) == (y > 0.5))
    return float(right.mean()) if z.size else math.nan


def log_loss(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean binary cross-entropy (nats) of logits against labels in [0, 1]; inf when a logit is not finite."""
    z, y = np.asarray(logits, dtype=np.float64).reshape(-1), np.asarray(labels, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(z)):
        return math.inf
    with np.errstate(over="ignore"):
        return float(np.mean(np.logaddexp(0.0, z) - y * z))


def majority_share(labels: np.ndarray) -> float:
    """The accuracy of always guessing the more frequent class."""
    ones = float((np.asarray(labels, dtype=np.float64) > 0.5).mean())
    return max(ones, 1.0 - ones)
