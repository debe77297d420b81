"""KAN.from_pykan: a pykan MultKAN converted exactly (outputs to 1e-10 in float64, same formula).

The real-pykan tests are skipped when pykan is not importable; the duck-typed ones always run.
"""
from __future__ import annotations

import types

import numpy as np
import pytest
import sympy
import torch

from kanwidget import KAN, SYMBOLIC_LIB
from kanwidget.core.operations.checkpoints import pykan_form
from model_helpers import float64_in
from model_helpers import grid_and_beyond as inputs

TOL = 1e-10


def assert_same_outputs(pykan_model, model: KAN, x: torch.Tensor) -> None:
    with torch.no_grad():
        expected = pykan_model(x)
        got = model(x)
    assert got.dtype == torch.float64
    assert (got - expected).abs().max().item() < TOL


# ------------------------------------------------------------------ real pykan models
@pytest.fixture(scope="module")
def pk(tmp_path_factory):
    kan = pytest.importorskip("kan", exc_type=ImportError)  # also a pykan missing its deps
    folder = tmp_path_factory.mktemp("pykan")
    (folder / "model").mkdir()
    with float64_in(folder):
        def make(width, **kw):
            return kan.KAN(width=width, auto_save=False, ckpt_path=str(folder / "model"), **kw)

        def dataset(n_var=2, seed=0):
            f = lambda x: torch.exp(torch.sin(torch.pi * x[:, [0]]) + x[:, [1]] ** 2)  # noqa: E731
            return kan.create_dataset(f, n_var=n_var, train_num=200, test_num=100, seed=seed)

        yield types.SimpleNamespace(kan=kan, make=make, dataset=dataset, folder=folder)


@pytest.fixture(scope="module")
def trained(pk):
    with float64_in(pk.folder):
        m = pk.make([2, 5, 1], grid=5, k=3, seed=0)
        m.fit(pk.dataset(), opt="LBFGS", steps=3, lamb=0.01, log=10)
    return m


def test_fresh_model_converts_exactly(pk):
    with float64_in(pk.folder):
        m = pk.make([3, 4, 2], grid=4, k=3, seed=3)
        model = KAN.from_pykan(m)
    assert model.width == [3, 4, 2] and model.grid == 4 and model.k == 3
    assert_same_outputs(m, model, inputs(3))


def test_trained_model_with_updated_grids_converts_exactly(pk, trained):
    model = KAN.from_pykan(trained)
    # fitting with update_grid moved the knots: they are copied as they are, not rebuilt uniformly
    assert not torch.allclose(model.layers[0].grid[:, 4], torch.full((2,), model.layers[0].grid[0, 4].item()))
    assert torch.equal(model.layers[0].grid, trained.act_fun[0].grid)
    assert_same_outputs(trained, model, inputs(2))
    assert [v.label for v in model.history] == ["from pykan (the pykan model)"]


def test_pruned_and_refined_models_convert_exactly(pk, trained):
    with float64_in(pk.folder):
        pruned = trained.prune(node_th=1e-2, edge_th=5e-2)
        refined = pruned.refine(10)
    model = KAN.from_pykan(pruned)
    assert model.width == [w[0] for w in pruned.width]
    assert torch.equal(model.layers[0].mask, pruned.act_fun[0].mask)
    assert_same_outputs(pruned, model, inputs(2))
    fine = KAN.from_pykan(refined)
    assert fine.grid == 10 and fine.layers[0].coef.shape[-1] == 13
    assert_same_outputs(refined, fine, inputs(2))


def test_symbolic_edges_convert_with_their_affine_parameters(pk, trained):
    with float64_in(pk.folder):
        m = pk.make([2, 5, 1], grid=5, k=3, seed=0)
        m.load_state_dict(trained.state_dict())
        m(pk.dataset()["train_input"])
        m.fix_symbolic(0, 0, 1, "sin", verbose=False)                         # affine fitted to the spline
        m.fix_symbolic(0, 1, 2, "x^2", fit_params_bool=False, random=True)    # random (a, b, c, d)
        m.fix_symbolic(1, 3, 0, "tanh", fit_params_bool=False, random=True)
    model = KAN.from_pykan(m)
    names = model.symbolic_names()
    assert names[0][0][1] == "sin" and names[0][1][2] == "x^2" and names[1][3][0] == "tanh"
    assert sum(n is not None for layer in names for row in layer for n in row) == 3
    a, b, c, d = m.symbolic_fun[0].affine[2, 1].tolist()
    assert model.layers[0].sym_affine[1, 2].tolist() == pytest.approx([a, b, c, d], abs=0)
    assert_same_outputs(m, model, inputs(2))


