"""The training hot path of a KAN layer: one autograd node for a spline layer with silu base.

Used by `KANLayer` when the layer has no symbolic edges, its base is silu and gradients are on; the
values equal the composed form of phi.py (checked in tests/core/test_layer.py, test_regularization.py and
test_fused_spline.py).

Two nodes:
- `FusedSplineLayer` for inputs that need a gradient (hidden layers): bases and slopes of this call.
- `ConstantInputSplineLayer` for inputs that do not (the first layer's data): features [silu(x), bases]
  and their batch covariance are computed once per data/grid (`ConstantFeatures`) and reused by every
  LBFGS evaluation; the output is one matmul and each edge's batch std is the quadratic form
  w^T Cov w over tiny (I, O, M+1) tensors, so no (I, N, O) activation tensor is ever built.
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from kanwidget.core.network.phi import edge_outputs, layer_output, numeric_weights

__all__ = ["FusedSplineLayer", "ConstantInputSplineLayer", "ConstantFeatures"]


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
        need_x = ctx.needs_input_grad[0]
        # d/dx through the splines: sum_o g_io * sum_m slope_im * wsp_iom. With fewer outputs than bases, the
        # slopes are contracted with the weights first ((I, N, O), no (N, I, M) intermediate)
        contract_slopes = need_x and out_dim < wsp.shape[-1]
        if ctx.with_std:
            g = gy.unsqueeze(0) + centred * (gstd / (max(n - 1, 1) * std)).unsqueeze(1)   # dL/dphi (I, N, O)
            gwsp = torch.bmm(bases.permute(1, 2, 0), g).transpose(1, 2)                   # (I, O, M)
            gwb = torch.bmm(silu.t().unsqueeze(1), g).squeeze(1)                          # (I, O)
            if contract_slopes:
                dsilu = sig * (1 + x * (1 - sig))
                per_edge = torch.bmm(slopes.transpose(0, 1), wsp.transpose(1, 2))         # (I, N, O)
                per_edge.addcmul_(dsilu.t().unsqueeze(-1), wb.unsqueeze(1))
                gx = (per_edge * g).sum(-1).t()
            elif need_x:
                h = torch.bmm(g, wsp).transpose(0, 1)                                     # (N, I, M)
                gb = torch.bmm(g, wb.unsqueeze(-1)).squeeze(-1).t()                      # (N, I)
        else:
            gwsp = (bases.reshape(n, -1).t() @ gy).view(in_dim, -1, out_dim).transpose(1, 2)
            gwb = silu.t() @ gy
            if contract_slopes:
                dsilu = sig * (1 + x * (1 - sig))
                per_edge = torch.bmm(slopes.transpose(0, 1), wsp.transpose(1, 2))         # (I, N, O)
                per_edge.addcmul_(dsilu.t().unsqueeze(-1), wb.unsqueeze(1))
                gx = (per_edge * gy.unsqueeze(0)).sum(-1).t()
            elif need_x:
                h = (gy @ wsp.transpose(1, 2).reshape(-1, out_dim).t()).view(n, in_dim, -1)
                gb = gy @ wb.t()
        if need_x and not contract_slopes:
            dsilu = sig * (1 + x * (1 - sig))
            gx = (slopes * h).sum(-1) + dsilu * gb
        gcoef = gwsp * (scale_sp * mask).unsqueeze(-1) if ctx.needs_input_grad[1] else None
        gsp = (gwsp * coef).sum(-1) * mask if ctx.needs_input_grad[2] else None
        gsb = gwb * mask if ctx.needs_input_grad[3] else None
        gbias = gy.sum(0) if ctx.needs_input_grad[5] else None
        return gx, gcoef, gsp, gsb, None, gbias, None, None, None


class ConstantFeatures:
    """Per-sample features [silu(x_i), B_1(x_i), ..., B_M(x_i)] of inputs that need no gradient, flattened to
    (N, I*(M+1)), and (on first use) their unbiased batch covariance per input (I, M+1, M+1) and x's std."""

    def __init__(self, x: Tensor, bases: Tensor) -> None:
        n, in_dim, _ = bases.shape
        self.n = n
        feats = torch.cat([torch.nn.functional.silu(x).unsqueeze(-1), bases], dim=-1)   # (N, I, M+1)
        self.feats = feats.reshape(n, -1)
        self._feats3 = feats
        self.bases = feats[..., 1:]                                                     # (N, I, M), a view
        self.x = x                                                                      # (N, I)
        self._cov: Tensor | None = None
        self._input_std: Tensor | None = None
        self._feats_t: Tensor | None = None

    @property
    def feats_t(self) -> Tensor:
        """The features one row per feature, (I*(M+1), N) contiguous (samples_last.py's layout)."""
        if self._feats_t is None:
            self._feats_t = self.feats.t().contiguous()
        return self._feats_t

    @property
    def input_std(self) -> Tensor:
        """x.std(0) (unbiased), (I,): the regulariser's input scale of the first layer."""
        if self._input_std is None:
            self._input_std = self.x.std(0)
        return self._input_std

    @property
    def cov(self) -> Tensor:
        if self._cov is None:
            centred = self._feats3 - self._feats3.mean(0, keepdim=True)
            c = centred.transpose(0, 1)                                                   # (I, N, M+1)
            self._cov = torch.bmm(c.transpose(1, 2), c) / max(self.n - 1, 1)
        return self._cov


