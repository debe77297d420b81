"""pykan's API names in kanwidget, with pykan's return shapes (pykan itself is not needed here)."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import sympy
import torch

import kanwidget
from kanwidget import KAN
from kanwidget.core.network.model import KAN as CoreKAN
from kanwidget.core.numerics.bspline_reference import bspline_basis_reference
from kanwidget.core.numerics.symbolic import SYMBOLIC_LIB
from kanwidget.core.operations.symbolic_edges import Candidate
from kanwidget.spline import B_batch, coef2curve, curve2coef, extend_grid
from kanwidget.utils import add_symbolic, create_dataset, create_dataset_from_data, ex_round, fit_params
from model_helpers import clone_state, state_equal

F64 = torch.float64


# ------------------------------------------------------------------ star import
def test_star_import_gives_what_pykan_tutorials_use():
    ns: dict = {}
    exec("from kanwidget import *", ns)
    assert ns["torch"] is torch and ns["np"] is np and ns["nn"] is torch.nn and ns["sympy"] is sympy
    import matplotlib.pyplot
    assert ns["plt"] is matplotlib.pyplot
    for name in ("sin", "exp", "Symbol", "symbols", "lambdify", "latex", "simplify", "pi"):
        assert ns[name] is getattr(sympy, name)   # pykan's MultKAN does `from sympy import *`
    assert ns["KAN"] is CoreKAN and ns["MultKAN"] is CoreKAN
    assert ns["create_dataset"] is create_dataset and ns["ex_round"] is ex_round
    assert ns["SYMBOLIC_LIB"] is SYMBOLIC_LIB and ns["add_symbolic"] is add_symbolic
    assert ns["create_dataset_from_data"] is create_dataset_from_data and ns["fit_params"] is fit_params
    assert ns["KANWidget"].__name__ == "KANWidget"


def test_plain_import_stays_light():
    code = textwrap.dedent("""
        import sys
        import kanwidget, kanwidget.utils, kanwidget.spline
        kanwidget.KAN(width=[2, 3, 1])
        heavy = sorted(m for m in ("sympy", "matplotlib", "anywidget") if m in sys.modules)
        print(",".join(heavy) or "none")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "none"


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        kanwidget.not_a_name  # noqa: B018


# ------------------------------------------------------------------ kanwidget.utils
def test_create_dataset_takes_pykans_argument_order():
    ds = create_dataset(lambda x: x[0] * x[1], 2, "row", [[0, 1], [2, 3]], 30, 20, seed=3, dtype=F64)
    assert ds["train_input"].shape == (30, 2) and ds["train_label"].shape == (30, 1)
    assert ds["test_input"].shape == (20, 2) and ds["test_label"].shape == (20, 1)
    x = ds["train_input"]
    assert 0 <= x[:, 0].min() and x[:, 0].max() <= 1 and 2 <= x[:, 1].min() and x[:, 1].max() <= 3
    assert torch.allclose(ds["train_label"][:, 0], x[:, 0] * x[:, 1])
    again = create_dataset(lambda x: x[0] * x[1], 2, "row", [[0, 1], [2, 3]], 30, 20, seed=3, dtype=F64)
    assert all(torch.equal(ds[k], again[k]) for k in ds)


def test_create_dataset_normalizes_like_pykan():
    ds = create_dataset(lambda x: 5 * x[:, [0]] + 3, n_var=1, ranges=[0, 4], normalize_input=True,
                        normalize_label=True, train_num=500, dtype=F64)
    for key in ("train_input", "train_label"):
        assert abs(float(ds[key].mean())) < 1e-12 and abs(float(ds[key].std()) - 1) < 1e-12


def test_create_dataset_from_data_splits_every_row_once():
    x = torch.arange(100, dtype=F64)[:, None].repeat(1, 2)
    y = torch.arange(100, dtype=F64)
    ds = create_dataset_from_data(x, y)
    assert ds["train_input"].shape == (80, 2) and ds["test_input"].shape == (20, 2)
    assert ds["train_label"].shape == (80, 1) and ds["test_label"].shape == (20, 1)
    rows = torch.cat([ds["train_input"][:, 0], ds["test_input"][:, 0]]).sort().values
    assert torch.equal(rows, torch.arange(100, dtype=F64))
    assert torch.equal(ds["train_input"][:, 0], ds["train_label"][:, 0])
    again = create_dataset_from_data(x, y)
    assert torch.equal(ds["train_input"], again["train_input"])
    with pytest.raises(ValueError, match="train_ratio"):
        create_dataset_from_data(x, y, train_ratio=1.0)


