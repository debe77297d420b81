"""Symbolic edges: suggest, fix, unfix, auto_symbolic; progress events and cancellation."""
import threading

import pytest
import sympy
import torch

from kanwidget import KAN, add_symbolic, create_dataset
from kanwidget.core import OperationCancelled
from kanwidget.core.numerics import spline
from kanwidget.core.numerics.symbolic import SYMBOLIC_LIB
from model_helpers import clone_state, state_equal


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
    cands = model.symbolic_candidates(0, 0, 0, lib=["x", "x^2", "x^3", "sin", "tanh", "exp"], topk=3)
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
        cands = model.symbolic_candidates(0, 0, 0, lib=["x", "x^2", "cubic_root_test"], topk=1)
        assert cands[0].name == "cubic_root_test"
    finally:
        SYMBOLIC_LIB.pop("cubic_root_test", None)


# ------------------------------------------------------ progress and cancel
@pytest.fixture
def wide(float64):
    """A [8,16,1] model with data: 144 spline edges, more than two chunks of auto_symbolic."""
    ds = create_dataset(lambda x: torch.sin(x[:, [0]]) + x[:, [1]] ** 2, n_var=8, train_num=200, test_num=20, seed=1)
    model = KAN(width=[8, 16, 1], grid=3, seed=0)
    model.data = ds
    model.record_version("start")
    return model


def progress_log(model):
    seen = []
    model.on("progress", lambda a: seen.append((a.name, a.done, a.total, a.unit)))
    return seen


def test_auto_symbolic_reports_progress_per_chunk(wide):
    from kanwidget.core.operations.symbolic_edges import EDGE_CHUNK
    seen = progress_log(wide)
    choices = wide.auto_symbolic(lib=["x", "x^2"], verbose=0)
    assert len(choices) == 144
    done = [d for _, d, _, _ in seen]
    assert seen[0] == ("auto_symbolic", 0, 144, "edge") and done[-1] == 144
    assert done == sorted(done) and len(seen) == 1 + 2 + 1     # 128 edges in layer 0: 2 chunks; 16 in layer 1
    assert EDGE_CHUNK == 64 and done[1:] == [64, 128, 144]
    assert wide.history[-1].label == f"auto_symbolic ({sum(c.name is not None for c in choices)} edges)"


def test_auto_symbolic_cancelled_between_chunks_leaves_the_model_as_before(wide):
    before = (clone_state(wide), [list(layer.sym_names) for layer in wide.layers], [v.id for v in wide.history],
              wide.lineage.current)
    wide.on("progress", lambda a: wide.stop_training() if a.done >= 64 else None)
    structures = []
    wide.on("structure", lambda m, kind: structures.append(kind))
    with pytest.raises(OperationCancelled, match="auto_symbolic cancelled after 64/144 edges"):
        wide.auto_symbolic(lib=["x", "sin"], verbose=0)
    after = (clone_state(wide), [list(layer.sym_names) for layer in wide.layers], [v.id for v in wide.history],
             wide.lineage.current)
    assert state_equal(before[0], after[0]) and before[1:] == after[1:] and structures == []
    assert wide.lineage.activity is None and wide.stop_training() is False


def test_auto_symbolic_with_a_set_token_does_nothing(wide):
    token = threading.Event()
    token.set()
    before = clone_state(wide)
    with pytest.raises(OperationCancelled):
        wide.auto_symbolic(lib=["x"], verbose=0, stop=token)
    assert state_equal(before, clone_state(wide)) and wide.history[-1].label == "start"


def test_suggest_symbolic_reports_progress_and_cancels(wide):
    from kanwidget.core.operations.symbolic_edges import FUNCTION_CHUNK
    seen = progress_log(wide)
    lib = ["x", "x^2", "x^3", "sin", "tanh", "exp", "abs", "sgn", "cos", "gaussian"]
    assert len(wide.symbolic_candidates(0, 0, 0, lib=lib, topk=3)) == 3
    assert [d for _, d, _, _ in seen] == [0, FUNCTION_CHUNK, len(lib)] and seen[0][2] == len(lib)
    token = threading.Event()
    wide.on("progress", lambda a: token.set())
    with pytest.raises(OperationCancelled, match="suggest_symbolic"):
        wide.symbolic_candidates(0, 0, 0, lib=lib, stop=token)


def test_chunked_suggest_ranks_like_one_batch(wide):
    from kanwidget.core.numerics.symbolic import fit_affine_batched, get_functions
    lib = ["x", "x^2", "x^3", "sin", "tanh", "exp", "abs", "sgn", "cos", "gaussian"]
    cands = wide.symbolic_candidates(0, 0, 0, lib=lib, topk=10)
    xl, acts = wide.layer_inputs(wide.data["train_input"])[0], None
    with torch.no_grad():
        acts = wide.layers[0].edge_activations(xl)
    whole = fit_affine_batched(xl[:, 0][None], acts[:, 0, 0][None], get_functions(lib))
    r2 = {fn.name: float(whole.r2[0, f]) for f, fn in enumerate(get_functions(lib))}
    assert {c.name: c.r2 for c in cands} == pytest.approx(r2, abs=1e-9)
