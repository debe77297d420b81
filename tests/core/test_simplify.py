"""Scores, pruning, refinement, symbolic edges, formulas, history and persistence."""
import copy
import os

import pytest
import sympy
import torch

from kanwidget import KAN, add_symbolic, create_dataset, ex_round
from kanwidget.core.numerics import spline
from kanwidget.core.numerics.symbolic import SYMBOLIC_LIB


def clone_state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def state_equal(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def _trained_once():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    from tests.conftest import reference_function
    ds = create_dataset(reference_function, n_var=2)
    model = KAN(width=[2, 5, 1], grid=5, k=3, seed=42)
    model.fit(ds, opt="LBFGS", steps=15, lamb=0.001, verbose=False)
    torch.set_default_dtype(old)
    return model


@pytest.fixture
def trained(_trained_once, float64):
    """A copy (own lineage) of a [2,5,1] model trained sparsely on the reference function."""
    return copy.deepcopy(_trained_once)


def spline_edge_model(fn, grid=200, lo=-1.0, hi=1.0):
    """A [1,1] model whose single edge is a fine spline of fn (base branch off)."""
    model = KAN(width=[1, 1], grid=grid, k=3, seed=0, dtype=torch.float64, grid_range=(lo, hi))
    layer = model.layers[0]
    x = torch.linspace(lo, hi, 4001, dtype=torch.float64)[:, None]
    with torch.no_grad():
        layer.scale_base.zero_()
        layer.scale_sp.fill_(1.0)
        layer.coef.copy_(spline.curve_to_coef(x, fn(x)[:, :, None], layer.grid, 3))
    model.data = {"train_input": torch.rand(1000, 1, dtype=torch.float64) * (hi - lo) + lo}
    return model


# ----------------------------------------------------------------- scores, prune
def test_attribution_scores_follow_the_definition(trained):
    trained.attribute()
    x = trained.data["train_input"]
    inputs = trained.layer_inputs(x)
    last = trained.layers[1].edge_activations(inputs[1]).std(0)
    expected_last = last / (inputs[2].std(0) + 1e-4)
    assert torch.allclose(trained.edge_scores[1], expected_last)
    assert torch.allclose(trained.node_scores[1], expected_last.sum(1))
    first = trained.layers[0].edge_activations(inputs[0]).std(0) * (trained.node_scores[1] / (inputs[1].std(0) + 1e-4))
    assert torch.allclose(trained.edge_scores[0], first)
    assert torch.equal(trained.feature_score, trained.node_scores[0])


def test_prune_keeps_outputs(trained):
    x = trained.data["test_input"]
    pruned = trained.prune()
    assert pruned.width[1] < 5
    before, after = trained(x), pruned(x)
    # what was pruned contributed little: outputs agree to a small fraction of the label spread
    assert float((before - after).abs().max()) < 0.05 * float(before.std())
    assert pruned is not trained and trained.width == [2, 5, 1]


def test_prune_node_removing_nothing_is_exact(trained):
    same = trained.prune_node(threshold=0.0)
    x = trained.data["test_input"]
    assert same.width == [2, 5, 1] and torch.equal(trained(x), same(x))


def test_prune_refuses_to_cut_every_path(trained):
    before = clone_state(trained)
    with pytest.raises(ValueError, match="every node|no path"):
        trained.prune(node_th=1e9)
    with pytest.raises(ValueError, match="no path"):
        trained.prune_edge(threshold=1e9)
    assert state_equal(before, clone_state(trained))


def test_prune_input_drops_a_useless_variable(float64):
    ds = create_dataset(lambda x: torch.sin(torch.pi * x[:, [0]]), n_var=3, train_num=500, test_num=200)
    model = KAN(width=[3, 3, 1], grid=5, seed=0)
    model.fit(ds, steps=20, lamb=0.01, verbose=False)
    model.attribute()
    assert int(torch.argmax(model.feature_score)) == 0
    smaller = model.prune_input([0])
    assert smaller.width == [1, 3, 1] and smaller.data["train_input"].shape[1] == 1
    with pytest.raises(ValueError, match="out of range"):
        model.prune_input([5])


# ----------------------------------------------------------------------- refine
def test_refine_keeps_curves(trained):
    x = trained.data["train_input"]
    finer = trained.refine(10)
    assert finer.grid == 10 and finer.layers[0].coef.shape[-1] == 13
    old = trained.layers[0].edge_activations(x)
    new = finer.layers[0].edge_activations(x)
    assert float((old - new).abs().max()) < 1e-3 * float(old.abs().max())
    y_old, y_new = trained(x), finer(x)
    assert float(torch.sqrt(torch.mean((y_old - y_new) ** 2))) < 1e-3


def test_grid_extension_schedule_keeps_loss(reference_dataset):
    model = KAN(width=[2, 1, 1], grid=3, k=3, seed=5)
    losses = []
    for g in (3, 10, 20, 50):
        if g != model.grid:
            before = float(torch.sqrt(torch.mean((model(reference_dataset["test_input"]) - reference_dataset["test_label"]) ** 2)))
            model = model.refine(g)
            after = float(torch.sqrt(torch.mean((model(reference_dataset["test_input"]) - reference_dataset["test_label"]) ** 2)))
            assert after < before * 1.05 + 1e-4  # no jump in loss when refining
        losses.append(model.fit(reference_dataset, steps=10, verbose=False)["test_loss"][-1])
    assert losses[-1] < losses[0]


def test_refine_to_coarser_grid_is_refused(trained):
    with pytest.raises(ValueError, match="finer grid"):
        trained.refine(3)


# --------------------------------------------------------------------- symbolic
def test_fix_symbolic_recovers_known_parameters():
    model = spline_edge_model(lambda x: 2 * torch.sin(3 * x + 1) + 0.5)
    r2 = model.fix_symbolic(0, 0, 0, "sin")
    a, b, c, d = model.layers[0].sym_affine[0, 0].tolist()
    assert r2 > 1 - 1e-10
    assert (a, b, c, d) == pytest.approx((3.0, 1.0, 2.0, 0.5), abs=1e-6)
    x = torch.linspace(-1, 1, 101, dtype=torch.float64)[:, None]
    assert torch.allclose(model(x), 2 * torch.sin(3 * x + 1) + 0.5, atol=1e-6)


def test_suggest_symbolic_ranks_the_true_function_first():
    model = spline_edge_model(lambda x: torch.exp(1.5 * x) - 1)
    cands = model.suggest_symbolic(0, 0, 0, lib=["x", "x^2", "x^3", "sin", "tanh", "exp"], topk=3)
    assert cands[0].name == "exp" and cands[0].r2 > 0.9999999
    assert len(cands) == 3 and cands[0].score <= cands[1].score


def test_unfix_restores_spline(trained):
    x = trained.data["test_input"]
    before = trained(x)
    trained.fix_symbolic(0, 0, 0, "sin")
    assert trained.symbolic_names()[0][0][0] == "sin"
    trained.unfix_symbolic(0, 0, 0)
    assert trained.symbolic_names()[0][0][0] is None
    assert torch.equal(trained(x), before)


def test_symbolic_edges_train(reference_dataset):
    model = KAN(width=[2, 1], grid=3, seed=0)
    model.data = reference_dataset
    model.layers[0].set_symbolic(0, 0, "sin", torch.tensor([1.0, 0.0, 1.0, 0.0]))
    model.layers[0].set_symbolic(1, 0, "x^2", torch.tensor([1.0, 0.0, 1.0, 0.0]))
    ds = create_dataset(lambda x: 0.5 * torch.sin(3 * x[:, [0]]) + 2 * x[:, [1]] ** 2, n_var=2)
    res = model.fit(ds, steps=20, verbose=False, update_grid=False)
    assert res["test_loss"][-1] < 1e-6


def test_symbolic_bad_input(trained):
    before = clone_state(trained)
    with pytest.raises(ValueError, match="unknown.*sinh.*valid.*sin"):
        trained.fix_symbolic(0, 0, 0, "sinh")
    with pytest.raises(ValueError, match="out of range"):
        trained.fix_symbolic(0, 2, 0, "sin")
    with pytest.raises(ValueError, match="out of range"):
        trained.suggest_symbolic(5, 0, 0)
    with pytest.raises(ValueError, match="unknown"):
        trained.auto_symbolic(lib=["x", "bogus"])
    assert state_equal(before, clone_state(trained))


def test_user_function_extends_the_library():
    add_symbolic("cubic_root_test", lambda z: torch.sign(z) * z.abs() ** (1 / 3), lambda z: sympy.cbrt(z),
                 complexity=3, overwrite=True)
    try:
        model = spline_edge_model(lambda x: torch.sign(x + 2) * (x + 2).abs() ** (1 / 3), lo=-1, hi=1)
        cands = model.suggest_symbolic(0, 0, 0, lib=["x", "x^2", "cubic_root_test"], topk=1)
        assert cands[0].name == "cubic_root_test"
    finally:
        SYMBOLIC_LIB.pop("cubic_root_test", None)


# ---------------------------------------------------------------------- formula
def test_formula_of_a_hand_built_model():
    model = KAN(width=[2, 1, 1], grid=3, seed=0, dtype=torch.float64)
    model.layers[0].set_symbolic(0, 0, "sin", torch.tensor([3.0, 0.0, 1.0, 0.0]))
    model.layers[0].set_symbolic(1, 0, "x^2", torch.tensor([1.0, 0.0, 1.0, 0.0]))
    model.layers[1].set_symbolic(0, 0, "exp", torch.tensor([1.0, 0.0, 1.0, 0.0]))
    (expr,) = model.symbolic_formula()
    x1, x2 = sympy.symbols("x_1 x_2")
    assert sympy.simplify(ex_round(expr, 4) - sympy.exp(sympy.sin(3 * x1) + x2 ** 2)) == 0
    x = torch.rand(20, 2, dtype=torch.float64)
    f = sympy.lambdify((x1, x2), expr, "math")
    assert all(abs(f(*row.tolist()) - float(y)) < 1e-10 for row, y in zip(x, model(x)[:, 0]))


def test_formula_names_spline_edges():
    model = KAN(width=[2, 1], grid=3, seed=0)
    model.layers[0].set_symbolic(0, 0, "sin", torch.tensor([1.0, 0.0, 1.0, 0.0]))
    (expr,) = model.symbolic_formula(var=["a", "b"])
    assert "spline_0_1_0(b)" in str(expr) and "sin(a)" in str(expr)


def test_ex_round_is_honest():
    x1, x2 = sympy.symbols("x_1 x_2")
    messy = sympy.Float(1.00002288817264) * sympy.exp(sympy.Float(1.0000004) * x2 ** 2 + sympy.Float(2e-7)
                                                      + sympy.sin(sympy.Float(3.14159265) * x1))
    assert ex_round(messy, 4) == sympy.exp(x2 ** 2 + sympy.sin(sympy.Float(3.1416) * x1))
    tiny = (sympy.Float(2.0) * x1 + sympy.Float(1e-7)) ** 2
    assert ex_round(tiny, 4) == 4 * x1 ** 2


@pytest.mark.parametrize("name", sorted(SYMBOLIC_LIB))
def test_formula_and_rounding_never_crash_on_the_library(name):
    model = KAN(width=[1, 1, 1], grid=3, seed=0)
    model.layers[0].set_symbolic(0, 0, name, torch.tensor([0.5, 0.1, 1.3, -0.2]))
    model.layers[1].set_symbolic(0, 0, name, torch.tensor([1.1, 0.2, 0.7, 0.3]))
    (expr,) = model.symbolic_formula()
    rounded = ex_round(expr, 3)
    assert isinstance(rounded, sympy.Expr)
    sympy.simplify(rounded)


# ----------------------------------------------------------- history, persistence
def test_every_step_records_a_version_and_checkout_is_exact(trained, reference_dataset):
    x = reference_dataset["test_input"]
    labels = [v.label for v in trained.history]
    assert labels[0] == "init" and labels[1].startswith("fit")
    after_fit = trained(x)
    pruned = trained.prune()
    refined = pruned.refine(8)
    refined_out = refined(x)
    refined.fix_symbolic(0, 0, 0, "sin")
    assert not torch.equal(refined(x), refined_out)
    kinds = [v.label.split()[0] for v in refined.history]
    assert kinds == ["init", "fit", "prune", "refine", "fix"]
    undone = refined.undo()  # back to the version before the fix (the refined model)
    assert torch.equal(undone(x), refined_out) and undone.symbolic_names()[0][0][0] is None
    back = refined.checkout(refined.history[1].id)
    assert back.width == [2, 5, 1] and torch.equal(back(x), after_fit)
    init = refined.undo()  # undo from a checkout goes to that version's parent: init
    assert refined.lineage.current == 0 and init.history[0].label == "init"
    assert torch.equal(init(x), KAN.from_snapshot(refined.history[0].snapshot)(x))
    assert not torch.equal(init(x), after_fit)
    with pytest.raises(ValueError, match="unknown version 999"):
        refined.checkout(999)


def test_undo_steps_back_through_parents(trained, reference_dataset):
    x = reference_dataset["test_input"]
    pruned = trained.prune()
    pruned_out = pruned(x)
    refined = pruned.refine(8)
    prev = refined.undo()
    assert prev.width == pruned.width and prev.grid == pruned.grid and torch.equal(prev(x), pruned_out)


def test_save_load_round_trip_with_symbolic_edges(trained, tmp_path, reference_dataset):
    trained.fix_symbolic(0, 1, 0, "x^2")
    path = tmp_path / "model.kan"
    trained.save(path)
    loaded = KAN.load(path)
    x = reference_dataset["test_input"]
    assert torch.equal(loaded(x), trained(x))
    assert loaded.symbolic_names() == trained.symbolic_names()
    assert os.listdir(tmp_path) == ["model.kan"]


def test_loading_foreign_or_corrupt_files_fails_clearly(tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a model at all")
    with pytest.raises(ValueError, match="not a readable kanwidget model"):
        KAN.load(junk)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    with pytest.raises(ValueError, match="not a kanwidget model file"):
        KAN.load(foreign)
    with pytest.raises(FileNotFoundError):
        KAN.load(tmp_path / "missing.pt")


# ------------------------------------------------------------------------- plot
def test_plot_returns_a_figure_and_writes_only_when_asked(trained, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    trained.fix_symbolic(0, 0, 0, "sin")
    fig = trained.plot(in_vars=["a", "b"], title="t")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "sin" in texts and "a" in texts
    assert os.listdir(tmp_path) == []
    trained.plot(path=tmp_path / "net.png")
    assert os.listdir(tmp_path) == ["net.png"]
    big = KAN(width=[8, 64, 64, 1], grid=5, seed=0)
    assert big.plot().axes  # legible path: lines only, no crash
