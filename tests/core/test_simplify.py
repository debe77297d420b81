"""Scores, pruning, refinement, formulas, history and persistence (symbolic edges: test_symbolic_edges.py)."""
import os

import pytest
import sympy
import torch

from kanwidget import KAN, create_dataset, ex_round
from kanwidget.core.numerics.symbolic import SYMBOLIC_LIB
from model_helpers import clone_state, state_equal


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
    pruned = trained.prune(node_th=1e-2)     # pykan's rule: no refit, outputs kept
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


# ---------------------------------------------------------------------- formula
def test_formula_of_a_hand_built_model():
    model = KAN(width=[2, 1, 1], grid=3, seed=0, dtype=torch.float64)
    model.layers[0].set_symbolic(0, 0, "sin", torch.tensor([3.0, 0.0, 1.0, 0.0]))
    model.layers[0].set_symbolic(1, 0, "x^2", torch.tensor([1.0, 0.0, 1.0, 0.0]))
    model.layers[1].set_symbolic(0, 0, "exp", torch.tensor([1.0, 0.0, 1.0, 0.0]))
    (expr,), _ = model.symbolic_formula()
    x1, x2 = sympy.symbols("x_1 x_2")
    assert sympy.simplify(ex_round(expr, 4) - sympy.exp(sympy.sin(3 * x1) + x2 ** 2)) == 0
    x = torch.rand(20, 2, dtype=torch.float64)
    f = sympy.lambdify((x1, x2), expr, "math")
    assert all(abs(f(*row.tolist()) - float(y)) < 1e-10 for row, y in zip(x, model(x)[:, 0]))


def test_formula_names_spline_edges():
    model = KAN(width=[2, 1], grid=3, seed=0)
    model.layers[0].set_symbolic(0, 0, "sin", torch.tensor([1.0, 0.0, 1.0, 0.0]))
    (expr,), _ = model.symbolic_formula(var=["a", "b"])
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
    (expr,), _ = model.symbolic_formula()
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


# ------------------------------------------------------- door, cancel, checks
@pytest.mark.parametrize("call,match", [(lambda m: m.prune(node_th=10 ** 400), "node_th"),
                                        (lambda m: m.prune(edge_th=float("nan")), "edge_th"),
                                        (lambda m: m.prune_edge(-1), "threshold must be >= 0"),
                                        (lambda m: m.prune_node("x"), "threshold must be a number"),
                                        (lambda m: m.refine(10 ** 400), "new_grid"),
                                        (lambda m: m.refine(8.0), "new_grid must be an integer")])
def test_bad_numbers_name_the_argument_and_record_nothing(trained, call, match):
    before, ids = clone_state(trained), [v.id for v in trained.history]
    with pytest.raises((ValueError, TypeError), match=match):
        call(trained)
    assert state_equal(before, clone_state(trained)) and [v.id for v in trained.history] == ids


def test_prune_records_one_version_and_one_structure_event(trained):
    events = []
    trained.on("structure", lambda m, kind: events.append((kind, m.width)))
    trained.on("version", lambda v: events.append(("version", v.label)))
    pruned = trained.prune()
    assert len(events) == 2 and events[1] == ("prune", pruned.width)
    assert events[0][0] == "version" and events[0][1].startswith(f"prune -> {pruned.width}")   # + the node trial


def test_refine_reports_progress_per_layer_and_cancels_cleanly(trained):
    seen = []
    trained.on("progress", lambda a: seen.append((a.name, a.done, a.total, a.unit)))
    trained.refine(8)
    assert seen == [("refine", 0, 2, "layer"), ("refine", 1, 2, "layer"), ("refine", 2, 2, "layer")]
    ids = [v.id for v in trained.history]
    trained.on("progress", lambda a: trained.stop_training() if a.done == 1 else None)
    from kanwidget.core import OperationCancelled
    with pytest.raises(OperationCancelled, match="refine cancelled after 1/2 layers"):
        trained.refine(10)
    assert [v.id for v in trained.history] == ids


# ------------------------------------------------------- pruning with multiplication nodes
def _silence(model: KAN, layer: int, node: int) -> None:
    """Mask every edge leaving input `node` of layer `layer` (that node then scores 0)."""
    model.layers[layer].mask[node, :] = 0.0


@pytest.mark.parametrize("dead, width_after, arity_after", [
    (0, [[2, 0], [0, 1], [1, 0]], [[], [2], []]),    # the additive node goes
    (1, [[2, 0], [1, 0], [1, 0]], [[], [], []]),     # the product goes with both its subnodes
])
def test_prune_node_on_a_product_model_drops_dead_nodes_exactly(float64, dead, width_after, arity_after):
    model = KAN([2, [1, 1], 1], grid=4, seed=1)
    x = torch.rand(64, 2) * 2 - 1
    with torch.no_grad():
        model.layers[1].bias.fill_(0.3)
    _silence(model, 1, dead)
    before = model(x)
    pruned = model.prune_node(threshold=1e-2, x=x)
    assert pruned.width_pykan == width_after and pruned.mult_arity == arity_after
    assert pruned.layers[0].out_dim == (2 if dead == 0 else 1)      # subnodes feeding the level
    assert torch.allclose(pruned(x), before, atol=1e-12, rtol=0)    # dead nodes: outputs unchanged


