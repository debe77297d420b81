"""FitResults: fit's return value -- pykan's dict of lists with a one-line repr.

A notebook cell ending in `model.fit(...)` shows the value's repr; pykan's plain dict prints every
loss of every step. FitResults is a plain `dict` subclass (same keys, same lists, equal to the dict,
json-able), so code written for pykan keeps working; only its repr is short.
"""
from __future__ import annotations

import math
from typing import Any

#: the series named first in the repr (then any pykan `metrics=` series, by name only)
MAIN_SERIES = ("train_loss", "test_loss", "reg")


def _num(value: Any) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return repr(value)
    return f"{v:.2e}" if math.isfinite(v) and v != 0 else str(v)


class FitResults(dict):
    """{"train_loss": [...], "test_loss": [...], "reg": [...], ...} per step, with a short repr."""

    @property
    def steps(self) -> int:
        """Steps completed by the fit (the length of its train_loss list)."""
        return len(self.get("train_loss", ()))

    def __repr__(self) -> str:
        parts = [f"steps={self.steps}"]
        for name in MAIN_SERIES:
            series = self.get(name)
            if isinstance(series, list) and series:
                parts.append(f"{name} {_num(series[0])} -> {_num(series[-1])}" if len(series) > 1
                             else f"{name} {_num(series[0])}")
        extra = [k for k in self if k not in MAIN_SERIES]
        if extra:
            parts.append("also " + ", ".join(map(str, extra)))
        return f"FitResults({', '.join(parts)})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """IPython shows the short repr too (its pretty printer would otherwise print the dict)."""
        printer.text(repr(self))
