"""B-spline bases on per-input knot vectors, and least-squares conversion between curves and coefficients.

Shapes used throughout:
    x      (N, I)           samples for I inputs
    knots  (I, G + 2k + 1)  grid of G intervals extended by k knots on each side
    bases  (N, I, G + k)    B-spline basis values of order k
    coef   (I, O, G + k)    one coefficient vector per edge (input i -> output o)

How the bases are evaluated (the training hot path)
---------------------------------------------------
Only k+1 bases are non-zero at a sample: those of the knot interval holding it, where each is a polynomial
of degree k in the interval's local coordinate u. spline_tables.py builds and caches, once per knot tensor,
the power-basis coefficients of every interval and an interval locator (and, for equally spaced knots, the
constants of uniform_spline.py's path, which needs no table lookup at all).

Per call: locate every sample's interval (a per-input bucket table whose buckets hold at most one
knot, then one comparison with that knot; `torch.searchsorted` when the grid has repeated or
extremely uneven knots), compute u and its powers, and let one `embedding_bag` (sum of K table rows
weighted by u^d) write the dense (N, I, M) bases. The backward does the same with the derivative
table and takes a row-wise dot product with the incoming gradient. Results equal the plain
recursion up to rounding (about 1e-15 in float64).
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from kanwidget.core.numerics.spline_tables import _Table, _table_for
from kanwidget.core.numerics.uniform_spline import LiveBases, uniform_bases, uniform_live


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


# --------------------------------------------------------------------------- evaluation

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
