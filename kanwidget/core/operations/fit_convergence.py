"""A fit callback that ends a fit once more steps cannot change it (used by KAN.discover).

A fit stops early when its train RMSE is at machine precision (a symbolic model that is exactly the data),
or when it is already below `fit_threshold` of the labels' spread and improved by less than MIN_GAIN over the
last WINDOW steps (converged: more LBFGS steps polish digits no later step reads). A fit still above that
level is never stopped here (the plateau escape needs its steps). The stop goes through the fit's own
stop token, so the fit ends after its last completed step, exactly as a cancel would; `reason` tells them
apart. The caller's cancel token is forwarded.
"""
from __future__ import annotations

import threading
from typing import Any

import torch

WINDOW = 5
MIN_GAIN = 1e-3          # relative RMSE improvement over WINDOW steps below which a fit has converged
MACHINE_FACTOR = 1e3     # RMSE <= MACHINE_FACTOR * eps * spread is machine precision


class ConvergenceStop:
    """Callback for fit(callbacks=[...], stop=cb.event); `reason` is "" unless it ended the fit."""

    def __init__(self, cancel: threading.Event, spreads: list[float], fit_threshold: float = 1e-2,
                 loss_name: str = "RMSE") -> None:
        self.event = threading.Event()
        self.loss_name = loss_name          # what fit's train_loss is: RMSE, or the log-loss of a classification
        self.cancel = cancel
        self.scale = max(spreads) if spreads else 1.0
        self.fit_threshold = fit_threshold
        self.losses: list[float] = []
        self.reason = ""
        self.step = 0

    def __call__(self, info: Any) -> None:
        if self.cancel.is_set():
            self.event.set()
            return
        loss = float(info.train_loss)
        self.losses.append(loss)
        eps = torch.finfo(info.model.dtype).eps
        reason = ""
        if loss <= MACHINE_FACTOR * eps * self.scale:
            reason = "the loss is at machine precision"
        elif len(self.losses) > WINDOW and loss <= self.fit_threshold * self.scale \
                and loss >= (1.0 - MIN_GAIN) * self.losses[-1 - WINDOW] and not getattr(info, "stall", ""):
            reason = f"converged ({self.loss_name} {loss:.3g} improved by < {MIN_GAIN:.1%} over {WINDOW} steps)"
        if reason and info.step < info.steps:
            self.reason, self.step = reason, info.step
            self.event.set()
