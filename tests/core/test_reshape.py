"""Editing a network's shape (operations/reshape.py): what each edit keeps, versions and undo, bad input."""
from __future__ import annotations

import pytest
import torch

from kanwidget import KAN
from kanwidget.core.operations import reshape
from tests.core.model_helpers import clone_state, state_equal


def _out(model, x):
    with torch.no_grad():
        return model(x)


# ------------------------------------------------------------ what is kept
def test_add_node_keeps_outputs_exactly_and_the_node_learns(trained):
    x = trained.data["train_input"]
    new = trained.add_node(1)
    assert new.width == [2, 6, 1] and trained.width == [2, 5, 1]
    assert torch.allclose(_out(new, x), _out(trained, x), atol=1e-12, rtol=0)
    assert float(new.layers[1].scale_sp.detach()[-1].abs().sum()) == 0.0      # zero outgoing scales ...
    loss = ((new(x) - trained.data["train_label"]) ** 2).mean()
    loss.backward()
    assert float(new.layers[1].scale_sp.grad[-1].abs().sum()) > 0.0   # ... that a fit can move
    # the new node's grid follows its values on the data
    values = _out(new.layers[0], x)[:, -1]
    pts = new.layers[1].grid_points()[-1]
    assert float(pts[0]) == pytest.approx(float(values.min()), abs=0.05 * float(values.std()) + 1e-9)


def test_delete_node_removes_its_contribution_and_keeps_its_mean(trained):
    x = trained.data["train_input"]
    h = _out(trained.layers[0], x)
    edge = trained.layers[1].edge_activations(h).detach()[:, 2, :]       # (N, O) node 2's contribution
    expected = _out(trained, x) - edge + edge.mean(0)
    new = trained.delete_node(1, 2)
    assert new.width == [2, 4, 1]
    assert torch.allclose(_out(new, x), expected, atol=1e-10, rtol=0)


def test_greville_coefficients_give_the_identity():
    layer = KAN([1, 1], grid=7, k=3, dtype=torch.float64).layers[0]
    coef = reshape.greville(layer.grid, 3)
    xs = torch.linspace(-1, 1, 101, dtype=torch.float64)[:, None]
    from kanwidget.core.numerics import spline
    y = spline.coef_to_curve(xs, layer.grid, coef[:, None, :], 3)[:, 0, 0]
    assert torch.allclose(y, xs[:, 0], atol=1e-12)


@pytest.mark.parametrize("index", [1, 2])
def test_add_layer_is_an_identity_on_the_data(trained, index):
    x = trained.data["train_input"]
    new = trained.add_layer(index)
    n = trained.width[index - 1]
    assert new.width == trained.width[:index] + [n] + trained.width[index:]
    assert torch.allclose(_out(new, x), _out(trained, x), atol=1e-9, rtol=0)
    assert torch.allclose(_out(new.layers[index - 1], new.layer_inputs(x)[index - 1]),
                          new.layer_inputs(x)[index - 1], atol=1e-9)


def test_delete_layer_undoes_add_layer_nearly_and_fits_the_old_map(trained):
    x = trained.data["train_input"]
    deeper = trained.add_layer(2)
    back = deeper.delete_layer(2)
    assert back.width == [2, 5, 1]
    assert torch.allclose(_out(back, x), _out(trained, x), atol=1e-4, rtol=0)
    merged = trained.delete_layer(1)       # not additive: the best additive fit, better than its mean
    y = _out(trained, x)
    resid = float(((_out(merged, x) - y) ** 2).mean())
    assert merged.width == [2, 1] and resid < float(y.var())


def test_regrid_refits_the_curves(trained):
    x = trained.data["train_input"]
    finer = trained.regrid(grid=10)
    assert (finer.grid, finer.k) == (10, 3)
    y = _out(trained, x)
    assert float((_out(finer, x) - y).abs().max()) < 0.05 * float(y.std())
    order = trained.regrid(k=4)
    assert (order.grid, order.k) == (5, 4) and all(layer.k == 4 for layer in order.layers)
    # a cubic is not a quartic spline on the same 5 knots (C2 vs C3): ~6 % of the spread at the worst sample
    assert float((_out(order, x) - y).abs().max()) < 0.1 * float(y.std())
    again = KAN.from_snapshot(order.snapshot())          # the version rebuilds with the new k
    assert again.k == 4 and torch.allclose(_out(again, x), _out(order, x))


def test_regrid_without_data_uses_points_over_the_grid(float64):
    model = KAN([1, 2, 1], grid=4, seed=0)
    xs = torch.linspace(-1, 1, 200)[:, None]
    new = model.regrid(grid=8)
    assert torch.allclose(_out(new, xs), _out(model, xs), atol=1e-6)


def test_reinit_is_the_constructor_with_a_new_seed(trained):
    new = trained.reinit(seed=7)
    fresh = KAN([2, 5, 1], grid=5, k=3, seed=7)
    assert state_equal(clone_state(new), clone_state(fresh))
    assert new.config["seed"] == 7 and new.data is trained.data
    nxt = new.reinit()
    assert nxt.config["seed"] == 8


