"""ex_round: numbers rounded honestly, and text never parsed (sympify of a string evaluates it)."""
import os

import numpy as np
import pytest
import sympy

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
