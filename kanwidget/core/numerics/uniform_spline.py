"""B-spline bases on uniform knots: one polynomial for every interval, no table lookup per sample.

On equally spaced knots t_j = t_0 + j h every basis is a shifted copy of one cardinal B-spline, so the k+1
bases that are non-zero on an interval are the same k+1 polynomials of the local coordinate u in [0, 1)
whatever the interval. A sample's position s = (x - t_0) / h gives its interval j = floor(s) and u = s - j;
its k+1 live values (and slopes: the cardinal slopes times 1/h, folded into per-input coefficients) are the
cardinal polynomials evaluated at u (Horner's rule, k fused multiply-adds), and a scatter puts them into the
dense (N, I, M) layout at columns j-k .. j (`uniform_bases`; also one row per input, (I, N, M)). Samples
outside the knots are parked in padding columns that are cut off, so no mask is needed. `uniform_live` keeps
the k+1 values with their columns and no dense zeros (for layers that gather their weights instead).

The grids fit makes (`grid_eps=1`, the default) and refine keeps are uniform; spline.py checks each knot
tensor once and sends uniform ones here. Values equal the general path up to rounding (tests/core/test_spline.py).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

__all__ = ["LiveBases", "UniformKnots", "uniform_bases", "uniform_live"]

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
        # per input (K, I, 2K): the cardinal polynomials' values | slopes, the slopes already in x (times 1/h)
        per_input = cardinal.to(dtype=torch.float64, device=knots.device)[:, None, :].repeat(1, t.shape[0], 1)
        per_input[..., k + 1:] *= (1.0 / h)[None, :, None]
        self.cardinal = per_input.to(dtype).contiguous()
        self.cardinal_values = self.cardinal[..., :k + 1].contiguous()
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


class LiveBases(NamedTuple):
    """The k+1 non-zero bases of every sample of x (I, N), without the zeros around them.

    columns (I, N, K) long: where each value sits in a row of `n_columns` (basis m at column m + `first`;
    the columns outside first .. first + M - 1 hold parked samples and the partial supports at the ends,
    which a row of weights padded with zeros there ignores). values and slopes (d/dx) (I, N, K), NaN for
    non-finite samples.
    """
    columns: Tensor
    values: Tensor
    slopes: Tensor | None
    first: int
    n_columns: int


def _live(x: Tensor, knots: UniformKnots, need_derivative: bool,
          samples_last: bool) -> tuple[Tensor, Tensor, bool]:
    """(columns (*x.shape, K), live values | slopes (*x.shape, width*K), whether x is all finite)."""
    k = knots.k
    lead = x.shape
    # per-input constants broadcast along the samples' axis: (I,) for (N, I) data, (I, 1) for (I, N) data
    inv_h = knots.inv_h[:, None] if samples_last else knots.inv_h
    shift = knots.shift_plus_one[:, None] if samples_last else knots.shift_plus_one
    # position in intervals, counted from one interval left of t_0 (column 0 parks samples left of the knots,
    # column J + 1 those right of them: their values land in columns outside the M bases)
    s = torch.addcmul(shift, x, inv_h)
    s.nan_to_num_(nan=0.0, posinf=0.0, neginf=0.0).clamp_(0.0, knots.n_intervals + 1.0)
    j = s.floor()
    u = (s - j).unsqueeze(-1)
    # the k+1 live values (and slopes in x) by Horner's rule on the per-input cardinal coefficients
    coefficients = knots.cardinal if need_derivative else knots.cardinal_values          # (K, I, width*K)
    if samples_last:
        coefficients = coefficients.unsqueeze(2)                                         # (K, I, 1, width*K)
    live = coefficients[k].expand(*lead, -1)
    for d in range(k - 1, -1, -1):
        live = torch.addcmul(coefficients[d], u, live)
    # basis m = j - k + r of the r-th live value sits at column m + k + 1 (the slot j counts from t_0 - h)
    columns = j.to(torch.long).unsqueeze(-1) + knots.offsets                              # (*lead, K)
    finite = math.isfinite(float(x.sum())) or bool(torch.isfinite(x).all())            # one cheap check when finite
    return columns, live, finite


def uniform_live(x: Tensor, knots: UniformKnots, need_derivative: bool) -> LiveBases:
    """The non-zero bases (and slopes) of samples x (I, N) (one row per input) on uniform knots."""
    kk = knots.k + 1
    columns, live, finite = _live(x, knots, need_derivative, samples_last=True)
    if not finite:
        live = torch.where(torch.isfinite(x).unsqueeze(-1), live, torch.full_like(live, float("nan")))
    return LiveBases(columns, live[..., :kk], live[..., kk:] if need_derivative else None, kk,
                     knots.n_intervals + knots.k + 2)


def uniform_bases(x: Tensor, knots: UniformKnots, need_derivative: bool,
                  samples_last: bool = False) -> tuple[Tensor, Tensor | None]:
    """Dense bases (N, I, M) and, if asked, d B_m / dx (N, I, M) of samples x (N, I) on uniform knots.

    With samples_last, x is (I, N) (one row per input) and both results are (I, N, M). The results are
    views into one buffer (values and slopes interleaved), not contiguous tensors. Non-finite samples give
    a row of NaN for their input, as the general path does.
    """
    k, kk, m = knots.k, knots.k + 1, knots.n_bases
    lead = x.shape
    columns, live, finite = _live(x, knots, need_derivative, samples_last)
    width = 2 if need_derivative else 1
    out = x.new_zeros(*lead, width, knots.n_intervals + k + 2)
    out.scatter_(3, columns.unsqueeze(2).expand(*lead, width, kk), live.view(*lead, width, kk))
    dense = out[..., k + 1: k + 1 + m]
    if not finite:
        dense = torch.where(torch.isfinite(x)[:, :, None, None], dense, torch.full_like(dense, float("nan")))
    return dense[:, :, 0], (dense[:, :, 1] if need_derivative else None)
