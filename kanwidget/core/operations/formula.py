"""Closed-form formulas of a (partly) symbolic KAN, and honest rounding of their numbers."""
from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from kanwidget.core.checks import check_int
from kanwidget.core.lazy import LazyModule
from kanwidget.core.network import mult_nodes
from kanwidget.core.numerics.symbolic import to_sympy
from kanwidget.core.numerics.symbolic.constants import exact_value

if TYPE_CHECKING:
    import sympy

    from kanwidget.core.network.model import KAN
else:
    sympy = LazyModule("sympy")  # imported on first use: keeps `import kanwidget` light


def input_symbols(model: KAN, var: Sequence[str | sympy.Symbol] | None = None) -> list[sympy.Symbol]:
    """Symbols for the inputs: var if given, else the model's in_vars, else x_1 .. x_n."""
    n = model.width[0]
    names = var if var is not None else (model.in_vars or [f"x_{i + 1}" for i in range(n)])
    if len(names) != n:
        raise ValueError(f"var has {len(names)} names but the model has {n} inputs")
    return [v if isinstance(v, sympy.Symbol) else sympy.Symbol(str(v)) for v in names]


def symbolic_formula(model: KAN, var: Sequence[str | sympy.Expr] | None = None,
                     normalizer: Sequence[Sequence[float]] | None = None,
                     output_normalizer: Sequence[Sequence[float]] | None = None,
                     ) -> tuple[list[sympy.Expr], list[sympy.Expr]]:
    """`(formulas, variables)` as pykan: one sympy expression per output, and the input variables used.

    `symbolic_formula()[0][0]` is the first output's formula. var: names or sympy expressions for the
    inputs (an expression is substituted as is; default: the model's in_vars, else x_1 .. x_n).
    normalizer = [means, stds] of the inputs (the formula then takes raw inputs: x -> (x - mean) / std);
    output_normalizer = [means, stds] of the outputs (y -> y * std + mean). Edges that are still
    splines appear as functions spline_l_i_j(...).
    """
    if var is not None and (isinstance(var, (str, bytes)) or not isinstance(var, Sequence)):
        raise TypeError(f"var must be a list of names or sympy expressions, got {var!r}")
    variables = input_symbols(model, None if var is None else
                              [v if isinstance(v, sympy.Symbol) else str(v) for v in var])
    if var is not None:  # pykan: sympy expressions are used as given
        variables = [v if isinstance(v, sympy.Expr) else s for v, s in zip(var, variables)]
    nodes: list[sympy.Expr] = list(variables)
    if normalizer is not None:
        mean, std = _normalizer("normalizer", normalizer, model.width[0])
        nodes = [(x - m) / s for x, m, s in zip(nodes, mean, std)]
    for l, layer in enumerate(model.layers):
        mask = layer.mask.detach().cpu()
        sym_mask = layer.sym_mask.detach().cpu()
        affine = layer.sym_affine.detach().cpu().double()
        bias = layer.bias.detach().cpu().double().tolist()
        outs = []
        for j in range(layer.out_dim):
            total: sympy.Expr = sympy.Float(bias[j]) if bias[j] != 0 else sympy.Integer(0)
            for i in range(layer.in_dim):
                if mask[i, j] <= 0:
                    continue
                if sym_mask[i, j] > 0:
                    a, b, c, d = affine[i, j].tolist()
                    total += to_sympy(layer.symbolic_name(i, j), a, b, c, d, x_symbol=nodes[i])
                else:
                    total += sympy.Function(f"spline_{l}_{i}_{j}")(nodes[i])
            outs.append(total)
        arities = model.mult_arity[l + 1]
        nodes = mult_nodes.product_exprs(outs, tuple(arities)) if arities else outs   # products of subnodes
    if output_normalizer is not None:
        mean, std = _normalizer("output_normalizer", output_normalizer, model.width[-1])
        nodes = [y * s + m for y, m, s in zip(nodes, mean, std)]
    return nodes, variables


