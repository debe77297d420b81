"""pykan checkpoints: model.saveckpt / KAN.loadckpt (pykan's folder format), safe loading, auto-save."""
from __future__ import annotations

import os
import sys

import pytest
import torch

from kanwidget import KAN, create_dataset
from kanwidget.core.operations import checkpoints
from kanwidget.core.operations.checkpoints import dump_config, parse_config, parse_simple_yaml

from model_helpers import float64_in
from model_helpers import grid_and_beyond as inputs


@pytest.fixture
def model():
    """A float64 model with a bias, a pruned edge, a symbolic edge and a refined second layer grid."""
    m = KAN(width=[2, 3, 1], grid=4, k=3, seed=7, dtype=torch.float64)
    with torch.no_grad():
        m.layers[0].bias.copy_(torch.tensor([0.1, -0.2, 0.3], dtype=torch.float64))
        m.layers[1].mask[2, 0] = 0.0
    m.layers[0].set_symbolic(1, 2, "sin", torch.tensor([1.5, 0.2, -0.7, 0.05]))
    return m


def checkpoint_files(prefix) -> list[str]:
    return [f"{prefix}_config.yml", f"{prefix}_state", f"{prefix}_cache_data"]


def test_save_writes_pykans_three_files_and_nothing_else(model, tmp_path):
    model.saveckpt(tmp_path / "mark")
    assert sorted(os.listdir(tmp_path)) == ["mark_cache_data", "mark_config.yml", "mark_state"]
    config = parse_config((tmp_path / "mark_config.yml").read_text())
    assert config["width"] == [[2, 0], [3, 0], [1, 0]] and config["k"] == 3 and config["grid"] == 4
    assert config["auto_save"] is False                  # pykan loading it must not start writing files
    assert config["symbolic.funs_name.0"][2][1] == "sin" and config["symbolic.funs_name.0"][0][0] == "0"
    state = torch.load(tmp_path / "mark_state", weights_only=True)
    assert torch.equal(state["node_bias_0"], model.layers[0].bias)
    assert state["act_fun.0.mask"][1, 2] == 0 and state["symbolic_fun.0.mask"][2, 1] == 1


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_round_trip_is_exact(model, tmp_path, dtype):
    model = model.to(dtype)
    model.saveckpt(tmp_path / "ck")
    back = KAN.loadckpt(tmp_path / "ck")
    x = inputs(2).to(dtype)
    with torch.no_grad():
        assert torch.equal(back(x), model(x))
    assert back.dtype == dtype and back.symbolic_names() == model.symbolic_names()
    assert back.history[0].label.startswith("from pykan (the checkpoint")


def test_refined_model_round_trips(model, tmp_path):
    data = create_dataset(lambda x: x[:, [0]] * x[:, [1]], n_var=2, train_num=50, test_num=10, seed=0,
                          dtype=torch.float64)
    model.data = data
    fine = model.refine(7)
    fine.saveckpt(tmp_path / "fine")
    back = KAN.loadckpt(tmp_path / "fine")
    assert back.grid == 7
    with torch.no_grad():
        assert torch.equal(back(data["test_input"]), fine(data["test_input"]))


# ------------------------------------------------------------------ both directions with pykan
@pytest.fixture
def kan(tmp_path):
    kan = pytest.importorskip("kan", exc_type=ImportError)  # also a pykan missing its deps
    (tmp_path / "model").mkdir()
    with float64_in(tmp_path):
        yield kan


def test_pykan_checkpoint_loads_exactly(kan, tmp_path):
    m = kan.KAN(width=[2, 4, 1], grid=5, k=3, seed=0, auto_save=False)
    m.fix_symbolic(0, 1, 3, "x^2", fit_params_bool=False, random=True, verbose=False)
    with torch.no_grad():
        m.node_bias[0].copy_(torch.linspace(-0.5, 0.5, 4))
        m.subnode_scale[1].fill_(1.7)
    m.saveckpt("./mark")
    model = KAN.loadckpt("./mark")
    x = inputs(2)
    with torch.no_grad():
        assert (model(x) - m(x)).abs().max().item() < 1e-10
    assert model.symbolic_names()[0][1][3] == "x^2"


