"""ex_round: numbers rounded honestly, and text never parsed (sympify of a string evaluates it)."""
import os

import numpy as np
import pytest
import sympy
import torch

from kanwidget import ex_round

X = sympy.Symbol("x")


def test_a_string_is_refused_and_never_evaluated(monkeypatch):
    monkeypatch.delenv("KANWIDGET_EX_ROUND_RAN", raising=False)
    code = "__import__('os').environ.__setitem__('KANWIDGET_EX_ROUND_RAN', '1') or 1.5"
    with pytest.raises(TypeError, match="expr.*strings are not parsed"):
        ex_round(code)
    with pytest.raises(TypeError, match="expr"):
        ex_round([X, code])                                               # nested in a list as well
    assert "KANWIDGET_EX_ROUND_RAN" not in os.environ


@pytest.mark.parametrize("value,digits,expected", [
    (1.23456, 2, sympy.Float(1.23)),
    (np.float64(2.00004), 3, sympy.Integer(2)),
    (7, 2, sympy.Integer(7)),
    (np.int32(-3), 0, sympy.Integer(-3)),
])
def test_plain_numbers_are_rounded(value, digits, expected):
    assert ex_round(value, digits) == expected


def test_lists_and_tuples_keep_their_type():
    out = ex_round((sympy.Float(0.333333) * X, [sympy.Float(2.00001) + X]), 3)
    assert isinstance(out, tuple) and isinstance(out[1], list)
    assert out == (sympy.Float(0.333, 15) * X, [X + 2])


def test_numpy_digit_count_is_accepted():
    assert ex_round(sympy.Float(1.23456) * X, np.int64(1)) == sympy.Float(1.2, 15) * X


def test_formula_terms_count_input_to_output_paths():
    from kanwidget import KAN
    from kanwidget.core.operations.formula import formula_terms

    assert formula_terms(KAN([2, 5, 1], seed=0)) == [10]                 # 2 inputs x 5 hidden x 1 path each
    assert formula_terms(KAN([8, 16, 8, 2], seed=0)) == [1024, 1024]
    model = KAN([3, 2, 2], seed=0)
    with torch.no_grad():
        model.layers[0].mask[2, :] = 0                                   # input 3 reaches nothing
        model.layers[1].mask[1, 0] = 0                                   # hidden 2 no longer feeds output 1
    # output 1: inputs 1, 2 through hidden 1 only = 2 paths; output 2: 2 inputs x 2 hidden = 4 paths
    assert formula_terms(model) == [2, 4]
    # and each path is one nested leaf of the formula: count the input symbols in the expression tree
    exprs, _ = model.symbolic_formula()
    leaves = [sum(1 for a in sympy.preorder_traversal(e) if isinstance(a, sympy.Symbol)) for e in exprs]
    assert leaves == [2, 4]


# ------------------------------------------------ honest rounding: exact constants only when held
@pytest.mark.parametrize("held,expected", [
    (np.pi, sympy.pi * X),                                    # a snapped constant prints exactly
    (3.14159, sympy.Float(3.1416, 15) * X),                   # an unsnapped one is only rounded
    (np.pi + 1e-8, sympy.Float(3.1416, 15) * X),              # pi to 8 digits is not pi
    (float(np.float32(np.pi)), sympy.pi * X),                 # a float32 model holds pi no closer
    (1 / 3, X / 3),
    (0.7, sympy.Float(0.7, 15) * X),                          # decimals stay decimals (not 7/10)
    (-2.5 * np.pi, -5 * sympy.pi * X / 2),
])
def test_ex_round_prints_exact_constants_only_when_the_number_holds_them(held, expected):
    assert ex_round(sympy.Float(held) * X, 4) == expected


def test_ex_round_lets_sympy_simplify_exact_phases():
    expr = sympy.sin(sympy.Float(np.pi) * X - sympy.Float(3 * np.pi))
    assert ex_round(expr, 4) == -sympy.sin(sympy.pi * X)
    near = sympy.sin(sympy.Float(3.14159) * X - sympy.Float(9.42478))
    assert ex_round(near, 4) == sympy.sin(sympy.Float(3.1416, 15) * X - sympy.Float(9.4248, 15))


def test_ex_round_drops_a_factor_only_within_the_rounding():
    x2 = sympy.Symbol("x_2")
    assert ex_round(sympy.Float(1.00002) * sympy.exp(sympy.Float(1.00002) * x2 ** 2), 4) == sympy.exp(x2 ** 2)
    assert ex_round(sympy.Float(1.0002) * sympy.exp(x2 ** 2), 4) == sympy.Float(1.0002, 15) * sympy.exp(x2 ** 2)
    assert ex_round(sympy.Float(1.00002) * sympy.exp(x2 ** 2), 5) == sympy.Float(1.00002, 15) * sympy.exp(x2 ** 2)


def test_ex_round_of_a_snapped_model_is_what_the_model_computes(float64):
    from kanwidget import KAN

    model = KAN([2, 1, 1], grid=3, seed=0)
    model.layers[0].set_symbolic(0, 0, "sin", torch.tensor([np.pi, -3 * np.pi, 1.0, 0.0]))
    model.layers[0].set_symbolic(1, 0, "x^2", torch.tensor([1.0, 0.0, 0.5, 0.0]))
    model.layers[1].set_symbolic(0, 0, "exp", torch.tensor([2.0, 0.0, 1.0, 0.0]))
    formulas = model.symbolic_formula()
    formula = ex_round(formulas[0] if isinstance(formulas, tuple) else formulas, 4)[0]
    x1, x2 = sympy.symbols("x_1 x_2")
    assert formula == sympy.exp(x2 ** 2 - 2 * sympy.sin(sympy.pi * x1))
    x = torch.rand(50, 2) * 2 - 1
    f = sympy.lambdify((x1, x2), formula, "numpy")
    assert np.allclose(f(x[:, 0].numpy(), x[:, 1].numpy()), model(x)[:, 0].detach().numpy(), rtol=1e-13)


def test_ex_round_never_prints_a_huge_number_as_its_integer_digits():
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")        # no overflow warning either
        out = ex_round(sympy.Float(2.1e57) * X + sympy.Float(3.3e35), 4)
    assert len(str(out)) < 30, out
    floats = sorted(float(f) for f in out.atoms(sympy.Float))
    assert floats == pytest.approx([3.3e35, 2.1e57], rel=1e-4)


@pytest.mark.parametrize("held,expected", [
    (1 / (4 * np.pi), X / (4 * sympy.pi)),
    (1 / np.sqrt(2 * np.pi), X / sympy.sqrt(2 * sympy.pi)),
    (np.sqrt(2) / 2, X / sympy.sqrt(2)),
    (1 / (4 * np.pi) + 1e-9, sympy.Float(0.0796, 15) * X),      # not held: rounded
])
def test_ex_round_knows_textbook_constants_when_held(held, expected):
    assert sympy.simplify(ex_round(sympy.Float(held) * X, 4) - expected) == 0