def test_symbolic_edges_survive_where_their_edge_survives(trained):
    trained.fix_symbolic(0, 0, 1, "sin", verbose=False)
    for new in (trained.add_node(1), trained.delete_node(1, 3), trained.regrid(grid=7), trained.add_layer(1)):
        names = new.symbolic_names()
        offset = 1 if new.depth == 3 else 0
        assert names[offset][0][1] == "sin"
    assert trained.delete_node(1, 0).symbolic_names()[0][0][0] == "sin"   # node 0 gone: (0,0,1) -> (0,0,0)
    assert all(n is None for row in trained.delete_node(1, 1).symbolic_names()[0] for n in row)   # edge gone


# ------------------------------------------------------- versions and undo
def test_each_edit_is_one_version_and_undo_restores_it(trained):
    before = clone_state(trained)
    n = len(trained.history)
    seen = []
    trained.on("structure", lambda model, kind: seen.append((model.width, kind)))
    new = trained.add_node(1)
    assert len(new.history) == n + 1 and "add node" in new.history[-1].label
    assert seen == [([2, 6, 1], "structure")]
    new = new.add_layer(1).regrid(grid=6).delete_node(1, 0)
    assert len(new.history) == n + 4
    back = new.undo().undo().undo().undo()
    assert back.width == [2, 5, 1] and state_equal(clone_state(back), before)


# -------------------------------------------------------------- bad input
BAD = [
    ("add_node", (0,), ValueError, "layer=0"),
    ("add_node", (2,), ValueError, "layer=2"),
    ("add_node", (True,), TypeError, "layer"),
    ("add_node", (1.0,), TypeError, "layer"),
    ("delete_node", (1, 5), ValueError, "i=5"),
    ("delete_node", (1, -1), ValueError, "i=-1"),
    ("delete_node", (0, 0), ValueError, "layer=0"),
    ("delete_node", (1, "0"), TypeError, "i must"),
    ("add_layer", (0,), ValueError, "index=0"),
    ("add_layer", (3,), ValueError, "index=3"),
    ("delete_layer", (2,), ValueError, "index=2"),
    ("regrid", (), ValueError, "nothing to change"),
    ("regrid", (0,), ValueError, "grid must be >= 1"),
    ("regrid", (None, 0), ValueError, "k must be >= 1"),
    ("regrid", (None, 21), ValueError, "k must be <= 20"),
    ("regrid", (5000, 20), ValueError, "would need about"),
    ("reinit", ("1",), TypeError, "seed"),
]


@pytest.mark.parametrize("name,args,error,text", BAD)
def test_bad_input_names_the_argument_and_changes_nothing(trained, name, args, error, text):
    before, versions = clone_state(trained), list(trained.history)
    with pytest.raises(error, match=text):
        getattr(trained, name)(*args)
    assert state_equal(clone_state(trained), before) and trained.history == versions


def test_the_last_node_and_models_without_hidden_layers(float64):
    model = KAN([2, 1, 1], seed=0)
    with pytest.raises(ValueError, match="last node of hidden layer 1; delete the layer"):
        model.delete_node(1, 0)
    flat = KAN([2, 1], seed=0)
    with pytest.raises(ValueError, match="no hidden layer"):
        flat.add_node(1)
    assert flat.add_layer(1).width == [2, 2, 1]


def test_multiplication_nodes_refused_by_name_but_regrid_and_reinit_work(float64):
    model = KAN([2, [0, 1], 1], seed=0)
    for name, args in (("add_node", (1,)), ("delete_node", (1, 0)), ("add_layer", (1,)), ("delete_layer", (1,))):
        with pytest.raises(ValueError, match=f"{name}: .*multiplication nodes"):
            getattr(model, name)(*args)
    x = torch.rand(50, 2) * 2 - 1
    assert model.regrid(grid=6).grid == 6
    fresh = model.reinit(seed=3)
    assert fresh.width == model.width and fresh.mult_arity == model.mult_arity
    assert torch.allclose(_out(fresh, x), _out(KAN([2, [0, 1], 1], seed=3), x))


def test_a_failure_inside_the_change_leaves_the_model_exactly(trained, monkeypatch):
    before, versions = clone_state(trained), list(trained.history)

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(reshape, "_derive", broken)
    for call in (lambda: trained.add_node(1), lambda: trained.delete_layer(1), lambda: trained.regrid(grid=9)):
        with pytest.raises(RuntimeError, match="boom"):
            call()
        assert state_equal(clone_state(trained), before) and trained.history == versions
        assert trained.width == [2, 5, 1]


def test_an_edit_of_a_model_without_versions_records_init_first(float64):
    model = KAN([2, 3, 1], seed=0)
    new = model.add_node(1)
    assert [v.label.split(" ")[0] for v in new.history] == ["init", "add"]
    assert new.undo().width == [2, 3, 1]
