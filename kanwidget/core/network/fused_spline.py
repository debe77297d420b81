"""The training hot path of a KAN layer: one autograd node for a spline layer with silu base.

Used by `KANLayer` when the layer has no symbolic edges, its base is silu and gradients are on; the
values equal the composed form of phi.py (checked in tests/core/test_layer.py and test_regularization.py).
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from kanwidget.core.network.phi import edge_outputs, layer_output, numeric_weights

__all__ = ["FusedSplineLayer"]


class FusedSplineLayer(torch.autograd.Function):
    """Spline layer with silu base and no symbolic edges as one autograd node with a hand-written backward.

    Returns y (N, O) and, with with_std, every edge's batch std (I, O) (unbiased). The forward is phi's
    weighting from phi.py; the backward (~10 tensor ops instead of the ~25 autograd nodes of the composed
    form: training is op-bound) differentiates it by hand: d/dcoef = scale_sp * mask, d/dscale_sp = coef * mask,
    d/dscale_base = mask, each times the gradient of the weight.
    """

    @staticmethod
    def forward(ctx, x: Tensor, coef: Tensor, scale_sp: Tensor, scale_base: Tensor, mask: Tensor, bias: Tensor,
                bases: Tensor, slopes: Tensor | None, with_std: bool) -> tuple[Tensor, Tensor]:  # type: ignore[override]
        n = x.shape[0]
        need_x = ctx.needs_input_grad[0]
        sig = torch.sigmoid(x)
        silu = x * sig
        wsp, wb = numeric_weights(coef, scale_sp, scale_base, mask)                  # (I, O, M), (I, O)
        if with_std:
            acts = edge_outputs(bases, silu, wsp, wb)                                # (I, N, O)
            y = acts.sum(0) + bias
            centred = acts - acts.mean(1, keepdim=True)
            std = torch.sqrt(centred.square().sum(1) / max(n - 1, 1) + torch.finfo(x.dtype).tiny)
        else:
            y = layer_output(bias, bases, silu, wsp, wb)
            centred = std = x.new_empty(0)
        ctx.with_std = with_std
        ctx.save_for_backward(x, bases, slopes if need_x and slopes is not None else x.new_empty(0), sig, silu, wsp, wb, coef,
                              scale_sp, mask, centred, std)
        return y, std

    @staticmethod
    @once_differentiable
    def backward(ctx, gy: Tensor, gstd: Tensor):  # type: ignore[override]
        x, bases, slopes, sig, silu, wsp, wb, coef, scale_sp, mask, centred, std = ctx.saved_tensors
        n, in_dim = x.shape
        out_dim = coef.shape[1]
        gx = None
        if ctx.with_std:
            g = gy.unsqueeze(0) + centred * (gstd / (max(n - 1, 1) * std)).unsqueeze(1)   # dL/dphi (I, N, O)
            gwsp = torch.bmm(bases.permute(1, 2, 0), g).transpose(1, 2)                   # (I, O, M)
            gwb = torch.bmm(silu.t().unsqueeze(1), g).squeeze(1)                          # (I, O)
            if ctx.needs_input_grad[0]:
                h = torch.bmm(g, wsp).transpose(0, 1)                                     # (N, I, M)
                gb = torch.bmm(g, wb.unsqueeze(-1)).squeeze(-1).t()                      # (N, I)
        else:
            gwsp = (bases.reshape(n, -1).t() @ gy).view(in_dim, -1, out_dim).transpose(1, 2)
            gwb = silu.t() @ gy
            if ctx.needs_input_grad[0]:
                h = (gy @ wsp.transpose(1, 2).reshape(-1, out_dim).t()).view(n, in_dim, -1)
                gb = gy @ wb.t()
        if ctx.needs_input_grad[0]:
            dsilu = sig * (1 + x * (1 - sig))
            gx = (slopes * h).sum(-1) + dsilu * gb
        gcoef = gwsp * (scale_sp * mask).unsqueeze(-1) if ctx.needs_input_grad[1] else None
        gsp = (gwsp * coef).sum(-1) * mask if ctx.needs_input_grad[2] else None
        gsb = gwb * mask if ctx.needs_input_grad[3] else None
        gbias = gy.sum(0) if ctx.needs_input_grad[5] else None
        return gx, gcoef, gsp, gsb, None, gbias, None, None, None
