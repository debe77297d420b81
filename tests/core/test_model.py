"""KAN construction, forward, determinism, side effects and bad input (fit: test_training.py)."""
import math
import json
import os
import subprocess
import sys

import pytest
import torch

from kanwidget import KAN, create_dataset
from tests.conftest import reference_function


# ------------------------------------------------------------------ construction
@pytest.mark.parametrize("width,match", [([2], "at least 2"), ([], "at least 2"), ([2, 0, 1], ">= 1"),
                                         ([2, -3, 1], ">= 1"), ([2, 5.5, 1], "integers"), ("25", "list")])
def test_bad_width_is_refused(width, match):
    with pytest.raises((ValueError, TypeError), match=match):
        KAN(width=width)


@pytest.mark.parametrize("kwargs,match", [({"grid": 0}, "grid"), ({"k": 0}, "k"), ({"grid": 2.5}, "grid"),
                                          ({"base_fun": "relu6"}, "base_fun"), ({"grid_range": (1, -1)}, "grid_range")])
def test_bad_hyperparameters_are_refused(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        KAN(width=[2, 3, 1], **kwargs)


def test_pykan_width_format_and_shapes():
    model = KAN(width=[[2, 0], [5, 0], [1, 0]], grid=5, k=3, seed=0)
    assert model.width == [2, 5, 1]
    y = model(torch.rand(7, 2))
    assert y.shape == (7, 1)
    assert model.layers[0].coef.shape == (2, 5, 8)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dtype_follows_model(dtype):
    model = KAN(width=[3, 4, 2], grid=5, seed=0, dtype=dtype)
    assert model(torch.rand(5, 3, dtype=dtype)).dtype == dtype


def test_wrong_feature_count_is_refused():
    model = KAN(width=[2, 3, 1], seed=0)
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        model(torch.rand(4, 3))


def test_forward_matches_edge_sum():
    """The fused matmul forward equals the explicit sum of per-edge functions."""
    model = KAN(width=[3, 4, 2], grid=5, seed=3, dtype=torch.float64)
    x = torch.rand(50, 3, dtype=torch.float64) * 2 - 1
    acts = model.layers[0].edge_activations(x)
    h = acts.sum(1)
    assert torch.allclose(model.layers[0](x), h, atol=1e-12)
    # hand-computed phi for one edge: scale_base*silu + scale_sp*spline
    layer = model.layers[0]
    from kanwidget.core.numerics.spline import coef_to_curve
    manual = layer.scale_base[1, 2] * torch.nn.functional.silu(x[:, 1]) + \
        layer.scale_sp[1, 2] * coef_to_curve(x, layer.grid, layer.coef, 3)[:, 1, 2]
    assert torch.allclose(acts[:, 1, 2], manual, atol=1e-12)


# ------------------------------------------------------------------------- data
def test_create_dataset_shapes_ranges_and_labels(float64):
    ds = create_dataset(reference_function, n_var=2, ranges=[[-1, 1], [0, 2]], train_num=300, test_num=200, seed=3)
    assert ds["train_input"].shape == (300, 2) and ds["test_label"].shape == (200, 1)
    assert float(ds["train_input"][:, 1].min()) >= 0 and float(ds["train_input"][:, 1].max()) <= 2
    assert torch.allclose(ds["train_label"], reference_function(ds["train_input"]))
    again = create_dataset(reference_function, n_var=2, ranges=[[-1, 1], [0, 2]], train_num=300, test_num=200, seed=3)
    assert torch.equal(ds["train_input"], again["train_input"])


# ----------------------------------------------------------- determinism, files
DETERMINISM_SCRIPT = r"""
import hashlib, json, torch
from kanwidget import KAN, create_dataset
torch.set_default_dtype(torch.float64)
ds = create_dataset(lambda x: torch.exp(torch.sin(torch.pi*x[:,[0]]) + x[:,[1]]**2), n_var=2, train_num=200, test_num=200)
model = KAN(width=[2,5,1], grid=5, k=3, seed=42)
res = model.fit(ds, opt="LBFGS", steps=4, lamb=0.001, verbose=False)
h = hashlib.sha256()
for k, v in sorted(model.state_dict().items()):
    h.update(k.encode()); h.update(v.detach().contiguous().numpy().tobytes())
print(json.dumps({"hash": h.hexdigest(), "loss": [float(v).hex() for v in res["train_loss"]]}))
"""


def test_same_seed_is_bit_identical_across_processes(tmp_path):
    outs = [subprocess.run([sys.executable, "-c", DETERMINISM_SCRIPT], capture_output=True, text=True, check=True,
                           cwd=tmp_path).stdout.strip().splitlines()[-1] for _ in range(2)]
    assert json.loads(outs[0]) == json.loads(outs[1])
    assert os.listdir(tmp_path) == []  # and nothing was written


def test_construct_fit_print_plot_write_no_files(tmp_path, monkeypatch, reference_dataset):
    monkeypatch.chdir(tmp_path)
    model = KAN(width=[2, 3, 1], grid=3, seed=0)
    model.fit(reference_dataset, steps=2, verbose=True)
    print(model)
    model.plot()
    model = model.prune()
    model = model.refine(5)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("name", ["bfloat16", "float16", "float32", "float64"])
def test_every_supported_dtype_runs_forward_and_a_sparse_fit(name: str) -> None:
    """The spline tables' caches and the penalty's numpy arithmetic must take every dtype KAN accepts."""
    from kanwidget.core.network.limits import FLOAT_DTYPES
    dtype = FLOAT_DTYPES[name]
    model = KAN(width=[2, 3, 1], seed=0, dtype=dtype)
    ds = create_dataset(lambda x: x[:, :1] * x[:, 1:], n_var=2, train_num=60, test_num=20, dtype=dtype)
    assert model(ds["test_input"]).dtype == dtype
    results = model.fit(ds, steps=2, lamb=0.01, verbose=False)
    assert len(results["train_loss"]) == 2 and all(math.isfinite(v) for v in results["train_loss"])
