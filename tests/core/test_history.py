"""Lineage: the change door (fold, exact rollback), compact frozen ModelState, activities and the busy rule."""
import dataclasses
import threading

import pytest
import torch

from kanwidget import KAN, create_dataset
from kanwidget.core import ModelBusyError, ModelState
from kanwidget.core.network.layer import KANLayer
from kanwidget.core.network.state import TensorTable
from model_helpers import clone_state, state_equal


def everything(model):
    """What an exact rollback must give back: tensors, symbolic names, counters, history."""
    return (clone_state(model), [list(layer.sym_names) for layer in model.layers], model.steps_trained,
            model.data, [v.id for v in model.history], model.lineage.current, model.width)


def same(a, b):
    return state_equal(a[0], b[0]) and a[1:] == b[1:]


@pytest.fixture
def model(float64):
    ds = create_dataset(lambda x: torch.sin(torch.pi * x[:, [0]]) + x[:, [1]] ** 2, n_var=2, train_num=200,
                        test_num=50, seed=0)
    m = KAN(width=[2, 3, 1], grid=5, seed=0)
    m.fit(ds, steps=3, opt="Adam", lr=1e-2, verbose=False)
    return m


def record_events(model):
    events = []
    model.on("structure", lambda m, kind: events.append(("structure", kind)))
    model.on("version", lambda v: events.append(("version", v.label)))
    return events


# ------------------------------------------------------------------ the door
def test_change_records_one_version_and_one_event(model):
    events = record_events(model)
    before = len(model.history)
    with model.lineage.change(model, "hand edit", kind="edit", metrics={"a": 1.0}) as ch:
        with torch.no_grad():
            model.layers[0].bias += 1.0
        assert ch.model is model
    assert len(model.history) == before + 1
    v = model.history[-1]
    assert (v.label, v.metrics, v.parent) == ("hand edit", {"a": 1.0}, model.history[-2].id)
    assert events == [("version", "hand edit"), ("structure", "edit")]
    assert torch.equal(KAN.from_snapshot(v.snapshot).layers[0].bias, model.layers[0].bias)


def test_nested_changes_fold_into_the_outer_one(model):
    events = record_events(model)
    before = len(model.history)
    with model.lineage.change(model, "both edges", kind="symbolic"):
        model.fix_symbolic(0, 0, 0, "sin")
        model.fix_symbolic(0, 1, 0, "x^2")
    assert len(model.history) == before + 1 and model.history[-1].label == "both edges"
    assert events == [("version", "both edges"), ("structure", "symbolic")]
    names = KAN.from_snapshot(model.history[-1].snapshot).symbolic_names()
    assert names[0][0][0] == "sin" and names[0][1][0] == "x^2"


def test_failing_change_restores_model_and_history_exactly(model):
    events = record_events(model)
    before = everything(model)
    original_layer, original_coef = model.layers[0], model.layers[0].coef
    with pytest.raises(RuntimeError, match="half way"):
        with model.lineage.change(model, "composite", kind="symbolic"):
            model.fix_symbolic(0, 0, 0, "sin")             # nested change: folded, then undone
            model.steps_trained += 5
            model.data = None
            model.layers[0] = KANLayer(2, 3, grid=7)       # even a replaced layer comes back
            raise RuntimeError("half way")
    assert same(everything(model), before)
    assert model.layers[0] is original_layer and model.layers[0].coef is original_coef
    assert events == []
    assert model.symbolic_names()[0][0][0] is None


