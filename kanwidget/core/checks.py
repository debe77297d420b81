"""Shared argument checks: each names the argument it rejects and accepts numpy scalars.

Used by the model constructor, fit, prune, refine and the symbolic operations so that bad
numbers (wrong type, NaN, beyond float range, out of bounds) give one clear error everywhere.
"""
from __future__ import annotations

import math
import numbers
from typing import Any

__all__ = ["check_int", "check_float", "check_bool"]


def _short(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _is_bool(value: Any) -> bool:
    kind = type(value)  # numpy.bool_ (named "bool" in numpy 2) without importing numpy
    return isinstance(value, bool) or (kind.__module__ == "numpy" and kind.__name__ in ("bool_", "bool"))


def check_int(name: str, value: Any, low: int | None = None, high: int | None = None) -> int:
    """`value` as a Python int in [low, high]; TypeError/ValueError naming `name` otherwise.

    Accepts Python and numpy integers (not bools, not floats such as 3.0).
    """
    if _is_bool(value) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {_short(value)} ({type(value).__name__})")
    value = int(value)
    if low is not None and value < low:
        raise ValueError(f"{name} must be >= {low}, got {_short(value)}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, got {_short(value)}")
    return value


def check_float(name: str, value: Any, low: float | None = None, high: float | None = None, *,
                low_open: bool = False, high_open: bool = False, finite: bool = True) -> float:
    """`value` as a Python float in [low, high] (open ends with low_open/high_open).

    Accepts Python/numpy ints and floats (not bools); rejects NaN, values beyond float range
    (e.g. 10**400) and, when `finite`, infinities. Errors name `name`.
    """
    if _is_bool(value) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {_short(value)} ({type(value).__name__})")
    try:
        result = float(value)
    except OverflowError:
        raise ValueError(f"{name} is beyond the float range, got {_short(value)}") from None
    if math.isnan(result):
        raise ValueError(f"{name} must be a number, got NaN")
    if finite and math.isinf(result):
        raise ValueError(f"{name} must be finite, got {result}")
    if low is not None and (result <= low if low_open else result < low):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {result}")
    if high is not None and (result >= high if high_open else result > high):
        raise ValueError(f"{name} must be {'<' if high_open else '<='} {high}, got {result}")
    return result


def check_bool(name: str, value: Any) -> bool:
    """`value` as a Python bool (Python or numpy bools only)."""
    if not _is_bool(value):
        raise TypeError(f"{name} must be True or False, got {_short(value)}")
    return bool(value)
