"""The training objective of a KAN whose base function is silu, with its gradient, computed without autograd.

fit's closure evaluates mean((f(x) - y)^2) + lamb * sparsity penalty about twenty times per LBFGS step.
For a small network that is a few hundred operations on tiny tensors, so the cost is per operation, and
autograd's own bookkeeping (graph nodes, the engine, gradient accumulation) is a large part of it. For
the common case, silu as the base function, no multiplication nodes and the squared error (symbolic edges too, when
there is no sparsity penalty), this module runs every layer's spline edges forward and backward by hand
with the samples in the last dimension (network/samples_last.py, where the batched products run 2-4x
faster than with the samples first), the symbolic edges through their node's own forward and backward
(network/symbolic_node.py), the sparsity penalty's analytic gradient (`sparsity_penalty`, in float64 on
the CPU), and the chain rule between layers, and writes the gradients into the parameters' .grad. Values
and gradients equal the composed formula differentiated by autograd up to rounding
(tests/core/test_network_objective.py); fit uses it whenever `applies` says so.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from kanwidget.core.network import samples_last
from kanwidget.core.network.symbolic_node import SymbolicBranchNode
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
    """Whether `evaluate_with_gradient` can stand in for autograd on this model and batch: the squared error,
    silu bases, no multiplication nodes, and symbolic edges only without the sparsity penalty."""
    if loss_fn is not None or lamb_coef or lamb_coefdiff or model.mult_arities is not None or x.requires_grad:
        return False
    n = x.shape[0]
    if lamb > 0 and n < 2:
        return False
    for l, layer in enumerate(model.layers):
        if layer.base_fun is not torch.nn.functional.silu or (lamb > 0 and layer.has_symbolic):
            return False
        if l > 0 and lamb > 0 and n * layer.in_dim * layer.out_dim > EXPLICIT_ACTIVATION_LIMIT:
            return False
    return True


class _LayerPass:
    """One layer's forward with the samples last, (O, N), and what its backward needs."""

    def __init__(self, layer: Any, first: bool, h: Tensor, features: Any, with_std: bool, need_grad: bool) -> None:
        self.layer, self.first = layer, first
        self.spline: tuple | None = None
        self.spline_backward: Any = None
        self.symbolic: _Context | None = None
        self.std = h.new_empty(0)
        symbolic = layer.has_symbolic
        out: Tensor | None = None
        if not (symbolic and layer._only_symbolic()):
            mask = layer.numeric_mask
            params = (layer.coef, layer.scale_sp, layer.scale_base, mask, layer.bias, with_std)
            live = spline.live_bases_samples_last(h, layer.grid, layer.k, need_grad) \
                if not first and layer.out_dim == 1 else None
            if first:
                out, self.std, self.spline = samples_last.first_layer_forward(features, *params)
                self.spline_backward = samples_last.first_layer_backward
            elif live is not None:    # one output on uniform knots: the non-zero bases only
                out, self.std, self.spline = samples_last.live_layer_forward(h, live, *params)
                self.spline_backward = samples_last.live_layer_backward
            else:
                bases, slopes = spline.bases_samples_last(h, layer.grid, layer.k, need_derivative=need_grad)
                out, self.std, self.spline = samples_last.hidden_layer_forward(h, bases, slopes, *params)
                self.spline_backward = samples_last.hidden_layer_backward
        if symbolic:   # symbolic_node's own forward and backward, with the samples first: (N, I) -> (N, O)
            ctx = _Context((need_grad and not first, need_grad and layer.sym_affine.requires_grad, False, False, False))
            x_first = features.x if first else h.t()
            ys = SymbolicBranchNode.forward(ctx, x_first, layer.sym_affine, layer.mask, layer._symbolic_plan(),
                                            layer.out_dim).t()
            out = ys.add(layer.bias.unsqueeze(1)) if out is None else ys.add(out)
            self.symbolic = ctx
        assert out is not None
        self.out = out

    def backward(self, g: Tensor, g_std: Tensor | None) -> Tensor | None:
        """Adds the parameters' gradients to their .grad from d/d output (O, N) (and d/d edge std);
        returns d/d input (I, N) of a hidden layer."""
        layer, gx = self.layer, None
        if self.spline is not None:
            gx = self.spline_backward(self.spline, g, g_std)
        if self.symbolic is not None:
            gx_sym, gaffine = SymbolicBranchNode.backward(self.symbolic, g.t())[:2]
            if gaffine is not None and layer.sym_affine.grad is not None:
                layer.sym_affine.grad.add_(gaffine)
            if gx_sym is not None:
                gx = gx_sym.t() if gx is None else gx.add_(gx_sym.t())
        return gx


@torch.no_grad()
def evaluate_with_gradient(model: "KAN", x: Tensor, y: Tensor, lamb: float, lamb_l1: float,
                           lamb_entropy: float) -> tuple[Tensor, Tensor]:
    """Train loss mean((model(x) - y)^2) and the penalty (0 when lamb == 0); adds the gradient of
    loss + lamb * penalty to every trainable parameter's .grad (coef, scale_sp, scale_base, sym_affine).

    Call only where `applies(...)` holds. The parameters' .grad must exist (fit's flat gradient views).
    The spline edges run with the samples last (network/samples_last.py), symbolic edges through their
    node's own forward and backward (network/symbolic_node.py); the data's features (and std) are kept
    by the first layer between evaluations (fused_spline.ConstantFeatures).
    """
    with_std = lamb > 0
    n = x.shape[0]
    layers = list(model.layers)
    features = layers[0]._constant_features(x)
    passes: list[_LayerPass] = []
    h = x.new_empty(0)
    for l, layer in enumerate(layers):
        passes.append(_LayerPass(layer, l == 0, h, features, with_std, need_grad=True))
        h = passes[-1].out
    residual = (h - y.t()).reshape(-1)                     # (O, N) against the labels one row per output
    numel = residual.numel()
    loss = residual.dot(residual) / numel
    reg = x.new_zeros(())
    penalty_grads: list[tuple[Tensor, Tensor]] = []
    in_stds: list[Tensor] = []
    centred: list[Tensor] = []                     # hidden inputs minus their batch mean, (I, N)
    if with_std:
        centred = [p.out - p.out.mean(1, keepdim=True) for p in passes[:-1]]
        in_stds = [features.input_std] + [c.square().sum(1).div_(n - 1).sqrt_() for c in centred]
        value, penalty_grads = network_penalty([(p.std, s) for p, s in zip(passes, in_stds)], lamb_l1, lamb_entropy)
        reg = x.new_tensor(value)
    g = residual.view_as(h) * (2.0 / numel)
    for l in range(len(layers) - 1, -1, -1):
        gx = passes[l].backward(g, penalty_grads[l][0] * lamb if with_std else None)
        if l > 0:
            assert gx is not None
            g = gx
            if with_std:   # the input std's share: d std_i / d x_in = (x_in - mean_i) / ((N - 1) std_i)
                coeff = penalty_grads[l][1] * lamb / ((n - 1) * in_stds[l])
                g = g.addcmul_(centred[l - 1], coeff.unsqueeze(1))
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
        layers = list(model.layers)
        features = layers[0]._constant_features(self.x)
        h = self.x.new_empty(0)
        for l, layer in enumerate(layers):
            h = _LayerPass(layer, l == 0, h, features, with_std=False, need_grad=False).out
        residual = (h - self.y.t()).reshape(-1)
        return residual.dot(residual) / residual.numel()
