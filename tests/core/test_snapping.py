"""snap_symbolic: constants snapped to simple values only when the data allow it; formulas that read clean."""
import math
import threading

import pytest
import sympy
import torch

from kanwidget import KAN, create_dataset
from kanwidget.core.network.history import OperationCancelled
from kanwidget.core.operations.snapping import simple_candidates
from tests.conftest import reference_function
from tests.core.model_helpers import clone_state, state_equal

X1, X2 = sympy.symbols("x_1 x_2")


def _rmse(model, ds):
    with torch.no_grad():
        return float(torch.sqrt(torch.mean((model(ds["train_input"]) - ds["train_label"]) ** 2)))


def _hand_model(ds, edges):
    """A [2,1,1] model whose edges are fixed by hand: {(l, i, j): (name, (a, b, c, d))}."""
    model = KAN([2, 1, 1], grid=3, seed=0)
    for (l, i, j), (name, params) in edges.items():
        model.layers[l].set_symbolic(i, j, name, torch.tensor(params))
    model.data = ds
    return model


@pytest.fixture
def reference_data(float64):
    return create_dataset(reference_function, n_var=2, seed=0)


def test_candidates_are_simplest_first_and_near():
    assert [str(s) for s in simple_candidates(0.97)][:2] == ["1", "1/2"]
    assert "0" not in [str(s) for s in simple_candidates(0.97)]          # farther than radius * max(|v|, 1)
    assert "pi" in [str(s) for s in simple_candidates(3.14159, with_pi=True)]
    assert "1/(4*pi)" in [str(s) for s in simple_candidates(1 / (4 * math.pi))]     # textbook constants
    assert "sqrt(2)" in [str(s) for s in simple_candidates(1.41421)]
    assert all("sqrt" not in str(s) for s in simple_candidates(1.41421, with_pi=True))  # a phase is p*pi/q only
    assert all(abs(s.value - 10.3) <= 0.5 * 10.3 for s in simple_candidates(10.3))


def test_near_simple_constants_snap_to_pi_and_the_formula_reads_clean(reference_data):
    # exp(-0.73 sin(3.14159 x1 - 3pi + 1e-5) + 0.73 x2^2 + 0.3) with a compensating exp scale:
    # the model is exp(sin(pi x1) + x2^2) up to the 1e-5 errors in a and b
    model = _hand_model(reference_data, {
        (0, 0, 0): ("sin", (3.14159, -9.42478 + 1e-5, -0.73, 0.1)),
        (0, 1, 0): ("x^2", (1.0, 0.0, 0.73, 0.2)),
        (1, 0, 0): ("exp", (1 / 0.73, 0.0, math.exp(-0.3 / 0.73), 0.0)),
    })
    before = _rmse(model, reference_data)
    assert before > 1e-6                                   # the near-pi constants cost accuracy
    versions = len(model.lineage.versions)
    snapped = model.snap_symbolic()
    assert len(model.lineage.versions) == versions + 1      # one call, one version
    a = next(s for s in snapped if (s.l, s.i, s.j, s.param) == (0, 0, 0, "a"))
    assert a.value == "pi" and a.after == math.pi and a.before == pytest.approx(3.14159)
    assert _rmse(model, reference_data) < 1e-12            # the snapped model is the target
    (formula,) = model.clean_formula()
    assert formula == sympy.exp(X2 ** 2 + sympy.sin(sympy.pi * X1)), formula


def test_sqrt_of_a_scaled_sum_comes_out_plain(float64):
    ds = create_dataset(lambda x: torch.sqrt(x[:, [0]] ** 2 + x[:, [1]] ** 2), n_var=2, seed=1)
    model = _hand_model(ds, {
        (0, 0, 0): ("x^2", (1.0, 0.0, 1.9299, 0.0)),
        (0, 1, 0): ("x^2", (1.0, 0.0, 1.9299, 0.0)),
        (1, 0, 0): ("sqrt", (1.0, 0.0, 0.7198, 0.0)),
    })
    model.snap_symbolic()
    assert model.clean_formula() == [sympy.sqrt(X1 ** 2 + X2 ** 2)]
    assert _rmse(model, ds) < 1e-12


def test_a_snap_that_raises_the_loss_is_refused(float64):
    # the data say a = 3.2: pi, 3 and 13/4 all fit worse, so nothing may change
    ds = create_dataset(lambda x: torch.sin(3.2 * x[:, [0]]), n_var=1, seed=2)
    model = KAN([1, 1], grid=3, seed=0)
    model.layers[0].set_symbolic(0, 0, "sin", torch.tensor([3.2, 0.0, 1.0, 0.0]))
    model.data = ds
    state = clone_state(model)
    versions = len(model.lineage.versions)
    assert model.snap_symbolic() == []
    assert state_equal(clone_state(model), state)
    assert float(model.layers[0].sym_affine[0, 0, 0].detach()) == 3.2
    assert len(model.lineage.versions) == versions + 1
    assert [str(e) for e in model.clean_formula()] == ["sin(3.2*x_1)"]
    # the bar is the unsnapped loss: from a = 3.1 (worse than pi for these data), pi is accepted
    with torch.no_grad():
        model.layers[0].sym_affine[0, 0, 0] = 3.1
    (a,) = [s for s in model.snap_symbolic(tolerance=0.0, refit=False) if s.param == "a"]
    assert a.value == "pi" and a.after == math.pi