def test_ex_round_is_pykans_name():
    x = sympy.Symbol("x")
    assert ex_round(sympy.Float(2.718281828) * sympy.sin(sympy.Float(3.14159265) * x), 2) == \
        sympy.Float(2.72) * sympy.sin(sympy.Float(3.14) * x)
    assert kanwidget.ex_round is ex_round


def spline_edge_model(fn, grid: int, points: int):
    """A float64 [1, 1] model whose only edge is the spline fit (curve2coef) of fn on [-1, 1]; and its x."""
    model = KAN(width=[1, 1], grid=grid, k=3, seed=0, dtype=F64)
    x = torch.linspace(-1, 1, points, dtype=F64)[:, None]
    layer = model.layers[0]
    with torch.no_grad():
        layer.scale_base.zero_()
        layer.scale_sp.fill_(1.0)
        layer.coef.copy_(curve2coef(x, fn(x)[:, :, None], layer.grid, 3))
    return model, x


@pytest.fixture
def bessel_edge():
    """A [1, 1] model whose only edge is (a spline fit of) J0(3x) + 0.5."""
    torch.manual_seed(0)
    model, x = spline_edge_model(lambda x: torch.special.bessel_j0(3 * x) + 0.5, grid=20, points=400)
    model.data = {"train_input": x, "train_label": model(x).detach(), "test_input": x,
                  "test_label": model(x).detach()}
    yield model
    for name in ("J0", "J0_kw", "J0_pos"):
        SYMBOLIC_LIB.pop(name, None)


def test_add_symbolic_in_pykans_form_is_found_by_suggest_symbolic(bessel_edge):
    fn = add_symbolic("J0", torch.special.bessel_j0, c=1)
    assert SYMBOLIC_LIB["J0"] is fn and fn.complexity == 1
    assert fn.sympy_fn(sympy.Symbol("x")) == sympy.Function("J0")(sympy.Symbol("x"))
    name, fun, r2, c = bessel_edge.suggest_symbolic(0, 0, 0, lib=["x", "x^2", "sin", "J0"], verbose=False)
    assert name == "J0" and fun is torch.special.bessel_j0 and r2 > 0.999999 and c == 1
    add_symbolic("J0_pos", torch.special.bessel_j0, 3)      # pykan's positional c
    assert SYMBOLIC_LIB["J0_pos"].complexity == 3
    add_symbolic("J0_kw", torch.special.bessel_j0, lambda z: sympy.besselj(0, z), 2)   # kanwidget's form
    assert SYMBOLIC_LIB["J0_kw"].sympy_fn(sympy.Symbol("x")) == sympy.besselj(0, sympy.Symbol("x"))
    with pytest.raises(ValueError, match="J0"):
        add_symbolic("J0", torch.special.bessel_j0, c=1)   # already registered: overwrite=True replaces
    with pytest.raises(TypeError, match="not both"):
        add_symbolic("J0_x", torch.special.bessel_j0, 1, c=1)


def test_fit_params_returns_pykans_params_and_r2(capsys):
    x = torch.linspace(-1, 1, 300, dtype=F64)
    y = 2.0 * torch.sin(3.0 * x + 0.5) + 1.0
    params, r2 = fit_params(x, y, torch.sin)
    assert params.shape == (4,) and float(r2) > 0.9999999
    a, b, c, d = params.tolist()
    assert torch.allclose(c * torch.sin(a * x + b) + d, y, atol=1e-6)
    assert "r2 is" in capsys.readouterr().out
    fit_params(x, y, torch.sin, verbose=False)
    assert capsys.readouterr().out == ""


# ------------------------------------------------------------------ kanwidget.spline
def test_extend_grid_adds_k_knots_each_side():
    grid = torch.linspace(-1, 1, 6, dtype=F64)[None, :]
    ext = extend_grid(grid, k_extend=3)
    assert ext.shape == (1, 12)
    assert torch.allclose(ext[0], torch.linspace(-2.2, 2.2, 12, dtype=F64))


def test_b_batch_has_pykans_shape_and_matches_cox_de_boor():
    G, k = 5, 3
    grid = extend_grid(torch.linspace(-1, 1, G + 1, dtype=F64)[None, :].expand(3, -1) * torch.tensor(
        [[1.0], [2.0], [0.5]], dtype=F64), k_extend=k)
    x = torch.rand(40, 3, dtype=F64) * 2 - 1
    bases = B_batch(x, grid, k=k)
    assert bases.shape == (40, 3, G + k)
    assert torch.allclose(bases, bspline_basis_reference(x, grid, k), atol=1e-13)
    inside = (x.abs() <= torch.tensor([1.0, 2.0, 0.5], dtype=F64)).all(dim=1)
    assert torch.allclose(bases[inside].sum(-1), torch.ones(int(inside.sum()), 3, dtype=F64))  # partition of 1


