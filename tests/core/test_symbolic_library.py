"""The symbolic function library (symbolic/library.py): built-ins against numpy references, the registry, add_symbolic."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy
import torch

from kanwidget.core.numerics.symbolic.affine_fit import fit_affine_batched
from kanwidget.core.numerics.symbolic.library import SYMBOLIC_LIB, SymbolicFunction, add_symbolic, get_functions
from symbolic_reference import BUILTIN_NAMES, EXPECTED_COMPLEXITY, REFERENCE, cleanup_registry, evaluate, safe_points  # noqa: F401

# ----------------------------------------------------------------------------- library


def test_library_names_and_complexities():
    for name, comp in EXPECTED_COMPLEXITY.items():
        assert name in SYMBOLIC_LIB, name
        fn = SYMBOLIC_LIB[name]
        assert isinstance(fn, SymbolicFunction)
        assert fn.name == name
        assert fn.complexity == comp, name


def test_symbolic_function_is_frozen():
    fn = SYMBOLIC_LIB["sin"]
    with pytest.raises(Exception):
        fn.complexity = 7


@pytest.mark.parametrize("name", BUILTIN_NAMES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_torch_fn_finite_with_finite_gradient(name, dtype):
    fn = SYMBOLIC_LIB[name]
    special = [0.0, 1e-300, -1e-300, 1e-30, -1e-30, 1e-8, -1e-8, 1.0, -1.0,
               1 + 1e-9, -1 - 1e-9, math.pi / 2, -math.pi / 2, 3 * math.pi / 2, 40.0, -40.0,
               60.0, 100.0, -100.0]
    z = torch.cat([torch.linspace(-50, 50, 20001, dtype=torch.float64),
                   torch.tensor(special, dtype=torch.float64)]).to(dtype)
    z.requires_grad_(True)
    out = fn.torch_fn(z)
    assert out.shape == z.shape
    assert out.dtype == dtype
    assert torch.isfinite(out).all(), name
    out.sum().backward()
    assert z.grad is not None
    assert torch.isfinite(z.grad).all(), name


@pytest.mark.parametrize("name", BUILTIN_NAMES)
def test_torch_fn_matches_reference_away_from_singularities(name):
    z = safe_points(name)
    got = evaluate(name, z)
    want = REFERENCE[name](z)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", BUILTIN_NAMES)
def test_sympy_fn_agrees_with_torch_fn(name):
    fn = SYMBOLIC_LIB[name]
    x = sympy.Symbol("x")
    expr = fn.sympy_fn(x)
    assert isinstance(expr, sympy.Basic)
    f = sympy.lambdify(x, expr, modules="numpy")
    z = safe_points(name)
    got = np.broadcast_to(np.asarray(f(z), dtype=float), z.shape)
    np.testing.assert_allclose(got, evaluate(name, z), rtol=1e-9, atol=1e-9)


# ----------------------------------------------------------------------------- registry


def test_get_functions_all_and_subset():
    all_fns = get_functions(None)
    assert [f.name for f in all_fns] == list(SYMBOLIC_LIB)
    sub = get_functions(["sin", "x^2"])
    assert [f.name for f in sub] == ["sin", "x^2"]


def test_get_functions_unknown_names_listed_with_valid_names():
    with pytest.raises(ValueError) as exc:
        get_functions(["sin", "sinc", "foo"])
    msg = str(exc.value)
    assert "sinc" in msg and "foo" in msg
    for name in ("sin", "x^2", "gaussian", "arctanh"):
        assert repr(name) in msg or name in msg


@pytest.mark.parametrize("bad", ["sin", 3, {"sin": 1}, [1, 2]])
def test_get_functions_type_errors(bad):
    with pytest.raises(TypeError):
        get_functions(bad)


def test_add_symbolic_registers_and_fits(cleanup_registry):
    fn = add_symbolic("sinh", torch.sinh, sympy.sinh, complexity=3)
    assert SYMBOLIC_LIB["sinh"] is fn
    assert "sinh" in [f.name for f in get_functions(None)]
    assert get_functions(["sinh"])[0] is fn
    x = torch.linspace(-1, 1, 500, dtype=torch.float64)
    y = 0.5 * torch.sinh(1.3 * x - 0.2) + 0.1
    res = fit_affine_batched(x, y, ["sinh"])
    assert res.r2[0, 0] > 1 - 1e-10
    a, b, c, d = res.params[0, 0]
    np.testing.assert_allclose((c * torch.sinh(a * x + b) + d).numpy(), y.numpy(), atol=1e-7)


def test_add_symbolic_validation(cleanup_registry):
    with pytest.raises(ValueError):
        add_symbolic("sin", torch.sin, sympy.sin)
    with pytest.raises(TypeError):
        add_symbolic(3, torch.sin, sympy.sin)
    with pytest.raises(TypeError):
        add_symbolic("f", "not callable", sympy.sin)
    with pytest.raises(TypeError):
        add_symbolic("f", torch.sin, None)
    with pytest.raises(ValueError):
        add_symbolic("f", torch.sin, sympy.sin, complexity=-1)
    add_symbolic("mysin", torch.sin, sympy.sin)
    with pytest.raises(ValueError):
        add_symbolic("mysin", torch.sin, sympy.sin)
    new = add_symbolic("sin", lambda z: torch.sin(z), sympy.sin, complexity=5, overwrite=True)
    assert SYMBOLIC_LIB["sin"] is new and new.complexity == 5


def test_overwritten_builtin_is_not_treated_as_builtin(cleanup_registry):
    # user replaces "x" by cos: the linear fast path must not be used for it
    add_symbolic("x", torch.cos, sympy.cos, complexity=1, overwrite=True)
    x = torch.linspace(-1, 1, 400, dtype=torch.float64)
    y = torch.cos(2 * x + 0.3)
    res = fit_affine_batched(x, y, ["x"])
    assert res.r2[0, 0] > 1 - 1e-10


# ----------------------------------------------------------------------------- add_symbolic: validation at registration


def _snapshot():
    return dict(SYMBOLIC_LIB)


def _assert_rejected(exc_type, argument, before, *args, **kwargs):
    with pytest.raises(exc_type, match=argument):
        add_symbolic(*args, **kwargs)
    assert SYMBOLIC_LIB == before and list(SYMBOLIC_LIB) == list(before)   # same entries, same order


@pytest.mark.parametrize("torch_fn,exc_type", [
    (lambda z: z.sum(), ValueError),                         # reduces: shape () instead of (3, 7)
    (lambda z: z[:, :1], ValueError),                        # wrong shape
    (lambda z: z.reshape(-1), ValueError),                   # right size, wrong shape
    (lambda z: z.numpy(), TypeError),                        # not a tensor
    (lambda z: float(z[0, 0]), TypeError),                   # a number
    (lambda z: None, TypeError),
    (lambda z: z > 0, ValueError),                           # bool tensor
    (lambda z: z.round().long(), ValueError),                # integer tensor
    (lambda z: z.double(), ValueError),                      # float32 input gives float64
    (lambda z: 1 / 0, ValueError),                           # raises
    (lambda: 1.0, ValueError),                               # wrong arity
])
def test_add_symbolic_rejects_bad_torch_fn_and_leaves_library_unchanged(cleanup_registry, torch_fn, exc_type):
    before = _snapshot()
    _assert_rejected(exc_type, "torch_fn", before, "bad_fn", torch_fn, sympy.sin)
    # replacing a built-in with a bad function keeps the built-in
    _assert_rejected(exc_type, "torch_fn", before, "sin", torch_fn, sympy.sin, overwrite=True)
    assert SYMBOLIC_LIB["sin"].torch_fn is torch.sin


def test_after_a_rejected_registration_the_whole_library_still_fits(cleanup_registry):
    """The reported fault: a (3, 7) -> () function was accepted and every later full-library fit failed."""
    with pytest.raises(ValueError, match="torch_fn"):
        add_symbolic("mean_fn", lambda z: z.mean(), sympy.sin)
    x = torch.linspace(-1, 1, 64, dtype=torch.float64)
    res = fit_affine_batched(x, torch.sin(2 * x), get_functions(None))
    assert res.r2.shape == (1, len(SYMBOLIC_LIB)) and not torch.isnan(res.r2).any()


@pytest.mark.parametrize("sympy_fn,exc_type", [
    (lambda x: "sin(x)", TypeError),                         # a string, not an expression
    (lambda x: 3.0, TypeError),                              # a Python float
    (lambda x: [x], TypeError),
    (lambda x: x > 0, TypeError),                            # a relation, not an expression
    (math.sin, ValueError),                                  # cannot take a Symbol
    (lambda x, y: x + y, ValueError),                        # wrong arity
    ("sin", TypeError),                                      # not callable
])
def test_add_symbolic_rejects_bad_sympy_fn(cleanup_registry, sympy_fn, exc_type):
    _assert_rejected(exc_type, "sympy_fn", _snapshot(), "bad_sym", torch.sin, sympy_fn)


@pytest.mark.parametrize("complexity,exc_type", [
    (-1, ValueError), (2.5, TypeError), (2.0, TypeError), (True, TypeError), ("2", TypeError),
    (None, TypeError), (float("nan"), TypeError), (np.int64(-3), ValueError),
])
def test_add_symbolic_rejects_bad_complexity(cleanup_registry, complexity, exc_type):
    _assert_rejected(exc_type, "complexity", _snapshot(), "cplx", torch.sin, sympy.sin, complexity=complexity)


@pytest.mark.parametrize("name", ["", "   ", 3, None, b"sinh", ("sinh",)])
def test_add_symbolic_rejects_bad_name(cleanup_registry, name):
    _assert_rejected(TypeError, "name", _snapshot(), name, torch.sinh, sympy.sinh)


def test_add_symbolic_needs_overwrite_to_replace_a_builtin(cleanup_registry):
    before = _snapshot()
    with pytest.raises(ValueError, match="'cos' is a built-in.*overwrite=True"):
        add_symbolic("cos", torch.sin, sympy.sin)
    with pytest.raises(TypeError, match="overwrite"):
        add_symbolic("cos", torch.sin, sympy.sin, overwrite="yes")
    assert SYMBOLIC_LIB == before


def test_add_symbolic_accepts_numpy_int_and_domain_limited_functions(cleanup_registry):
    fn = add_symbolic("log2", lambda z: torch.log2(z), lambda x: sympy.log(x, 2), complexity=np.int64(3))
    assert fn.complexity == 3 and type(fn.complexity) is int
    assert SYMBOLIC_LIB["log2"] is fn
    # NaN / -inf on the probe's non-positive half is fine; the function still fits where it is defined
    x = torch.linspace(0.5, 4, 200, dtype=torch.float64)
    res = fit_affine_batched(x, 2 * torch.log2(x) + 1, ["log2"])
    assert res.r2[0, 0] > 1 - 1e-9