def _normalizer(name: str, value: Sequence[Sequence[float]], n: int) -> tuple[list[sympy.Float], list[sympy.Float]]:
    """[means, stds] with n finite numbers each (stds non-zero), as sympy Floats."""
    try:
        mean, std = (np.asarray(part, dtype=np.float64).reshape(-1) for part in value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be [means, stds] with {n} numbers each, got {value!r}") from None
    if mean.shape != (n,) or std.shape != (n,) or not np.isfinite(mean).all() or not np.isfinite(std).all() \
            or (std == 0).any():
        raise ValueError(f"{name} must be [means, stds] with {n} finite numbers each (stds non-zero), got {value!r}")
    return [sympy.Float(float(m)) for m in mean], [sympy.Float(float(s)) for s in std]


def spline_edge_count(model: KAN) -> int:
    """Active edges that are still splines (not symbolic)."""
    return int(sum(int(((layer.mask > 0) & (layer.sym_mask <= 0)).sum()) for layer in model.layers))


def formula_terms(model: KAN) -> list[int]:
    """Per output, how many input-to-output paths of active edges its formula has.

    Each path is one nested term of `symbolic_formula()`, so this is the formula's size before any
    simplification, computed from the edge masks alone (cheap): [2, 5, 1] fully active has 10 terms per
    output, [8, 16, 8, 1] has 1,024. Building and rounding a formula costs far more than linear in this.
    """
    paths = [1.0] * model.width[0]
    for l, layer in enumerate(model.layers):
        active = (layer.mask > 0).detach().cpu().double()
        paths = (active.T @ active.new_tensor(paths)).tolist()
        if model.mult_nodes[l + 1]:   # a product's expanded terms: the product of its factors' term counts
            paths = [float(p) for p in mult_nodes.product_exprs(paths, tuple(model.mult_arity[l + 1]))]
    return [int(round(p)) for p in paths]


def _pull_exp_constants(expr: sympy.Expr) -> sympy.Expr:
    """exp(c + rest) -> exp(c) * exp(rest) for numeric c, so the constant can merge with its factor."""
    def split(e: sympy.Expr) -> sympy.Expr:
        arg = e.args[0]
        const, rest = arg.as_coeff_Add()
        if const == 0 or rest == 0:
            return e
        return sympy.exp(const) * sympy.exp(rest)
    return expr.replace(lambda e: isinstance(e, sympy.exp) and e.args[0].is_Add, split)


def _expand_float_powers(expr: sympy.Expr) -> sympy.Expr:
    """Expand integer powers of sums with float terms, e.g. (2.0*x + 1e-6)**2, so tiny terms can vanish."""
    return expr.replace(
        lambda e: e.is_Pow and e.base.is_Add and e.exp.is_Integer and 1 < int(e.exp) <= 5
        and any(isinstance(a, sympy.Float) for a in e.base.atoms(sympy.Float)),
        lambda e: sympy.expand(e, deep=False))


LARGE = 1e6     # numbers this large round to n_digit significant digits (never a 40-digit integer)


def _round_floats(expr: sympy.Expr, n_digit: int) -> sympy.Expr:
    repl = {}
    for f in expr.atoms(sympy.Float):
        v = float(f)
        if not math.isfinite(v):
            continue
        if abs(v) >= LARGE:
            repl[f] = sympy.Float(float(f"{v:.{max(n_digit, 1)}e}"), max(n_digit, 1))
            continue
        r = round(v, n_digit)
        repl[f] = sympy.Integer(int(r)) if r == int(r) else sympy.Float(r, 15)
    return expr.xreplace(repl)


def _as_expression(expr: object) -> sympy.Expr:
    """A sympy expression from a sympy object or a plain number; never parses text (sympify of a
    string evaluates it, so a string could run code)."""
    if isinstance(expr, sympy.Basic):
        return expr
    if isinstance(expr, (bool, np.bool_)) or not isinstance(expr, numbers.Number):
        hint = " (strings are not parsed: build the expression with sympy)" if isinstance(expr, str) else ""
        raise TypeError(f"expr must be a sympy expression, a number or a list of them, got {type(expr).__name__}{hint}")
    return sympy.sympify(expr.item() if isinstance(expr, np.generic) else expr)


EXACT_RELATIVE = 1e-12     # a float this close to a simple constant is held as that constant
EXACT_DENOMINATOR = 12     # simple constants: p/q times a unit (1, pi, 1/pi, sqrt(2), ...) with q dividing 12
FLOAT32_MAX = float(np.finfo(np.float32).max)


def _simple_constant(v: float, tol: float) -> sympy.Expr | None:
    """The exact p/q * unit (q divides 12; units in numerics/symbolic/constants.py: 1, pi, 1/pi, sqrt(2),
    sqrt(pi), sqrt(2*pi), ...) that v holds: within tol * max(|v|, 1), or v is a float32 value equal to the
    constant rounded to float32 (a float32 model holds nothing closer). Else None; huge values: None."""
    simple = exact_value(v, tol, max_denominator=EXACT_DENOMINATOR)
    if simple is None and math.isfinite(v) and abs(v) < 1e6 and float(np.float32(v)) == v:
        near = exact_value(v, 1e-6, max_denominator=EXACT_DENOMINATOR)     # float32 precision
        if near is not None and abs(near.value) < FLOAT32_MAX and np.float32(near.value) == np.float32(v):
            simple = near
    return None if simple is None else simple.sympy()


def exact_constants(expr: sympy.Expr, tol: float = EXACT_RELATIVE) -> sympy.Expr:
    """Replace every float that holds a simple constant exactly (see _simple_constant) by that constant:
    3.141592653589793 -> pi, 1.0 -> 1, -9.42477796076938 -> -3*pi, 0.5 -> 1/2; sympy then simplifies
    what follows from it (sin(pi*x - 3*pi) -> -sin(pi*x)). Other floats are left as they are."""
    repl = {}
    for f in expr.atoms(sympy.Float):
        simple = _simple_constant(float(f), tol)
        if simple is not None:
            repl[f] = simple
    return expr.xreplace(repl) if repl else expr


def _tidy_floats(expr: sympy.Expr, tol: float | None) -> sympy.Expr:
    """The value-preserving rewrites of ex_round, to a fixed point (at most 8 rounds); exact constants
    are recognised only when tol is given (never in numbers already rounded: 1.2 is not 6/5)."""
    for _ in range(8):
        new = _pull_exp_constants(_expand_float_powers(expr))
        new = exact_constants(new, tol) if tol is not None else new
        if new == expr:
            break
        expr = new
    return expr


def ex_round(expr: sympy.Expr, n_digit: int = 4) -> sympy.Expr:
    """Round every number in expr to n_digit decimals, honestly; integers and simple constants print exactly.

    A number is printed as an exact constant (pi, -3*pi, 1/2, 1) only when it holds that constant to
    1e-12 (a snapped constant, see KAN.snap_symbolic), or exactly in float32; otherwise it is rounded
    (3.14159 -> 3.1416, never pi). Before any rounding, constants inside exp are pulled out and integer
    powers of float sums expanded on the unrounded numbers, so e.g. 1.00002*exp(-2e-6 + x**2) becomes
    exp(x**2) (the factor 1.000018 is 1 to 4 decimals) and no digit is computed from rounded numbers.
    Rounding repeats until nothing changes (it can expose new simplifications).
    """
    n_digit = check_int("n_digit", n_digit, 0, 300)
    if isinstance(expr, (list, tuple)):
        return type(expr)(ex_round(e, n_digit) for e in expr)
    tol = min(EXACT_RELATIVE, 0.5 * 10.0 ** -n_digit)
    expr = _tidy_floats(_as_expression(expr), tol)
    for _ in range(8):
        new = _tidy_floats(_round_floats(expr, n_digit), None)
        if new == expr:
            break
        expr = new
    return expr
