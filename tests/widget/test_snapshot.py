"""Payload builders: the formula payload stays bounded on models whose formula would be huge."""
from __future__ import annotations

import sympy
import torch

from kanwidget import KAN, create_dataset
from kanwidget.widget import snapshot


def _symbolic(width, seed=0):
    model = KAN(width, grid=3, seed=seed)
    data = create_dataset(lambda x: x[:, [0]] * 0 + x.sum(1, keepdim=True), n_var=width[0], train_num=64,
                          test_num=16, seed=0)
    model.data = data
    model.auto_symbolic(lib=["x", "sin"], verbose=0)
    return model


def test_small_formula_is_built_and_matches_the_model():
    model = _symbolic([2, 2, 1])
    payload = snapshot.formula_payload(model)
    assert payload["too_large"] is False and payload["terms"] == 4
    expr = sympy.sympify(payload["sympy"][0])        # our own output, parsed back only in the test
    x1, x2 = sympy.symbols("x_1 x_2")
    point = {x1: 0.3, x2: -0.4}
    with torch.no_grad():
        want = float(model(torch.tensor([[0.3, -0.4]], dtype=model.dtype))[0, 0])
    assert abs(float(expr.subs(point)) - want) < 1e-2 * max(1.0, abs(want))


def test_a_formula_with_too_many_terms_is_not_built_and_says_its_size():
    model = _symbolic([8, 16, 8, 1])                # 1,024 nested terms: sympy took ~30 s on it
    payload = snapshot.formula_payload(model)
    assert payload == {"latex": [], "sympy": [], "spline_edges": 0, "terms": 1024, "too_large": True}
    # a larger budget builds it (bounded here by a small model so the test stays quick)
    small = _symbolic([3, 3, 1])
    assert snapshot.formula_payload(small, max_terms=8)["too_large"] is True
    assert snapshot.formula_payload(small, max_terms=9)["too_large"] is False
