"""pykan's API names from operations/pykan_api.py, metrics.py and the pykan options of KAN, fit and plot,
with pykan's return shapes; against pykan itself where it is installed (the dev extra)."""
from __future__ import annotations

import math
import os

import numpy as np
import pytest
import torch

from kanwidget import KAN, create_dataset
from kanwidget.core.operations import pykan_api
from model_helpers import clone_state, state_equal

F64 = torch.float64


def _inputs(n: int = 64, d: int = 2, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, d, generator=torch.Generator().manual_seed(seed), dtype=F64) * 4 - 2


def _dataset(n_var: int = 2) -> dict:
    return create_dataset(lambda x: torch.sin(x[:, [0]]) + x[:, [1]] ** 2, n_var=n_var, train_num=200,
                          test_num=100, dtype=F64)


# ------------------------------------------------------------ cached inputs
def test_forward_remembers_its_input_and_speed_stops_it():
    model = KAN([2, 3, 1], dtype=F64)
    x = _inputs()
    model(x)
    assert model.cached_input is x and model.save_act
    assert model.speed() is model and not model.save_act and model.cached_input is None
    model(_inputs(seed=1))
    assert model.cached_input is None


def test_get_act_takes_a_dataset_dict_or_inputs():
    model = KAN([2, 3, 1], dtype=F64)
    ds = _dataset()
    assert model.get_act(ds) is None
    assert torch.equal(model.cached_input, ds["train_input"])
    with pytest.raises(ValueError, match="train_input"):
        model.get_act({"x": 1})
    with pytest.raises(ValueError, match="get_act needs inputs"):
        KAN([2, 3, 1]).get_act()


def test_fix_symbolic_uses_the_last_forward_pass_like_pykan():
    model = KAN([2, 3, 1], dtype=F64)
    with pytest.raises(ValueError, match="needs data"):
        model.fix_symbolic(0, 0, 0, "sin")
    model(_inputs())
    r2 = model.fix_symbolic(0, 0, 0, "sin")
    assert 0.0 <= r2 <= 1.0 and model.symbolic_names()[0][0][0] == "sin"


def test_fitting_prefers_the_training_data_over_a_later_forward_pass():
    model = KAN([2, 3, 1], dtype=F64)
    ds = _dataset()
    model.fit(ds, steps=2, verbose=False)
    model(_inputs(10, seed=5))                       # an evaluation on other inputs
    r2 = model.fix_symbolic(0, 0, 0, "sin")
    model.unfix_symbolic(0, 0, 0)
    assert r2 == model.fix_symbolic(0, 0, 0, "sin", x=ds["train_input"])


# ------------------------------------------------------- get_fun / get_range
def _sin_edge_model() -> tuple[KAN, torch.Tensor]:
    model = KAN([2, 2, 1], dtype=F64)
    x = _inputs()
    model(x)
    model.fix_symbolic(0, 1, 0, "sin", fit_params=False)   # edge (0,1,0) is sin(x) exactly
    return model, x


def test_get_fun_returns_the_edge_on_the_samples_sorted_by_input():
    model, x = _sin_edge_model()
    xs, ys = model.get_fun(0, 1, 0, plot=False)
    assert isinstance(xs, np.ndarray) and xs.shape == ys.shape == (64,)
    np.testing.assert_array_equal(xs, np.sort(x[:, 1].numpy()))
    np.testing.assert_allclose(ys, np.sin(xs), atol=1e-12)


def test_get_range_gives_numpy_extremes_and_prints_them(capsys):
    model, x = _sin_edge_model()
    x_min, x_max, y_min, y_max = model.get_range(0, 1, 0)
    assert float(x_min) == float(x[:, 1].min()) and float(x_max) == float(x[:, 1].max())
    assert math.isclose(float(y_min), float(torch.sin(x[:, 1]).min()), abs_tol=1e-12)
    assert math.isclose(float(y_max), float(torch.sin(x[:, 1]).max()), abs_tol=1e-12)
    assert isinstance(x_min, np.ndarray) and x_min.shape == ()
    out = capsys.readouterr().out
    assert f"x range: [{float(x_min):.2f} , {float(x_max):.2f} ]" in out and "y range: [" in out