def test_prune_keeps_a_live_product_of_arity_three(float64):
    model = KAN([3, [1, 2], 1], mult_arity=[[], [2, 3], []], grid=4, seed=2)
    x = torch.rand(64, 3) * 2 - 1
    _silence(model, 1, 1)                  # the arity-2 product is dead, the arity-3 one lives
    before = model(x)
    pruned = model.prune(x=x, edge_th=0.0)
    assert pruned.width_pykan == [[3, 0], [1, 1], [1, 0]] and pruned.mult_arity == [[], [3], []]
    assert pruned.layers[0].out_dim == 1 + 3
    assert torch.allclose(pruned(x), before, atol=1e-12, rtol=0)
    again = KAN.from_snapshot(pruned.snapshot())                      # the new layout survives the history
    assert again.mult_arity == [[], [3], []] and torch.equal(again(x), pruned(x))


def test_pruned_product_model_keeps_its_mean_in_the_bias(float64):
    model = KAN([2, [1, 1], 1], grid=4, seed=3)
    x = torch.rand(256, 2) * 2 - 1
    model.attribute(x)
    pruned = model.prune_node(threshold=float(model.node_scores[1].min()) + 1e-9, x=x)   # drop the weaker node
    assert pruned.width == [2, 1, 1]
    # the removed node's edge is replaced by its mean: the output moves by that edge's centred part only
    weak = int(torch.argmin(model.node_scores[1]))
    edge = model.layers[1].edge_activations(model.layer_inputs(x)[1])[:, weak, 0]
    assert torch.allclose(model(x)[:, 0] - pruned(x)[:, 0], edge - edge.mean(), atol=1e-10)


# ------------------------------------------------------- prune's automatic node choice (single_node.py)
def _split_model(target, seed: int = 0) -> KAN:
    """A [2,3,1] model fitted briefly (no sparsity) on `target`: every hidden node stays in use."""
    ds = create_dataset(target, n_var=2, train_num=300, test_num=100, seed=0)
    model = KAN(width=[2, 3, 1], grid=3, k=3, seed=seed)
    model.fit(ds, steps=15, verbose=False)
    return model


def test_default_prune_keeps_one_node_when_one_fits_as_well(float64):
    model = _split_model(lambda x: torch.exp(0.5 * x[:, [0]] + 0.5 * x[:, [1]] ** 2))   # one node: exp(h)
    assert model.prune(node_th=1e-2).width == [2, 3, 1]                  # pykan's rule keeps all three
    pruned = model.prune()
    assert pruned.width == [2, 1, 1]
    assert "layer 1: kept one node (3 -> 1" in pruned.history[-1].label
    ds = model.data
    err = float(torch.sqrt(torch.mean((pruned(ds["test_input"]) - ds["test_label"]) ** 2)))
    assert err < 0.02 * float(ds["test_label"].std())                    # it is the refitted one-node model


def test_default_prune_keeps_the_nodes_a_product_needs(float64):
    model = _split_model(lambda x: x[:, [0]] * x[:, [1]])                # x*y needs two additive nodes
    pruned = model.prune()
    assert pruned.width[1] >= 2
    assert "layer 1: kept the nodes" in pruned.history[-1].label


def test_explicit_thresholds_are_pykans_rule_without_a_refit(float64):
    model = _split_model(lambda x: torch.exp(0.5 * x[:, [0]] + 0.5 * x[:, [1]] ** 2))
    x = model.data["test_input"]
    explicit = model.prune(node_th=1e-2, edge_th=3e-2)
    by_hand = model.prune_node(threshold=1e-2)
    by_hand.prune_edge(threshold=3e-2)
    assert explicit.width == by_hand.width and torch.equal(explicit(x), by_hand(x))
    assert explicit.steps_trained == model.steps_trained                  # nothing was fitted


def test_a_formerly_split_workflow_seed_prunes_to_one_node(reference_dataset):
    """The tutorial workflow's seed 1 ([2,5,1], G=5, 50 sparse LBFGS steps): pykan's rule keeps 2 hidden nodes
    (the formula then came out wrong); the default prune keeps the one node exp(sin(pi x1) + x2^2) needs."""
    model = KAN(width=[2, 5, 1], grid=5, k=3, seed=1, dtype=torch.float64)
    model.fit(reference_dataset, steps=50, lamb=0.001, verbose=False)
    assert model.prune(node_th=1e-2).width[1] >= 2
    assert model.prune().width == [2, 1, 1]


def test_prune_node_on_two_consecutive_hidden_levels_moves_means_into_kept_outputs(float64):
    # [3,4,3,1]: node 1 of level 1 and node 2 of level 2 lose every incoming edge, so they are constant;
    # pruning both must keep the outputs (their constant effect moves into the kept nodes' biases) --
    # the bias of the layer between the two levels has only the kept outputs (this once crashed)
    torch.manual_seed(0)
    model = KAN(width=[3, 4, 3, 1], grid=3, seed=0)
    x = torch.rand(200, 3) * 2 - 1
    with torch.no_grad():
        model.layers[0].mask[:, 1] = 0.0
        model.layers[1].mask[:, 2] = 0.0
    before = model(x)
    pruned = model.prune_node(1e-2, x=x)
    assert pruned.width == [3, 3, 2, 1]
    assert torch.allclose(pruned(x), before, atol=1e-12, rtol=0)
