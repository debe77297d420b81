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


def test_graph_payload_marks_multiplication_nodes_and_the_node_each_subnode_feeds():
    model = KAN(width=[2, [1, 1], 1], seed=0)        # level 1: one additive node, one product of 2 subnodes
    graph, curves = snapshot.graph_payload(model)
    assert graph["width"] == [2, 2, 1]
    assert [(layer["in"], layer["out"]) for layer in graph["layers"]] == [(2, 3), (2, 1)]
    assert graph["layers"][0]["owner"] == [0, 1, 1] and graph["layers"][1]["owner"] == [0]
    assert [node.get("mult", 0) for node in graph["nodes"][1]] == [0, 2]
    assert all("mult" not in node for level in (0, 2) for node in graph["nodes"][level])
    assert len(curves) == (2 * 3 + 2 * 1) * 2 * graph["num_points"] * 4          # one curve per layer output
    plain, _ = snapshot.graph_payload(KAN(width=[2, 2, 1], seed=0))
    assert all("owner" not in layer for layer in plain["layers"])              # no products: payload unchanged
    assert all("mult" not in node for level in plain["nodes"] for node in level)
