"""The symbolic branch summed per output node as one autograd node with a hand-written backward.

For the planned symbolic edges e = (i_e, o_e) (symbolic_branch.SymbolicPlan, grouped by function):

    y_no = sum_{e: o_e = o} m_e * (c_e * f_e(z_en) + d_e),   z_en = a_e * x_{n i_e} + b_e

the values of `symbolic_branch.symbolic_edge_values` summed per output, with fewer (E, N) tensors and
tensor ops:
- the offsets m*d are summed per output once (not per sample);
- edges fixed to the built-in "x" (the plan puts them last) are linear: one (N, I) x (I, O) matmul with
  weights c*a*m, and offsets c*b*m; no (E, N) tensor at all;
- f of the other edges is written group by group into one tensor (symbolic_kernels.py writes the built-ins
  without temporaries); temporaries that do not outlive the call come from a per-thread pool (scratch.py);
- the backward is the chain rule written out (symbolic_kernels.py gives g * f'(z) for the built-ins; other
  functions are differentiated by autograd, one group at a time), with G = dL/dy:

    dL/dc_e = m_e sum_n G_n,o_e f_en       dL/dd_e = m_e sum_n G_n,o_e
    g_en = c_e m_e G_n,o_e f'_e(z_en)      dL/da_e = sum_n g_en x_n,i_e     dL/db_e = sum_n g_en
    dL/dx_ni = sum_{e: i_e = i} a_e g_en
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from kanwidget.core.network.scratch import scratch
from kanwidget.core.network.symbolic_branch import SymbolicPlan
from kanwidget.core.network.symbolic_kernels import (
    chain_rule,
    has_hand_derivative,
    values_into,
)
from kanwidget.core.numerics.symbolic import SYMBOLIC_LIB

__all__ = ["SymbolicBranchNode", "symbolic_layer_output"]


def symbolic_layer_output(plan: SymbolicPlan, x: Tensor, sym_affine: Tensor, mask: Tensor, out_dim: int) -> Tensor:
    """Sum of the planned symbolic edges' outputs per output node, (N, O), as one autograd node."""
    return SymbolicBranchNode.apply(x, sym_affine, mask, plan, out_dim)


def _linear_start(plan: SymbolicPlan) -> int:
    """Index of the first edge fixed to the built-in "x" (the plan's last group), or E when there is none."""
    if plan.groups and plan.groups[-1][0] == "x" and has_hand_derivative("x"):
        return plan.groups[-1][1]
    return plan.ii.shape[0]


def _rows(src: Tensor, index: Tensor, out: Tensor) -> Tensor:
    """src[index] along dim 0 of a 2-D tensor into out (index_select with an explicit output: ~10x faster on CPU)."""
    return torch.index_select(src, 0, index, out=out)


def _arguments(ii: Tensor, xt: Tensor, p: Tensor, out: Tensor) -> Tensor:
    """z = a * x + b of the edges with inputs ii, (E, N), into out (xt: the inputs as (I, N), p: (a, b, c, d))."""
    return _rows(xt, ii, out=out).mul_(p[:, 0:1]).add_(p[:, 1:2])


def _function_values(groups: list[tuple[str, int, int]], z: Tensor) -> Tensor:
    """f_e(z_e) of every edge, (E, N), written group by group into one tensor."""
    f = torch.empty_like(z)
    for name, a, b in groups:
        values_into(name, z[a:b], f[a:b])
    return f


def _times_slope(groups: list[tuple[str, int, int]], z: Tensor, f: Tensor, g: Tensor, work: Tensor) -> Tensor:
    """g * f'(z) group by group, in g (g and work are overwritten)."""
    for name, a, b in groups:
        part = chain_rule(name, z[a:b], f[a:b], g[a:b], work[a:b])
        if part is None:                        # no hand-written derivative: autograd on this group
            with torch.enable_grad():
                zg = z[a:b].detach().requires_grad_(True)
                out = SYMBOLIC_LIB[name].torch_fn(zg)
                part = (torch.autograd.grad(out, zg, g[a:b], allow_unused=True)[0]
                        if out.requires_grad else None)
            if part is None:
                part = torch.zeros_like(zg)
        if part.data_ptr() != g[a:b].data_ptr():
            g[a:b] = part
    return g


