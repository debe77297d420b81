"""The plain Cox-de Boor recursion: the readable definition that the fast tables in `spline.py` compile.

`spline.bspline_basis` evaluates the same bases from per-interval polynomial tables (fast, cached);
this module states them directly, on every knot, with no tables and no caching. Use it to check
the fast path, or to read what a basis is. Costs O(N * I * T * k) time and memory: not for training.

Definitions (half-open intervals, so a basis is zero at the right end of its support):

    B_{m,0}(x) = 1 if t_m <= x < t_{m+1} else 0
    B_{m,p}(x) = (x - t_m) / (t_{m+p} - t_m) * B_{m,p-1}(x)
               + (t_{m+p+1} - x) / (t_{m+p+1} - t_{m+1}) * B_{m+1,p-1}(x)
    d/dx B_{m,p}(x) = p / (t_{m+p} - t_m) * B_{m,p-1}(x) - p / (t_{m+p+1} - t_{m+1}) * B_{m+1,p-1}(x)

with any term whose denominator is zero (repeated knots) taken as 0.
"""
from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["bspline_basis_reference", "bspline_derivative_reference"]


def _ratio(num: Tensor, den: Tensor) -> Tensor:
    """num / den, and 0 where den == 0 (the convention for repeated knots)."""
    safe = torch.where(den > 0, den, torch.ones_like(den))
    return torch.where(den > 0, num / safe, torch.zeros_like(num))


def _bases_up_to(x: Tensor, knots: Tensor, k: int) -> list[Tensor]:
    """[B_{., 0}, ..., B_{., k}]: entry p has shape (N, I, T-p-1)."""
    t = knots.unsqueeze(0)                                           # (1, I, T)
    xx = x.unsqueeze(-1)                                             # (N, I, 1)
    levels = [((xx >= t[..., :-1]) & (xx < t[..., 1:])).to(x.dtype)]
    for p in range(1, k + 1):
        b = levels[-1]
        left = _ratio(xx - t[..., :-p - 1], t[..., p:-1] - t[..., :-p - 1])
        right = _ratio(t[..., p + 1:] - xx, t[..., p + 1:] - t[..., 1:-p])
        levels.append(left * b[..., :-1] + right * b[..., 1:])
    return levels


def bspline_basis_reference(x: Tensor, knots: Tensor, k: int) -> Tensor:
    """B-spline bases of order k by the Cox-de Boor recursion: (N, I) samples, (I, T) knots -> (N, I, T-k-1).

    Same signature, shape and conventions as `spline.bspline_basis` (zero outside the knots);
    differentiable in x through plain autograd.
    """
    x, knots = _promote(x, knots)
    return _bases_up_to(x, knots, k)[k]


def bspline_derivative_reference(x: Tensor, knots: Tensor, k: int) -> Tensor:
    """d B_m(x_i) / d x_i from the textbook derivative formula (order k-1 bases), (N, I, T-k-1)."""
    x, knots = _promote(x, knots)
    if k == 0:
        return torch.zeros(x.shape[0], x.shape[1], knots.shape[1] - 1, dtype=x.dtype, device=x.device)
    lower = _bases_up_to(x, knots, k - 1)[k - 1]                     # (N, I, T-k)
    t = knots.unsqueeze(0)
    left = _ratio(torch.full_like(t[..., k:-1], float(k)), t[..., k:-1] - t[..., :-k - 1])
    right = _ratio(torch.full_like(t[..., k + 1:], float(k)), t[..., k + 1:] - t[..., 1:-k])
    return left * lower[..., :-1] - right * lower[..., 1:]


def _promote(x: Tensor, knots: Tensor) -> tuple[Tensor, Tensor]:
    dtype = torch.promote_types(x.dtype, knots.dtype)
    return x.to(dtype), knots.to(dtype)
