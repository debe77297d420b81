"""Spline layers (silu base, no symbolic edges) with the samples in the last dimension: the forward and
backward kernels of the autograd-free training objective (operations/network_objective.py).

The data of a layer are stored one row per input, x (I, N), and its output one row per output, (O, N):
the next layer's input as it is. Every batched product then runs over the long sample axis as the
contiguous one, which the CPU's matrix kernels do 2-4x faster at a KAN's sizes than with the samples
first (measured for (I, O, M) = (5, 1, 8), (1, 1, 13) and (16, 16, 8) at N = 1000). The values are phi's
weighting (phi.py), the same as FusedSplineLayer / ConstantInputSplineLayer compute with the samples
first; tests/core/test_network_objective.py checks both against autograd on the composed formula.

Layers with one output on uniform knots (the last layer of a regression KAN) take each sample's k+1
non-zero bases alone (`live_layer_forward`); layers with many outputs and no std penalty never build the
per-edge outputs (`WIDE_OUTPUTS`).

Each forward returns the output, every edge's batch std (unbiased; empty without `with_std`) and what
its backward needs; each backward adds the gradients of the layer's coef, scale_sp and scale_base to
their .grad (those that require one) and, for hidden layers, returns the input's.
"""
from __future__ import annotations

import torch
from torch import Tensor

from kanwidget.core.network.fused_spline import ConstantFeatures
from kanwidget.core.numerics.uniform_spline import LiveBases

__all__ = ["first_layer_forward", "first_layer_backward", "hidden_layer_forward",
           "hidden_layer_backward", "live_layer_forward", "live_layer_backward"]


_SILU_BACKWARD = torch.ops.aten.silu_backward.default   # g * silu'(x) in one op
#: from this many outputs on, a layer without the std penalty contracts over inputs and bases in one product
#: instead of building every edge's output (I, O, N) (measured at N = 1000: 16 outputs about even, 64 outputs
#: 1.3 vs 3.6 ms in float32 and 1.7 vs 7.1 ms in float64; 1-5 outputs 3-4x faster with the edge outputs)
WIDE_OUTPUTS = 16


