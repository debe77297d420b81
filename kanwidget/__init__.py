"""kanwidget: Kolmogorov-Arnold Networks you can build, train, simplify and read in Jupyter.

`from kanwidget import *` gives what pykan's `from kan import *` gives that its tutorials use: KAN, the
dataset helpers, the symbolic library, `torch`, `nn`, `np`, `plt`, `sympy` and sympy's own names.
A plain `import kanwidget` stays light: sympy and matplotlib load only on the star import (or on use).
"""
from __future__ import annotations

import importlib
from typing import Any

# re-exported names (the star import's list is __all__, computed in __getattr__)
import numpy as np  # noqa: F401
import torch  # noqa: F401
from torch import nn  # noqa: F401

from kanwidget.core import KAN, SYMBOLIC_LIB, FitStep  # noqa: F401
from kanwidget.core.expression import parse_formula  # noqa: F401  (light: sympy loads only on to_sympy/latex)
from kanwidget.core.presets import PRESETS, make_dataset  # noqa: F401
from kanwidget.utils import add_symbolic, create_dataset, create_dataset_from_data, ex_round, fit_params  # noqa: F401

__version__ = "0.1.0"

MultKAN = KAN  # pykan's class name (`KAN` is its alias there too)

# Names `from kanwidget import *` gives besides sympy's. `__all__` itself is computed on first request
# (see __getattr__), because it includes sympy's names and sympy is heavy to import.
_OWN_NAMES = ["KAN", "MultKAN", "KANWidget", "create_dataset", "create_dataset_from_data", "ex_round", "fit_params",
              "add_symbolic", "SYMBOLIC_LIB", "FitStep", "make_dataset", "PRESETS", "parse_formula",
              "torch", "nn", "np", "plt", "sympy"]
_LAZY_MODULES = {"plt": "matplotlib.pyplot", "sympy": "sympy"}
_sympy_names: dict[str, Any] = {}


def _star_names() -> list[str]:
    """pykan's star import runs `from sympy import *`; so does ours, on the star import only."""
    if not _sympy_names:
        import sympy
        _sympy_names.update((name, getattr(sympy, name)) for name in sympy.__all__ if name not in _OWN_NAMES)
    return list(_sympy_names) + _OWN_NAMES


def __getattr__(name: str) -> Any:
    if name == "__all__":
        return _star_names()
    if name == "KANWidget":  # imported lazily: the core works without anywidget loaded
        from kanwidget.widget import KANWidget
        return KANWidget
    if name in _LAZY_MODULES:
        return importlib.import_module(_LAZY_MODULES[name])
    if name in _sympy_names:
        return _sympy_names[name]
    raise AttributeError(f"module 'kanwidget' has no attribute {name!r}")
