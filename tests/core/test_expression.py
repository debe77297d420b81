"""The safe formula parser: values against numpy, sympy by construction, bad input, never eval, fuzz."""
from __future__ import annotations

import builtins
import math
import sys

import numpy as np
import pytest
import sympy
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from kanwidget.core import expression
from kanwidget.core.expression import MAX_DEPTH, MAX_LENGTH, FormulaError, parse_formula

X1, X2, X3 = sympy.symbols("x_1 x_2 x_3")


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-v))


# (text, numpy truth on columns a, b, c, sympy truth built by hand, variables used)
CASES = [
    ("exp(sin(pi*x_1) + x_2^2)", lambda a, b, c: np.exp(np.sin(np.pi * a) + b ** 2),
     sympy.exp(sympy.sin(sympy.pi * X1) + X2 ** 2), (1, 2)),
    ("x_1*x_2", lambda a, b, c: a * b, X1 * X2, (1, 2)),
    ("x*y + z", lambda a, b, c: a * b + c, X1 * X2 + X3, (1, 2, 3)),
    ("x1 - x2 - x3", lambda a, b, c: a - b - c, X1 - X2 - X3, (1, 2, 3)),
    ("2^3^2", lambda a, b, c: np.full_like(a, 512.0), sympy.Integer(512), ()),
    ("-x_1^2", lambda a, b, c: -(a ** 2), -X1 ** 2, (1,)),
    ("x_1 ** 2 / 4", lambda a, b, c: a ** 2 / 4, X1 ** 2 / 4, (1,)),
    ("exp(-(x_1^2 + x_2^2) / 0.5)", lambda a, b, c: np.exp(-(a ** 2 + b ** 2) / 0.5),
     sympy.exp(-2 * (X1 ** 2 + X2 ** 2)), (1, 2)),
    ("sqrt(abs(x_1)) + log(x_2 + 2)", lambda a, b, c: np.sqrt(np.abs(a)) + np.log(b + 2),
     sympy.sqrt(sympy.Abs(X1)) + sympy.log(X2 + 2), (1, 2)),
    ("tanh(x_3) * sigmoid(x_1)", lambda a, b, c: np.tanh(c) * _sigmoid(a),
     sympy.tanh(X3) / (1 + sympy.exp(-X1)), (1, 3)),
    ("arcsin(x_1/2) + atan(x_2) + acos(x_3/3)", lambda a, b, c: np.arcsin(a / 2) + np.arctan(b) + np.arccos(c / 3),
     sympy.asin(X1 / 2) + sympy.atan(X2) + sympy.acos(X3 / 3), (1, 2, 3)),
    ("sinh(x) - cosh(y) + tan(z/2)", lambda a, b, c: np.sinh(a) - np.cosh(b) + np.tan(c / 2),
     sympy.sinh(X1) - sympy.cosh(X2) + sympy.tan(X3 / 2), (1, 2, 3)),
    ("max(x_1, x_2) - min(x_2, 0.25)", lambda a, b, c: np.maximum(a, b) - np.minimum(b, 0.25),
     sympy.Max(X1, X2) - sympy.Min(X2, sympy.Rational(1, 4)), (1, 2)),
    ("e^x_1 + 1e-3*x_2 + .5", lambda a, b, c: np.e ** a + 1e-3 * b + 0.5,
     sympy.E ** X1 + X2 / 1000 + sympy.Rational(1, 2), (1, 2)),
    ("+(((x_2)))", lambda a, b, c: b, X2, (2,)),
    ("2 * -x_1", lambda a, b, c: -2 * a, -2 * X1, (1,)),
    ("cos(2*pi*x_1) * 3.25", lambda a, b, c: np.cos(2 * np.pi * a) * 3.25,
     sympy.cos(2 * sympy.pi * X1) * sympy.Rational(13, 4), (1,)),
    ("7", lambda a, b, c: np.full_like(a, 7.0), sympy.Integer(7), ()),
]


