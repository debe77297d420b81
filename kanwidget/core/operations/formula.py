"""Closed-form formulas of a (partly) symbolic KAN, and honest rounding of their numbers."""
from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Sequence

import numpy as np

from kanwidget.core.checks import check_int
from kanwidget.core.lazy import LazyModule
from kanwidget.core.numerics.symbolic import to_sympy

if TYPE_CHECKING:
    import sympy

    from kanwidget.core.network.model import KAN
else:
    sympy = LazyModule("sympy")  # imported on first use: keeps `import kanwidget` light


def input_symbols(model: "KAN", var: Sequence[str | sympy.Symbol] | None = None) -> list[sympy.Symbol]:
    """Symbols for the inputs: var if given, else the model's in_vars, else x_1 .. x_n."""
    n = model.width[0]
    names = var if var is not None else (model.in_vars or [f"x_{i + 1}" for i in range(n)])
    if len(names) != n:
        raise ValueError(f"var has {len(names)} names but the model has {n} inputs")
    return [v if isinstance(v, sympy.Symbol) else sympy.Symbol(str(v)) for v in names]


def symbolic_formula(model: "KAN", var: Sequence[str | sympy.Symbol] | None = None) -> list[sympy.Expr]:
    """One sympy expression per output. Edges still splines appear as functions spline_l_i_j(...)."""
    nodes: list[sympy.Expr] = list(input_symbols(model, var))
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
        nodes = outs
    return nodes


def spline_edge_count(model: "KAN") -> int:
    """Active edges that are still splines (not symbolic)."""
    return int(sum(int(((layer.mask > 0) & (layer.sym_mask <= 0)).sum()) for layer in model.layers))


def formula_terms(model: "KAN") -> list[int]:
    """Per output, how many input-to-output paths of active edges its formula has.

    Each path is one nested term of `symbolic_formula()`, so this is the formula's size before any
    simplification, computed from the edge masks alone (cheap): [2, 5, 1] fully active has 10 terms per
    output, [8, 16, 8, 1] has 1,024. Building and rounding a formula costs far more than linear in this.
    """
    paths = [1.0] * model.width[0]
    for layer in model.layers:
        active = (layer.mask > 0).detach().cpu().double()
        paths = (active.T @ active.new_tensor(paths)).tolist()
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


def _round_floats(expr: sympy.Expr, n_digit: int) -> sympy.Expr:
    repl = {}
    for f in expr.atoms(sympy.Float):
        r = round(float(f), n_digit)
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


def ex_round(expr: sympy.Expr, n_digit: int = 4) -> sympy.Expr:
    """Round every number in expr to n_digit decimals; numbers that round to integers become integers.

    Constants inside exp are pulled out and integer powers of float sums expanded first, so that
    e.g. 1.00002*exp(-2e-6 + x**2) becomes exp(x**2) instead of keeping spurious digits.
    Repeats until nothing changes (rounding can expose new simplifications).
    """
    n_digit = check_int("n_digit", n_digit, 0, 300)
    if isinstance(expr, (list, tuple)):
        return type(expr)(ex_round(e, n_digit) for e in expr)
    expr = _as_expression(expr)
    for _ in range(8):
        new = _round_floats(_pull_exp_constants(_expand_float_powers(expr)), n_digit)
        if new == expr:
            break
        expr = new
    return expr
