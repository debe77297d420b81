"""Per-knot tables of the B-spline bases (spline.py's general path) and the cache that keeps them.

Once per knot tensor (cached until it is modified in place, and by its values) we build, in float64 from the
Cox-de Boor recursion run on polynomials, a table with K = k+1 rows per (input, interval): row d holds the
coefficient of u^d for all M bases (zero off the interval's k+1 live ones, and zero for bases whose index
falls outside 0..M-1 in the extension region). Two extra "intervals" per input, left of t_0 and right of
t_last, are all zero, so no sample needs a special case. With the table comes an interval locator: a
per-input bucket table whose buckets hold at most one knot, or the knots themselves for `searchsorted`.
Equally spaced knots also get uniform_spline.UniformKnots, and their general table is built only if asked
for (`_KnotTables.general`).
"""
from __future__ import annotations

import math
import threading
import weakref
from dataclasses import dataclass

import torch
from torch import Tensor

from kanwidget.core.numerics.uniform_spline import UniformKnots

# A bucket table is used to locate intervals when every bucket (width <= 1/3 of the smallest knot
# spacing) holds at most one knot, and it has at most this many buckets per input.
_MAX_BUCKETS = 4096
_BUCKETS_PER_SPACING = 3          # bucket width = min spacing / 3
_BUCKET_MARGIN = 0.25             # in buckets: tolerated rounding error of the bucket coordinate


@dataclass
class _Table:
    n_rows: int           # R rows per input: 0 = left of t_0, 1 + j = interval j, T = right of t_last
    k: int
    n_bases: int          # M
    # Index r4 = K * (i*R + row) + d addresses degree d (K = k+1) of one (input, interval) row.
    values: Tensor        # (I*R*K, M): dense coefficients of u^d for the M bases (zero off the k+1 live ones)
    slopes: Tensor        # (I*R*K, M): the same for d B / dx (degree k row is zero)
    origin: Tensor        # (I*R*K, 2): [left knot, 1 / interval width] (repeated K times per row)
    # interval location: bucket table, or searchsorted over the knots
    scale: Tensor | None = None          # (I,) 1 / bucket width
    shift: Tensor | None = None          # (I,) bucket coordinate offset, input i's buckets are i*B .. i*B+B-1
    lo: Tensor | None = None             # (I,) i*B, as floats
    hi: Tensor | None = None             # (I,) i*B + B - 1, as floats
    n_buckets: int = 0                   # I * B
    bucket_row: Tensor | None = None     # (I*B,) long, K * flat row at the bucket's start (minus the margin)
    bucket_split: Tensor | None = None   # (I*B,) the one knot inside the (widened) bucket, or NaN
    knots: Tensor | None = None          # (I, T) for the searchsorted path
    row_offset: Tensor | None = None     # (I, 1) long, K * i * R
    values_and_slopes: Tensor | None = None  # (I*R*K, 2M): both, for one bag call when both are needed


