"""B-spline bases on per-input knot vectors, and least-squares conversion between curves and coefficients.

Shapes used throughout:
    x      (N, I)           samples for I inputs
    knots  (I, G + 2k + 1)  grid of G intervals extended by k knots on each side
    bases  (N, I, G + k)    B-spline basis values of order k
    coef   (I, O, G + k)    one coefficient vector per edge (input i -> output o)

How the bases are evaluated (the training hot path)
---------------------------------------------------
Only k+1 bases are non-zero at a sample: those of the knot interval [t_j, t_j+1) holding it, and on
that interval each is a polynomial of degree k in u = (x - t_j) / (t_j+1 - t_j) in [0, 1). Once per
knot tensor (cached until it is modified in place) we build, in float64 from the Cox-de Boor
recursion run on polynomials, a table with K = k+1 rows per (input, interval): row d holds the
coefficient of u^d for all M bases (zero off the interval's k+1 live ones, and zero for bases whose
index falls outside 0..M-1 in the extension region). Two extra "intervals" per input, left of t_0
and right of t_last, are all zero, so no sample needs a special case.

Per call: locate every sample's interval (a per-input bucket table whose buckets hold at most one
knot, then one comparison with that knot; `torch.searchsorted` when the grid has repeated or
extremely uneven knots), compute u and its powers, and let one `embedding_bag` (sum of K table rows
weighted by u^d) write the dense (N, I, M) bases. The backward does the same with the derivative
table and takes a row-wise dot product with the incoming gradient. Results equal the plain
recursion up to rounding (about 1e-15 in float64).
"""
from __future__ import annotations

import math
import threading
import weakref
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from kanwidget.core.numerics.uniform_spline import LiveBases, UniformKnots, uniform_bases, uniform_live


def uniform_grid(in_dim: int, intervals: int, lo: float | Tensor, hi: float | Tensor,
                 dtype: torch.dtype | None = None, device: torch.device | str | None = None) -> Tensor:
    """Return an (I, G+1) grid of G equal intervals on [lo, hi] for every input (lo, hi may be (I,) tensors)."""
    steps = torch.linspace(0.0, 1.0, intervals + 1, dtype=dtype, device=device)
    lo_t = torch.as_tensor(lo, dtype=steps.dtype, device=steps.device).reshape(-1, 1)
    hi_t = torch.as_tensor(hi, dtype=steps.dtype, device=steps.device).reshape(-1, 1)
    grid = lo_t + (hi_t - lo_t) * steps[None, :]
    return grid.expand(in_dim, -1).contiguous() if grid.shape[0] == 1 else grid


def extend_grid(grid: Tensor, k: int) -> Tensor:
    """Extend an (I, G+1) grid by k knots on each side, spaced like the grid's mean interval."""
    h = (grid[:, -1:] - grid[:, :1]) / (grid.shape[1] - 1)
    offsets = torch.arange(1, k + 1, dtype=grid.dtype, device=grid.device)
    left = grid[:, :1] - h * offsets.flip(0)[None, :]
    right = grid[:, -1:] + h * offsets[None, :]
    return torch.cat([left, grid, right], dim=1)


# --------------------------------------------------------------------------- per-knot tables

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


def _row_index(x: Tensor, table: _Table) -> Tensor:
    """K * (flat table row) of every sample, (N, I) long; rows 0 / R-1 of an input mean outside its knots."""
    kk = table.k + 1
    if table.bucket_row is not None:
        pos = torch.addcmul(table.shift, x, table.scale)                # bucket coordinate incl. i*B, (N, I)
        pos = torch.clamp(pos, table.lo, table.hi).to(torch.long)
        pos.clamp_(0, table.n_buckets - 1)                               # NaN became INT_MIN
        return torch.add(table.bucket_row.take(pos), x >= table.bucket_split.take(pos), alpha=kk)
    idx = torch.searchsorted(table.knots, x.t().contiguous(), right=True)   # (I, N): knots <= x
    return (idx * kk + table.row_offset).t()


def _weights(x: Tensor, knots: Tensor, k: int) -> tuple[_Table, Tensor, Tensor]:
    """Table, bag indices (N*I, K) and per-sample weights (N*I, K) = powers of the local coordinate."""
    table = _table_for(knots, k, x.dtype).general
    r4 = _row_index(x, table).reshape(-1)
    ab = table.origin.index_select(0, r4)
    u = (x.reshape(-1) - ab[:, 0]).mul_(ab[:, 1])                        # local coordinate in [0, 1)
    powers = u.new_empty(u.shape[0], k + 1)                              # [1, u, u^2, ...], column by column
    if k == 0:                                                           # 1, but NaN for non-finite x
        powers[:, 0] = u * 0.0 + 1.0
    else:
        powers[:, 0] = 1.0                                               # (faster than vander / stack here)
        powers[:, 1] = u
        up = u
        for d in range(2, k + 1):
            up = up * u
            powers[:, d] = up
    idx = torch.add(r4.unsqueeze(1), torch.arange(k + 1, device=x.device))
    return table, idx, powers


def _evaluate(table_part: Tensor, idx: Tensor, powers: Tensor, shape: tuple[int, int, int]) -> Tensor:
    """sum_d powers[:, d] * table_part[idx[:, d]]: dense (N, I, M) in one embedding_bag."""
    out = torch.nn.functional.embedding_bag(idx, table_part, per_sample_weights=powers, mode="sum")
    return out.view(shape)


