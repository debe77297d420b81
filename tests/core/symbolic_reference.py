"""Independent numpy references for the built-in symbolic functions, shared by the symbolic tests."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kanwidget.core.numerics.symbolic.library import SYMBOLIC_LIB

EXPECTED_COMPLEXITY = {
    "x": 1, "x^2": 2, "x^3": 3, "x^4": 3, "x^5": 3,
    "1/x": 2, "1/x^2": 2, "1/x^3": 3, "1/x^4": 4, "1/x^5": 5,
    "sqrt": 2, "x^0.5": 2, "x^1.5": 4, "1/sqrt(x)": 2, "1/x^0.5": 2,
    "exp": 2, "log": 2, "abs": 3, "sin": 2, "cos": 2, "tan": 3, "tanh": 3, "sgn": 3,
    "arcsin": 4, "arccos": 4, "arctan": 4, "arctanh": 4, "0": 0, "gaussian": 3,
}
BUILTIN_NAMES = list(EXPECTED_COMPLEXITY)

# Independent reference implementations (numpy) and the domain where they apply
# (the library's safe versions may differ only near singularities).
_lin = np.linspace


def safe_points(name):
    z = _lin(-5, 5, 2001)
    if name.startswith("1/x") and name not in ("1/x^0.5",):
        return z[np.abs(z) > 0.2]
    if name in ("sqrt", "x^0.5", "x^1.5"):
        return _lin(0, 9, 901)
    if name in ("1/sqrt(x)", "1/x^0.5"):
        return _lin(0.01, 9, 901)
    if name == "log":
        return _lin(1e-6, 20, 2001)
    if name == "tan":
        return z[np.abs(np.cos(z)) > 1e-2]
    if name in ("arcsin", "arccos", "arctanh"):
        return _lin(-0.999, 0.999, 999)
    if name == "exp":
        return _lin(-30, 30, 601)
    return z


REFERENCE = {
    "x": lambda z: z, "x^2": lambda z: z**2, "x^3": lambda z: z**3, "x^4": lambda z: z**4,
    "x^5": lambda z: z**5, "1/x": lambda z: 1 / z, "1/x^2": lambda z: z**-2.0,
    "1/x^3": lambda z: z**-3.0, "1/x^4": lambda z: z**-4.0, "1/x^5": lambda z: z**-5.0,
    "sqrt": np.sqrt, "x^0.5": np.sqrt, "x^1.5": lambda z: z**1.5,
    "1/sqrt(x)": lambda z: 1 / np.sqrt(z), "1/x^0.5": lambda z: 1 / np.sqrt(z),
    "exp": np.exp, "log": np.log, "abs": np.abs, "sin": np.sin, "cos": np.cos, "tan": np.tan,
    "tanh": np.tanh, "sgn": np.sign, "arcsin": np.arcsin, "arccos": np.arccos,
    "arctan": np.arctan, "arctanh": np.arctanh, "0": lambda z: 0 * z,
    "gaussian": lambda z: np.exp(-(z**2)),
}


def evaluate(name, z):
    fn = SYMBOLIC_LIB[name]
    return fn.torch_fn(torch.as_tensor(z, dtype=torch.float64)).numpy()


@pytest.fixture
def cleanup_registry():
    before = dict(SYMBOLIC_LIB)
    yield
    SYMBOLIC_LIB.clear()
    SYMBOLIC_LIB.update(before)