def _weights(coef: Tensor, scale_sp: Tensor, scale_base: Tensor, mask: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """phi's numeric weights (phi.numeric_weights: w_spline = coef * scale_sp * mask (I, O, M), w_base =
    scale_base * mask (I, O)) and scale_sp * mask (I, O, 1), which the backward uses again."""
    spm = (scale_sp * mask).unsqueeze(-1)
    return coef * spm, scale_base * mask, spm


def _add_parameter_grads(gwsp: Tensor, gwb: Tensor, coef: Tensor, scale_sp: Tensor, scale_base: Tensor,
                         mask: Tensor, spm: Tensor) -> None:
    """Chain d/d w_spline (I, O, M) and d/d w_base (I, O) to the parameters (see `_weights`) and add them to
    the .grad of those that require one (which must exist)."""
    if coef.requires_grad:
        coef.grad.addcmul_(gwsp, spm)
    if scale_sp.requires_grad:
        scale_sp.grad.addcmul_((gwsp * coef).sum(-1), mask)
    if scale_base.requires_grad:
        scale_base.grad.addcmul_(gwb, mask)


def _sum_and_std(acts: Tensor, bias: Tensor, with_std: bool) -> tuple[Tensor, Tensor, Tensor]:
    """From every edge's output (I, O, N): the layer's output (O, N), the edges' unbiased batch std (I, O) and
    their centred outputs (I, O, N) (both empty without with_std)."""
    y = acts.sum(0).add_(bias.unsqueeze(1))
    if not with_std:
        empty = acts.new_empty(0)
        return y, empty, empty
    n = acts.shape[-1]
    centred = acts - acts.mean(-1, keepdim=True)
    std = torch.sqrt(centred.square().sum(-1) / max(n - 1, 1) + torch.finfo(acts.dtype).tiny)
    return y, std, centred


def first_layer_forward(features: ConstantFeatures, coef: Tensor, scale_sp: Tensor, scale_base: Tensor,
                        mask: Tensor, bias: Tensor, with_std: bool) -> tuple[Tensor, Tensor, tuple]:
    """Output (O, N) of a layer on data that need no gradient, from its cached features; edge std from
    the features' covariance (var_io = W_io^T Cov_i W_io, no (I, O, N) tensor)."""
    wsp, wb, spm = _weights(coef, scale_sp, scale_base, mask)
    w = torch.cat([wb.unsqueeze(-1), wsp], dim=-1)                                    # (I, O, M+1)
    in_dim, out_dim, width = w.shape
    y = torch.addmm(bias.unsqueeze(1), w.transpose(0, 1).reshape(out_dim, in_dim * width), features.feats_t)
    if with_std:
        cw = torch.bmm(w, features.cov)                                               # (I, O, M+1)
        std = torch.sqrt((cw * w).sum(-1).clamp_min(0.0) + torch.finfo(w.dtype).tiny)
    else:
        cw = std = w.new_empty(0)
    return y, std, (features, coef, scale_sp, scale_base, mask, spm, cw, std)


def first_layer_backward(saved: tuple, gy: Tensor, gstd: Tensor | None) -> None:
    """Adds the parameter gradients of `first_layer_forward` to their .grad, from d/d output (O, N) and
    d/d edge std (I, O)."""
    features, coef, scale_sp, scale_base, mask, spm, cw, std = saved
    in_dim, out_dim, _ = coef.shape
    gw = (gy @ features.feats).view(out_dim, in_dim, -1).transpose(0, 1)            # (I, O, M+1)
    if gstd is not None:
        gw = gw + (gstd / std).unsqueeze(-1) * cw
    _add_parameter_grads(gw[..., 1:], gw[..., 0], coef, scale_sp, scale_base, mask, spm)


def hidden_layer_forward(x: Tensor, bases: Tensor, slopes: Tensor | None, coef: Tensor, scale_sp: Tensor,
                         scale_base: Tensor, mask: Tensor, bias: Tensor,
                         with_std: bool) -> tuple[Tensor, Tensor, tuple]:
    """Output (O, N) of a layer on x (I, N) with its bases and slopes (I, N, M) (spline.bases_samples_last);
    slopes only where the input's gradient is wanted (backward)."""
    silu = torch.nn.functional.silu(x)
    wsp, wb, spm = _weights(coef, scale_sp, scale_base, mask)                       # (I, O, M), (I, O)
    if with_std or wsp.shape[1] < WIDE_OUTPUTS:
        acts = torch.baddbmm(wb.unsqueeze(-1) * silu.unsqueeze(1), wsp, bases.transpose(1, 2))   # (I, O, N)
        y, std, centred = _sum_and_std(acts, bias, with_std)
    else:                      # many outputs, no std: never build the (I, O, N) edge outputs
        y = torch.einsum("iom,inm->on", wsp, bases).addmm_(wb.t(), silu).add_(bias.unsqueeze(1))
        std = centred = x.new_empty(0)
    return y, std, (x, bases, slopes, silu, wsp, wb, spm, coef, scale_sp, scale_base, mask, centred, std)


def hidden_layer_backward(saved: tuple, gy: Tensor, gstd: Tensor | None) -> Tensor | None:
    """Adds the parameter gradients of `hidden_layer_forward` to their .grad, from d/d output (O, N) and
    d/d edge std (I, O); returns the input's (I, N) when slopes were given (else None)."""
    x, bases, slopes, silu, wsp, wb, spm, coef, scale_sp, scale_base, mask, centred, std = saved
    in_dim, n = x.shape
    out_dim, n_bases = wsp.shape[1], wsp.shape[2]
    if gstd is not None:      # d/d phi_ion: the output's share plus the edge std's (centred / ((N-1) std))
        g = torch.addcmul(gy.unsqueeze(0), centred, (gstd / (max(n - 1, 1) * std)).unsqueeze(-1))
        gwsp = torch.bmm(g, bases)                                                   # (I, O, M)
        gwb = torch.bmm(g, silu.unsqueeze(-1)).squeeze(-1)                           # (I, O)
        g_base = torch.bmm(wb.unsqueeze(1), g).squeeze(1)                            # sum_o wb_io g_ion, (I, N)
    else:                     # every edge into output o gets the same d/d y_o: plain matmuls where they do
        g = gy.unsqueeze(0).expand(in_dim, out_dim, n)
        gwsp = torch.einsum("on,inm->iom", gy, bases) if out_dim >= WIDE_OUTPUTS else torch.bmm(g, bases)
        gwb = silu @ gy.t()
        g_base = wb @ gy
    gx = None
    if slopes is not None:
        # d/dx: through the splines sum_o g_io sum_m slope_im w_iom, through the base silu'(x) sum_o g_io wb_io
        if out_dim < n_bases:   # contract the slopes with the weights first: (I, O, N)
            gx = (torch.bmm(wsp, slopes.transpose(1, 2)) * g).sum(1)
        else:                   # contract the gradient with the weights first: (I, M, N)
            gx = (slopes.transpose(1, 2) * torch.bmm(wsp.transpose(1, 2), g)).sum(1)
        gx += _SILU_BACKWARD(g_base, x)
    _add_parameter_grads(gwsp, gwb, coef, scale_sp, scale_base, mask, spm)
    return gx


def live_layer_forward(x: Tensor, live: LiveBases, coef: Tensor, scale_sp: Tensor, scale_base: Tensor, mask: Tensor,
                       bias: Tensor, with_std: bool) -> tuple[Tensor, Tensor, tuple]:
    """`hidden_layer_forward` of a layer with one output, from each sample's k+1 non-zero bases
    (uniform_spline.LiveBases): its k+1 weights are gathered from the padded row of coefficients instead of
    multiplying a dense (I, N, M) basis tensor that is mostly zeros."""
    in_dim = x.shape[0]
    n_bases = coef.shape[-1]
    silu = torch.nn.functional.silu(x)
    wsp, wb, spm = _weights(coef, scale_sp, scale_base, mask)                       # (I, 1, M), (I, 1)
    row = wsp.new_zeros(in_dim, live.n_columns)
    row[:, live.first:live.first + n_bases] = wsp[:, 0]
    picked = torch.gather(row, 1, live.columns.view(in_dim, -1)).view_as(live.values)   # (I, N, K)
    acts = torch.addcmul((picked * live.values).sum(-1), silu, wb).unsqueeze(1)        # (I, 1, N)
    y, std, centred = _sum_and_std(acts, bias, with_std)
    return y, std, (x, live, picked, silu, wb, spm, coef, scale_sp, scale_base, mask, centred, std)


def live_layer_backward(saved: tuple, gy: Tensor, gstd: Tensor | None) -> Tensor | None:
    """Adds the parameter gradients of `live_layer_forward` to their .grad and returns the input's (I, N)
    when slopes were computed (as `hidden_layer_backward`)."""
    x, live, picked, silu, wb, spm, coef, scale_sp, scale_base, mask, centred, std = saved
    in_dim, n = x.shape
    n_bases = coef.shape[-1]
    if gstd is not None:
        g = torch.addcmul(gy, centred[:, 0], (gstd / (max(n - 1, 1) * std)))               # (I, N)
    else:
        g = gy.expand(in_dim, n)
    weighted = (live.values * g.unsqueeze(-1)).view(in_dim, -1)
    grow = g.new_zeros(in_dim, live.n_columns).scatter_add_(1, live.columns.view(in_dim, -1), weighted)
    gwsp = grow[:, live.first:live.first + n_bases].unsqueeze(1)                        # (I, 1, M)
    gwb = (g * silu).sum(-1, keepdim=True)                                             # (I, 1)
    gx = None
    if live.slopes is not None:
        gx = (picked * live.slopes).sum(-1).mul_(g).add_(_SILU_BACKWARD(g * wb, x))
    _add_parameter_grads(gwsp, gwb, coef, scale_sp, scale_base, mask, spm)
    return gx
