"""Snap the constants of symbolic edges to simple values when the fit allows it (method of KAN).

A symbolic edge computes c*f(a*x+b)+d. After a fit its constants read like 3.14159 or -9.42478; when
the data allow pi and -3*pi instead, the formula should say so. `snap_symbolic` tries, constant by
constant, simple values (integers, p/q with q <= 4, multiples of pi/4 for the argument of a periodic
function) in order of simplicity, refits the constants not yet snapped (a short L-BFGS run on the
symbolic edges' constants and the node biases, spline edges untouched) and keeps a snap only when the
train RMSE stays within `tolerance` of the RMSE before snapping. A snapped constant holds its exact
value in the model, so the printed formula is what the model computes (`ex_round` prints it as pi,
1/2, ...).
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from kanwidget.core.checks import check_bool, check_float, check_int
from kanwidget.core.numerics.optim import LBFGS
from kanwidget.core.numerics.symbolic import constants
from kanwidget.core.numerics.symbolic.constants import PI_ONLY, SimpleValue
from kanwidget.core.operations.normal_form import normalise_scales
from kanwidget.core.operations.simplify import require_inputs

if TYPE_CHECKING:
    from kanwidget.core.network.model import KAN

PARAMS = ("a", "b", "c", "d")
PERIODIC = {"sin", "cos", "tan"}
EXACT_RELATIVE = 1e-12          # a value this close to a simple one already is that value
CLOSE = 1e-3                    # candidates this close (relative) are tried before simpler, farther ones
CLOSE_UNIT = 1e-5               # p/q * sqrt(2), 1/pi, ...: only this close, and only with |p| <= MAX_UNIT_NUMERATOR
MAX_UNIT_NUMERATOR = 3
OTHER_UNITS = constants.ALL_UNITS


@dataclass(frozen=True)
class SnappedConstant:
    """One constant snap_symbolic changed: edge (l, i, j) parameter a/b/c/d, or node (l, j)'s bias (i None)."""
    l: int
    i: int | None
    j: int
    param: str
    before: float
    after: float
    value: str


@dataclass
class _Constant:
    l: int
    i: int | None
    j: int
    param: str
    periodic: bool
    frozen: bool = False


def simple_candidates(v: float, with_pi: bool = False, radius: float = 0.5) -> list[SimpleValue]:
    """Simple values near v (within radius * max(|v|, 1)), simplest first: 0, +-1, p/q with q <= 4; with_pi
    (a periodic function's argument) also p*pi/q, else also p/q times 1/pi, sqrt(2), sqrt(pi), sqrt(2*pi), ..."""
    return constants.candidates(v, PI_ONLY if with_pi else OTHER_UNITS, radius)


def exact_simple_value(v: float, with_pi: bool = False) -> SimpleValue | None:
    """The simple value v already equals (to EXACT_RELATIVE), else None."""
    return constants.exact_value(v, EXACT_RELATIVE, PI_ONLY if with_pi else OTHER_UNITS,
                                 max_denominator=12)


def _ordered(v: float, cands: list[SimpleValue], max_tries: int, periodic: bool = False) -> list[SimpleValue]:
    """The candidates to try for v: those within CLOSE of v first (simplest first: an exact law's constant is
    one of them), then the farther plain ones (p/q, and p*pi/q for a phase) simplest first; at most max_tries.
    A far 9/(4*sqrt(pi)) is never tried: on a loose fit it would pass the tolerance and mean nothing."""
    scale = max(abs(v), 1.0)

    def close_enough(c: SimpleValue) -> bool:
        if c.unit in PI_ONLY:
            return abs(c.value - v) <= CLOSE * scale
        return abs(c.value - v) <= CLOSE_UNIT * scale and abs(c.ratio.numerator) <= MAX_UNIT_NUMERATOR
    close = [c for c in cands if close_enough(c)]
    far = [c for c in cands if not close_enough(c) and (c.unit == "1" or periodic)]
    return (close + far)[:max_tries]