def test_operation_failing_half_way_leaves_no_trace(model, monkeypatch):
    """auto_symbolic raising after it fixed some edges: tensors, sym names and history as before."""
    before = everything(model)
    calls = {"n": 0}
    real = KANLayer.set_symbolic

    def flaky(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk on fire")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(KANLayer, "set_symbolic", flaky)
    with pytest.raises(RuntimeError, match="disk on fire"):
        model.auto_symbolic(lib=["x", "sin"], verbose=0)
    assert calls["n"] == 3
    assert same(everything(model), before)
    assert all(n is None for layer in model.symbolic_names() for row in layer for n in row)


def test_prune_failing_after_its_nested_prune_node_records_nothing(model, monkeypatch):
    from kanwidget.core.operations import simplify
    events = record_events(model)
    before = everything(model)
    real = simplify.prune_edge
    monkeypatch.setattr(simplify, "prune_edge", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    with pytest.raises(RuntimeError, match="boom"):
        simplify.prune(model, node_th=0.0, edge_th=0.0)
    monkeypatch.setattr(simplify, "prune_edge", real)
    assert same(everything(model), before) and events == []


# ------------------------------------------------------------------- states
def test_model_state_is_frozen_and_rebuilds_the_model_exactly(model):
    model.fix_symbolic(0, 1, 2, "x^2")
    state = model.snapshot()
    assert isinstance(state, ModelState)
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.width = (9, 9)  # type: ignore[misc]
    copy = KAN.from_snapshot(state)
    assert state_equal(clone_state(copy), clone_state(model))
    assert copy.symbolic_names() == model.symbolic_names() and copy.steps_trained == model.steps_trained
    x = torch.rand(20, 2, dtype=torch.float64)
    assert torch.equal(copy(x), model(x))
    again = KAN.from_snapshot(ModelState.from_dict(state.to_dict()))   # the file form round-trips
    assert torch.equal(again(x), model(x))


def test_versions_are_not_changed_by_later_edits(model):
    vid = model.lineage.current
    stored = clone_state(model.checkout(vid))
    with torch.no_grad():
        model.layers[0].coef.add_(1.0)                    # the live model moves on ...
    restored = model.checkout(vid)
    with torch.no_grad():
        restored.layers[1].coef.mul_(3.0)                 # ... and so does a checked-out copy
    assert state_equal(clone_state(model.checkout(vid)), stored)


def test_a_version_stores_only_what_changed(model):
    coef = model.layers[0].coef
    model.record_version("a")
    model.record_version("b")                             # nothing changed: nothing new stored
    with torch.no_grad():
        coef.add_(1e-3)
    model.record_version("c")                             # one tensor changed: only it is stored
    a, b, c = (v.snapshot.tensors for v in model.history[-3:])
    assert b.buffers == a.buffers and all(x is y for x, y in zip(b.buffers, a.buffers))
    new = [buf for buf in c.buffers if not any(buf is old for old in a.buffers)]
    assert sum(buf.numel() for buf in new) == coef.numel()
    assert torch.equal(c["layers.0.coef"], coef) and not torch.equal(a["layers.0.coef"], coef)
    assert torch.equal(c["layers.1.coef"], a["layers.1.coef"])


def test_tensor_table_packs_by_dtype_and_reads_back():
    tensors = {"a": torch.arange(6.0).view(2, 3), "b": torch.tensor([7, 8], dtype=torch.long),
               "c": torch.ones(4, dtype=torch.float32), "d": torch.zeros(0)}
    table = TensorTable.pack(tensors)
    assert len(table.buffers) == 2                         # float32 ones in one buffer, longs in another
    for name, t in tensors.items():
        assert torch.equal(table[name], t) and table[name].dtype == t.dtype
    tensors["a"][0, 0] = 100.0                             # a copy, not a view of the source
    assert float(table["a"][0, 0]) == 0.0


# ------------------------------------------------------- activities, busy rule
def test_stop_training_without_a_running_fit_is_a_no_op(model, reference_dataset):
    assert model.stop_training() is False
    res = model.fit(reference_dataset, steps=3, opt="Adam", lr=1e-2, verbose=False)
    assert len(res["train_loss"]) == 3                     # nothing sticky stopped it


def test_other_threads_are_refused_at_once_while_a_fit_runs(model, reference_dataset):
    inside, release = threading.Event(), threading.Event()
    outcome = {}

    def hold(info):
        if info.step == 2:
            inside.set()
            assert release.wait(30)

    def run():
        outcome["res"] = model.fit(reference_dataset, steps=50, opt="Adam", lr=1e-2, verbose=False, callbacks=[hold])

    worker = threading.Thread(target=run)
    worker.start()
    try:
        assert inside.wait(30)
        assert model.lineage.activity.name == "fit"
        calls = [lambda: model.fit(reference_dataset, steps=5, verbose=False), lambda: model.prune(),
                 lambda: model.prune_edge(), lambda: model.refine(8), lambda: model.fix_symbolic(0, 0, 0, "sin"),
                 lambda: model.unfix_symbolic(0, 0, 0), lambda: model.auto_symbolic(verbose=0),
                 lambda: model.suggest_symbolic(0, 0, 0), lambda: model.undo(), lambda: model.checkout(0),
                 lambda: model.update_grid_from_samples(reference_dataset["train_input"])]
        for call in calls:
            with pytest.raises(ModelBusyError, match=r"busy: fit \(step 1/50\) running in another thread"):
                call()
        x = reference_dataset["test_input"]                # short read-only calls still answer
        assert model(x).shape == (x.shape[0], 1)
        model.attribution()
        model.edge_curves(num=8)
        model.symbolic_formula()
        assert model.stop_training() is True
    finally:
        release.set()
        worker.join(30)
    assert len(outcome["res"]["train_loss"]) == 2          # stopped after the held step, steps kept
    assert model.lineage.activity is None and model.stop_training() is False
    assert len(model.fit(reference_dataset, steps=4, opt="Adam", verbose=False)["train_loss"]) == 4


def test_same_thread_reentry_from_a_callback_works(model, reference_dataset):
    seen = []

    def callback(info):
        if info.step == 2:
            info.model.update_grid_from_samples(reference_dataset["train_input"])
            seen.append(info.model.symbolic_candidates(0, 0, 0, lib=["x", "sin"], topk=1)[0].name)
            seen.append(info.model.lineage.activity.name)
            info.model.record_version("from a callback")

    res = model.fit(reference_dataset, steps=3, opt="Adam", lr=1e-2, verbose=False, callbacks=[callback])
    assert len(res["train_loss"]) == 3 and seen[1] == "fit" and seen[0] in ("x", "sin")
    assert [v.label for v in model.history][-2:] == ["from a callback", "fit Adam x3"]
