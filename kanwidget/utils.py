"""pykan's `kan.utils` names that its tutorials use, on kanwidget's core.

`create_dataset` takes pykan's argument order; `add_symbolic` takes both pykan's form
`add_symbolic(name, fun, c=1)` and kanwidget's `add_symbolic(name, torch_fn, sympy_fn, complexity)`;
`create_dataset_from_data` is deterministic (`seed`); `fit_params` fits y ~ c*fun(a*x+b)+d.
"""
from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any, Callable, Sequence

import torch
from torch import Tensor

from kanwidget.core import data as _data
from kanwidget.core.checks import check_float, check_int
from kanwidget.core.lazy import LazyModule
from kanwidget.core.numerics.symbolic import SYMBOLIC_LIB, SymbolicFunction, fit_affine_batched
from kanwidget.core.numerics.symbolic import add_symbolic as _register
from kanwidget.core.operations.formula import ex_round

if TYPE_CHECKING:
    import sympy
else:
    sympy = LazyModule("sympy")

__all__ = ["create_dataset", "create_dataset_from_data", "ex_round", "SYMBOLIC_LIB", "add_symbolic", "fit_params"]


def create_dataset(f: Callable[[Tensor], Tensor], n_var: int = 2, f_mode: str = "col",
                   ranges: Sequence[float] | Sequence[Sequence[float]] = (-1, 1), train_num: int = 1000,
                   test_num: int = 1000, normalize_input: bool = False, normalize_label: bool = False,
                   device: torch.device | str = "cpu", seed: int = 0,
                   dtype: torch.dtype | None = None) -> dict[str, Tensor]:
    """Sample inputs uniformly in `ranges`, label them with f; pykan's argument order.

    Returns {"train_input", "train_label", "test_input", "test_label"} (labels (N, m)). Unlike pykan it
    draws from its own generator seeded with `seed`, leaving torch's and numpy's global RNGs alone.
    """
    return _data.create_dataset(f, n_var=n_var, ranges=ranges, train_num=train_num, test_num=test_num, seed=seed,
                                device=device, dtype=dtype, f_mode=f_mode, normalize_input=normalize_input,
                                normalize_label=normalize_label)


def create_dataset_from_data(inputs: Any, labels: Any, train_ratio: float = 0.8, device: torch.device | str = "cpu",
                             seed: int = 0) -> dict[str, Tensor]:
    """Split (inputs, labels) at random into train (train_ratio) and test samples: pykan's dataset dict.

    The split is drawn from a generator seeded with `seed` (pykan uses numpy's global RNG).
    """
    x, y = torch.as_tensor(inputs), torch.as_tensor(labels)
    if x.dim() == 1:
        x = x[:, None]
    if y.dim() == 1:
        y = y[:, None]
    if x.dim() != 2 or y.dim() != 2 or x.shape[0] != y.shape[0]:
        raise ValueError(f"inputs and labels must be (N, n_in) and (N, n_out) with the same N, "
                         f"got {tuple(x.shape)} and {tuple(y.shape)}")
    train_ratio = check_float("train_ratio", train_ratio, 0.0, 1.0, low_open=True, high_open=True)
    seed = check_int("seed", seed, -2 ** 63, 2 ** 64 - 1)
    n = x.shape[0]
    n_train = int(n * train_ratio)
    if n_train < 1 or n_train >= n:
        raise ValueError(f"train_ratio={train_ratio} leaves no train or no test sample out of {n}")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    train_id, test_id = order[:n_train], order[n_train:].sort().values
    return {"train_input": x[train_id].detach().to(device), "test_input": x[test_id].detach().to(device),
            "train_label": y[train_id].detach().to(device), "test_label": y[test_id].detach().to(device)}


def add_symbolic(name: str, fun: Callable[[Tensor], Tensor], sympy_fn: Any = None, complexity: int | None = None,
                 overwrite: bool = False, *, c: int | None = None, fun_singularity: Any = None) -> SymbolicFunction:
    """Register a function in SYMBOLIC_LIB; returns it.

    pykan's form `add_symbolic("J0", torch.special.bessel_j0, c=1)` (or a number as the third argument)
    names the sympy side `sympy.Function(name)`; kanwidget's form passes a sympy function as the third
    argument and the complexity as the fourth. `fun_singularity` (pykan) is accepted and not needed:
    fits evaluate `fun` directly. An existing name raises ValueError unless overwrite=True.
    """
    if isinstance(sympy_fn, numbers.Number) and not isinstance(sympy_fn, bool):
        if c is not None or complexity is not None:
            raise TypeError("complexity given twice: pass it as the third argument or as c=, not both")
        c, sympy_fn = sympy_fn, None
    if c is not None and complexity is not None:
        raise TypeError("give complexity or pykan's c=, not both")
    complexity = c if c is not None else complexity
    if sympy_fn is None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"name must be a non-empty string, got {name!r}")
        sympy_fn = sympy.Function(name)
        complexity = 1 if complexity is None else complexity   # pykan's default c=1
    return _register(name, fun, sympy_fn, 2 if complexity is None else complexity, overwrite=overwrite)


def fit_params(x: Tensor, y: Tensor, fun: Callable[[Tensor], Tensor], a_range: tuple[float, float] = (-10, 10),
               b_range: tuple[float, float] = (-10, 10), grid_number: int = 101, iteration: int = 3,
               verbose: bool = True, device: torch.device | str = "cpu") -> tuple[Tensor, Tensor]:
    """Fit y ~ c*fun(a*x+b)+d on 1-D x, y; returns (tensor([a, b, c, d]), r2) as pykan does."""
    if not isinstance(x, Tensor) or not isinstance(y, Tensor) or x.dim() != 1 or x.shape != y.shape:
        raise ValueError("x and y must be 1-D tensors of the same length")
    if not callable(fun):
        raise TypeError(f"fun must be a callable torch function, got {type(fun).__name__}")
    candidate = SymbolicFunction("fun", fun, lambda e: e, 1)
    fit = fit_affine_batched(x, y, [candidate], a_range=tuple(a_range), b_range=tuple(b_range),
                             grid_number=check_int("grid_number", grid_number, 2),
                             iterations=check_int("iteration", iteration, 0))
    params, r2 = fit.params[0, 0].to(device), fit.r2[0, 0].to(device)
    if verbose:
        print(f"r2 is {float(r2)}")
        if float(r2) < 0.9:
            print("r2 is not very high, please double check if you are choosing the correct symbolic function.")
    return params, r2

