"""Datasets: create_dataset (pykan-compatible dict of tensors) and validation for fit."""
from __future__ import annotations

from typing import Any, Callable, Sequence

import torch
from torch import Tensor

DATASET_KEYS = ("train_input", "train_label", "test_input", "test_label")


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
        raise TypeError("f must be callable")
    for name, value in (("n_var", n_var), ("train_num", train_num), ("test_num", test_num)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if f_mode not in ("col", "row"):
        raise ValueError(f"f_mode must be 'col' or 'row', got {f_mode!r}")
    dtype = dtype or torch.get_default_dtype()
    r = torch.as_tensor(ranges, dtype=torch.float64)
    if r.shape == (2,):
        r = r.expand(n_var, 2)
    if r.shape != (n_var, 2) or not bool((r[:, 0] < r[:, 1]).all()):
        raise ValueError(f"ranges must be [low, high] or {n_var} such pairs with low < high, got {ranges!r}")
    gen = torch.Generator().manual_seed(int(seed))
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
                     device: torch.device | str | None = None) -> dict[str, Tensor]:
    """Check keys, shapes and finiteness; return the four tensors converted to dtype/device."""
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
        if value.dim() == 1:
            value = value[:, None]
        want = n_in if key.endswith("input") else n_out
        role = "input features (width[0])" if key.endswith("input") else "outputs (width[-1])"
        if value.dim() != 2 or value.shape[1] != want:
            raise ValueError(f"dataset[{key!r}] has shape {tuple(value.shape)}, expected (N, {want}) to match "
                             f"the model's {want} {role}")
        if value.shape[0] == 0:
            raise ValueError(f"dataset[{key!r}] is empty")
        if not bool(torch.isfinite(value).all()):
            raise ValueError(f"dataset[{key!r}] contains NaN or inf values")
        out[key] = value.to(device=device, dtype=dtype or value.dtype)
    for split in ("train", "test"):
        if out[f"{split}_input"].shape[0] != out[f"{split}_label"].shape[0]:
            raise ValueError(f"{split}_input has {out[f'{split}_input'].shape[0]} rows but {split}_label has "
                             f"{out[f'{split}_label'].shape[0]}")
    return out
