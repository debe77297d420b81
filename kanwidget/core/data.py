"""Datasets: create_dataset (pykan-compatible dict of tensors) and validation for fit."""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from kanwidget.core.checks import check_int

DATASET_KEYS = ("train_input", "train_label", "test_input", "test_label")
MAX_VARIABLES = 100_000
MAX_SAMPLES = 10 ** 9       # values (rows x variables) create_dataset may sample


def _check_ranges(ranges: Any, n_var: int) -> Tensor:
    """ranges as an (n_var, 2) float64 tensor of finite [low, high] pairs with low < high."""
    try:
        r = torch.as_tensor(np.asarray(ranges, dtype=np.float64))
    except (TypeError, ValueError, OverflowError):
        raise TypeError(f"ranges must be [low, high] or {n_var} such pairs of numbers, got {ranges!r}") from None
    if r.shape == (2,):
        r = r.expand(n_var, 2)
    if r.shape != (n_var, 2) or not bool(torch.isfinite(r).all()) or not bool((r[:, 0] < r[:, 1]).all()):
        raise ValueError(f"ranges must be [low, high] or {n_var} such pairs of finite numbers with low < high, "
                         f"got {ranges!r}")
    return r


def create_dataset(f: Callable[[Tensor], Tensor], n_var: int = 2, ranges: Sequence[float] | Sequence[Sequence[float]] = (-1, 1),
                   train_num: int = 1000, test_num: int = 1000, seed: int = 0, device: torch.device | str = "cpu",
                   dtype: torch.dtype | None = None, f_mode: str = "col", normalize_input: bool = False,
                   normalize_label: bool = False) -> dict[str, Tensor]:
    """Sample inputs uniformly in `ranges` and label them with f.

    f takes an (N, n_var) tensor (f_mode="col") or its transpose (f_mode="row") and returns (N,) or (N, m).
    ranges is one [low, high] for all variables or one pair per variable.
    Returns {"train_input", "train_label", "test_input", "test_label"}.
    """
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    n_var = check_int("n_var", n_var, 1, MAX_VARIABLES)
    train_num = check_int("train_num", train_num, 1, MAX_SAMPLES)
    test_num = check_int("test_num", test_num, 1, MAX_SAMPLES)
    seed = check_int("seed", seed, -2 ** 63, 2 ** 64 - 1)
    if n_var * (train_num + test_num) > MAX_SAMPLES:
        raise ValueError(f"n_var * (train_num + test_num) = {n_var * (train_num + test_num)} values is above the "
                         f"limit of {MAX_SAMPLES}; lower train_num or test_num")
    if f_mode not in ("col", "row"):
        raise ValueError(f"f_mode must be 'col' or 'row', got {f_mode!r}")
    if dtype is not None and dtype not in (torch.float16, torch.bfloat16, torch.float32, torch.float64):
        raise TypeError(f"dtype must be a floating torch dtype (torch.float32, torch.float64, ...), got {dtype!r}")
    dtype = dtype or torch.get_default_dtype()
    r = _check_ranges(ranges, n_var)
    gen = torch.Generator().manual_seed(seed)
    lo, span = r[:, 0].to(dtype), (r[:, 1] - r[:, 0]).to(dtype)

    def sample(n: int) -> Tensor:
        return torch.rand(n, n_var, generator=gen, dtype=dtype) * span + lo

    x_train, x_test = sample(train_num), sample(test_num)

    def label(x: Tensor) -> Tensor:
        y = f(x) if f_mode == "col" else f(x.T)
        y = torch.as_tensor(y, dtype=dtype)
        if y.dim() == 1:
            y = y[:, None]
        if y.dim() != 2 or y.shape[0] != x.shape[0]:
            raise ValueError(f"f must return ({x.shape[0]},) or ({x.shape[0]}, m) values, got {tuple(y.shape)}")
        return y

    y_train, y_test = label(x_train), label(x_test)
    if normalize_input:
        mean, std = x_train.mean(0, keepdim=True), x_train.std(0, keepdim=True)
        x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    if normalize_label:
        mean, std = y_train.mean(0, keepdim=True), y_train.std(0, keepdim=True)
        y_train, y_test = (y_train - mean) / std, (y_test - mean) / std
    return {k: v.to(device) for k, v in zip(DATASET_KEYS, (x_train, y_train, x_test, y_test))}


def validate_dataset(dataset: Any, n_in: int, n_out: int, dtype: torch.dtype | None = None,
                     device: torch.device | str | None = None, class_labels: bool = False) -> dict[str, Tensor]:
    """Check keys, shapes and finiteness; return the four tensors converted to dtype/device.

    class_labels: 1-D integer labels are class indices in 0..n_out-1 (for a loss such as
    CrossEntropyLoss) and stay 1-D integers."""
    if not isinstance(dataset, dict):
        raise TypeError(f"dataset must be a dict with keys {', '.join(DATASET_KEYS)}, got {type(dataset).__name__}")
    missing = [k for k in DATASET_KEYS if k not in dataset]
    if missing:
        raise ValueError(f"dataset is missing key(s) {', '.join(missing)}; it needs {', '.join(DATASET_KEYS)}")
    out: dict[str, Tensor] = {}
    for key in DATASET_KEYS:
        value = dataset[key]
        if not isinstance(value, Tensor):
            try:
                value = torch.as_tensor(value)
            except Exception as exc:
                raise TypeError(f"dataset[{key!r}] must be a tensor, got {type(value).__name__}") from exc
        if class_labels and key.endswith("label") and value.dim() == 1 and not value.is_floating_point() \
                and value.dtype != torch.bool and not value.is_complex():
            if value.numel() == 0 or int(value.min()) < 0 or int(value.max()) >= n_out:
                raise ValueError(f"dataset[{key!r}] holds class indices outside 0..{n_out - 1} (width[-1] classes)")
            out[key] = value.to(device=device)
            continue
        if value.dim() == 1:
            value = value[:, None]
        want = n_in if key.endswith("input") else n_out
        role = "input features (width[0])" if key.endswith("input") else "outputs (width[-1])"
        if value.dim() != 2 or value.shape[1] != want:
            raise ValueError(f"dataset[{key!r}] has shape {tuple(value.shape)}, expected (N, {want}) to match "
                             f"the model's {want} {role}")
        if value.shape[0] == 0:
            raise ValueError(f"dataset[{key!r}] is empty")
        if value.dtype == torch.bool or value.is_complex():
            raise TypeError(f"dataset[{key!r}] must hold real numbers, got dtype {value.dtype}")
        converted = value.to(device=device, dtype=dtype or value.dtype)
        finite = torch.isfinite(converted).all(dim=1)
        if not bool(finite.all()):
            rows = torch.nonzero(~finite).flatten()
            shown = ", ".join(str(i) for i in rows[:5].tolist()) + (", ..." if len(rows) > 5 else "")
            beyond = "" if not bool(torch.isfinite(value).all()) else f" (values beyond the range of {converted.dtype})"
            raise ValueError(f"dataset[{key!r}] contains NaN or inf values{beyond} in {len(rows)} row(s): {shown}")
        out[key] = converted
    for split in ("train", "test"):
        if out[f"{split}_input"].shape[0] != out[f"{split}_label"].shape[0]:
            raise ValueError(f"{split}_input has {out[f'{split}_input'].shape[0]} rows but {split}_label has "
                             f"{out[f'{split}_label'].shape[0]}")
    return out
