"""Algebraic tidying of a formula, every rewrite checked numerically before it is kept.

`tidy(expr)` applies identities that make a KAN's formula read like a textbook's:
- phase shifts of periodic functions: sin(u + b) with b = k*pi/2 + r becomes +-sin/+-cos(u + r)
  (sin(3.1416*x - 9.4248) -> -sin(3.1416*x + 2.4e-6), which ex_round prints as -sin(3.1416*x));
- scales out of powers and logs: (k*u + k*v)**p -> k**p * (u + v)**p and log(k*u) -> log(k) + log(u) for
  k > 0, so 0.7198*sqrt(1.9299*x**2 + 1.9299*y**2) -> 0.99995*sqrt(x**2 + y**2);
- constants out of exp: c*exp(u + b) -> (c*e**b)*exp(u).
Each rewrite is an identity, but each is still evaluated against the expression before it at sample
points (inside the model's data range when a model is given) and dropped if any value moves by more
than `tolerance` (relative). Edges that are still splines (spline_l_i_j) are checked with a stand-in
function: the identities hold for any function.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from kanwidget.core.checks import check_float, check_int
from kanwidget.core.lazy import LazyModule
from kanwidget.core.operations.formula import (
    _as_expression,
    _pull_exp_constants,
    input_symbols,
)

if TYPE_CHECKING:
    import sympy

    from kanwidget.core.network.model import KAN
else:
    sympy = LazyModule("sympy")

QUARTER_TURNS = {"sin": 1, "cos": 1, "tan": 2}   # function -> the shift (in units of pi/2) it absorbs
#: sin <-> cos only when the phase is an odd multiple of pi/2 to this precision; else only multiples of pi
QUARTER_TURN_TOLERANCE = 1e-4
SAMPLES = 64


def tidy(expr: sympy.Expr, model: KAN | None = None, tolerance: float = 1e-9, samples: int = SAMPLES,
         seed: int = 0) -> sympy.Expr:
    """Tidy expr (or a list/tuple of them) with value-preserving identities, each verified numerically.

    Points: `samples` random points, each input uniform in the model's training-data range (model
    given and fitted), else in [-1, 1]. A rewrite is kept only if it changes no finite value by more
    than tolerance * max|value| and turns no finite value non-finite.
    """
    tolerance = check_float("tolerance", tolerance, 0.0)
    samples = check_int("samples", samples, 1, 100_000)
    seed = check_int("seed", seed, 0, 2 ** 32 - 1)
    if isinstance(expr, (list, tuple)):
        return type(expr)(tidy(e, model, tolerance, samples, seed) for e in expr)
    expr = _as_expression(expr)
    check = _Checker(expr, model, tolerance, samples, seed)
    for rewrite in (reduce_phases, factor_scales, _pull_exp_constants):
        candidate = rewrite(expr)
        if candidate != expr and check(candidate):
            expr = candidate
    return expr


# ------------------------------------------------------------------------ rewrites
def reduce_phases(expr: sympy.Expr) -> sympy.Expr:
    """sin/cos(u + b) with a float b: b = k*pi + r with |r| <= pi/2 (sin(u + pi) -> -sin(u)), or a quarter turn
    when b is one to QUARTER_TURN_TOLERANCE (sin(u + pi/2) -> cos(u)); tan absorbs multiples of pi.
    The k*pi/2 is left to sympy exactly."""
    def shift(e: sympy.Expr) -> sympy.Expr:
        unit = QUARTER_TURNS[type(e).__name__]
        const, rest = e.args[0].as_coeff_Add()
        if not isinstance(const, sympy.Float) or rest == 0:
            return e
        step = unit * math.pi / 2
        k = round(float(const) / step)
        if unit == 1 and k % 2 and abs(float(const) - k * step) > QUARTER_TURN_TOLERANCE:
            k = 2 * round(float(const) / (2 * step))   # a sin the user chose stays a sin unless b is a quarter turn
        if k == 0:
            return e
        r = float(const) - k * step
        return type(e)(rest + sympy.Float(r) + sympy.Rational(k * unit, 2) * sympy.pi)
    return expr.replace(lambda e: type(e).__name__ in QUARTER_TURNS and isinstance(e, sympy.Function), shift)


def _scale_out(base: sympy.Expr) -> tuple[sympy.Expr, sympy.Expr] | None:
    """(k, base/k) with k > 0 the largest |numeric factor| of the non-constant terms of a sum; None if k is 1."""
    terms = [t.as_coeff_Mul() for t in base.args]
    scales = [abs(c) for c, rest in terms if rest != 1 and c.is_Number]
    if not scales:
        return None
    k = max(scales)
    if k == 1 or k == 0 or not k.is_finite:
        return None
    return k, sympy.Add(*[(c / k) * rest for c, rest in terms])


def factor_scales(expr: sympy.Expr) -> sympy.Expr:
    """(k*u + k*v)**p -> k**p * (u + v)**p for a non-integer p, log(k*u + ...) -> log(k) + log(u + ...),
    with k > 0 the largest numeric factor of the sum (an identity for k > 0)."""
    def power(e: sympy.Expr) -> sympy.Expr:
        split = _scale_out(e.base)
        return e if split is None else split[0] ** e.exp * split[1] ** e.exp

    def log(e: sympy.Expr) -> sympy.Expr:
        split = _scale_out(e.args[0])
        return e if split is None else sympy.log(split[0]) + sympy.log(split[1])

    expr = expr.replace(lambda e: e.is_Pow and e.base.is_Add and e.exp.is_Number and not e.exp.is_Integer, power)
    return expr.replace(lambda e: isinstance(e, sympy.log) and e.args[0].is_Add, log)


# ---------------------------------------------------------------------- the check
class _Checker:
    """Values of the original expression at sample points; `check(new)` compares new against them."""

    def __init__(self, expr: sympy.Expr, model: KAN | None, tolerance: float, samples: int, seed: int):
        self.symbols = sorted(expr.free_symbols, key=lambda s: s.name)
        self.stand_ins = _stand_ins(expr)
        rng = np.random.default_rng(seed)
        ranges = _ranges(model, self.symbols)
        self.points = [rng.uniform(lo, hi, samples) for lo, hi in ranges]
        self.tolerance = tolerance
        self.reference = self._values(expr)
        finite = np.isfinite(self.reference)
        self.finite = finite
        self.scale = float(np.max(np.abs(self.reference[finite]))) if finite.any() else 0.0

    def _values(self, expr: sympy.Expr) -> np.ndarray:
        fn = sympy.lambdify(self.symbols, expr, modules=[self.stand_ins, "numpy"])
        with np.errstate(all="ignore"):
            out = np.asarray(fn(*self.points), dtype=np.complex128)
        out = np.broadcast_to(out, (len(self.points[0]) if self.points else 1,))
        real = np.where(np.abs(out.imag) <= 1e-12 * (1 + np.abs(out.real)), out.real, np.nan)
        return real

    def __call__(self, new: sympy.Expr) -> bool:
        if not self.finite.any():
            return False
        try:
            values = self._values(new)
        except Exception:  # noqa: BLE001 - a rewrite that cannot be evaluated is not kept
            return False
        ref, got = self.reference[self.finite], values[self.finite]
        if not np.isfinite(got).all():
            return False
        return bool(np.max(np.abs(got - ref)) <= self.tolerance * max(self.scale, 1e-300))


def _stand_ins(expr: sympy.Expr) -> dict[str, Callable]:
    """A smooth stand-in for every undefined function (spline edges), different for each name."""
    names = sorted({type(f).__name__ for f in expr.atoms(sympy.core.function.AppliedUndef)})
    return {name: (lambda u, s=0.37 * (k + 1): np.tanh(u + s) + s) for k, name in enumerate(names)}


def _ranges(model: KAN | None, symbols: list[sympy.Symbol]) -> list[tuple[float, float]]:
    """Per symbol: the data range of the model input with that name, else (-1, 1)."""
    ranges = {}
    if model is not None and getattr(model, "data", None) is not None:
        x = np.asarray(model.data["train_input"].detach().cpu(), dtype=np.float64)
        for k, sym in enumerate(input_symbols(model)):
            lo, hi = float(x[:, k].min()), float(x[:, k].max())
            ranges[sym.name] = (lo, hi) if hi > lo else (lo - 0.5, hi + 0.5)
    return [ranges.get(s.name, (-1.0, 1.0)) for s in symbols]


def clean_formula(model: KAN, n_digit: int = 4, var: list[str] | None = None) -> list[sympy.Expr]:
    """The model's formulas (one per output) tidied (verified against the model's data range) and
    rounded honestly: ex_round(tidy(symbolic_formula)). Run snap_symbolic first for exact constants."""
    from kanwidget.core.operations.formula import ex_round, symbolic_formula

    formulas = symbolic_formula(model, var)
    if isinstance(formulas, tuple):          # pykan's (formulas, variables)
        formulas = formulas[0]
    return [ex_round(tidy(f, model), n_digit) for f in formulas]
