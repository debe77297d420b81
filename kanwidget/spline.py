"""pykan's `kan.spline` names on kanwidget's B-spline numerics (argument order and shapes as in pykan 0.2.8).

    x      (batch, in_dim)           samples
    grid   (in_dim, G + 2k + 1)      extended knots (one row is shared by every input)
    bases  (batch, in_dim, G + k)    `B_batch`
    coef   (in_dim, out_dim, G + k)  `curve2coef`; `coef2curve` gives (batch, in_dim, out_dim)

The bases are kanwidget's (`kanwidget.core.numerics.spline`: fast per-knot tables, analytic gradients
with respect to x).
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from kanwidget.core.checks import check_int
from kanwidget.core.numerics import spline as _numerics

__all__ = ["B_batch", "extend_grid", "coef2curve", "curve2coef"]


def _as_2d(name: str, value: Any) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"{name} must be a 2-D torch tensor, got {type(value).__name__}")
    if value.dim() != 2:
        raise ValueError(f"{name} must be 2-D, got shape {tuple(value.shape)}")
    if not value.is_floating_point():
        value = value.to(torch.get_default_dtype())
    return value


def _grid_rows(x: Tensor, grid: Tensor) -> Tensor:
    """The grid with one row per input of x (a single row is shared by every input, as in pykan)."""
    if grid.shape[0] == x.shape[1]:
        return grid
    if grid.shape[0] == 1:
        return grid.expand(x.shape[1], -1)
    raise ValueError(f"grid has {grid.shape[0]} rows but x has {x.shape[1]} inputs; give one row per input "
                     f"or one row for all")


def B_batch(x: Tensor, grid: Tensor, k: int = 0, extend: bool = True, device: Any = "cpu") -> Tensor:
    """B-spline bases of order k: x (batch, in_dim), grid (in_dim or 1, T) -> (batch, in_dim, T - k - 1).

    Bases are zero outside the knots, and zero (as in pykan) for non-finite x. `extend` and `device`
    are accepted for pykan's signature and not used (the result lives on x's device).
    """
    x, grid = _as_2d("x", x), _as_2d("grid", grid)
    k = check_int("k", k, 0)
    if grid.shape[1] < k + 2:
        raise ValueError(f"grid has {grid.shape[1]} knots per row; order k={k} needs at least {k + 2}")
    if grid.shape[0] == 1 and x.shape[1] != 1:
        # one knot row for all inputs: evaluate every value as one input, then restore the shape
        flat = x.reshape(-1, 1)
        bases = _numerics.bspline_basis(flat, grid, k).reshape(x.shape[0], x.shape[1], -1)
    else:
        bases = _numerics.bspline_basis(x, _grid_rows(x, grid), k)
    return torch.nan_to_num(bases, nan=0.0)


def extend_grid(grid: Tensor, k_extend: int = 0) -> Tensor:
    """Add k_extend knots on each side of every row of grid, spaced like the row's mean interval."""
    grid = _as_2d("grid", grid)
    k_extend = check_int("k_extend", k_extend, 0)
    if grid.shape[1] < 2:
        raise ValueError(f"grid needs at least 2 points per row, got shape {tuple(grid.shape)}")
    return _numerics.extend_grid(grid, k_extend)


def coef2curve(x_eval: Tensor, grid: Tensor, coef: Tensor, k: int, device: Any = "cpu") -> Tensor:
    """Evaluate every edge's spline sum_m coef[i, o, m] B_m(x_i): returns (batch, in_dim, out_dim)."""
    bases = B_batch(x_eval, grid, k)
    if not isinstance(coef, Tensor) or coef.dim() != 3 or coef.shape[0] != bases.shape[1] \
            or coef.shape[2] != bases.shape[2]:
        shape = tuple(coef.shape) if isinstance(coef, Tensor) else type(coef).__name__
        raise ValueError(f"coef must have shape (in_dim={bases.shape[1]}, out_dim, {bases.shape[2]}), got {shape}")
    return torch.einsum("nim,iom->nio", bases, coef.to(device=bases.device, dtype=bases.dtype))


def curve2coef(x_eval: Tensor, y_eval: Tensor, grid: Tensor, k: int) -> Tensor:
    """Least-squares coefficients (in_dim, out_dim, G + k) so that the splines through grid match
    y_eval (batch, in_dim, out_dim) at x_eval (batch, in_dim).

    Plain least squares in float64 (torch.linalg.lstsq, as pykan), so exact spline data is recovered exactly.
    """
    x_eval, grid = _as_2d("x_eval", x_eval), _as_2d("grid", grid)
    k = check_int("k", k, 0)
    if not isinstance(y_eval, Tensor) or y_eval.dim() != 3 or tuple(y_eval.shape[:2]) != tuple(x_eval.shape):
        shape = tuple(y_eval.shape) if isinstance(y_eval, Tensor) else type(y_eval).__name__
        raise ValueError(f"y_eval must have shape (batch={x_eval.shape[0]}, in_dim={x_eval.shape[1]}, out_dim), "
                         f"got {shape}")
    bases = B_batch(x_eval, grid, k).double()                              # (batch, in_dim, M)
    solution = torch.linalg.lstsq(bases.permute(1, 0, 2), y_eval.double().permute(1, 0, 2)).solution
    return solution.permute(0, 2, 1).to(x_eval.dtype).contiguous()         # (in_dim, out_dim, M)