def test_get_fun_and_get_range_match_pykan_on_a_converted_model(tmp_path):
    kan = pytest.importorskip("kan", exc_type=ImportError)
    torch.manual_seed(0)
    theirs = kan.KAN(width=[2, 3, 1], grid=4, k=3, seed=3, auto_save=False, ckpt_path=str(tmp_path / "m"))
    x = _inputs().float()                            # pykan's model is float32
    theirs(x)
    ours = KAN.from_pykan(theirs)
    ours(x.to(ours.dtype))
    for l, i, j in ((0, 0, 0), (0, 1, 2), (1, 2, 0)):
        for a, b in zip(theirs.get_range(l, i, j, verbose=False), ours.get_range(l, i, j, verbose=False)):
            assert np.ndim(a) == np.ndim(b) == 0 and math.isclose(float(a), float(b), rel_tol=1e-5, abs_tol=1e-6)
        xs, ys = ours.get_fun(l, i, j, plot=False)
        xt, yt = theirs.get_fun(l, i, j)
        np.testing.assert_allclose(xs, xt, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(ys, yt, rtol=1e-5, atol=1e-6)
    import matplotlib.pyplot as plt
    plt.close("all")


def test_get_fun_without_samples_and_bad_edges_raise():
    with pytest.raises(ValueError, match="needs activations"):
        KAN([2, 2, 1]).get_fun(0, 0, 0)
    model, _ = _sin_edge_model()
    with pytest.raises(ValueError, match="out of range"):
        model.get_range(0, 2, 0)


# ---------------------------------------------------------------- set_mode
def test_set_mode_switches_between_spline_symbolic_and_off():
    model, x = _sin_edge_model()
    versions = len(model.history)
    model.set_mode(0, 1, 0, "n")
    assert model.symbolic_names()[0][1][0] is None and model.layers[0].mask[1, 0] == 1
    model.set_mode(0, 1, 0, "off")
    assert model.layers[0].mask[1, 0] == 0
    assert len(model.history) == versions + 2


def test_set_mode_refuses_spline_plus_symbolic_and_leaves_the_model_alone():
    model, _ = _sin_edge_model()
    before = clone_state(model)
    with pytest.raises(ValueError, match="'ns'"):
        model.set_mode(0, 1, 0, mode="ns")
    with pytest.raises(ValueError, match="fix_symbolic"):
        model.set_mode(0, 0, 0, mode="s")
    with pytest.raises(TypeError, match="mode"):
        model.set_mode(0, 0, 0, mode=1)
    assert state_equal(before, clone_state(model))


# ------------------------------------------------------ remove_node / edge
def test_remove_node_masks_its_incoming_and_outgoing_edges():
    model = KAN([2, 3, 2, 1], dtype=F64)
    x = _inputs()
    before = model(x)
    model.remove_node(1, 0)
    assert model.layers[0].mask[:, 0].sum() == 0 and model.layers[1].mask[0, :].sum() == 0
    assert model.layers[0].mask[:, 1:].all() and model.layers[1].mask[1:, :].all()
    # the node's edges are gone: changing its incoming splines no longer changes the output
    with torch.no_grad():
        model.layers[0].coef[:, 0] += 5.0
    after = model(x)
    with torch.no_grad():
        model.layers[0].coef[:, 0] -= 5.0
    assert torch.allclose(after, model(x), atol=0) and not torch.allclose(after, before)


def test_remove_node_modes_and_bad_input():
    model = KAN([2, 3, 1], dtype=F64)
    model.remove_node(1, 2, mode="up")
    assert model.layers[1].mask[2, 0] == 0 and model.layers[0].mask[:, 2].all()
    model.remove_node(1, 1, mode="down")
    assert model.layers[0].mask[:, 1].sum() == 0 and model.layers[1].mask[1, 0] == 1
    model.remove_edge(0, 0, 0)
    assert model.layers[0].mask[0, 0] == 0
    before = clone_state(model)
    for args, kind, match in (((3, 0), ValueError, "level l=3"), ((1, 3), ValueError, "node i=3"),
                              ((1.0, 0), TypeError, "node index l"), ((1, 0, "side"), ValueError, "mode")):
        with pytest.raises(kind, match=match):
            model.remove_node(*args)
    assert state_equal(before, clone_state(model))


# ------------------------------------------------------------------- rewind
def test_rewind_takes_pykans_round_dot_version_ids():
    model = KAN([2, 3, 1], dtype=F64)
    ds = _dataset()
    model.fit(ds, steps=2, verbose=False)          # versions 0 (init) and 1 (fit)
    after_fit = clone_state(model)
    model = model.prune(edge_th=0.0)                 # version 2
    old = model.rewind("0.1")
    assert state_equal(after_fit, clone_state(old)) and old.lineage is model.lineage
    assert state_equal(clone_state(model.rewind(1)), after_fit)
    with pytest.raises(ValueError, match="no such version"):
        model.rewind("0.9")
    with pytest.raises(ValueError, match="round.version"):
        model.rewind("latest")
    with pytest.raises(TypeError, match="model_id"):
        model.rewind(1.0)


# -------------------------------------------------------------- symbolic_fun
def test_symbolic_fun_views_layers_in_pykans_out_in_orientation():
    model = KAN([2, 3, 1], dtype=F64)
    model(_inputs())
    model.fix_symbolic(0, 1, 2, "x^2")
    view = model.symbolic_fun[0]
    assert (view.in_dim, view.out_dim) == (2, 3) and len(model.symbolic_fun) == 2
    assert view.funs_name == [["0", "0"], ["0", "0"], ["0", "x^2"]]
    expected = torch.zeros(3, 2, dtype=F64)
    expected[2, 1] = 1
    assert torch.equal(view.mask, expected)
    assert view.affine.shape == (3, 2, 4) and torch.equal(view.affine[2, 1], model.layers[0].sym_affine[1, 2].detach())


# ----------------------------------------------------- constructor options
def test_sparse_init_connects_every_node_to_its_nearest_neighbour():
    # inputs at 1/4, 3/4; outputs at 1/10, 3/10, 5/10, 7/10, 9/10: input 0 -> output 1, input 1 -> output 3;
    # outputs 0, 1, 2 -> input 0 (2 is a tie: the first), outputs 3, 4 -> input 1
    model = KAN([2, 5, 1], sparse_init=True)
    expected = torch.tensor([[1, 1, 1, 0, 0], [0, 0, 0, 1, 1]], dtype=torch.float32)
    assert torch.equal(model.layers[0].mask, expected)
    assert torch.equal(model.layers[1].mask, torch.ones(5, 1))     # every input's nearest is the one output
    assert torch.equal(KAN([3, 3], sparse_init=True).layers[0].mask, torch.eye(3))


def test_sparse_init_matches_pykan():
    kan_utils = pytest.importorskip("kan.utils", exc_type=ImportError)
    for in_dim, out_dim in ((2, 5), (5, 2), (3, 7), (10, 3), (4, 4)):
        expected = kan_utils.sparse_mask(in_dim, out_dim)
        assert torch.equal(pykan_api.sparse_mask(in_dim, out_dim).to(expected), expected)


def test_auto_save_writes_nothing_by_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model = KAN([2, 3, 1], dtype=F64)
    model.fit(_dataset(), steps=1, verbose=False)
    assert model.auto_save is False and os.listdir(tmp_path) == []


def test_auto_save_true_writes_a_checkpoint_per_version_into_ckpt_path(tmp_path):
    folder = tmp_path / "ckpt"
    model = KAN([2, 3, 1], dtype=F64, auto_save=True, ckpt_path=str(folder))
    model.fit(_dataset(), steps=2, verbose=False)
    names = sorted(os.listdir(folder))
    assert "history.txt" in names and "0.0_state" in names and "0.1_state" in names
    loaded = KAN.loadckpt(str(folder / "0.1"))
    x = _inputs()
    assert torch.allclose(loaded(x.to(loaded.dtype)), model(x).to(loaded.dtype), atol=1e-6)


def test_pykan_constructor_arguments_are_checked_by_name():
    for kwargs, kind, match in (({"affine_trainable": True}, ValueError, "affine_trainable"),
                                ({"mult_arity": 1}, ValueError, "mult_arity"),
                                ({"sparse_init": "yes"}, TypeError, "sparse_init"),
                                ({"ckpt_path": 3}, TypeError, "ckpt_path"),
                                ({"base_fun": torch.nn.Tanh()}, ValueError, "base_fun")):
        with pytest.raises(kind, match=match):
            KAN([2, 3, 1], **kwargs)
    assert KAN([2, 3, 1], base_fun=torch.nn.SiLU()).config["base_fun"] == "silu"
    model = KAN([2, 3, 1], symbolic_enabled=False, first_init=False, state_id=2, round=1, mult_arity=3)
    assert model.pykan_options["state_id"] == 2 and model.pykan_options["round"] == 1


def test_sp_and_sb_trainable_false_freeze_the_scales():
    model = KAN([2, 3, 1], dtype=F64, sp_trainable=False, sb_trainable=False)
    scale_sp, scale_base = model.layers[0].scale_sp.detach().clone(), model.layers[0].scale_base.detach().clone()
    model.fit(_dataset(), steps=2, verbose=False)
    assert torch.equal(model.layers[0].scale_sp, scale_sp) and torch.equal(model.layers[0].scale_base, scale_base)


# -------------------------------------------------------------- fit extras
def test_fit_metrics_are_recorded_per_step_under_their_names():
    model = KAN([2, 3, 1], dtype=F64)
    ds = _dataset()
    calls = []

    def count():
        calls.append(1)
        return len(calls)

    def test_rmse():
        return torch.sqrt(torch.mean((model(ds["test_input"]) - ds["test_label"]) ** 2))

    results = model.fit(ds, steps=4, metrics=(count, test_rmse), verbose=False)
    assert results["count"] == [1.0, 2.0, 3.0, 4.0]
    assert all(isinstance(v, float) for v in results["test_rmse"])
    # evaluated after each step on the same weights as fit's own test loss
    np.testing.assert_allclose(results["test_rmse"], results["test_loss"], rtol=1e-10)


def test_fit_extras_bad_input_leaves_the_model_untouched(tmp_path):
    model = KAN([2, 3, 1], dtype=F64)
    ds = _dataset()
    before = clone_state(model)
    for kwargs, kind, match in (({"reg_metric": "edge_backward"}, ValueError, "reg_metric"),
                                ({"metrics": ("acc",)}, TypeError, "metrics"),
                                ({"save_fig": True}, ValueError, "img_folder"),
                                ({"save_fig": True, "img_folder": str(tmp_path), "save_fig_freq": 0}, ValueError,
                                 "save_fig_freq")):
        with pytest.raises(kind, match=match):
            model.fit(ds, steps=1, verbose=False, **kwargs)
    assert state_equal(before, clone_state(model)) and model.steps_trained == 0 and not model.history
    assert os.listdir(tmp_path) == []


def test_save_fig_writes_figures_only_into_img_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "frames"
    KAN([2, 3, 1], dtype=F64).fit(_dataset(), steps=3, save_fig=True, img_folder=str(folder), save_fig_freq=2,
                                 verbose=False)
    assert sorted(os.listdir(folder)) == ["0.jpg", "2.jpg"] and sorted(os.listdir(tmp_path)) == ["frames"]


def test_cross_entropy_with_class_index_labels():
    x = _inputs(400)
    labels = (x[:, 0] > x[:, 1]).long()
    ds = {"train_input": x[:300], "train_label": labels[:300], "test_input": x[300:], "test_label": labels[300:]}
    model = KAN([2, 2], dtype=F64, seed=0)
    model.fit(ds, steps=10, loss_fn=torch.nn.CrossEntropyLoss(), verbose=False)
    accuracy = (model(x[300:]).argmax(1) == labels[300:]).double().mean()
    assert accuracy > 0.9
    bad = dict(ds, train_label=labels[:300] + 2)
    with pytest.raises(ValueError, match="class indices"):
        model.fit(bad, steps=1, loss_fn=torch.nn.CrossEntropyLoss(), verbose=False)


# ------------------------------------------------------------- plot options
def test_plot_metrics_scale_and_samples():
    model = KAN([2, 3, 1], dtype=F64)
    x = _inputs()
    model(x)
    scales = pykan_api.edge_scales(model, x, normalized=False)
    normalized = pykan_api.edge_scales(model, x, normalized=True)
    phi = model.layers[0].edge_activations(x)
    assert torch.allclose(scales[0], phi.std(0))
    assert torch.allclose(normalized[0], phi.std(0) / (x.std(0)[:, None] + 0.1))
    small, big = model.plot(scale=0.5), model.plot(scale=2.0, metric="forward_n")
    assert np.allclose(big.get_size_inches(), 4 * small.get_size_inches())
    with_samples = model.plot(sample=True, metric="forward_u")
    assert len(with_samples.axes[0].collections) > len(small.axes[0].collections)
    with pytest.raises(ValueError, match="metric"):
        model.plot(metric="sideways")
    with pytest.raises(ValueError, match="scale"):
        model.plot(scale=0)