def test_b_batch_shares_one_grid_row_like_the_grid_tutorial():
    G, k = 5, 3
    grid = extend_grid(torch.linspace(-1, 1, G + 1, dtype=F64)[None, :], k_extend=k)
    x = torch.linspace(-1, 1, 1001, dtype=F64)[None, :]       # (1, 1001): 1001 "inputs" on one row of knots
    bases = B_batch(x, grid, k=k)
    assert bases.shape == (1, 1001, G + k)
    assert torch.allclose(bases[0], bspline_basis_reference(x.T, grid, k)[:, 0], atol=1e-13)


def test_coef2curve_and_curve2coef_round_trip():
    G, k = 6, 3
    grid = extend_grid(torch.linspace(-1, 1, G + 1, dtype=F64)[None, :].expand(2, -1), k_extend=k)
    coef = torch.randn(2, 4, G + k, dtype=F64, generator=torch.Generator().manual_seed(0))
    x = torch.rand(300, 2, dtype=F64, generator=torch.Generator().manual_seed(1)) * 2 - 1
    y = coef2curve(x, grid, coef, k)
    assert y.shape == (300, 2, 4)
    assert torch.allclose(y, torch.einsum("nim,iom->nio", bspline_basis_reference(x, grid, k), coef), atol=1e-12)
    assert torch.allclose(curve2coef(x, y, grid, k), coef, atol=1e-9)


def test_spline_bad_input_names_the_argument():
    grid = extend_grid(torch.linspace(-1, 1, 4, dtype=F64)[None, :].expand(2, -1), k_extend=3)
    with pytest.raises(TypeError, match="k_extend"):
        extend_grid(grid, k_extend=1.5)
    with pytest.raises(ValueError, match="grid has 2 rows but x has 3"):
        B_batch(torch.zeros(5, 3, dtype=F64), grid, k=3)
    with pytest.raises(ValueError, match="coef"):
        coef2curve(torch.zeros(5, 2, dtype=F64), grid, torch.zeros(2, 1, 4, dtype=F64), 3)
    with pytest.raises(ValueError, match="y_eval"):
        curve2coef(torch.zeros(5, 2, dtype=F64), torch.zeros(5, 3, 1, dtype=F64), grid, 3)


def test_act_fun_is_the_layers_like_the_grid_tutorial():
    G, k = 5, 3
    model = KAN(width=[1, 1], grid=G, k=k, dtype=F64)
    layer = model.act_fun[0]
    assert layer.coef.shape == (1, 1, G + k) and layer.grid.shape == (1, G + 2 * k + 1)
    x = torch.linspace(-1, 1, 1001, dtype=F64)[:, None]
    spline = torch.einsum("j,ij->i", layer.coef[0][0], B_batch(x.T, layer.grid[:1], k=k)[0])[:, None]
    expected = layer.scale_base * torch.nn.SiLU()(x) + layer.scale_sp * spline
    assert torch.allclose(model(x), expected, atol=1e-12)


# ------------------------------------------------------------------ return shapes on the model
@pytest.fixture
def symbolic_model():
    model = KAN(width=[2, 1, 1], grid=3, seed=0, dtype=F64)
    model.layers[0].set_symbolic(0, 0, "sin", torch.tensor([3.0, 0.0, 1.0, 0.0]))
    model.layers[0].set_symbolic(1, 0, "x^2", torch.tensor([1.0, 0.0, 1.0, 0.0]))
    model.layers[1].set_symbolic(0, 0, "exp", torch.tensor([1.0, 0.0, 1.0, 0.0]))
    return model


def test_symbolic_formula_returns_formulas_and_variables(symbolic_model):
    formulas, variables = symbolic_model.symbolic_formula()
    x_1, x_2 = sympy.symbols("x_1 x_2")
    assert variables == [x_1, x_2] and len(formulas) == 1
    assert ex_round(symbolic_model.symbolic_formula()[0][0], 8) == sympy.exp(sympy.sin(3 * x_1) + x_2 ** 2)
    (expr,), names = symbolic_model.symbolic_formula(var=["a", "b"])
    assert names == list(sympy.symbols("a b")) and expr.free_symbols == set(names)


