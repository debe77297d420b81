"""The model shapes `KAN.discover` tries, simplest first, before the model's own width, and the choice among them.

- "product": y = c * f_1(x_1) * ... * f_n(x_n) + d -- width [n, [0, 1], 1] with mult_arity n, factor k fed by
  input k only, the output edge fixed to x (an affine map). Most laws of physics are such monomials
  (q/C, m*g*z, h*omega/(2*pi)); a multiplication node makes them exact where a sum of squashed functions
  only approximates them. Its first fit starts from grids on the data and does not move them (a product
  of three splines stalls when its grids move under it).
- "sum": y = g(f_1(x_1) + ... + f_n(x_n)) -- width [n, 1, 1] (exp(sin(pi*x) + y**2), sqrt(x**2 + y**2));
  with one input, y = c*f(a*x + b) + d (width [1, 1]: g(f(x)) alone would not say which curve is f).
- "model": the model as given, through the full pipeline (sparse fit, prune, ...).
A shape applies to one-output data only ("product" also needs n >= 2); the new models take the given
model's grid, k, seed, dtype, device and variable names. Classification (discover's loss_fn="logistic") uses
the same shapes: their one output is the logit, fitted with the logistic loss (a product of bumps draws a
closed boundary, a sum g(f_1 + f_2) a boundary like x_2 = sin(pi*x_1)).
"""
from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

import torch
from torch import Tensor

if TYPE_CHECKING:
    from kanwidget.core.network.model import KAN
    from kanwidget.core.operations.discovery_report import DiscoveryReport

SHAPES = ("product", "sum", "model")
DESCRIPTIONS = {"product": "y = c*f_1(x_1)*...*f_n(x_n) + d", "sum": "y = g(f_1(x_1) + ... + f_n(x_n))",
                "model": "the model's own width"}


def check_shapes(shapes: object) -> tuple[str, ...]:
    """shapes: a non-empty list of names from SHAPES (each at most once)."""
    if isinstance(shapes, str) or not isinstance(shapes, (list, tuple)):
        raise TypeError(f"shapes must be a list of names from {list(SHAPES)}, got {shapes!r}")
    bad = [s for s in shapes if s not in SHAPES]
    if bad or not shapes or len(set(shapes)) != len(shapes):
        raise ValueError(f"shapes must name each of {list(SHAPES)} at most once (at least one), got {list(shapes)!r}")
    return tuple(shapes)


def build(model: KAN, shape: str, x_train: Tensor) -> KAN | None:
    """A fresh model of the given shape for model's inputs, or None when the shape does not apply."""
    if shape == "model":
        return model
    n, n_out = model.width[0], model.width[-1]
    if n_out != 1 or (shape == "product" and n < 2):
        return None
    from kanwidget.core.network.model import KAN

    cfg = model.config
    opts = {"grid": cfg["grid"], "k": cfg["k"], "seed": cfg["seed"], "dtype": model.dtype, "device": model.device,
            "in_vars": model.in_vars, "out_vars": model.out_vars}
    if shape == "sum":
        return KAN(width=[n, 1, 1] if n > 1 else [1, 1], **opts)
    new = KAN(width=[n, [0, 1], 1], mult_arity=n, **opts)
    with torch.no_grad():
        new.layers[0].mask.copy_(torch.eye(n, dtype=new.layers[0].mask.dtype))
    new.layers[1].set_symbolic(0, 0, "x", torch.tensor([1.0, 0.0, 1.0, 0.0]))
    new.update_grid_from_samples(x_train)
    return new


# ------------------------------------------------------------ choosing among the shapes tried
def held_out_error(report: DiscoveryReport) -> float:
    """The report's worst relative RMSE on the held-out test data (a classification: the formula's error
    rate there); inf when there is no formula."""
    if report.task == "classification":
        errors = [1.0 - c.test_accuracy if c.test_accuracy is not None else math.inf for c in report.checks]
    else:
        errors = [c.test_relative for c in report.checks]
    return max(errors) if errors and len(errors) == len(report.formulas) else math.inf


def holds(report: DiscoveryReport) -> bool:
    """Whether the report's formula holds on the held-out data (within its tolerance, or as accurate as the
    spline model for a classification)."""
    if report.task == "classification":     # accuracy vs the spline model's (and vs the target when given)
        return report.recovered
    return held_out_error(report) <= report.tolerance and all(not c.non_finite for c in report.checks)


def choose(tried: list[tuple[str, DiscoveryReport]], verbose: bool, started: float) -> DiscoveryReport:
    """The first shape whose formula holds on held-out data, else the lowest held-out error (earlier shapes,
    being simpler, win ties); its report carries what every tried shape gave."""
    shape, report = tried[-1]
    if not (report.cancelled or holds(report)):
        shape, report = min(tried, key=lambda t: held_out_error(t[1]))
    report.shape = shape
    report.tried = [(s, held_out_error(r), r.message) for s, r in tried]
    report.seconds = time.perf_counter() - started
    if len(tried) > 1 and verbose:
        print(f"[discover] kept shape '{shape}' of {[s for s, _ in tried]}", flush=True)
    return report