def snap_symbolic(model: KAN, tolerance: float = 0.1, refit: bool = True, refit_steps: int = 50,
                  radius: float = 0.5, max_tries: int = 4, x: Tensor | None = None, y: Tensor | None = None,
                  verbose: bool = False, stop: threading.Event | None = None) -> list[SnappedConstant]:
    """Snap symbolic edges' constants (a, b, c, d) and node biases to simple values; returns what changed.

    A snap is kept when the train RMSE after it (and after a `refit_steps` L-BFGS refit of the constants
    not yet snapped, unless refit=False) is at most RMSE_before * (1 + tolerance) + floor, floor =
    0.1 * sqrt(machine eps) * std(labels) (the level below which two fits are numerically the same).
    Candidates per constant: simple values within `radius` (relative, see simple_candidates), simplest
    first, at most `max_tries`. Data: x, y if given, else the model's training data. One version is
    recorded; on error or cancel (`stop`, model.stop_training()) the model is left exactly as before.
    """
    tolerance = check_float("tolerance", tolerance, 0.0)
    refit = check_bool("refit", refit)
    refit_steps = check_int("refit_steps", refit_steps, 1, 10_000)
    radius = check_float("radius", radius, 0.0)
    max_tries = check_int("max_tries", max_tries, 1, 100)
    xs, ys = _training_pairs(model, x, y)
    lineage = model.lineage
    with lineage.begin("snap_symbolic", stop=stop, unit="constant") as activity, \
            lineage.change(model, "snap_symbolic", kind="symbolic") as ch:
        base = _rmse(model, xs, ys)
        floor = 0.1 * math.sqrt(torch.finfo(model.dtype).eps) * float(ys.std()) if ys.numel() > 1 else 0.0
        limit = base * (1.0 + tolerance) + floor
        _normalise(model, xs, ys, base, floor)
        constants = _constants(model)
        activity.total = len(constants)
        lineage.emit("progress", activity)
        before = {id(c): _get(model, c) for c in constants}
        saved = _save(model)
        _freeze_exact(model, constants)
        if not _rmse(model, xs, ys) <= limit:     # an "exact" 1e-14 that carried the output: undo, snap one by one
            _restore(model, saved)
            for c in constants:
                c.frozen = False
        tried: set[tuple[int, SimpleValue]] = set()
        while True:
            activity.check()
            todo = _next_attempt(model, constants, tried, radius, max_tries)
            if todo is None:
                break
            const, cand = todo
            tried.add((id(const), cand))
            saved = _save(model)
            _set(model, const, cand.value)
            const.frozen = True
            loss = _rmse(model, xs, ys)
            if refit and not loss <= limit:    # a snap the others need not move for costs no refit
                loss = _refit(model, constants, xs, ys, refit_steps, limit)
            if not (loss <= limit):
                _restore(model, saved)
                const.frozen = False
            elif verbose:
                print(f"snapped {_describe(const)} {before[id(const)]:.6g} -> {cand} (train RMSE {loss:.3e})")
            activity.done = sum(c.frozen for c in constants)
            lineage.emit("progress", activity)
        activity.check()
        out = []
        for c in constants:
            after = _get(model, c)
            if c.frozen and after != before[id(c)]:
                simple = exact_simple_value(after, c.periodic)
                out.append(SnappedConstant(c.l, c.i, c.j, c.param, before[id(c)], after,
                                           str(simple) if simple is not None else repr(after)))
        final = _rmse(model, xs, ys)
        ch.label = f"snap_symbolic ({len(out)} constants)"
        ch.metrics = {"train_loss": final}
    return out


# --------------------------------------------------------------------- the constants
def _constants(model: KAN) -> list[_Constant]:
    """Every constant of the active symbolic edges, then the bias of every node they feed."""
    out: list[_Constant] = []
    for l, layer in enumerate(model.layers):
        active = (layer.mask > 0) & (layer.sym_mask > 0)
        nodes = set()
        for i, j in torch.nonzero(active).tolist():
            periodic = layer.symbolic_name(i, j) in PERIODIC
            out.extend(_Constant(l, i, j, p, periodic and p in "ab") for p in PARAMS)
            nodes.add(j)
        out.extend(_Constant(l, None, j, "bias", False) for j in sorted(nodes))
    return out


def _get(model: KAN, c: _Constant) -> float:
    layer = model.layers[c.l]
    if c.i is None:
        return float(layer.bias[c.j].detach())
    return float(layer.sym_affine[c.i, c.j, PARAMS.index(c.param)].detach())


def _set(model: KAN, c: _Constant, value: float) -> None:
    layer = model.layers[c.l]
    with torch.no_grad():
        if c.i is None:
            layer.bias[c.j] = value
        else:
            layer.sym_affine[c.i, c.j, PARAMS.index(c.param)] = value


def _describe(c: _Constant) -> str:
    return f"bias of node ({c.l + 1},{c.j})" if c.i is None else f"{c.param} of edge ({c.l},{c.i},{c.j})"


def _freeze_exact(model: KAN, constants: list[_Constant]) -> None:
    """Constants that already are simple values (to 1e-12) are set exactly and stay fixed."""
    for c in constants:
        simple = exact_simple_value(_get(model, c), c.periodic)
        if simple is not None:
            _set(model, c, simple.value)
            c.frozen = True


