"""The formula tree of `kanwidget.core.expression`: allowed functions and constants, and the nodes.

Each node evaluates vectorised on a torch tensor (`eval`), folds to a float when it has no variable
(`const`, used for the exponent limit) and builds its sympy expression (`sym`) from sympy's own
constructors (sympy.sin, sympy.Pow, ...), never from text.
"""
from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import torch
from torch import Tensor

from kanwidget.core.lazy import LazyModule

sympy = LazyModule("sympy")

__all__ = ["CONSTANTS", "FUNCTIONS", "Binary", "Call", "Const", "Num", "Unary", "Var"]


def _sigmoid_sympy(a: Any) -> Any:
    return 1 / (1 + sympy.exp(-a))


@dataclass(frozen=True)
class _Function:
    arity: int
    torch_fn: Callable[..., Tensor]
    math_fn: Callable[..., float]
    sympy_fn: Callable[..., Any]


def _math_sigmoid(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v)) if v > -700 else 0.0


FUNCTIONS: dict[str, _Function] = {
    "sin": _Function(1, torch.sin, math.sin, lambda a: sympy.sin(a)),
    "cos": _Function(1, torch.cos, math.cos, lambda a: sympy.cos(a)),
    "tan": _Function(1, torch.tan, math.tan, lambda a: sympy.tan(a)),
    "exp": _Function(1, torch.exp, math.exp, lambda a: sympy.exp(a)),
    "log": _Function(1, torch.log, math.log, lambda a: sympy.log(a)),
    "sqrt": _Function(1, torch.sqrt, math.sqrt, lambda a: sympy.sqrt(a)),
    "abs": _Function(1, torch.abs, abs, lambda a: sympy.Abs(a)),
    "tanh": _Function(1, torch.tanh, math.tanh, lambda a: sympy.tanh(a)),
    "sigmoid": _Function(1, torch.sigmoid, _math_sigmoid, _sigmoid_sympy),
    "sinh": _Function(1, torch.sinh, math.sinh, lambda a: sympy.sinh(a)),
    "cosh": _Function(1, torch.cosh, math.cosh, lambda a: sympy.cosh(a)),
    "arcsin": _Function(1, torch.asin, math.asin, lambda a: sympy.asin(a)),
    "asin": _Function(1, torch.asin, math.asin, lambda a: sympy.asin(a)),
    "arccos": _Function(1, torch.acos, math.acos, lambda a: sympy.acos(a)),
    "acos": _Function(1, torch.acos, math.acos, lambda a: sympy.acos(a)),
    "arctan": _Function(1, torch.atan, math.atan, lambda a: sympy.atan(a)),
    "atan": _Function(1, torch.atan, math.atan, lambda a: sympy.atan(a)),
    "min": _Function(2, torch.minimum, min, lambda a, b: sympy.Min(a, b)),
    "max": _Function(2, torch.maximum, max, lambda a, b: sympy.Max(a, b)),
}
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}
# ------------------------------------------------------------------ tree
@dataclass(frozen=True)
class Num:
    value: float
    exact: Fraction

    def eval(self, x: Tensor) -> Tensor:
        return torch.tensor(self.value, dtype=x.dtype, device=x.device)

    def const(self) -> float | None:
        return self.value

    def sym(self, names: Sequence[Any]) -> Any:
        return sympy.Rational(self.exact.numerator, self.exact.denominator)


@dataclass(frozen=True)
class Const:
    name: str

    def eval(self, x: Tensor) -> Tensor:
        return torch.tensor(CONSTANTS[self.name], dtype=x.dtype, device=x.device)

    def const(self) -> float | None:
        return CONSTANTS[self.name]

    def sym(self, names: Sequence[Any]) -> Any:
        return sympy.pi if self.name == "pi" else sympy.E


@dataclass(frozen=True)
class Var:
    index: int     # 1-based

    def eval(self, x: Tensor) -> Tensor:
        return x[:, self.index - 1]

    def const(self) -> float | None:
        return None

    def sym(self, names: Sequence[Any]) -> Any:
        return names[self.index - 1]


@dataclass(frozen=True)
class Unary:
    operand: Any   # negation

    def eval(self, x: Tensor) -> Tensor:
        return -self.operand.eval(x)

    def const(self) -> float | None:
        v = self.operand.const()
        return None if v is None else -v

    def sym(self, names: Sequence[Any]) -> Any:
        return -self.operand.sym(names)


_BINARY_TORCH = {"+": torch.add, "-": torch.sub, "*": torch.mul, "/": torch.div, "^": torch.pow}
#: + - * / on plain numbers and on sympy expressions alike (^ is handled apart: complex results, sympy.Pow)
_ARITHMETIC = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}


@dataclass(frozen=True)
class Binary:
    op: str        # + - * / ^
    left: Any
    right: Any

    def eval(self, x: Tensor) -> Tensor:
        return _BINARY_TORCH[self.op](self.left.eval(x), self.right.eval(x))

    def const(self) -> float | None:
        a, b = self.left.const(), self.right.const()
        if a is None or b is None:
            return None
        try:
            if self.op in _ARITHMETIC:
                return _ARITHMETIC[self.op](a, b)
            power = a ** b
            return math.nan if isinstance(power, complex) else float(power)
        except (ZeroDivisionError, OverflowError, ValueError):
            return math.nan

    def sym(self, names: Sequence[Any]) -> Any:
        a, b = self.left.sym(names), self.right.sym(names)
        return _ARITHMETIC[self.op](a, b) if self.op in _ARITHMETIC else sympy.Pow(a, b)


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Any, ...]

    def eval(self, x: Tensor) -> Tensor:
        return FUNCTIONS[self.name].torch_fn(*(a.eval(x) for a in self.args))

    def const(self) -> float | None:
        values = [a.const() for a in self.args]
        if any(v is None for v in values):
            return None
        try:
            return float(FUNCTIONS[self.name].math_fn(*values))
        except (OverflowError, ValueError, ZeroDivisionError):
            return math.nan

    def sym(self, names: Sequence[Any]) -> Any:
        return FUNCTIONS[self.name].sympy_fn(*(a.sym(names) for a in self.args))
