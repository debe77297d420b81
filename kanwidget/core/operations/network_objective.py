"""The training objective of a plain spline KAN, with its gradient, computed without autograd.

fit's closure evaluates mean((f(x) - y)^2) + lamb * sparsity penalty about twenty times per LBFGS step.
For a small network that is a few hundred operations on tiny tensors, so the cost is per operation, and
autograd's own bookkeeping (graph nodes, the engine, gradient accumulation) is a large part of it. For
the common case, every layer a spline layer with silu base (no symbolic edges, no multiplication nodes)
and the squared error, this module runs the same per-layer forward and backward that the autograd nodes
of fused_spline.py run (their static methods, called directly), the sparsity penalty's analytic gradient
(`sparsity_penalty`, in float64 on the CPU), and the chain rule between layers by hand, and writes the
gradients into the parameters' .grad. Values and gradients equal the autograd path up to rounding
(tests/core/test_network_objective.py); fit uses it whenever `applies` says so.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from kanwidget.core.network.fused_spline import ConstantInputSplineLayer, FusedSplineLayer
from kanwidget.core.numerics import spline

if TYPE_CHECKING:
    from kanwidget.core.network.model import KAN

__all__ = ["applies", "evaluate_with_gradient", "sparsity_penalty", "FixedInputLoss"]

EXPLICIT_ACTIVATION_LIMIT = 2 ** 18   # N*I*O up to which a hidden layer's edge std builds (I, N, O) activations


def sparsity_penalty(v: np.ndarray, lamb_l1: float, lamb_entropy: float) -> tuple[float, np.ndarray]:
    """lamb_l1 * sum(v) + lamb_entropy * (entropy over inputs + entropy over outputs) of edge magnitudes
    v (I, O), and its gradient in v (float64 numpy: the arrays are tiny, so numpy's cheaper calls win).

    Entropies as in the KAN paper: p = v / (column or row sum + 1), H = -mean(sum(p * log2(p + 1e-4))).
    """
    n_in, n_out = v.shape
    a = v.sum(0, keepdims=True) + 1.0                  # per output
    b = v.sum(1, keepdims=True) + 1.0                  # per input
    p, q = v / a, v / b
    lp, lq = np.log2(p + 1e-4), np.log2(q + 1e-4)
    ent = -float((p * lp).sum()) / n_out - float((q * lq).sum()) / n_in
    inv_ln2 = 1.0 / math.log(2.0)
    gp = -(lp + p / (p + 1e-4) * inv_ln2) / n_out      # d H_in / d p
    gq = -(lq + q / (q + 1e-4) * inv_ln2) / n_in       # d H_out / d q
    dv = (gp - (gp * p).sum(0, keepdims=True)) / a + (gq - (gq * q).sum(1, keepdims=True)) / b
    return lamb_l1 * float(v.sum()) + lamb_entropy * ent, lamb_l1 + lamb_entropy * dv


def network_penalty(stats: list[tuple[Tensor, Tensor]], lamb_l1: float,
                    lamb_entropy: float) -> tuple[float, list[tuple[Tensor, Tensor]]]:
    """Sum over layers of the penalty on v = edge_std / (in_std + 0.1), and per layer the gradients
    (d/d edge_std (I, O), d/d in_std (I,)), as tensors like the inputs."""
    total, grads = 0.0, []
    for edge_std, in_std in stats:
        s = edge_std.detach().double().cpu().numpy()
        r = 1.0 / (in_std.detach().double().cpu().numpy()[:, None] + 0.1)
        value, dv = sparsity_penalty(s * r, lamb_l1, lamb_entropy)
        total += value
        g_edge = dv * r
        g_in = -(g_edge * s * r).sum(1)
        grads.append((torch.from_numpy(g_edge).to(edge_std), torch.from_numpy(g_in).to(in_std)))
    return total, grads


class _Context:
    """What a torch.autograd.Function's static forward/backward expect of ctx, for calling them directly."""

    def __init__(self, needs_input_grad: tuple[bool, ...]) -> None:
        self.needs_input_grad = needs_input_grad
        self.saved_tensors: tuple[Tensor, ...] = ()

    def save_for_backward(self, *tensors: Any) -> None:
        self.saved_tensors = tensors


def applies(model: "KAN", x: Tensor, lamb: float, loss_fn: Any, lamb_coef: float, lamb_coefdiff: float) -> bool:
    """Whether `evaluate_with_gradient` can stand in for autograd on this model and batch."""
    if loss_fn is not None or lamb_coef or lamb_coefdiff or model.mult_arities is not None or x.requires_grad:
        return False
    n = x.shape[0]
    if lamb > 0 and n < 2:
        return False
    for l, layer in enumerate(model.layers):
        if layer.base_fun is not torch.nn.functional.silu or (layer.sym_names and layer.has_symbolic):
            return False
        if l > 0 and lamb > 0 and n * layer.in_dim * layer.out_dim > EXPLICIT_ACTIVATION_LIMIT:
            return False
    return True


@torch.no_grad()
def evaluate_with_gradient(model: "KAN", x: Tensor, y: Tensor, lamb: float, lamb_l1: float,
                           lamb_entropy: float) -> tuple[Tensor, Tensor]:
    """Train loss mean((model(x) - y)^2) and the penalty (0 when lamb == 0); adds the gradient of
    loss + lamb * penalty to every trainable parameter's .grad (coef, scale_sp, scale_base).

    Call only where `applies(...)` holds. The parameters' .grad must exist (fit's flat gradient views).
    The data's features (and std) are kept by the first layer between evaluations (fused_spline.ConstantFeatures).
    """
    with_std = lamb > 0
    n = x.shape[0]
    contexts, inputs = [], []
    h = x
    for l, layer in enumerate(model.layers):
        grads = (layer.coef.requires_grad, layer.scale_sp.requires_grad, layer.scale_base.requires_grad)
        if l == 0:
            ctx = _Context((False, *grads, False, False, False))
            features = layer._constant_features(h)
            out, std = ConstantInputSplineLayer.forward(ctx, features, layer.coef, layer.scale_sp,
                                                        layer.scale_base, layer.mask, layer.bias, with_std)
        else:
            bases, slopes = spline._bases_and_derivative(h, layer.grid, layer.k, need_derivative=True)
            ctx = _Context((True, *grads, False, False, False, False, False))
            out, std = FusedSplineLayer.forward(ctx, h, layer.coef, layer.scale_sp, layer.scale_base, layer.mask,
                                                layer.bias, bases, slopes, with_std)
        contexts.append((ctx, std))
        inputs.append(h)
        h = out
    residual = h - y
    numel = residual.numel()
    loss = residual.reshape(-1).dot(residual.reshape(-1)) / numel
    reg = x.new_zeros(())
    penalty_grads: list[tuple[Tensor, Tensor]] = []
    in_stds: list[Tensor] = []
    if with_std:
        in_stds = [features.input_std if l == 0 else h_l.std(0) for l, h_l in enumerate(inputs)]
        value, penalty_grads = network_penalty([(std, s) for (_, std), s in zip(contexts, in_stds)],
                                               lamb_l1, lamb_entropy)
        reg = x.new_tensor(value)
    g = residual * (2.0 / numel)
    empty = x.new_empty(0)
    for l in range(model.depth - 1, -1, -1):
        layer = model.layers[l]
        ctx, std = contexts[l]
        g_std = penalty_grads[l][0] * lamb if with_std else empty
        backward = ConstantInputSplineLayer.backward if l == 0 else FusedSplineLayer.backward
        grads = backward(ctx, g, g_std)
        gx, gcoef, gsp, gsb = grads[0], grads[1], grads[2], grads[3]
        for param, grad in ((layer.coef, gcoef), (layer.scale_sp, gsp), (layer.scale_base, gsb)):
            if grad is not None:
                param.grad.add_(grad)
        if l > 0:
            if with_std:   # the input std's share: d std_i / d x_ni = (x_ni - mean_i) / ((N - 1) std_i)
                h_l = inputs[l]
                coeff = penalty_grads[l][1] * lamb / ((n - 1) * in_stds[l])
                gx = gx.addcmul_(h_l - h_l.mean(0), coeff)
            g = gx
    return loss, reg


class FixedInputLoss:
    """mean((model(x) - y)^2) of one fixed batch (fit's test set), evaluated after every step.

    The first layer keeps the features of x (as it keeps the training input's) until x or its grid changes,
    so an evaluation is one matmul for the first layer plus the other layers' forward; the same values as
    model(x). Use where `applies(model, x, 0, None, 0, 0)` holds, else model(x).
    """

    def __init__(self, x: Tensor, y: Tensor) -> None:
        self.x, self.y = x, y

    @torch.no_grad()
    def __call__(self, model: "KAN") -> Tensor:
        h = self.x
        for l, layer in enumerate(model.layers):
            if l == 0:
                ctx = _Context((False,) * 7)
                h = ConstantInputSplineLayer.forward(ctx, layer._constant_features(h), layer.coef, layer.scale_sp,
                                                     layer.scale_base, layer.mask, layer.bias, False)[0]
            else:
                bases = spline._bases_and_derivative(h, layer.grid, layer.k, need_derivative=False)[0]
                ctx = _Context((False,) * 9)
                h = FusedSplineLayer.forward(ctx, h, layer.coef, layer.scale_sp, layer.scale_base, layer.mask,
                                             layer.bias, bases, None, False)[0]
        residual = (h - self.y).reshape(-1)
        return residual.dot(residual) / residual.numel()