class ConstantInputSplineLayer(torch.autograd.Function):
    """Spline layer with silu base and no symbolic edges on inputs that need no gradient.

    Same values as FusedSplineLayer (y (N, O) and, with with_std, each edge's unbiased batch std (I, O)),
    computed from cached features: y = bias + F W with W = [w_base; w_spline] (I*(M+1), O), and
    var_io = W_io^T Cov_i W_io. Backward: dL/dW = F^T gy + (gstd / std) Cov W.
    """

    @staticmethod
    def forward(ctx, features: ConstantFeatures, coef: Tensor, scale_sp: Tensor, scale_base: Tensor,  # type: ignore[override]
                mask: Tensor, bias: Tensor, with_std: bool) -> tuple[Tensor, Tensor]:
        wsp, wb = numeric_weights(coef, scale_sp, scale_base, mask)                   # (I, O, M), (I, O)
        w = torch.cat([wb.unsqueeze(-1), wsp], dim=-1)                                # (I, O, M+1)
        in_dim, out_dim, width = w.shape
        y = torch.addmm(bias, features.feats, w.transpose(1, 2).reshape(in_dim * width, out_dim))
        if with_std:
            cw = torch.bmm(w, features.cov)                                           # (I, O, M+1)
            var = (cw * w).sum(-1)
            std = torch.sqrt(var.clamp_min(0.0) + torch.finfo(w.dtype).tiny)
        else:
            cw = std = w.new_empty(0)
        ctx.with_std = with_std
        ctx.features = features
        ctx.save_for_backward(coef, scale_sp, mask, cw, std)
        return y, std

    @staticmethod
    @once_differentiable
    def backward(ctx, gy: Tensor, gstd: Tensor):  # type: ignore[override]
        coef, scale_sp, mask = ctx.saved_tensors[:3]
        in_dim, out_dim, _ = coef.shape
        gw = (ctx.features.feats.t() @ gy).view(in_dim, -1, out_dim).transpose(1, 2)   # (I, O, M+1)
        if ctx.with_std:
            cw, std = ctx.saved_tensors[3:]
            gw = gw + (gstd / std).unsqueeze(-1) * cw
        gwb, gwsp = gw[..., 0], gw[..., 1:]
        gcoef = gwsp * (scale_sp * mask).unsqueeze(-1) if ctx.needs_input_grad[1] else None
        gsp = (gwsp * coef).sum(-1) * mask if ctx.needs_input_grad[2] else None
        gsb = gwb * mask if ctx.needs_input_grad[3] else None
        gbias = gy.sum(0) if ctx.needs_input_grad[5] else None
        return None, gcoef, gsp, gsb, None, gbias, None