def _linear_weights(plan: SymbolicPlan, k: int, values: Tensor, in_dim: int, out_dim: int) -> Tensor:
    """(I, O) matrix holding values (E - k,) at the linear edges' places, zero elsewhere."""
    return values.new_zeros(in_dim * out_dim).index_copy_(0, plan.flat[k:], values).view(in_dim, out_dim)


class SymbolicBranchNode(torch.autograd.Function):
    """mask * (c * f(a * x + b) + d) of every planned edge, summed per output: (N, O). See the module docstring."""

    @staticmethod
    def forward(ctx, x: Tensor, sym_affine: Tensor, mask: Tensor, plan: SymbolicPlan,  # type: ignore[override]
                out_dim: int) -> Tensor:
        n, in_dim = x.shape
        k = _linear_start(plan)
        groups = plan.groups if k == plan.ii.shape[0] else plan.groups[:-1]
        p = sym_affine.reshape(-1, 4).index_select(0, plan.flat)                   # (E, 4)
        m = mask.reshape(-1).index_select(0, plan.flat)                            # (E,)
        cm = p[:, 2] * m
        xt = x.t().contiguous()                                                    # (I, N)
        y = x.new_zeros(out_dim, n)
        f = x.new_empty(0, n)
        if k:
            with scratch((k, n), x) as z:               # z is rebuilt by the backward: only f is kept
                f = _function_values(groups, _arguments(plan.ii[:k], xt, p[:k], out=z))
                y.index_add_(0, plan.jj[:k], torch.mul(f, cm[:k, None], out=z))
        offsets = p[:, 3] * m
        offsets[k:] += cm[k:] * p[k:, 1]                                          # linear: c*b*m + d*m
        y = y.t() + x.new_zeros(out_dim).index_add_(0, plan.jj, offsets)
        if k < plan.ii.shape[0]:
            y.addmm_(x, _linear_weights(plan, k, cm[k:] * p[k:, 0], in_dim, out_dim))
        ctx.plan, ctx.out_dim, ctx.k, ctx.groups = plan, out_dim, k, groups
        ctx.save_for_backward(xt, f, p, m)
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, gy: Tensor):  # type: ignore[override]
        xt, f, p, m = ctx.saved_tensors
        plan: SymbolicPlan = ctx.plan
        k, out_dim = ctx.k, ctx.out_dim
        in_dim, n = xt.shape
        need_x, need_affine = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        if not (need_x or need_affine):
            return None, None, None, None, None
        cm = p[:, 2] * m
        gx = xt.new_zeros(in_dim, n) if need_x else None                            # (I, N)
        if need_affine:
            gsum = gy.sum(0).index_select(0, plan.jj)                              # sum_n G_n,o_e
            ga, gb, gc = torch.empty_like(gsum), torch.empty_like(gsum), torch.empty_like(gsum)
        if k:
            with scratch(f.shape, f) as g, scratch(f.shape, f) as work, scratch(f.shape, f) as z:
                _arguments(plan.ii[:k], xt, p[:k], out=z)
                _rows(gy.t().contiguous(), plan.jj[:k], out=g)                     # dL/dv (k, N)
                if need_affine:
                    torch.sum(torch.mul(g, f, out=work), 1, out=gc[:k])
                g = _times_slope(ctx.groups, z, f, g.mul_(cm[:k, None]), work)      # dL/dz (k, N)
                if need_affine:
                    torch.sum(_rows(xt, plan.ii[:k], out=work).mul_(g), 1, out=ga[:k])
                    torch.sum(g, 1, out=gb[:k])
                if need_x:
                    gx.index_add_(0, plan.ii[:k], g.mul_(p[:k, 0:1]))
        if k < plan.ii.shape[0]:                                                   # the linear edges
            if need_affine:
                gw = (xt @ gy).view(-1).index_select(0, plan.flat[k:])             # sum_n G_n,o_e x_n,i_e
                ga[k:] = gw * cm[k:]
                gb[k:] = gsum[k:] * cm[k:]
                gc[k:] = gw * p[k:, 0] + gsum[k:] * p[k:, 1]
            if need_x:
                gx.addmm_(_linear_weights(plan, k, cm[k:] * p[k:, 0], in_dim, out_dim), gy.t())
        gaffine = None
        if need_affine:
            rows = torch.stack([ga, gb, gc * m, gsum * m], dim=1)                  # (E, 4)
            gaffine = rows.new_zeros(in_dim * out_dim, 4).index_copy_(0, plan.flat, rows).view(in_dim, out_dim, 4)
        return (gx.t() if need_x else None), gaffine, None, None, None