def test_node_and_subnode_affines_fold_into_edges_and_biases(pk, trained):
    with float64_in(pk.folder):
        m = pk.make([2, 5, 1], grid=5, k=3, seed=0)
        m.load_state_dict(trained.state_dict())
        m.fix_symbolic(0, 1, 0, "sin", fit_params_bool=False, random=True)
        g = torch.Generator().manual_seed(5)
        with torch.no_grad():
            for params in (m.node_bias, m.node_scale, m.subnode_bias, m.subnode_scale):
                for p in params:
                    p.copy_(torch.rand(p.shape, generator=g) * 2 - 0.5)
    model = KAN.from_pykan(m)
    expected_bias = m.node_scale[0] * m.subnode_bias[0] + m.node_bias[0]
    assert torch.allclose(model.layers[0].bias, expected_bias, rtol=0, atol=1e-15)
    assert_same_outputs(m, model, inputs(2))


def test_identity_base_and_disabled_symbolic_branch(pk):
    with float64_in(pk.folder):
        m = pk.make([2, 3, 1], grid=3, k=2, seed=1, base_fun="identity", symbolic_enabled=False)
        m.symbolic_fun[0].mask.data[1, 0] = 1.0     # ignored by pykan's forward when symbolic_enabled=False
        m.symbolic_fun[0].funs_name[1][0] = "sin"
    model = KAN.from_pykan(m)
    assert model.config["base_fun"] == "identity" and model.k == 2
    assert not model.layers[0].sym_mask.any()
    assert_same_outputs(m, model, inputs(2))


def test_formula_of_a_symbolic_model_matches_pykans(pk):
    with float64_in(pk.folder):
        m = pk.make([2, 2, 1], grid=3, k=3, seed=2)
        for (l, i, j), name in zip([(0, 0, 0), (0, 0, 1), (0, 1, 0), (0, 1, 1), (1, 0, 0), (1, 1, 0)],
                                   ["sin", "x^2", "exp", "x", "tanh", "x^3"]):
            m.fix_symbolic(l, i, j, name, fit_params_bool=False, random=True, verbose=False)
        with torch.no_grad():
            m.node_bias[0].copy_(torch.tensor([0.3, -0.2]))
            m.node_scale[1].copy_(torch.tensor([1.5]))
        theirs = m.symbolic_formula()[0][0]
    model = KAN.from_pykan(m)
    ours = model.symbolic_formula()
    ours = ours[0][0] if isinstance(ours, tuple) else ours[0]          # pykan's (formulas, variables) or a list
    x1, x2 = sympy.symbols("x_1 x_2")
    f_ours, f_theirs = (sympy.lambdify((x1, x2), e, "numpy") for e in (ours, theirs))
    pts = np.random.default_rng(0).uniform(-2, 2, size=(2, 50))
    np.testing.assert_allclose(f_ours(*pts), f_theirs(*pts), rtol=1e-10, atol=1e-10)
    assert_same_outputs(m, model, inputs(2))


def test_prune_input_model_takes_the_kept_columns(pk):
    with float64_in(pk.folder):
        m = pk.make([3, 3, 1], grid=3, k=3, seed=4).prune_input(active_inputs=[0, 2], log_history=False)
    with pytest.warns(UserWarning, match=r"prune_input.*columns \[0, 2\]"):
        model = KAN.from_pykan(m)
    x = inputs(3)
    with torch.no_grad():
        assert (model(x[:, [0, 2]]) - m(x)).abs().max().item() < TOL


def test_multiplication_nodes_convert_exactly(pk):   # more cases: tests/core/test_mult_nodes.py
    with float64_in(pk.folder):
        m = pk.make([2, [2, 1], 1], grid=3, k=3, seed=0)
    model = KAN.from_pykan(m)
    assert model.width_pykan == [[2, 0], [2, 1], [1, 0]]
    x = inputs(2)
    with torch.no_grad():
        assert (model(x) - m(x)).abs().max().item() < TOL


