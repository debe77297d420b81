"""B-spline bases on uniform knots: one polynomial for every interval, no table lookup per sample.

On equally spaced knots t_j = t_0 + j h every basis is a shifted copy of one cardinal B-spline, so the k+1
bases that are non-zero on an interval are the same k+1 polynomials of the local coordinate u in [0, 1)
whatever the interval. A sample's position s = (x - t_0) / h gives its interval j = floor(s) and u = s - j;
its k+1 live values (and slopes, times 1/h) are the cardinal polynomials evaluated at u (Horner's rule, k
fused multiply-adds), and a scatter puts them into the dense (N, I, M) layout at columns j-k .. j. Samples
outside the knots are parked in padding columns that are cut off, so no mask is needed.

The grids fit makes (`grid_eps=1`, the default) and refine keeps are uniform; spline.py checks each knot
tensor once and sends uniform ones here. Values equal the general path up to rounding (tests/core/test_spline.py).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["UniformKnots", "uniform_bases"]

#: knots count as uniform when every spacing is within SPACING_ULPS rounding units of the largest knot of the
#: mean spacing (a grid made by linspace is). Only float64: in float32 both the position s = (x - t_0)/h (up to
#: J) and the knots' own deviation from an ideal grid (a few ulps of |t| over h) cost up to eps * J, more than the
#: general path's local coordinate on fine grids (measured: 3-6e-6 at J = 100, even with s in float64, vs 1e-7);
#: other dtypes take the general path
SPACING_ULPS = 8


class UniformKnots:
    """What the uniform path needs of one knot tensor (I, T): per input 1/h and 1 - t_0/h, and the sizes."""

    def __init__(self, knots: Tensor, k: int, cardinal: Tensor, dtype: torch.dtype) -> None:
        t = knots.detach().to(torch.float64)
        h = (t[:, -1] - t[:, 0]) / (t.shape[1] - 1)
        self.k = k
        self.n_intervals = t.shape[1] - 1                         # J = G + 2k
        self.n_bases = t.shape[1] - k - 1                         # M = G + k
        self.inv_h = (1.0 / h).to(dtype)
        self.shift_plus_one = (1.0 - t[:, 0] / h).to(dtype)
        self.cardinal = cardinal.to(dtype=dtype, device=knots.device)     # (K, 2K): values | slopes in u
        self.cardinal_values = self.cardinal[:, :k + 1].contiguous()
        self.offsets = torch.arange(k + 1, device=knots.device)

    @staticmethod
    def applies(knots: Tensor) -> bool:
        """Whether every input's knots are increasing and equally spaced up to rounding (SPACING_ULPS)."""
        if knots.dtype != torch.float64:
            return False
        t = knots.detach().to(torch.float64)
        tolerance = SPACING_ULPS * torch.finfo(knots.dtype).eps * float(t.abs().max()) if t.numel() else 0.0
        if t.shape[1] < 2:
            return False
        spacing = t[:, 1:] - t[:, :-1]
        mean = spacing.mean(1, keepdim=True)
        return bool((mean > 0).all()) and bool(((spacing - mean).abs() <= tolerance).all())


def uniform_bases(x: Tensor, knots: UniformKnots, need_derivative: bool) -> tuple[Tensor, Tensor | None]:
    """Dense bases (N, I, M) and, if asked, d B_m / dx (N, I, M) of samples x (N, I) on uniform knots.

    Non-finite samples give a row of NaN for their input, as the general path does.
    """
    n, n_in = x.shape
    k, kk, m = knots.k, knots.k + 1, knots.n_bases
    # position in intervals, counted from one interval left of t_0 (column 0 parks samples left of the knots,
    # column J + 1 those right of them: their values land in columns that are cut off below)
    s = torch.addcmul(knots.shift_plus_one, x, knots.inv_h)
    s.nan_to_num_(nan=0.0, posinf=0.0, neginf=0.0).clamp_(0.0, knots.n_intervals + 1.0)
    j = s.floor()
    u = (s - j).unsqueeze(-1)
    # the k+1 live values (and slopes in u) by Horner's rule on the cardinal coefficients: (N, I, width*K)
    coefficients = knots.cardinal if need_derivative else knots.cardinal_values
    live = coefficients[k].expand(n, n_in, -1)
    for d in range(k - 1, -1, -1):
        live = torch.addcmul(coefficients[d], u, live)
    width = 2 if need_derivative else 1
    # basis m = j - k + r of the r-th live value sits at column m + k + 1 (the slot j counts from t_0 - h)
    index = j.to(torch.long).unsqueeze(-1) + knots.offsets                                # (N, I, K)
    out = x.new_zeros(n, n_in, width, knots.n_intervals + k + 2)
    out.scatter_(3, index.unsqueeze(2).expand(n, n_in, width, kk), live.view(n, n_in, width, kk))
    dense = out[..., k + 1: k + 1 + m]
    if not math.isfinite(float(x.sum())) and not bool(torch.isfinite(x).all()):   # one cheap check when finite
        dense = torch.where(torch.isfinite(x)[:, :, None, None], dense, torch.full_like(dense, float("nan")))
    if need_derivative:
        return dense[:, :, 0], dense[:, :, 1] * knots.inv_h[:, None]
    return dense[:, :, 0], None
