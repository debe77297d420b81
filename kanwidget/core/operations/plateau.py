"""Stall detection and escape for KAN.fit.

A fit is *stalled* when, after a warm-up, its train RMSE has stopped falling (less than
`MIN_PROGRESS` relative improvement over the last `WINDOW` steps) while it is still far from the
data (RMSE above `STALL_LEVEL` of the labels' std). The typical cause (measured on exp(sin(pi x) + y^2),
width [2,1,1]): an outer edge function has folded (non-monotone), so the hidden unit encodes one
input monotonically and the other input's edge receives gradients that cancel: a local minimum
that more steps or finer grids do not leave.

The escape re-draws every numeric edge with the monotone start (spline noise from a generator
seeded by the model's seed, its step count and the escape number: deterministic), moves each
grid onto its layer's inputs, and lets the fit go on; masks, symbolic edges and biases are kept.
The fit keeps the state from before the escape if the escape ends worse (see `StallWatch`).
The check runs every `WINDOW` steps and costs a few float comparisons.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
from torch import Tensor

if TYPE_CHECKING:
    from kanwidget.core.network.model import KAN

WINDOW = 10            # steps between checks, and the span over which progress is measured
WARMUP = 20            # no check before this many steps of the fit
MIN_PROGRESS = 1e-2    # relative train-RMSE improvement over WINDOW steps below which the fit is flat
STALL_LEVEL = 0.1      # train RMSE / std(labels) above which a flat fit counts as stalled
MAX_ESCAPES = 2        # escapes per fit
NOISE_SCALE = 0.3      # spline-coefficient noise of the re-drawn edges (as KAN's noise_scale)


@dataclass
class StallWatch:
    """Watches one fit's train RMSE; says when to escape and what the fit had before escaping."""
    label_std: float
    history: list[float] = field(default_factory=list)
    escapes: int = 0
    since: int = 0                                   # fit step of the last escape (checks restart from it)
    best_before: tuple[float, list[Tensor]] | None = None   # (train RMSE, tensors) before the first escape

    def stalled(self, step: int, train_rmse: float) -> bool:
        """Record this step's train RMSE (step is 1-based); True when the fit is stalled now."""
        self.history.append(train_rmse)
        local = step - self.since
        if self.escapes >= MAX_ESCAPES or local < WARMUP or local % WINDOW or not self.label_std > 0:
            return False
        old = self.history[-WINDOW - 1]
        flat = old - train_rmse < MIN_PROGRESS * old
        return flat and train_rmse > STALL_LEVEL * self.label_std

    def note(self, step: int, train_rmse: float) -> str:
        return (f"stalled at train RMSE {train_rmse:.2e} ({train_rmse / self.label_std:.0%} of the labels' std): "
                f"edges re-drawn (escape {self.escapes}/{MAX_ESCAPES})")

    def keep(self, step: int, train_rmse: float, live: list[Tensor]) -> None:
        """Before an escape: remember the best state so far (the first escape's starting point)."""
        if self.best_before is None or train_rmse < self.best_before[0]:
            self.best_before = (train_rmse, [t.detach().clone() for t in live])
        self.escapes += 1
        self.since = step

    def worse_than_before(self, final_rmse: float) -> bool:
        """Whether the fit ended worse than where it stood before escaping (then restore that state)."""
        return self.best_before is not None and not final_rmse <= self.best_before[0]


def escape_generator(model: "KAN", escape: int) -> torch.Generator:
    """A generator fixed by the model's seed, its optimiser steps so far and the escape number."""
    seed = int(model.config.get("seed", 0))
    mixed = (seed * 1_000_003 + model.steps_trained * 7919 + escape * 104_729) % (2 ** 63 - 1)
    return torch.Generator().manual_seed(mixed)


def redraw_edges(model: "KAN", x: Tensor, generator: torch.Generator) -> None:
    """Re-draw every numeric edge with the monotone start and put each grid on its layer's inputs.

    Numeric edge (i, j) of a layer with I inputs: scale_base = scale_sp = 1/sqrt(I), spline coefficients
    uniform noise of width NOISE_SCALE / G. Masks, biases and symbolic edges are unchanged.
    """
    with torch.no_grad():
        for level, layer in enumerate(model.layers, start=1):
            numeric = layer.numeric_mask > 0                                   # (I, O)
            scale = 1.0 / layer.in_dim ** 0.5
            noise = (torch.rand(layer.coef.shape, generator=generator, dtype=layer.coef.dtype) - 0.5) \
                * NOISE_SCALE / layer.num
            layer.coef.copy_(torch.where(numeric[..., None], noise.to(layer.coef.device), layer.coef))
            layer.scale_base.copy_(torch.where(numeric, torch.full_like(layer.scale_base, scale), layer.scale_base))
            layer.scale_sp.copy_(torch.where(numeric, torch.full_like(layer.scale_sp, scale), layer.scale_sp))
            layer.grid.copy_(layer.grid_from_samples(x))
            x = model.combine_level(level, layer(x))