def test_edges_both_spline_and_symbolic_are_refused(pk):
    with float64_in(pk.folder):
        m = pk.make([2, 3, 1], grid=3, k=3, seed=0)
        m.fix_symbolic(0, 1, 2, "sin", fit_params_bool=False, verbose=False)
        m.set_mode(0, 1, 2, "sn")
    with pytest.raises(ValueError, match=r"\(0, 1, 2\).*both spline and symbolic"):
        KAN.from_pykan(m)


def test_unknown_symbolic_functions_are_refused(pk):
    with float64_in(pk.folder):
        m = pk.make([2, 3, 1], grid=3, k=3, seed=0)
        m.fix_symbolic(0, 0, 1, lambda x: x * 2, fit_params_bool=False, verbose=False)   # pykan: "anonymous"
    with pytest.raises(ValueError, match=r"edge \(0, 0, 1\).*'anonymous'.*add_symbolic"):
        KAN.from_pykan(m)


# ------------------------------------------------------------- duck-typed (no pykan needed)
def duck_pykan(model: KAN, funs=None) -> types.SimpleNamespace:
    """A stand-in with pykan's attributes, made from a kanwidget model's pykan form."""
    config, state = pykan_form(model.snapshot())
    depth = len(model.width) - 1
    names = [config[f"symbolic.funs_name.{l}"] for l in range(depth)]
    symbolic = [types.SimpleNamespace(funs_name=names[l], funs=(funs or {}).get(l) or
                                      [[SYMBOLIC_LIB[n].torch_fn for n in row] for row in names[l]])
                for l in range(depth)]
    return types.SimpleNamespace(act_fun=[None] * depth, symbolic_fun=symbolic, width=config["width"], k=config["k"],
                                 node_scale=[], subnode_scale=[], base_fun_name=config["base_fun_name"],
                                 symbolic_enabled=True, grid_eps=0.02, grid_range=[-1, 1],
                                 state_dict=lambda: state)


@pytest.fixture
def symbolic_model():
    model = KAN(width=[2, 3, 1], grid=4, k=3, seed=3, dtype=torch.float64)
    with torch.no_grad():
        model.layers[0].bias.copy_(torch.tensor([0.1, -0.2, 0.3], dtype=torch.float64))
    model.layers[0].set_symbolic(1, 2, "sin", torch.tensor([1.5, 0.2, -0.7, 0.05]))
    return model


def test_duck_typed_round_trip_is_exact(symbolic_model):
    copy = KAN.from_pykan(duck_pykan(symbolic_model))
    x = inputs(2)
    with torch.no_grad():
        assert torch.equal(copy(x), symbolic_model(x))
    assert copy.symbolic_names() == symbolic_model.symbolic_names()


def test_a_function_that_differs_from_kanwidgets_is_refused(symbolic_model):
    wrong = [[lambda z: z] * 2 for _ in range(3)]
    wrong[2][1] = torch.cos                       # named "sin" but computes cos
    with pytest.raises(ValueError, match=r"edge \(0, 1, 2\).*'sin' is not kanwidget's"):
        KAN.from_pykan(duck_pykan(symbolic_model, funs={0: wrong}))


def test_bad_state_is_refused_before_building(symbolic_model):
    duck = duck_pykan(symbolic_model)
    state = duck.state_dict()
    state["act_fun.0.scale_sp"] = torch.ones(3, 2, dtype=torch.float64)             # transposed
    with pytest.raises(ValueError, match=r"act_fun\.0\.scale_sp has shape \(3, 2\).*\(2, 3\)"):
        KAN.from_pykan(duck)
    state["act_fun.0.scale_sp"] = torch.ones(2, 3, dtype=torch.float64)
    state["extra"] = torch.ones(1)
    with pytest.raises(ValueError, match="unknown extra"):
        KAN.from_pykan(duck)
    del state["extra"], state["node_bias_1"]
    with pytest.raises(ValueError, match="missing node_bias_1"):
        KAN.from_pykan(duck)


def test_not_a_pykan_model_is_a_type_error(symbolic_model):
    for bad in (symbolic_model, object(), {"act_fun": []}):
        with pytest.raises(TypeError, match="pykan MultKAN"):
            KAN.from_pykan(bad)


def test_names_can_be_given(symbolic_model):
    copy = KAN.from_pykan(duck_pykan(symbolic_model), in_vars=["a", "b"], out_vars=["y"])
    assert copy.in_vars == ["a", "b"] and copy.out_vars == ["y"]
    with pytest.raises(ValueError, match="in_vars has 1 names"):
        KAN.from_pykan(duck_pykan(symbolic_model), in_vars=["a"])