def test_pykan_loads_our_checkpoint_exactly(kan, model, tmp_path):
    model.saveckpt("./ours")
    m = kan.KAN.loadckpt("./ours")
    x = inputs(2)
    with torch.no_grad():
        assert (m(x) - model(x)).abs().max().item() < 1e-10
    assert m.symbolic_fun[0].funs_name[2][1] == "sin"
    assert sorted(os.listdir(tmp_path / "model")) == []           # pykan wrote nothing on loading


def test_pykans_auto_save_folder_is_readable(kan, tmp_path):
    kan.KAN(width=[2, 3, 1], grid=3, k=3, seed=0, auto_save=True, ckpt_path="./model")
    assert os.path.isfile("model/0.0_config.yml")
    assert KAN.loadckpt("model/0.0").width == [2, 3, 1]
    with pytest.raises(FileNotFoundError, match=r"model is a folder: pass a checkpoint prefix.*0\.0"):
        KAN.loadckpt("model")


# ------------------------------------------------------------------ YAML
def test_simple_parser_reads_what_pyyaml_reads(model, tmp_path):
    yaml = pytest.importorskip("yaml")
    config, _ = checkpoints.pykan_form(model.snapshot())
    config["grid_eps"] = 1e-05                                  # YAML 1.1 needs 1.0e-05
    config["ckpt_path"] = "it's ./model"
    text = dump_config(config)
    assert yaml.safe_load(text) == config == parse_simple_yaml(text)
    pyyaml_text = yaml.dump(config, default_flow_style=False)   # how pykan writes it
    assert parse_simple_yaml(pyyaml_text) == config


def test_deeply_nested_yaml_is_a_clear_error():
    with pytest.raises(ValueError, match="nested too deeply"):
        parse_config("a: " + "[" * 100_000 + "]" * 100_000)
    with pytest.raises(ValueError, match="nested too deeply"):
        parse_simple_yaml("a:\n" + "".join("  " * n + "-\n" for n in range(20)) + "  " * 20 + "- 1\n")


def test_loading_works_without_pyyaml(model, tmp_path, monkeypatch):
    model.saveckpt(tmp_path / "ck")
    monkeypatch.setitem(sys.modules, "yaml", None)             # `import yaml` now raises ImportError
    assert parse_config("k: 3\nwidth:\n- - 2\n  - 0\n") == {"k": 3, "width": [[2, 0]]}
    back = KAN.loadckpt(tmp_path / "ck")
    assert back.symbolic_names() == model.symbolic_names()


@pytest.mark.parametrize("text, message", [
    ("k 3\n", "line 1: expected 'key: value'"),
    ("k: 3\nk: 4\n", "duplicate key 'k'"),
    ("width:\n- - 2\n    - 0\n", "unexpected indentation"),
    ("a: !!python/object:os.system 'ls'\n", "unsupported YAML"),
    ("a: 'open\n", "bad quoted string"),
])
def test_simple_parser_refuses_what_it_does_not_know(text, message):
    with pytest.raises(ValueError, match=message):
        parse_simple_yaml(text)


# ------------------------------------------------------------------ bad checkpoints
def edit_config(prefix, **changes) -> None:
    path = f"{prefix}_config.yml"
    config = parse_config(open(path).read())
    config.update(changes)
    open(path, "w").write(dump_config(config))


def test_missing_files_are_named(model, tmp_path):
    with pytest.raises(FileNotFoundError, match="nope_config.yml is missing"):
        KAN.loadckpt(tmp_path / "nope")
    model.saveckpt(tmp_path / "ck")
    os.remove(tmp_path / "ck_state")
    with pytest.raises(FileNotFoundError, match="ck_state is missing"):
        KAN.loadckpt(tmp_path / "ck")


