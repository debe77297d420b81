"""create_dataset and validate_dataset: sampling, labels, and datasets fit refuses (rows named)."""
import numpy as np
import pytest
import torch

from kanwidget import create_dataset
from kanwidget.core.data import validate_dataset


def test_ranges_per_variable_and_row_mode():
    ds = create_dataset(lambda x: x[0] * x[1], n_var=2, ranges=[[2, 3], [-5, -4]], train_num=50, test_num=10,
                        f_mode="row", seed=np.int64(4), dtype=torch.float64)
    x = ds["train_input"]
    assert 2 <= float(x[:, 0].min()) and float(x[:, 0].max()) <= 3
    assert -5 <= float(x[:, 1].min()) and float(x[:, 1].max()) <= -4
    assert torch.allclose(ds["train_label"][:, 0], x[:, 0] * x[:, 1])   # row mode: f gets x.T


def test_normalisation_uses_training_statistics():
    ds = create_dataset(lambda x: 3 * x[:, [0]] + 1, n_var=1, train_num=400, test_num=100, normalize_input=True,
                        normalize_label=True, seed=0, dtype=torch.float64)
    for key in ("train_input", "train_label"):
        assert abs(float(ds[key].mean())) < 1e-12 and abs(float(ds[key].std()) - 1) < 1e-12
    # the label is affine in the input, so after the same standardisation they coincide
    assert torch.allclose(ds["test_label"], ds["test_input"], atol=1e-10)


def _data(n_in=2, n_out=1, rows=6):
    g = torch.Generator().manual_seed(0)
    return {"train_input": torch.rand(rows, n_in, generator=g, dtype=torch.float64),
            "train_label": torch.rand(rows, n_out, generator=g, dtype=torch.float64),
            "test_input": torch.rand(rows, n_in, generator=g, dtype=torch.float64),
            "test_label": torch.rand(rows, n_out, generator=g, dtype=torch.float64)}


def test_non_finite_rows_are_named():
    data = _data(rows=20)
    data["train_input"][4, 1] = float("nan")
    data["train_input"][11, 0] = float("inf")
    with pytest.raises(ValueError, match=r"dataset\['train_input'\] contains NaN or inf values in 2 row\(s\): 4, 11"):
        validate_dataset(data, 2, 1)


def test_values_that_overflow_the_model_dtype_are_refused():
    data = _data()
    data["test_label"][2, 0] = 1e300                                      # finite in float64, inf in float32
    with pytest.raises(ValueError, match=r"test_label.*beyond the range of torch.float32.*: 2"):
        validate_dataset(data, 2, 1, dtype=torch.float32)
    assert validate_dataset(data, 2, 1, dtype=torch.float64)["test_label"][2, 0] == 1e300


def test_numpy_and_1d_values_are_converted():
    data = {k: v.numpy() for k, v in _data().items()}
    data["train_label"] = data["train_label"][:, 0]                       # (N,) labels become (N, 1)
    out = validate_dataset(data, 2, 1, dtype=torch.float32)
    assert all(isinstance(v, torch.Tensor) and v.dtype == torch.float32 for v in out.values())
    assert out["train_label"].shape == (6, 1)
    assert np.allclose(out["train_input"].numpy(), data["train_input"], atol=1e-7)


def test_boolean_values_are_refused():
    data = _data()
    data["train_label"] = torch.ones(6, 1, dtype=torch.bool)
    with pytest.raises(TypeError, match="train_label"):
        validate_dataset(data, 2, 1)
