"""to_sympy (symbolic/sympy_export.py): c * f(a * x + b) + d as a sympy expression, checked numerically."""

from __future__ import annotations

import numpy as np
import pytest
import sympy
import torch

from kanwidget.core.numerics.symbolic.library import SYMBOLIC_LIB
from kanwidget.core.numerics.symbolic.sympy_export import to_sympy
from symbolic_reference import BUILTIN_NAMES, REFERENCE, safe_points

@pytest.mark.parametrize("name", BUILTIN_NAMES)
def test_to_sympy_simplify_and_print_never_crash(name):
    x = sympy.Symbol("x")
    expr = to_sympy(name, 1.7, -0.3, 2.5, 0.25, x)
    simp = sympy.simplify(expr)
    assert isinstance(sympy.sstr(simp), str)
    assert isinstance(sympy.latex(expr), str)
    # the built expression is c*f(a*x+b)+d: check numerically on safe points
    z = safe_points(name)
    xs = (z + 0.3) / 1.7
    f = sympy.lambdify(x, expr, modules="numpy")
    got = np.broadcast_to(np.asarray(f(xs), dtype=float), xs.shape)
    np.testing.assert_allclose(got, 2.5 * REFERENCE[name](z) + 0.25, rtol=1e-8, atol=1e-8)


def test_to_sympy_structure_and_floats():
    x = sympy.Symbol("x")
    expr = to_sympy(SYMBOLIC_LIB["sin"], 3, 1, 2, 0.5, x)
    assert expr == sympy.Float(2.0) * sympy.sin(sympy.Float(3.0) * x + sympy.Float(1.0)) + sympy.Float(0.5)
    floats = [a for a in sympy.preorder_traversal(expr) if isinstance(a, sympy.Number)]
    assert floats and all(isinstance(a, sympy.Float) for a in floats)
    assert to_sympy("x", 1, 0, 1, 0, "t") == sympy.Symbol("t")
    assert to_sympy("0", 2, 3, 4, 1.5, x) == sympy.Float(1.5)
    # tensors are accepted
    expr2 = to_sympy("exp", torch.tensor(-1.0), torch.tensor(0.0), torch.tensor(2.0), torch.tensor(0.0), x)
    assert expr2 == sympy.Float(2.0) * sympy.exp(-sympy.Float(1.0) * x)