def _next_attempt(model: KAN, constants: list[_Constant], tried: set, radius: float,
                  max_tries: int) -> tuple[_Constant, SimpleValue] | None:
    """The untried (constant, candidate) whose constant is nearest to a simple value; simplest candidate first."""
    best = None
    for c in constants:
        if c.frozen:
            continue
        v = _get(model, c)
        cands = _ordered(v, simple_candidates(v, c.periodic, radius), max_tries, c.periodic)
        left = [s for s in cands if (id(c), s) not in tried]
        if not left:
            continue
        distance = min(abs(s.value - v) for s in cands) / max(abs(v), 1.0)
        if best is None or distance < best[0]:
            best = (distance, c, left[0])
    return None if best is None else (best[1], best[2])


# ------------------------------------------------------------------- loss and refit
def _training_pairs(model: KAN, x: Tensor | None, y: Tensor | None) -> tuple[Tensor, Tensor]:
    if (x is None) != (y is None):
        raise ValueError("x and y must be given together (or neither: the model's training data is used)")
    if y is None and model.data is None:     # labels come only from the training data
        raise ValueError("snap_symbolic needs data: call fit(dataset) first or pass x=<inputs> and y=<labels>")
    xs = require_inputs(model, x, "snap_symbolic")
    labels = y if y is not None else model.data["train_label"]  # type: ignore[index]
    ys = torch.as_tensor(labels, dtype=model.dtype, device=model.device)
    if ys.dim() != 2 or ys.shape != (xs.shape[0], model.width[-1]):
        raise ValueError(f"y must have shape ({xs.shape[0]}, {model.width[-1]}), got {tuple(ys.shape)}")
    if not torch.isfinite(ys).all():
        raise ValueError("y has non-finite values")
    return xs, ys


def _rmse(model: KAN, xs: Tensor, ys: Tensor) -> float:
    with torch.no_grad():
        return float(torch.sqrt(torch.mean((model(xs) - ys) ** 2)))


def _save(model: KAN) -> list[Tensor]:
    return [t.detach().clone() for layer in model.layers for t in (layer.sym_affine, layer.bias)]


def _restore(model: KAN, saved: list[Tensor]) -> None:
    live = [t for layer in model.layers for t in (layer.sym_affine, layer.bias)]
    with torch.no_grad():
        for t, s in zip(live, saved):
            t.copy_(s)


def _free_masks(model: KAN, constants: list[_Constant]) -> list[Tensor]:
    """Per layer: where the refit may move sym_affine (I, O, 4) and bias (O,)."""
    masks = []
    for layer in model.layers:
        masks.append(torch.zeros_like(layer.sym_affine, dtype=torch.bool))
        masks.append(torch.zeros_like(layer.bias, dtype=torch.bool))
    for c in constants:
        if c.frozen:
            continue
        if c.i is None:
            masks[2 * c.l + 1][c.j] = True
        else:
            masks[2 * c.l][c.i, c.j, PARAMS.index(c.param)] = True
    return masks


def _normalise(model: KAN, xs: Tensor, ys: Tensor, base: float, floor: float) -> None:
    """normal_form.normalise_scales, kept only when the model still computes the same (to rounding)."""
    saved = _save(model)
    if normalise_scales(model) and not _rmse(model, xs, ys) <= base * (1.0 + 1e-9) + 1e-3 * floor:
        _restore(model, saved)


def _refit(model: KAN, constants: list[_Constant], xs: Tensor, ys: Tensor, steps: int,
           limit: float = 0.0) -> float:
    """Short L-BFGS refit of the free constants; returns the train RMSE (restores the start on a worse end)."""
    masks = _free_masks(model, constants)
    tensors = [t for layer in model.layers for t in (layer.sym_affine, layer.bias)]
    pairs = [(t, m) for t, m in zip(tensors, masks) if bool(m.any())]
    if not pairs:
        return _rmse(model, xs, ys)
    start = _save(model)
    start_loss = _rmse(model, xs, ys)
    variables = [t for t, _ in pairs]
    grad_flags = [t.requires_grad for t in variables]

    def closure() -> Tensor:
        loss = torch.mean((model(xs) - ys) ** 2)
        grads = torch.autograd.grad(loss, variables, allow_unused=True)
        for (t, m), g in zip(pairs, grads):
            t.grad = torch.zeros_like(t) if g is None else torch.where(m, g, torch.zeros_like(g))
        return loss.detach()

    try:
        for t in variables:
            t.requires_grad_(True)
        LBFGS(variables, lr=1.0, max_iter=steps, history_size=10,
              tolerance_change=max((1e-3 * limit) ** 2, 1e-32)).step(closure)
    finally:
        for t, flag in zip(variables, grad_flags):
            t.grad = None
            t.requires_grad_(flag)
    loss = _rmse(model, xs, ys)
    if not loss <= start_loss:  # NaN or worse: the refit did not help
        _restore(model, start)
        loss = start_loss
    return loss