def test_cancel_and_bad_input_leave_the_model_as_it_was(reference_data):
    model = _hand_model(reference_data, {(0, 0, 0): ("sin", (3.14159, 0.0, 1.0, 0.0))})
    state, versions = clone_state(model), len(model.lineage.versions)
    stop = threading.Event()
    stop.set()
    with pytest.raises(OperationCancelled):
        model.snap_symbolic(stop=stop)
    for kwargs, name in (({"tolerance": -1.0}, "tolerance"), ({"refit_steps": 0}, "refit_steps"),
                         ({"refit": "yes"}, "refit"), ({"x": reference_data["train_input"]}, "x and y")):
        with pytest.raises((TypeError, ValueError), match=name):
            model.snap_symbolic(**kwargs)
    assert state_equal(clone_state(model), state) and len(model.lineage.versions) == versions
    model.data = None
    with pytest.raises(ValueError, match="needs data"):
        model.snap_symbolic()


def test_iterative_auto_symbolic_then_snap_recovers_the_exact_formula(reference_dataset):
    model = KAN(width=[2, 5, 1], grid=5, k=3, seed=42)              # the reference workflow (kanwidget.demo)
    model.fit(reference_dataset, steps=50, lamb=0.001, verbose=False)
    model = model.prune()
    model.fit(reference_dataset, steps=50, verbose=False)
    model = model.refine(10)
    model.fit(reference_dataset, steps=50, verbose=False)
    versions = len(model.lineage.versions)
    choices = model.auto_symbolic(lib=["x", "x^2", "exp", "sin", "tanh"], iterative=True, verbose=0)
    assert len(model.lineage.versions) == versions + 1      # one call, one version, refits included
    assert sorted(c.name for c in choices if c.name) == ["exp", "sin", "x^2"]
    model.fit(reference_dataset, steps=50, verbose=False)
    model.snap_symbolic()
    (formula,) = model.clean_formula()
    assert formula == sympy.exp(X2 ** 2 + sympy.sin(sympy.pi * X1)), formula


@pytest.mark.parametrize("constant,expected", [
    (1 / (2 * math.pi), X1 / (2 * sympy.pi)),
    (1 / math.sqrt(2 * math.pi), X1 / sympy.sqrt(2 * sympy.pi)),
    (math.sqrt(2), sympy.sqrt(2) * X1),
])
def test_textbook_constants_snap_exactly(float64, constant, expected):
    ds = create_dataset(lambda x: constant * x[:, [0]], n_var=1, seed=3)
    model = KAN([1, 1], grid=3, seed=0)
    model.layers[0].set_symbolic(0, 0, "x", torch.tensor([1.0, 0.0, constant * (1 + 3e-7), 1e-6]))
    model.data = ds
    model.snap_symbolic()
    (formula,) = model.clean_formula()
    assert sympy.simplify(formula - expected) == 0, formula
    assert _rmse(model, ds) < 1e-14


def test_a_product_node_with_traded_scales_snaps_to_the_plain_product(float64):
    # x1*x2 as (0.37*x1) * (2.7*x2) * 1.001 ...: the factors' scales are arbitrary; only their product is fixed
    ds = create_dataset(lambda x: x[:, [0]] * x[:, [1]] / (4 * math.pi), n_var=2, ranges=[1, 5], seed=4)
    model = KAN([2, [0, 1], 1], grid=3, seed=0)
    with torch.no_grad():
        model.layers[0].mask.copy_(torch.eye(2))
    model.layers[0].set_symbolic(0, 0, "x", torch.tensor([1.0, 0.0, 0.37, 0.0]))
    model.layers[0].set_symbolic(1, 1, "x", torch.tensor([1.0, 0.0, 2.7, 0.0]))
    model.layers[1].set_symbolic(0, 0, "x", torch.tensor([1.0, 0.0, 1 / (4 * math.pi * 0.37 * 2.7) + 1e-7, 0.0]))
    model.data = ds
    model.snap_symbolic()
    (formula,) = model.clean_formula()
    assert sympy.simplify(formula - X1 * X2 / (4 * sympy.pi)) == 0, formula


def test_a_tiny_constant_that_carries_the_output_is_not_zeroed(float64):
    # the output edge's c is 4e-14 and a factor's c is 2.5e13: "exact 0" would erase the whole model
    ds = create_dataset(lambda x: x[:, [0]] * x[:, [1]], n_var=2, seed=5)
    model = KAN([2, [0, 1], 1], grid=3, seed=0)
    with torch.no_grad():
        model.layers[0].mask.copy_(torch.eye(2))
    model.layers[0].set_symbolic(0, 0, "x", torch.tensor([1.0, 0.0, 1.0, 0.0]))
    model.layers[0].set_symbolic(1, 1, "x", torch.tensor([1.0, 0.0, 2.5e13, 0.0]))
    model.layers[1].set_symbolic(0, 0, "x", torch.tensor([1.0, 0.0, 4e-14, 0.0]))
    model.data = ds
    model.snap_symbolic()
    assert model.clean_formula() == [X1 * X2]


def test_far_candidates_are_plain_fractions_only():
    from kanwidget.core.operations.snapping import _ordered
    v = 1.2693                                       # 9/(4*sqrt(pi)) = 1.26935...: close, but no textbook constant
    tried = [str(c) for c in _ordered(v, simple_candidates(v, radius=0.5), 20)]
    assert "1" in tried and "5/4" in tried and all("sqrt" not in t and "pi" not in t for t in tried)
    close = [str(c) for c in _ordered(1 / (4 * math.pi) + 1e-6, simple_candidates(1 / (4 * math.pi)), 4)]
    assert close[0] == "1/(4*pi)"
