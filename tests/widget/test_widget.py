"""Traits and payloads, data handling, following the model lineage, undo/checkout, Python API."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from kanwidget import KAN, KANWidget, SYMBOLIC_LIB
from kanwidget.widget import KANWidgetWarning, snapshot
from widget_helpers import command


def outputs(w: KANWidget) -> dict:
    return {"graph": json.loads(json.dumps(w.graph)), "curves": bytes(w.curves), "metrics": bytes(w.metrics),
            "formula": dict(w.formula)}


# ------------------------------------------------------------------ traits
def test_initial_traits(widget, model):
    g = widget.graph
    assert g["width"] == [2, 3, 1] and g["in_vars"] == ["x_1", "x_2"] and g["out_vars"] == ["y_1"]
    assert [(layer["in"], layer["out"]) for layer in g["layers"]] == [(2, 3), (3, 1)]
    assert [len(level) for level in g["nodes"]] == [2, 3, 1]
    edges = [(l, e["i"], e["j"]) for l, layer in enumerate(g["layers"]) for e in layer["edges"]]
    assert edges == [(l, i, j) for l in range(2) for i in range(model.width[l]) for j in range(model.width[l + 1])]
    for layer in g["layers"]:
        for e in layer["edges"]:
            assert set(e) == {"i", "j", "active", "importance", "symbolic", "xmin", "xmax", "ymin", "ymax"}
            assert e["active"] is True and 0.0 <= e["importance"] <= 1.0 and e["symbolic"] is None
            assert e["xmin"] < e["xmax"] and e["ymin"] <= e["ymax"]
    assert g["num_points"] == 64
    assert len(widget.curves) == 9 * 2 * 64 * 4
    assert widget.has_data is True
    assert widget.library == list(SYMBOLIC_LIB)
    assert widget.formula == {"latex": [], "sympy": [], "spline_edges": 9, "terms": 6, "too_large": False}
    assert widget.status["state"] == "idle" and set(widget.status) == {"state", "text", "step", "steps"}
    assert widget.error == "" and widget.inspector == {} and widget.metrics == b""
    json.dumps(widget.graph, allow_nan=False)      # Jupyter's serialiser refuses NaN
    # every synced trait of the protocol
    for name in ("graph", "curves", "metrics", "status", "error", "formula", "versions", "inspector", "library",
                 "has_data"):
        assert widget.trait_metadata(name, "sync") is True


def test_curves_decode_to_edge_curves(widget):
    widget.train(steps=3, opt="Adam", lr=0.05, block=True)
    g = widget.graph
    p = g["num_points"]
    data = np.frombuffer(widget.curves, dtype="<f4")
    expected = widget.model.edge_curves(p)
    offset = 0
    for l, (xs, ys) in enumerate(expected):
        n_in, n_out = ys.shape[:2]
        for i in range(n_in):
            for j in range(n_out):
                np.testing.assert_allclose(data[offset:offset + p], xs[i].numpy(), rtol=1e-6, atol=1e-6)
                np.testing.assert_allclose(data[offset + p:offset + 2 * p], ys[i, j].numpy(), rtol=1e-5, atol=1e-6)
                e = g["layers"][l]["edges"][i * n_out + j]
                assert e["xmin"] <= float(xs[i, 0]) + 1e-6 and e["xmax"] >= float(xs[i, -1]) - 1e-6
                assert e["ymin"] <= float(ys[i, j].min()) + 1e-6 and e["ymax"] >= float(ys[i, j].max()) - 1e-6
                offset += 2 * p
    assert offset == data.size
    # the helper used by tools decodes the same layout
    dec = snapshot.decode_curves(widget.curves, g)
    np.testing.assert_allclose(dec[1][1][2, 0], expected[1][1][2, 0].numpy(), rtol=1e-5, atol=1e-6)


def test_importance_from_attribution(widget):
    widget.train(steps=3, opt="Adam", lr=0.05, block=True)
    model = widget.model
    model.attribute(snapshot.attribution_inputs(model))
    imp = [[e["importance"] for e in layer["edges"]] for layer in widget.graph["layers"]]
    want = [np.round(np.tanh(3 * s.double().numpy()), 2).reshape(-1).tolist() for s in model.edge_scores]
    assert imp == want
    assert len({v for layer in imp for v in layer}) > 1


def test_payload_sizes():
    small = KAN([2, 5, 1], grid=5, seed=0)
    g, c = snapshot.graph_payload(small)
    size = len(json.dumps(g)) + len(c)
    assert g["num_points"] == 64 and size < 12_000
    big = KAN([8, 64, 64, 1], grid=5, seed=0)
    g, c = snapshot.graph_payload(big)
    assert sum(len(layer["edges"]) for layer in g["layers"]) == 4672
    assert len(c) == 4672 * 2 * g["num_points"] * 4
    assert len(json.dumps(g)) + len(c) <= 1_500_000


def test_in_out_vars_from_model(data):
    m = KAN([2, 2, 1], grid=3, seed=0, in_vars=["a", "b"], out_vars=["f"])
    w = KANWidget(m, data)
    assert w.graph["in_vars"] == ["a", "b"] and w.graph["out_vars"] == ["f"]
    w.close()


def test_missing_bundle_is_a_clear_error(monkeypatch, model):
    import kanwidget.widget.widget as mod
    monkeypatch.setattr(mod, "_BUNDLE_OK", False)
    with pytest.raises(RuntimeError, match="npm ci && npm run build"):
        KANWidget(model)


def test_needs_a_kan():
    with pytest.raises(TypeError, match="needs a kanwidget.KAN .or a pykan MultKAN. model, got Linear"):
        KANWidget(torch.nn.Linear(2, 1))


# ----------------------------------------------------------------- no data
def test_without_data(model, data):
    w = KANWidget(model)
    try:
        assert w.has_data is False and w.dataset is None
        imp = [e["importance"] for layer in w.graph["layers"] for e in layer["edges"]]
        assert imp == [1.0] * 9
        assert all(n["importance"] == 1.0 for level in w.graph["nodes"] for n in level)
        for name, args in [("train", {"steps": 5, "opt": "Adam", "lr": 0.01, "lamb": 0.0, "update_grid": True}),
                           ("step", {}), ("prune", {"node_th": 0.01, "edge_th": 0.03}),
                           ("auto_symbolic", {"lib": ["sin", "x"], "weight_simple": 0.8}),
                           ("fix_symbolic", {"l": 0, "i": 0, "j": 0, "name": "sin"})]:
            with pytest.warns(KANWidgetWarning, match="needs a dataset"):
                command(w, name, **args)
            assert "needs a dataset" in w.error and not w.training
        assert w.model is model and w.model.history == []
        # data-free commands still work
        command(w, "inspect", l=0, i=1, j=2)
        ins = w.inspector
        assert (ins["l"], ins["i"], ins["j"]) == (0, 1, 2) and ins["candidates"] == [] and ins["data_x"] == []
        assert len(ins["x"]) == len(ins["y"]) > 10 and len(ins["knots"]) == model.grid + 1
        command(w, "refine", grid=4)
        assert w.model.grid == 4 and w.graph["width"] == [2, 3, 1]
        command(w, "close_inspector")   # (an open inspector would fit its candidates once data comes)
        # data given later
        w.dataset = data
        assert w.has_data is True and w.model.data is data
        w.train(steps=2, opt="Adam", lr=0.01, block=True)
        assert len(np.frombuffer(w.metrics, dtype="<f4")) == 8
        with pytest.raises(ValueError, match="expected"):
            w.dataset = {**data, "train_input": data["train_input"][:, :1]}
    finally:
        w.close()


def test_fitted_model_brings_its_data(model, data):
    model.fit(data, steps=2, opt="Adam", lr=0.01, verbose=False)
    w = KANWidget(model)
    assert w.has_data and w.dataset is data
    assert [v["label"] for v in w.versions] == ["init", "fit Adam x2"] and w.versions[-1]["current"]
    w.close()


# ------------------------------------------------------------- structure
def test_prune_refine_symbolic_commands(widget, data):
    widget.train(steps=5, opt="Adam", lr=0.05, block=True)
    old = widget.model
    command(widget, "prune", node_th=0.0, edge_th=0.0)
    assert widget.error == "" and widget.model is not old and widget.model.width == [2, 3, 1]
    assert widget.status["state"] == "idle" and "pruned" in widget.status["text"]
    command(widget, "refine", grid=5)
    assert widget.model.grid == 5 and widget.error == ""
    command(widget, "inspect", l=0, i=0, j=1)
    ins = widget.inspector
    assert len(ins["data_x"]) == len(ins["data_y"]) == 200 and len(ins["knots"]) == 6
    assert 1 <= len(ins["candidates"]) <= 5
    assert set(ins["candidates"][0]) == {"name", "r2", "complexity"}
    assert all(c["name"] in SYMBOLIC_LIB for c in ins["candidates"])
    command(widget, "fix_symbolic", l=0, i=0, j=1, name="sin")
    assert widget.error == ""
    assert widget.inspector["symbolic"] == "sin"          # the open inspector follows
    assert widget.graph["layers"][0]["edges"][1]["symbolic"] == "sin"
    f = widget.formula
    assert len(f["latex"]) == len(f["sympy"]) == 1 and "sin" in f["sympy"][0] and f["spline_edges"] == 8
    command(widget, "unfix_symbolic", l=0, i=0, j=1)
    assert widget.graph["layers"][0]["edges"][1]["symbolic"] is None and widget.formula["latex"] == []
    command(widget, "auto_symbolic", lib=["x", "x^2", "sin"], weight_simple=0.8)
    assert widget.error == ""
    syms = {e["symbolic"] for layer in widget.graph["layers"] for e in layer["edges"]}
    assert syms <= {"x", "x^2", "sin"} and syms
    assert widget.formula["spline_edges"] == 0 and widget.formula["latex"][0]
    command(widget, "close_inspector")
    assert widget.inspector == {}
    labels = [v["label"] for v in widget.versions]
    assert labels[-1].startswith("auto_symbolic") and sum(v["current"] for v in widget.versions) == 1


def test_follows_prune_done_outside(widget):
    widget.train(steps=3, opt="Adam", lr=0.05, block=True)
    model = widget.model
    smaller = model.prune_input([1])          # in a cell: model = model.prune_input(...)
    assert widget.model is smaller
    assert widget.graph["width"] == [1, 3, 1]
    assert len(widget.curves) == (3 + 3) * 2 * widget.graph["num_points"] * 4
    assert widget.versions[-1]["current"] and widget.versions[-1]["label"].startswith("prune inputs")
    again = smaller.prune(node_th=0.0, edge_th=0.0)     # model = model.prune()
    assert widget.model is again
    # a fit in a cell on the followed model streams into the view
    again.fit(again.data, steps=2, opt="Adam", lr=0.01, verbose=False)
    rows = np.frombuffer(widget.metrics, dtype="<f4").reshape(-1, 4)
    assert rows[-1, 0] == again.steps_trained == 5


def test_undo_and_checkout_restore_outputs(widget):
    widget.train(steps=4, opt="Adam", lr=0.05, block=True)
    vid = widget.model.lineage.current
    before = outputs(widget)
    widget.fix_symbolic(0, 0, 0, "x")
    assert widget.formula["latex"]
    widget.undo()
    assert outputs(widget) == before
    widget.fix_symbolic(0, 1, 0, "sin")
    widget.train(steps=3, opt="Adam", lr=0.05, block=True)
    assert len(widget.metrics) > len(before["metrics"])
    command(widget, "checkout", id=vid)
    assert widget.error == ""
    assert outputs(widget) == before
    assert [v["id"] for v in widget.versions if v["current"]] == [vid]
    # training after a checkout streams rows after the restored step count
    widget.train(steps=2, opt="Adam", lr=0.05, block=True)
    steps = np.frombuffer(widget.metrics, dtype="<f4").reshape(-1, 4)[:, 0]
    assert steps.tolist() == [1, 2, 3, 4, 5, 6]


def test_undo_without_history_is_an_error(model, data):
    w = KANWidget(model, data)
    with pytest.warns(KANWidgetWarning, match="nothing to undo"):
        command(w, "undo")
    assert w.status["state"] == "idle"
    w.close()


def test_replace_model(widget, data):
    other = KAN([2, 2, 1], grid=3, seed=3)
    widget.model = other
    assert widget.graph["width"] == [2, 2, 1] and widget.model is other
    old_lineage_fit_before = widget.metrics
    KAN.fit  # the old model no longer drives the view:
    other.fit(data, steps=2, opt="Adam", lr=0.01, verbose=False)
    assert len(np.frombuffer(widget.metrics, dtype="<f4")) == 8 and old_lineage_fit_before == b""


def test_close_unsubscribes(model, data):
    w = KANWidget(model, data)
    w.close()
    model.fit(data, steps=1, opt="Adam", lr=0.01, verbose=False)
    assert w.metrics == b""