def test_symbolic_formula_substitutes_expressions_given_as_var(symbolic_model):
    t = sympy.Symbol("t")
    (expr,), variables = symbolic_model.symbolic_formula(var=[2 * t, sympy.Symbol("s")])
    assert variables == [2 * t, sympy.Symbol("s")]
    assert ex_round(expr, 8) == sympy.exp(sympy.sin(6 * t) + sympy.Symbol("s") ** 2)


def test_symbolic_formula_normalizers_map_raw_inputs_and_outputs(symbolic_model):
    mean, std, out_mean, out_std = [0.5, -1.0], [2.0, 4.0], [10.0], [3.0]
    (expr,), (x_1, x_2) = symbolic_model.symbolic_formula(normalizer=[mean, std],
                                                           output_normalizer=[out_mean, out_std])
    raw = torch.rand(20, 2, dtype=F64) * 4 - 2
    model_out = symbolic_model((raw - torch.tensor(mean, dtype=F64)) / torch.tensor(std, dtype=F64))[:, 0]
    f = sympy.lambdify((x_1, x_2), expr, "math")
    for row, y in zip(raw.tolist(), (model_out * out_std[0] + out_mean[0]).tolist()):
        assert abs(f(*row) - y) < 1e-10
    with pytest.raises(ValueError, match="output_normalizer"):
        symbolic_model.symbolic_formula(output_normalizer=[[0.0], [0.0]])
    with pytest.raises(ValueError, match="var has 1 names"):
        symbolic_model.symbolic_formula(var=["a"])


@pytest.fixture
def exp_edge():
    """A [1, 1] spline edge that is exp(1.5 x) - 1, with data."""
    model, x = spline_edge_model(lambda x: torch.exp(1.5 * x) - 1, grid=10, points=300)
    model.data = {"train_input": x, "train_label": x, "test_input": x, "test_label": x}
    return model


def test_suggest_symbolic_returns_pykans_tuple_and_prints_the_table(exp_edge, capsys):
    lib = ["x", "x^2", "sin", "tanh", "exp"]
    before = clone_state(exp_edge)
    name, fun, r2, c = exp_edge.suggest_symbolic(0, 0, 0, lib=lib, topk=3)
    assert (name, c) == ("exp", SYMBOLIC_LIB["exp"].complexity) and r2 > 0.9999999
    assert fun is SYMBOLIC_LIB["exp"].torch_fn and isinstance(r2, float)
    table = capsys.readouterr().out.splitlines()
    assert "function" in table[0] and "fitting r2" in table[0] and len(table) == 4
    assert table[1].split()[:2] == ["0", "exp"]
    exp_edge.suggest_symbolic(0, 0, 0, (-5, 5), (-5, 5), lib, 3, False)   # pykan's positional order
    assert capsys.readouterr().out == ""
    assert state_equal(before, clone_state(exp_edge))


def test_symbolic_candidates_is_the_ranked_list(exp_edge):
    cands = exp_edge.symbolic_candidates(0, 0, 0, lib=["x", "x^2", "sin", "tanh", "exp"], topk=4)
    assert len(cands) == 4 and all(isinstance(cand, Candidate) for cand in cands)
    assert cands[0].name == exp_edge.suggest_symbolic(0, 0, 0, lib=["x", "x^2", "sin", "tanh", "exp"],
                                                      verbose=False)[0]
    assert [cand.score for cand in cands] == sorted(cand.score for cand in cands)


def test_fit_returns_pykans_results_dict():
    model = KAN(width=[2, 2, 1], grid=3, seed=0, dtype=F64)
    ds = create_dataset(lambda x: x[:, [0]] + x[:, [1]] ** 2, n_var=2, train_num=50, test_num=20, dtype=F64)
    results = model.fit(ds, opt="Adam", steps=4, lr=0.01, verbose=False, update_grid=False)
    assert list(results)[:3] == ["train_loss", "test_loss", "reg"]
    assert all(len(results[key]) == 4 for key in ("train_loss", "test_loss", "reg"))
    pred = model(ds["test_input"]).detach()
    assert abs(float(results["test_loss"][-1]) - float(torch.sqrt(((pred - ds["test_label"]) ** 2).mean()))) < 1e-12


def test_numpy_integers_are_accepted_where_pykan_takes_ints():
    model = KAN(width=[np.int64(2), np.int64(3), 1], grid=np.int64(3), k=np.int64(3), seed=np.int64(1))
    assert model.width == [2, 3, 1] and model.grid == 3 and model.k == 3
    assert model.act_fun[0].coef.shape == (2, 3, 6)
