"""KAN.save / KAN.load: exact round trips, and crafted files refused from their header before any build."""
import pytest
import torch

from kanwidget import KAN
from kanwidget.core.network.layer import KANLayer
from kanwidget.core.operations import persistence


@pytest.fixture
def saved(tmp_path):
    """A refined model with a symbolic edge, saved; returns (model, the file's dict, a writer of variants)."""
    model = KAN(width=[2, 3, 1], grid=3, k=3, seed=0, dtype=torch.float64).refine(6)
    model.fix_symbolic(0, 1, 2, "sin", fit_params=False, x=torch.rand(16, 2, dtype=torch.float64))
    path = tmp_path / "model.pt"
    model.save(path)
    blob = torch.load(path, weights_only=True)

    def write(change) -> str:
        variant = torch.load(path, weights_only=True)
        change(variant["snapshot"])
        out = tmp_path / "crafted.pt"
        torch.save(variant, out)
        return str(out)
    return model, blob, write


def test_round_trip_is_exact(saved, tmp_path):
    model, _, _ = saved
    loaded = KAN.load(tmp_path / "model.pt")
    assert loaded.width == model.width and loaded.grid == 6 and loaded.dtype == torch.float64
    assert loaded.symbolic_names() == model.symbolic_names()
    x = torch.rand(20, 2, dtype=torch.float64) * 2 - 1
    assert torch.equal(loaded(x), model(x))
    assert [v.label for v in loaded.history] == ["load"]


def test_expected_shapes_match_a_real_layer():
    """The header check's shape table is the layer's own state_dict, so it cannot drift silently."""
    layer = KANLayer(4, 3, grid=7, k=2)
    actual = {name: tuple(t.shape) for name, t in layer.state_dict().items()}
    assert persistence.layer_shapes(4, 3, 7, 2) == actual


def _set(path, value):
    def change(snap):
        target = snap
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


CRAFTED = [
    (_set(["width"], [2, 10 ** 9, 1]), "would need"),                       # would allocate without bound
    (_set(["width"], [2, "3", 1]), "snapshot['width'][1]"),
    (_set(["width"], [2] * 2000), "snapshot['width']"),
    (_set(["dtype"], "int64"), "snapshot['dtype']"),
    (_set(["dtype"], "__class__"), "snapshot['dtype']"),                   # was getattr(torch, ...)
    (_set(["config", "grid"], 10 ** 6), "snapshot['config']['grid']"),
    (_set(["config", "k"], 10 ** 6), "snapshot['config']['k']"),
    (_set(["config", "evil"], 1), "evil"),
    (_set(["state", "layers.0.coef"], torch.zeros(2, 3, 4, dtype=torch.float64)), "layers.0"),   # grid 1 != 6
    (_set(["state", "layers.1.scale_sp"], torch.zeros(5, 1, dtype=torch.float64)), "layers.1.scale_sp"),
    (_set(["state", "layers.0.mask"], torch.ones(2, 3, dtype=torch.float32)), "layers.0.mask"),
    (_set(["state", "layers.0.bias"], torch.full((3,), float("nan"), dtype=torch.float64)), "layers.0.bias"),
    (_set(["state", "layers.0.sym_fun_ids"], torch.full((2, 3), 99)), "sym_fun_ids"),
    (lambda snap: snap["state"].pop("layers.1.mask"), "layers.1.mask"),
    (_set(["sym_names"], [["sin"]]), "snapshot['sym_names']"),
    (_set(["state"], "weights"), "snapshot['state']"),
]


@pytest.mark.parametrize("change,name", CRAFTED, ids=[c[1] + f"-{i}" for i, c in enumerate(CRAFTED)])
def test_crafted_files_are_refused_before_building_anything(saved, monkeypatch, change, name):
    _, _, write = saved
    path = write(change)

    def never(*args, **kwargs):
        raise AssertionError("load built a model before checking the file")
    monkeypatch.setattr(KAN, "__init__", never)
    monkeypatch.setattr(KANLayer, "__init__", never)
    with pytest.raises(ValueError) as info:
        KAN.load(path)
    message = str(info.value)
    assert name in message and "corrupt" in message and "built a model" not in message


def test_file_within_limits_but_inconsistent_is_refused(saved):
    """A consistent header with a plausible but wrong tensor still fails cleanly (no partial model)."""
    _, _, write = saved
    path = write(_set(["width"], [2, 4, 1]))
    with pytest.raises(ValueError, match="layers.0.coef"):
        KAN.load(path)