def _poly_times_linear(c: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """(a + b u) * c(u) for polynomials c (..., deg+1) in ascending powers (top coefficient dropped)."""
    out = c * a.unsqueeze(-1)
    out[..., 1:] += c[..., :-1] * b.unsqueeze(-1)
    return out


def _build_table(knots: Tensor, k: int, dtype: torch.dtype) -> _Table:
    """Power-basis coefficients of the k+1 non-zero bases on every knot interval, plus a locator."""
    t = knots.detach().to(torch.float64)
    n_in, n_knots = t.shape
    n_bases = n_knots - k - 1
    n_int = n_knots - 1                                                   # J real intervals
    dev = t.device
    span = (t[:, -1] - t[:, 0]).clamp_min(0.0)
    h_pad = torch.where(span > 0, span / max(n_int, 1), torch.ones_like(span))[:, None]
    steps = torch.arange(1, k + 1, dtype=t.dtype, device=dev)
    padded = torch.cat([t[:, :1] - h_pad * steps.flip(0), t, t[:, -1:] + h_pad * steps], dim=1)  # (I, T+2k)
    # window of interval j: padded[j .. j+2k+1] = t_{j-k} .. t_{j+k+1}
    win = padded.unfold(1, 2 * k + 2, 1)[:, :n_int]                     # (I, J, 2k+2)
    left = t[:, :n_int]
    width = t[:, 1:] - left                                              # (I, J)
    live = width > 0
    rr = torch.arange(k + 1, device=dev)
    # coef[..., r, d]: basis m = j-k+r, coefficient of u^d
    coef = torch.zeros(n_in, n_int, k + 1, k + 1, dtype=t.dtype, device=dev)
    coef[:, :, k, 0] = live.to(t.dtype)
    for p in range(1, k + 1):
        def weight(offset: int) -> tuple[Tensor, Tensor]:
            # w_{m,p}(u) = (t_j + width*u - t_m) / (t_{m+p} - t_m) for m = j-k+r+offset, as a + b u
            lo = win[..., rr + offset]
            hi = win[..., rr + offset + p]
            d = hi - lo
            inv = torch.where(d > 0, 1.0 / torch.where(d > 0, d, torch.ones_like(d)), torch.zeros_like(d))
            return (left.unsqueeze(-1) - lo) * inv, width.unsqueeze(-1) * inv
        a0, b0 = weight(0)
        a1, b1 = weight(1)
        shifted = torch.zeros_like(coef)
        shifted[:, :, :k] = coef[:, :, 1:]
        coef = _poly_times_linear(coef, a0, b0) + _poly_times_linear(shifted, 1.0 - a1, -b1)
    m_idx = torch.arange(n_int, device=dev)[:, None] - k + rr[None, :]   # (J, k+1) basis index
    valid = (m_idx >= 0) & (m_idx < n_bases)
    coef = coef * valid[None, :, :, None].to(coef.dtype)
    inv_width = torch.where(live, 1.0 / torch.where(live, width, torch.ones_like(width)), torch.zeros_like(width))
    # derivative in x: d/dx = (1/width) d/du
    powers = torch.arange(1, k + 1, dtype=t.dtype, device=dev)
    dcoef = coef[..., 1:] * powers * inv_width[..., None, None]          # (I, J, k+1, k)
    n_rows = n_int + 2
    kk = k + 1
    # dense per-degree tables: values[i, row, d, m] = coefficient of u^d of basis m on that row's interval
    cols = m_idx.clamp(0, max(n_bases - 1, 0))                            # (J, K); invalid ones carry 0 coef
    values = torch.zeros(n_in, n_rows, kk, n_bases, dtype=t.dtype, device=dev)
    slopes = torch.zeros(n_in, n_rows, kk, n_bases, dtype=t.dtype, device=dev)
    index = cols[None, :, None, :].expand(n_in, n_int, kk, kk)
    values[:, 1:-1].scatter_add_(3, index, coef.transpose(-1, -2).contiguous())          # (I, J, d, r)
    slopes[:, 1:-1, :k].scatter_add_(3, index[:, :, :k], dcoef.transpose(-1, -2).contiguous())
    origin = torch.zeros(n_in, n_rows, 2, dtype=t.dtype, device=dev)
    origin[:, 1:-1, 0] = left
    origin[:, 1:-1, 1] = inv_width
    table = _Table(n_rows=n_rows, k=k, n_bases=n_bases,
                   values=values.reshape(-1, n_bases).to(dtype).contiguous(),
                   slopes=slopes.reshape(-1, n_bases).to(dtype).contiguous(),
                   origin=origin.unsqueeze(2).expand(-1, -1, kk, -1).reshape(-1, 2).to(dtype).contiguous())
    table.row_offset = (torch.arange(n_in, device=dev) * (n_rows * kk)).unsqueeze(1)

    # ---- interval locator: buckets of width <= min spacing / 3 hold at most one knot each
    spacing = t[:, 1:] - t[:, :-1]
    min_sp = spacing.min(dim=1).values if n_int > 0 else span
    use_buckets = n_int > 0 and bool((min_sp > 0).all())
    if use_buckets:
        bw = min_sp / _BUCKETS_PER_SPACING                                # (I,)
        n_b = int(torch.ceil(span / bw).max().item()) + 3
        reach = (t.abs().max(dim=1).values / bw).max().item() + n_b * (n_in + 1)   # size of the bucket coordinate
        eps = torch.finfo(dtype).eps
        use_buckets = n_b <= _MAX_BUCKETS and reach * eps * 8 < _BUCKET_MARGIN
    if use_buckets:
        origin_b = t[:, 0] - bw                                          # bucket 0 starts one bucket before t_0
        starts = origin_b[:, None] + bw[:, None] * torch.arange(n_b, dtype=t.dtype, device=dev)  # (I, B)
        probe = starts - _BUCKET_MARGIN * bw[:, None]
        before = torch.searchsorted(t.contiguous(), probe.contiguous(), right=True)  # knots <= probe: (I, B)
        # NaN where no knot follows: `x >= NaN` is False even for x = +inf, which lands in the last bucket
        # (its row is already "right of t_last"); +inf there would step one row past the input's table.
        split = torch.where(before < n_knots, t.gather(1, before.clamp_max(n_knots - 1)),
                            torch.full_like(probe, math.nan))
        first = torch.arange(n_in, device=dev, dtype=t.dtype) * n_b
        table.scale = (1.0 / bw).to(dtype)
        table.shift = (first - origin_b / bw).to(dtype)
        table.lo = first.to(dtype)
        table.hi = (first + n_b - 1).to(dtype)
        table.n_buckets = n_in * n_b
        table.bucket_row = (before * kk + table.row_offset).reshape(-1).contiguous()   # row = j + 1 = before
        table.bucket_split = split.to(dtype).reshape(-1).contiguous()
    else:
        table.knots = knots.detach().to(dtype).contiguous()
    return table


_CARDINAL: dict[int, Tensor] = {}


def _cardinal(k: int) -> Tensor:
    """(K, 2K) float64: coefficients of u^d (rows) of the k+1 live bases' values and slopes (columns) on one
    interval of unit-spaced knots (the middle interval of 0, 1, ..., 2k+1, where all k+1 are live)."""
    if k not in _CARDINAL:
        table = _build_table(torch.arange(2 * k + 2, dtype=torch.float64)[None], k, torch.float64)
        kk = k + 1
        values = table.values.view(table.n_rows, kk, -1)[1 + k, :, :kk]
        slopes = table.slopes.view(table.n_rows, kk, -1)[1 + k, :, :kk]
        _CARDINAL[k] = torch.cat([values, slopes], dim=1).contiguous()
    return _CARDINAL[k]


class _KnotTables:
    """What the bases need of one knot tensor: the uniform path's constants when its knots are equally spaced,
    and the general table, built on first use (the uniform path never needs it; a grid update makes new knots
    ten times per fit)."""

    def __init__(self, knots: Tensor, k: int, dtype: torch.dtype) -> None:
        self._knots = knots.detach().clone()             # the knots may be changed in place later
        self._k, self._dtype = k, dtype
        self._general: _Table | None = None
        n_in, n_knots = knots.shape
        self.uniform: UniformKnots | None = None           # uniform_spline.py's path
        if k >= 1 and n_in > 0 and n_knots - 1 > 2 * k and UniformKnots.applies(knots):
            self.uniform = UniformKnots(knots, k, _cardinal(k), dtype)

    @property
    def general(self) -> _Table:
        """The table of power-basis coefficients and interval locator (`_build_table`)."""
        if self._general is None:
            self._general = _build_table(self._knots, self._k, self._dtype)
        return self._general


_CACHE: dict[tuple, tuple[weakref.ref, int, _KnotTables]] = {}
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 64


_BY_VALUE: dict[tuple, _KnotTables] = {}  # the same knot values in another tensor (a grid update copies them)
_BY_VALUE_SIZE = 16                      # a few per layer are live at a time; tables of wide layers are ~1 MB


def _table_for(knots: Tensor, k: int, dtype: torch.dtype) -> _KnotTables:
    """The table of `knots`, cached while that tensor exists and is not modified in place, and by the knots'
    values (a grid update computes new knots, fits the coefficients on them, then copies them into the
    layer's grid: one table build instead of one per tensor)."""
    try:
        version = knots._version
    except RuntimeError:                                                 # inference tensors have no version
        return _KnotTables(knots, k, dtype)
    key = (id(knots), k, dtype)
    hit = _CACHE.get(key)
    if hit is not None and hit[0]() is knots and hit[1] == version:
        return hit[2]
    flat = knots.detach()
    value_key = (k, dtype, flat.dtype, str(flat.device), tuple(flat.shape),
                 flat.to(device="cpu", dtype=torch.float64).numpy().tobytes())   # exact for every float dtype
    table = _BY_VALUE.get(value_key)
    if table is None:
        table = _KnotTables(knots, k, dtype)
        with _CACHE_LOCK:
            if len(_BY_VALUE) >= _BY_VALUE_SIZE:
                _BY_VALUE.clear()
            _BY_VALUE[value_key] = table
    with _CACHE_LOCK:
        if len(_CACHE) >= _CACHE_SIZE:
            for stale in [key_ for key_, (ref, _, _) in _CACHE.items() if ref() is None]:
                del _CACHE[stale]
            if len(_CACHE) >= _CACHE_SIZE:
                _CACHE.clear()
        _CACHE[key] = (weakref.ref(knots), version, table)
    return table
