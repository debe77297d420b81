"""The KAN constructor's arguments: base functions by name, and checks that name the argument."""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from kanwidget.core.checks import check_float, check_int
from kanwidget.core.network import limits, mult_nodes

# Default grid_eps: uniform grids (pykan's default is 0.02, nearly percentile grids). Uniform grids over the
# samples' range reach the KAN paper's grid-extension figures at every G (bench/bench_convergence.py); pass
# grid_eps=0.02 for pykan's grids. docs/PYKAN.md lists the difference.
GRID_EPS = 1.0

BASE_FUNCTIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "silu": nn.functional.silu,
    "identity": lambda x: x,
    "zero": torch.zeros_like,
}


def parse_width(width: Sequence[Any], mult_arity: Any = 2) -> tuple[list[int], list[tuple[int, ...]]]:
    """(total nodes per level, multiplication nodes' arities per level) from [2, 5, 1], pykan's
    [[2, 0], [5, 0], [1, 0]] or [2, [0, 1], 1] with mult_arity; Python or numpy ints (see mult_nodes)."""
    return mult_nodes.parse_width(width, mult_arity)


def check_dtype(dtype: Any) -> torch.dtype:
    if dtype is None:
        return torch.get_default_dtype()
    if dtype not in limits.FLOAT_DTYPES.values():
        raise TypeError(f"dtype must be one of torch.{', torch.'.join(limits.FLOAT_DTYPES)}, got {dtype!r}")
    return dtype


def check_names(name: str, names: Any) -> None:
    if names is not None and (isinstance(names, (str, bytes)) or not isinstance(names, Sequence)):
        raise TypeError(f"{name} must be a list of names, got {names!r}")


def check_options(grid: Any, k: Any, seed: Any, noise_scale: Any, scale_base_mu: Any, scale_base_sigma: Any,
                   grid_eps: Any, grid_range: Any, base_fun: Any) -> dict[str, Any]:
    """The constructor's numbers as plain Python values; errors name the argument."""
    grid_range = check_range(grid_range)
    if not isinstance(base_fun, str) or base_fun not in BASE_FUNCTIONS:
        raise ValueError(f"unknown base_fun {base_fun!r}; valid: {', '.join(BASE_FUNCTIONS)}")
    return dict(grid=check_int("grid", grid, 1, limits.MAX_GRID), k=check_int("k", k, 1, limits.MAX_K),
                seed=check_int("seed", seed, -2 ** 63, 2 ** 64 - 1),
                noise_scale=check_float("noise_scale", noise_scale, 0.0),
                scale_base_mu=check_float("scale_base_mu", scale_base_mu),
                scale_base_sigma=check_float("scale_base_sigma", scale_base_sigma, 0.0),
                grid_eps=check_float("grid_eps", grid_eps, 0.0, 1.0), grid_range=grid_range, base_fun=base_fun)


def check_range(grid_range: Any) -> list[float]:
    if isinstance(grid_range, (str, bytes)) or not isinstance(grid_range, (Sequence, np.ndarray)) \
            or len(grid_range) != 2:
        raise TypeError(f"grid_range must be (low, high), got {grid_range!r}")
    low, high = check_float("grid_range[0]", grid_range[0]), check_float("grid_range[1]", grid_range[1])
    if not low < high:
        raise ValueError(f"grid_range must be (low, high) with low < high, got {tuple(grid_range)!r}")
    return [low, high]


def non_finite_rows(x: Tensor) -> str:
    bad = torch.nonzero(~torch.isfinite(x).all(dim=1)).flatten()
    shown = ", ".join(str(i) for i in bad[:5].tolist())
    return f"row {shown}" if len(bad) == 1 else f"{len(bad)} rows ({shown}{', ...' if len(bad) > 5 else ''})"
