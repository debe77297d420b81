"""tidy: identities that make formulas read clean, each one checked numerically before it is kept."""
import math

import numpy as np
import pytest
import sympy
import torch

from kanwidget import KAN, create_dataset, ex_round
from kanwidget.core.operations import tidy as tidy_module
from kanwidget.core.operations.tidy import tidy

X, Y = sympy.symbols("x y")
F = sympy.Float


def _values(expr, points):
    fn = sympy.lambdify((X, Y), expr, modules=[{"spline_0_0_0": np.tanh}, "numpy"])
    return np.broadcast_to(np.asarray(fn(*points), dtype=float), points[0].shape)


@pytest.mark.parametrize("messy,clean", [
    (sympy.sin(F(3.14159) * X - F(9.42478)), -sympy.sin(F(3.1416) * X)),      # -3pi: sign flips
    (sympy.sin(F(math.pi) * X - F(3 * math.pi)), -sympy.sin(sympy.pi * X)),    # snapped: exact pi
    (sympy.cos(2 * X + F(1.5707963)), -sympy.sin(2 * X)),                       # +pi/2: cos -> -sin
    (sympy.sin(X + F(4.712389)), -sympy.cos(X)),                                # 3pi/2
    (sympy.tan(X + F(3.1415927)), sympy.tan(X)),                                # tan has period pi
    (F(0.7198) * sympy.sqrt(F(1.9299) * X ** 2 + F(1.9299) * Y ** 2), sympy.sqrt(X ** 2 + Y ** 2)),
    (F(2.0) * sympy.exp(F(3.0) * X ** 2 + F(math.log(0.5))), sympy.exp(3 * X ** 2)),
])
def test_known_formulas_come_out_clean(messy, clean):
    assert ex_round(tidy(messy), 4) == clean


def test_tidy_keeps_the_value(float64):
    rng = np.random.default_rng(1)
    points = (rng.uniform(-1, 1, 200), rng.uniform(-1, 1, 200))
    spline = sympy.Function("spline_0_0_0")
    for expr in (sympy.sin(F(2.1) * X + F(7.3)) * F(0.3) + spline(Y),
                 F(1.7) * sympy.sqrt(F(2.5) * X ** 2 + F(0.5) * Y ** 2 + F(0.1)),
                 F(0.4) * sympy.log(F(3.0) * X ** 2 + F(6.0) * Y ** 2 + F(1.0)),
                 sympy.cos(F(-4.0) * spline(X) + F(-2.2))):
        tidied = tidy(expr)
        assert tidied != expr
        assert np.allclose(_values(tidied, points), _values(expr, points), rtol=1e-12, atol=1e-12), tidied


def test_a_rewrite_that_changes_the_value_is_dropped(monkeypatch):
    expr = sympy.sin(X + F(3.14159))
    monkeypatch.setattr(tidy_module, "reduce_phases", lambda e: sympy.sin(X))  # a wrong "identity"
    assert tidy(expr) == expr
    monkeypatch.setattr(tidy_module, "reduce_phases", lambda e: -sympy.sin(X + F(3.14159 - math.pi)))
    assert tidy(expr) != expr                                                   # a right one is kept


def test_checked_on_the_models_data_range(float64):
    # sqrt(k*u) = sqrt(k)*sqrt(u) for k > 0 whatever u; checked on points in the data range of the model
    ds = create_dataset(lambda x: torch.sqrt(x[:, [0]] ** 2 + 1), n_var=1, ranges=[2.0, 3.0], seed=0)
    model = KAN([1, 1], grid=3, seed=0)
    model.layers[0].set_symbolic(0, 0, "sqrt", torch.tensor([1.0, 0.0, 1.0, 0.0]))
    model.data = ds
    x1 = sympy.Symbol("x_1")
    expr = F(0.5) * sympy.sqrt(F(4.0) * x1 ** 2 + F(4.0))
    assert ex_round(tidy(expr, model)) == sympy.sqrt(x1 ** 2 + 1)
    assert tidy_module._ranges(model, [x1]) == [(float(ds["train_input"].min()), float(ds["train_input"].max()))]
    (formula,), _ = model.symbolic_formula()
    tidied = tidy(formula, model)
    fn = sympy.lambdify(x1, tidied, "numpy")
    x = ds["test_input"]
    assert np.allclose(fn(x[:, 0].numpy()), model(x)[:, 0].detach().numpy(), rtol=1e-12)


def test_lists_keep_their_type_and_strings_are_refused():
    out = tidy((sympy.sin(X + F(math.pi)), [X]))
    assert isinstance(out, tuple) and isinstance(out[1], list)
    with pytest.raises(TypeError, match="expr"):
        tidy("sin(x)")
    with pytest.raises(ValueError, match="tolerance"):
        tidy(X, tolerance=-1.0)