@pytest.mark.parametrize("text, truth, _sym, _vars", CASES, ids=[c[0] for c in CASES])
def test_values_match_numpy(text, truth, _sym, _vars):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(64, 3))
    got = parse_formula(text)(torch.tensor(x, dtype=torch.float64)).numpy()
    assert got.shape == (64,)
    np.testing.assert_allclose(got, truth(x[:, 0], x[:, 1], x[:, 2]), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("text, _truth, sym, variables", CASES, ids=[c[0] for c in CASES])
def test_sympy_by_construction(text, _truth, sym, variables):
    f = parse_formula(text)
    assert f.variables == variables
    assert sympy.simplify(f.to_sympy([X1, X2, X3]) - sym) == 0


def test_sympy_default_names_and_latex():
    f = parse_formula("sin(pi*x_1) + x_2^2")
    assert f.to_sympy() == sympy.sin(sympy.pi * sympy.Symbol("x_1")) + sympy.Symbol("x_2") ** 2
    assert f.n_var == 2 and "\\sin" in f.latex()


def test_float32_input_keeps_dtype_and_unused_columns_ignored():
    f = parse_formula("x_2 + 1")
    x = torch.tensor([[5.0, 1.0, 9.0], [6.0, -2.0, 9.0]])
    y = f(x)
    assert y.dtype == torch.float32 and y.tolist() == [2.0, -1.0]


def test_call_checks_columns():
    with pytest.raises(ValueError, match="x_3"):
        parse_formula("x_3")(torch.zeros(4, 2))


# (text, n_var, words the message must contain)
BAD = [
    ("", None, "empty"),
    ("   ", None, "empty"),
    ("foo(x_1)", None, "unknown function 'foo'; allowed: sin"),
    ("Sin(x_1)", None, "did you mean 'sin'"),
    ("__import__('os')", None, "strings are not allowed"),
    ("__import__(x)", None, "unknown function '__import__'"),
    ("__builtins__", None, "unknown name '__builtins__'"),
    ("x_1.__class__", None, "attribute access"),
    ("().__class__", None, "attribute access"),
    ("lambda: 1", None, "lambda"),
    ("lambda", None, "unknown name 'lambda'"),
    ("'abc'", None, "strings are not allowed"),
    ('"abc"', None, "strings are not allowed"),
    ("x_1[0]", None, "indexing"),
    ("x_1 = 2", None, "assignment"),
    ("x_1 == 2", None, "assignment and comparison"),
    ("x_1 +" * 200 + "1", None, "too long"),
    ("(" * 60 + "x_1" + ")" * 60, None, f"deeper than {MAX_DEPTH}"),
    ("-" * 60 + "x_1", None, f"deeper than {MAX_DEPTH}"),
    ("+".join(["x"] * 200), None, "too many tokens"),
    ("x_3", 2, "'x_3' is beyond x_2: the data has 2 inputs"),
    ("z", 2, "'z' is beyond x_2"),
    ("x_0", None, "numbered from 1"),
    ("x_99999", None, "beyond x_1000"),
    ("(x_1 + 1", None, "unbalanced '('"),
    ("x_1 + 1)", None, "unbalanced ')'"),
    ("sin(x_1", None, "unbalanced '(' of sin("),
    ("1e999", None, "too large"),
    ("1e-999", None, "too small"),
    ("1" * 40, None, "too large"),
    ("2^1000", None, "exponents are limited"),
    ("2^2^2^2^2", None, "exponent after '^' is 65536"),
    ("((2^100)^100)", None, "beyond the float range"),
    ("2x_1", None, "multiplication is never implicit"),
    ("2 x_1", None, "write 2*x"),
    ("sin x_1", None, "needs parentheses"),
    ("x_1(2)", None, "unknown function 'x_1'"),
    ("pi(2)", None, "unknown function 'pi'"),
    ("min(x_1)", None, "min takes 2 arguments, got 1"),
    ("sin(x_1, x_2)", None, "sin takes 1 argument, got 2"),
    ("x_1 +", None, "ends early"),
    ("* x_1", None, "unexpected '*'"),
    ("x_1 $ 2", None, "unexpected character '$'"),
    ("x_1 ; import os", None, "unexpected character ';'"),
    ("x_1 # comment", None, "unexpected character '#'"),
    ("\u00e9", None, "unexpected character"),
    ("x_1 ,", None, "expected an operator before ','"),
]


@pytest.mark.parametrize("text, n_var, words", BAD, ids=[repr(b[0][:20]) for b in BAD])
def test_bad_formulas(text, n_var, words):
    with pytest.raises(FormulaError) as info:
        parse_formula(text, n_var=n_var)
    assert words in str(info.value)
    assert str(info.value).startswith("formula")


def test_error_positions_are_columns():
    with pytest.raises(FormulaError) as info:
        parse_formula("x_1 + foo(2)")
    assert info.value.position == 7 and "column 7" in str(info.value)


def test_not_text_and_bad_n_var():
    with pytest.raises(FormulaError, match="must be text"):
        parse_formula(3)
    with pytest.raises(FormulaError, match="n_var"):
        parse_formula("x_1", n_var=0)
    assert len("x" * MAX_LENGTH) == MAX_LENGTH


def test_never_evaluates_text(monkeypatch):
    """eval/exec/compile, sympify of a string and parse_expr all raise while parsing, evaluating and building sympy."""
    import sympy.parsing.sympy_parser as parser_module
    sympify_module = sys.modules["sympy.core.sympify"]     # the module (its name is shadowed by the function)

    real_sympify = sympify_module.sympify

    def guarded_sympify(a, *args, **kwargs):
        if isinstance(a, str):
            raise AssertionError(f"sympify called on text {a!r}")
        return real_sympify(a, *args, **kwargs)

    def forbidden(*args, **kwargs):
        raise AssertionError("forbidden call")

    items = [(c[0], None) for c in CASES] + [(b[0], b[1]) for b in BAD]
    x = torch.rand(8, 3, dtype=torch.float64)
    sympy.sin(X1)   # sympy fully imported before the guards
    monkeypatch.setattr(sympify_module, "sympify", guarded_sympify)
    monkeypatch.setattr(sympy, "sympify", guarded_sympify)
    monkeypatch.setattr(parser_module, "parse_expr", forbidden)
    monkeypatch.setattr(sympy, "parse_expr", forbidden, raising=False)
    saved = {name: getattr(builtins, name) for name in ("eval", "exec", "compile")}
    parsed, problems = 0, []
    for name in saved:
        setattr(builtins, name, forbidden)
    try:
        for text, n_var in items:
            try:
                f = parse_formula(text, n_var=n_var)
                f(x)
                f.to_sympy()
                parsed += 1
            except FormulaError:
                pass
            except BaseException as exc:  # noqa: BLE001 - reported after the builtins are back
                problems.append((text, repr(exc)))
    finally:
        for name, fn in saved.items():
            setattr(builtins, name, fn)
    assert problems == []
    assert parsed == len(CASES)


FORMULA_ALPHABET = "x_123y z.e+-*/^(),sincoexplgqrtpiabdhmw '\"[]:=_"


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=80), st.text(alphabet=FORMULA_ALPHABET, max_size=60)))
def test_fuzz_only_formula_errors(text):
    try:
        f = parse_formula(text, n_var=3)
    except FormulaError:
        return
    with np.errstate(all="ignore"):
        y = f(torch.linspace(-1, 1, 12, dtype=torch.float64).reshape(4, 3))
    assert y.shape == (4,)
    f.to_sympy()
    assert set(f.variables) <= {1, 2, 3}
    assert isinstance(expression.FormulaError("x"), ValueError)
    assert math.isfinite(0.0)
