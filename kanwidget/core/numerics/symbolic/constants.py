"""Simple constants: the values a snapped constant may take and how they print.

A simple value is p/q (q <= MAX_DENOMINATOR) times one of a few *units*: 1, pi, 1/pi, sqrt(2), sqrt(pi),
sqrt(2*pi) and their inverses -- the constants of textbook laws (1/(4*pi), 1/sqrt(2*pi), sqrt(2)/2, ...).
Pure Python; `snapping` proposes them as candidates, `formula.ex_round` prints a float as one only when it
holds the value to 1e-12.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

from kanwidget.core.lazy import LazyModule

if TYPE_CHECKING:
    import sympy
else:
    sympy = LazyModule("sympy")

MAX_DENOMINATOR = 4
PI_DENOMINATORS = (1, 2, 4)          # periodic arguments: p*pi/q
MAX_NUMERATOR = 10_000               # |p| above this is no simple value (a huge number is never "p/q")


@dataclass(frozen=True)
class Unit:
    """A constant that may multiply p/q: its name, value, sympy form and extra complexity."""
    name: str
    value: float
    build: Callable[[], sympy.Expr]
    complexity: int


UNITS: tuple[Unit, ...] = (
    Unit("1", 1.0, lambda: sympy.Integer(1), 0),
    Unit("pi", math.pi, lambda: sympy.pi, 2),
    Unit("1/pi", 1 / math.pi, lambda: 1 / sympy.pi, 3),
    Unit("sqrt(2)", math.sqrt(2), lambda: sympy.sqrt(2), 3),
    Unit("sqrt(3)", math.sqrt(3), lambda: sympy.sqrt(3), 3),
    Unit("sqrt(pi)", math.sqrt(math.pi), lambda: sympy.sqrt(sympy.pi), 4),
    Unit("1/sqrt(pi)", 1 / math.sqrt(math.pi), lambda: 1 / sympy.sqrt(sympy.pi), 4),
    Unit("sqrt(2*pi)", math.sqrt(2 * math.pi), lambda: sympy.sqrt(2 * sympy.pi), 4),
    Unit("1/sqrt(2*pi)", 1 / math.sqrt(2 * math.pi), lambda: 1 / sympy.sqrt(2 * sympy.pi), 4),
)
UNIT_BY_NAME = {u.name: u for u in UNITS}
PI_ONLY = ("1", "pi")                 # the units for a periodic function's argument


@dataclass(frozen=True)
class SimpleValue:
    """A simple constant: ratio (a Fraction) times a unit (by name: "1", "pi", "1/pi", "sqrt(2)", ...)."""
    ratio: Fraction
    unit: str = "1"

    @property
    def value(self) -> float:
        return float(self.ratio) * UNIT_BY_NAME[self.unit].value

    @property
    def complexity(self) -> int:
        return abs(self.ratio.numerator) + self.ratio.denominator - 1 + UNIT_BY_NAME[self.unit].complexity

    @property
    def pi(self) -> bool:
        return self.unit == "pi"

    def sympy(self) -> sympy.Expr:
        return sympy.Rational(self.ratio.numerator, self.ratio.denominator) * UNIT_BY_NAME[self.unit].build()

    def __str__(self) -> str:
        return str(self.sympy())


def candidates(v: float, units: tuple[str, ...] = ("1",), radius: float = 0.5) -> list[SimpleValue]:
    """Simple values near v (within radius * max(|v|, 1)), simplest first: 0, +-1, p/q times each unit
    (q <= MAX_DENOMINATOR; for "pi" on a periodic argument q in PI_DENOMINATORS)."""
    if not math.isfinite(v) or abs(v) > MAX_NUMERATOR * 10:
        return []
    reach = radius * max(abs(v), 1.0)
    found: dict[SimpleValue, None] = {SimpleValue(Fraction(0)): None, SimpleValue(Fraction(1 if v >= 0 else -1)): None}
    for name in units:
        unit = UNIT_BY_NAME[name].value
        for q in range(1, MAX_DENOMINATOR + 1):
            for p in {math.floor(v * q / unit), math.ceil(v * q / unit)}:
                if p != 0 and abs(p) <= MAX_NUMERATOR:
                    found[SimpleValue(Fraction(p, q), name)] = None
    near = [s for s in found if abs(s.value - v) <= reach]
    return sorted(near, key=lambda s: (s.complexity, abs(s.value - v)))


ALL_UNITS = tuple(u.name for u in UNITS)


def exact_value(v: float, tol: float = 1e-12, units: tuple[str, ...] = ALL_UNITS,
                max_denominator: int = 12) -> SimpleValue | None:
    """The simplest p/q * unit (q divides max_denominator) that v equals to tol * max(|v|, 1), else None.
    Huge or non-finite v: None (never an overflow)."""
    if not math.isfinite(v) or abs(v) > MAX_NUMERATOR * 10:
        return None
    scale = max(abs(v), 1.0)
    best: SimpleValue | None = None
    for name in units:
        ratio = Fraction(v / UNIT_BY_NAME[name].value).limit_denominator(max_denominator)
        if max_denominator % ratio.denominator or abs(ratio.numerator) > MAX_NUMERATOR:
            continue
        cand = SimpleValue(ratio, name)
        if abs(cand.value - v) <= tol * scale and (best is None or cand.complexity < best.complexity):
            best = cand
    return best