@pytest.mark.parametrize("changes, message", [
    ({"mystery": 1}, "unknown key.*mystery"),
    ({"width": [[2, 0], [3, 1], [1, 0]]}, "multiplication nodes"),
    ({"width": [[2, 0], [4, 0], [1, 0]]}, r"symbolic\.funs_name\.0 must be 4 lists"),
    ({"k": 0}, "k must be a positive integer"),
    ({"base_fun_name": "relu"}, "base_fun_name 'relu'"),
    ({"symbolic.funs_name.5": [["0"]]}, r"funs_name\.5 given but width"),
])
def test_bad_configs_are_refused(model, tmp_path, changes, message):
    model.saveckpt(tmp_path / "ck")
    edit_config(tmp_path / "ck", **changes)
    with pytest.raises(ValueError, match=message):
        KAN.loadckpt(tmp_path / "ck")


def test_huge_sizes_are_refused_before_the_state_is_read(model, tmp_path):
    model.saveckpt(tmp_path / "ck")
    edit_config(tmp_path / "ck", width=[[100000, 0], [100000, 0]], **{"symbolic.funs_name.0": []})
    (tmp_path / "ck_state").write_bytes(b"not a torch file")     # never reached
    with pytest.raises(ValueError, match="would need about"):
        KAN.loadckpt(tmp_path / "ck")


def test_bad_states_are_refused(model, tmp_path):
    model.saveckpt(tmp_path / "ck")
    state = torch.load(tmp_path / "ck_state", weights_only=True)
    cases = [({**state, "act_fun.0.coef": state["act_fun.0.coef"][..., :5]},
              r"act_fun\.0\.grid has shape \(2, 11\).*grid 2"),
             ({**state, "surprise": torch.ones(1)}, "unknown surprise"),
             ({k: v for k, v in state.items() if k != "subnode_scale_1"}, "missing subnode_scale_1"),
             ({**state, "node_bias_0": torch.full((3,), float("nan"), dtype=torch.float64)}, "NaN or inf"),
             ([1, 2, 3], "not a pykan state_dict")]
    for bad, message in cases:
        torch.save(bad, tmp_path / "ck_state")
        with pytest.raises(ValueError, match=message):
            KAN.loadckpt(tmp_path / "ck")


class Boom:
    ran = False

    def __reduce__(self):
        return (Boom.explode, ())

    @staticmethod
    def explode():
        Boom.ran = True


def test_a_state_that_would_run_code_is_refused_unexecuted(model, tmp_path):
    model.saveckpt(tmp_path / "ck")
    torch.save({"node_bias_0": Boom()}, tmp_path / "ck_state")
    with pytest.raises(ValueError, match="not a readable pykan state"):
        KAN.loadckpt(tmp_path / "ck")
    assert not Boom.ran


def test_an_unknown_symbolic_function_is_refused(model, tmp_path):
    model.saveckpt(tmp_path / "ck")
    edit_config(tmp_path / "ck", **{"symbolic.funs_name.0": [["0", "0"], ["0", "0"], ["0", "bessel"]]})
    with pytest.raises(ValueError, match=r"edge \(0, 1, 2\) uses symbolic function 'bessel'.*add_symbolic"):
        KAN.loadckpt(tmp_path / "ck")


# ------------------------------------------------------------------ auto-save
def test_nothing_is_written_unless_asked(model, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = create_dataset(lambda x: x[:, [0]] ** 2, n_var=2, train_num=30, test_num=10, seed=0, dtype=torch.float64)
    model.fit(data, steps=2, log=1, verbose=False)
    model.prune()
    assert os.listdir(tmp_path) == []


def test_auto_save_writes_a_checkpoint_per_version(model, tmp_path):
    data = create_dataset(lambda x: x[:, [0]] ** 2, n_var=2, train_num=30, test_num=10, seed=0, dtype=torch.float64)
    checkpoints.enable_auto_save(model, tmp_path / "ckpt")
    model.fit(data, steps=2, log=1, verbose=False)
    ids = [v.id for v in model.history]
    assert ids
    for vid in ids:
        assert all(os.path.isfile(f) for f in checkpoint_files(tmp_path / "ckpt" / f"0.{vid}"))
    log = (tmp_path / "ckpt" / "history.txt").read_text().splitlines()
    assert log[0] == "### Round 0 ###" and log[-1].endswith(f"=> 0.{ids[-1]}")
    back = KAN.loadckpt(tmp_path / "ckpt" / f"0.{ids[-1]}")
    x = inputs(2)
    with torch.no_grad():
        assert torch.equal(back(x), model(x))
