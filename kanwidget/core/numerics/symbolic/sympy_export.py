"""A fitted edge ``c * f(a * x + b) + d`` as a sympy expression."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from kanwidget.core.lazy import LazyModule

if TYPE_CHECKING:
    import sympy
else:
    sympy = LazyModule("sympy")  # imported on first use: keeps `import kanwidget` light

from kanwidget.core.numerics.symbolic.library import SymbolicFunction, _resolve

__all__ = ["to_sympy"]


def _num(v) -> float:
    return float(v.item()) if torch.is_tensor(v) else float(v)


def to_sympy(
    fn: SymbolicFunction | str, a, b, c, d, x_symbol: sympy.Expr | str = "x"
) -> sympy.Expr:
    """``c * f(a * x + b) + d`` as a sympy expression (numbers as sympy Floats).

    Zero ``b`` / ``d`` terms and unit ``a`` / ``c`` factors are left out.
    """
    fn = _resolve(fn)
    x = sympy.Symbol(x_symbol) if isinstance(x_symbol, str) else x_symbol
    a, b, c, d = (_num(v) for v in (a, b, c, d))
    arg = x if a == 1.0 else sympy.Float(a) * x
    if b != 0.0:
        arg = arg + sympy.Float(b)
    inner = fn.sympy_fn(arg)
    expr = inner if c == 1.0 else sympy.Float(c) * inner
    if d != 0.0:
        expr = expr + sympy.Float(d)
    return expr