def _bases_and_derivative(x: Tensor, knots: Tensor, k: int, need_derivative: bool) -> tuple[Tensor, Tensor | None]:
    """Dense bases (N, I, M) and, if asked, dense derivatives d B_m(x_i) / d x_i (N, I, M)."""
    x, knots = _common(x, knots)
    uniform = _table_for(knots, k, x.dtype).uniform
    if uniform is not None:
        return uniform_bases(x, uniform, need_derivative)
    table, idx, powers = _weights(x, knots, k)
    shape = (x.shape[0], x.shape[1], table.n_bases)
    if not need_derivative:
        return _evaluate(table.values, idx, powers, shape), None
    if table.values_and_slopes is None:
        table.values_and_slopes = torch.cat([table.values, table.slopes], dim=1).contiguous()
    both = torch.nn.functional.embedding_bag(idx, table.values_and_slopes, per_sample_weights=powers, mode="sum")
    m = shape[2]
    return both[:, :m].reshape(shape), both[:, m:].reshape(shape)


def bases_samples_last(x: Tensor, knots: Tensor, k: int, need_derivative: bool) -> tuple[Tensor, Tensor | None]:
    """`_bases_and_derivative` for data stored one row per input, x (I, N): bases and slopes (I, N, M).

    On uniform knots they come straight in this layout; otherwise they are views of the (N, I, M) results.
    """
    x, knots = _common(x, knots)
    uniform = _table_for(knots, k, x.dtype).uniform
    if uniform is not None:
        return uniform_bases(x, uniform, need_derivative, samples_last=True)
    bases, slopes = _bases_and_derivative(x.t(), knots, k, need_derivative)
    return bases.transpose(0, 1), (slopes.transpose(0, 1) if slopes is not None else None)


def live_bases_samples_last(x: Tensor, knots: Tensor, k: int, need_derivative: bool) -> LiveBases | None:
    """The non-zero bases (and slopes) of x (I, N) without the dense zeros (uniform_spline.LiveBases), or None
    where the knots are not uniform (then use `bases_samples_last`)."""
    x, knots = _common(x, knots)
    uniform = _table_for(knots, k, x.dtype).uniform
    return None if uniform is None else uniform_live(x, uniform, need_derivative)


def _common(x: Tensor, knots: Tensor) -> tuple[Tensor, Tensor]:
    if x.dtype != knots.dtype:
        dtype = torch.promote_types(x.dtype, knots.dtype)
        x, knots = x.to(dtype), knots.to(dtype)
    return x.contiguous(), knots


class _BSplineBasis(torch.autograd.Function):
    """Bases with an analytic derivative in x (evaluated in backward from the saved bag indices)."""

    @staticmethod
    def forward(ctx, x: Tensor, knots: Tensor, k: int) -> Tensor:  # type: ignore[override]
        table, idx, powers = _weights(x, knots, k)
        shape = (x.shape[0], x.shape[1], table.n_bases)
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(idx, powers)
            ctx.slopes = table.slopes                                   # a reference: knots may change later
        ctx.shape = shape
        return _evaluate(table.values, idx, powers, shape)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_bases: Tensor):  # type: ignore[override]
        if not ctx.needs_input_grad[0]:
            return None, None, None
        idx, powers = ctx.saved_tensors
        slopes = _evaluate(ctx.slopes, idx, powers, ctx.shape)
        # row-wise dot product; a mat-vec with ones is ~2x faster than .sum(-1) over the short last dim
        grad_x = (grad_bases * slopes) @ slopes.new_ones(slopes.shape[-1])
        return grad_x, None, None


def bspline_basis(x: Tensor, knots: Tensor, k: int) -> Tensor:
    """B-spline bases of order k: (N, I) samples, (I, T) knots -> (N, I, T-k-1). Zero outside the knots.

    A sample that is not finite (NaN, +inf, -inf) gives a row of NaN for its input (never an error);
    the other inputs of the same sample are unaffected.
    """
    x, knots = _common(x, knots)
    if x.requires_grad and torch.is_grad_enabled():
        return _BSplineBasis.apply(x, knots, k)
    uniform = _table_for(knots, k, x.dtype).uniform
    if uniform is not None:
        return uniform_bases(x, uniform, need_derivative=False)[0]
    table, idx, powers = _weights(x, knots, k)
    return _evaluate(table.values, idx, powers, (x.shape[0], x.shape[1], table.n_bases))


def coef_to_curve(x: Tensor, knots: Tensor, coef: Tensor, k: int) -> Tensor:
    """Evaluate every edge's spline sum_m coef[i,o,m] B_m(x_i): returns (N, I, O) (NaN where x_i is not finite)."""
    return torch.einsum("nim,iom->nio", bspline_basis(x, knots, k), coef)


def curve_to_coef(x: Tensor, y: Tensor, knots: Tensor, k: int, ridge: float = 1e-8) -> Tensor:
    """Least-squares spline coefficients (I, O, M) so that spline_io(x[:, i]) ~ y[:, i, o].

    Solved per input as one small ridge-regularised normal-equation system in float64
    (basis functions with no samples under them get coefficient 0).
    """
    dtype = x.dtype
    x64, y64, t64 = x.double(), y.double(), knots.double()
    a = bspline_basis(x64, t64, k)                                   # (N, I, M)
    gram = torch.einsum("nim,nil->iml", a, a)                        # (I, M, M)
    rhs = torch.einsum("nim,nio->imo", a, y64)                       # (I, M, O)
    eye = torch.eye(gram.shape[-1], dtype=gram.dtype, device=gram.device)
    scale = gram.diagonal(dim1=-2, dim2=-1).mean(-1).clamp_min(1e-300)[:, None, None]
    coef = torch.linalg.solve(gram + ridge * scale * eye, rhs)        # (I, M, O)
    return coef.permute(0, 2, 1).to(dtype).contiguous()
