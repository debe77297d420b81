"""B-spline bases on per-input knot vectors, and least-squares conversion between curves and coefficients.

Shapes used throughout:
    x      (N, I)           samples for I inputs
    knots  (I, G + 2k + 1)  grid of G intervals extended by k knots on each side
    bases  (N, I, G + k)    B-spline basis values of order k
    coef   (I, O, G + k)    one coefficient vector per edge (input i -> output o)
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable


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


def _inverse_spans(knots: Tensor, k: int) -> list[Tensor]:
    """1 / (t[j+p] - t[j]) for p = 1..k, each (I, T-p); zero spans give 0 instead of inf."""
    spans = []
    for p in range(1, k + 1):
        d = knots[:, p:] - knots[:, :-p]
        spans.append(torch.where(d > 0, 1.0 / torch.where(d > 0, d, torch.ones_like(d)), torch.zeros_like(d)))
    return spans


def _bases_and_derivative(x: Tensor, knots: Tensor, k: int, need_derivative: bool) -> tuple[Tensor, Tensor | None]:
    """Cox-de Boor recursion on all samples and inputs at once."""
    t_count = knots.shape[1]
    diff = x.unsqueeze(-1) - knots.unsqueeze(0)                      # (N, I, T): x - t_j
    bases = ((diff[..., :-1] >= 0) & (diff[..., 1:] < 0)).to(x.dtype)  # order 0, (N, I, T-1)
    inv = _inverse_spans(knots, k)
    derivative = None
    for p in range(1, k + 1):
        inv_p = inv[p - 1]
        n = t_count - 1 - p
        if p == k and need_derivative:
            derivative = k * (bases[..., :-1] * inv_p[:, :n] - bases[..., 1:] * inv_p[:, 1:])
        left = diff[..., :n] * inv_p[:, :n]
        right = diff[..., p + 1:] * inv_p[:, 1:]
        bases = left * bases[..., :-1] - right * bases[..., 1:]
    if need_derivative and k == 0:
        derivative = torch.zeros_like(bases)
    return bases, derivative


class _BSplineBasis(torch.autograd.Function):
    """Bases with an analytic derivative in x, so backward costs one multiply-and-sum."""

    @staticmethod
    def forward(ctx, x: Tensor, knots: Tensor, k: int) -> Tensor:  # type: ignore[override]
        bases, derivative = _bases_and_derivative(x, knots, k, need_derivative=ctx.needs_input_grad[0])
        ctx.save_for_backward(derivative if derivative is not None else bases.new_empty(0))
        return bases

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_bases: Tensor):  # type: ignore[override]
        (derivative,) = ctx.saved_tensors
        grad_x = (grad_bases * derivative).sum(-1) if ctx.needs_input_grad[0] else None
        return grad_x, None, None


def bspline_basis(x: Tensor, knots: Tensor, k: int) -> Tensor:
    """B-spline bases of order k: (N, I) samples, (I, T) knots -> (N, I, T-k-1). Zero outside the knots."""
    if x.requires_grad:
        return _BSplineBasis.apply(x, knots, k)
    return _bases_and_derivative(x, knots, k, need_derivative=False)[0]


def coef_to_curve(x: Tensor, knots: Tensor, coef: Tensor, k: int) -> Tensor:
    """Evaluate every edge's spline sum_m coef[i,o,m] B_m(x_i): returns (N, I, O)."""
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
