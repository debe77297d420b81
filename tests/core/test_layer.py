"""KANLayer: every evaluation path computes the same phi, checked against the formula written out by hand.

phi_io(x) = mask_io * [ (1 - s_io) * (scale_base_io * silu(x_i) + scale_sp_io * sum_m coef_iom B_m(x_i))
                        + s_io * (c * f(a * x_i + b) + d) ]
with B_m from the plain Cox-de Boor reference (bspline_reference.py), not from the fast tables.
"""
from __future__ import annotations

import pytest
import torch

from kanwidget.core.network.layer import KANLayer
from model_helpers import random_layer
from kanwidget.core.network.phi import numeric_weights
from kanwidget.core.numerics.bspline_reference import bspline_basis_reference
from kanwidget.core.numerics.symbolic import SYMBOLIC_LIB

F64 = torch.float64
SYMBOLIC_EDGES = {(0, 1): ("sin", (2.0, 0.5, -1.5, 0.25)), (2, 0): ("x^2", (1.0, -0.3, 0.7, -0.1)),
                  (1, 3): ("sin", (-1.0, 0.0, 0.5, 0.0))}


def make_layer(symbolic: bool, grid: int = 5) -> KANLayer:
    layer = random_layer(grid)                                        # edge (1, 2): a pruned numeric edge
    with torch.no_grad():
        layer.mask[1, 3] = 0.0                                        # a pruned symbolic edge
    if symbolic:
        for (i, o), (name, affine) in SYMBOLIC_EDGES.items():
            layer.set_symbolic(i, o, name, torch.tensor(affine, dtype=F64))
    return layer


def phi_by_hand(layer: KANLayer, x: torch.Tensor) -> torch.Tensor:
    """(N, I, O) from the formula, edge by edge."""
    bases = bspline_basis_reference(x, layer.grid, layer.k)          # (N, I, M)
    silu = x * torch.sigmoid(x)
    out = torch.zeros(x.shape[0], layer.in_dim, layer.out_dim, dtype=x.dtype)
    for i in range(layer.in_dim):
        for o in range(layer.out_dim):
            spline_io = bases[:, i] @ layer.coef[i, o]
            numeric = layer.scale_base[i, o] * silu[:, i] + layer.scale_sp[i, o] * spline_io
            name = layer.symbolic_name(i, o)
            if name is None:
                out[:, i, o] = layer.mask[i, o] * numeric
            else:
                a, b, c, d = layer.sym_affine[i, o]
                out[:, i, o] = layer.mask[i, o] * (c * SYMBOLIC_LIB[name].torch_fn(a * x[:, i] + b) + d)
    return out


def samples(n: int = 200, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 3, generator=torch.Generator().manual_seed(seed), dtype=F64) * 2.4 - 1.2


@pytest.mark.parametrize("symbolic", [False, True])
def test_every_path_computes_the_same_phi(symbolic: bool) -> None:
    layer = make_layer(symbolic)
    x = samples()
    want = phi_by_hand(layer, x).detach()
    y_want = want.sum(1) + layer.bias
    acts = layer.edge_activations(x).detach()
    torch.testing.assert_close(acts, want, rtol=0, atol=1e-12)
    assert layer.fusable                                                                 # numeric part fused
    torch.testing.assert_close(layer(x).detach(), y_want, rtol=0, atol=1e-12)          # + the symbolic node
    with torch.no_grad():
        torch.testing.assert_close(layer(x), y_want, rtol=0, atol=1e-12)               # forward_with_bases
    y, std = layer.forward_with_edge_std(x)
    torch.testing.assert_close(y.detach(), y_want, rtol=0, atol=1e-12)
    numeric = want * (1.0 - layer.sym_mask)                                              # the spline branch only
    torch.testing.assert_close(std.detach(), numeric.std(0), rtol=0, atol=1e-10)
    y_big, _ = layer.forward_with_bases(x)
    torch.testing.assert_close(layer.numeric_edge_std(x, layer.forward_with_bases(x)[1]).detach(),
                               numeric.std(0), rtol=0, atol=1e-10)
    torch.testing.assert_close(y_big.detach(), y_want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("with_std", [False, True])
def test_fused_gradients_equal_autograd_of_the_formula(with_std: bool) -> None:
    layer = make_layer(symbolic=False)
    x = samples(seed=3)
    gy = torch.randn(x.shape[0], layer.out_dim, generator=torch.Generator().manual_seed(4), dtype=F64)
    params = [layer.coef, layer.scale_sp, layer.scale_base]

    def grads(loss_of_phi):
        xr = x.clone().requires_grad_()
        loss = loss_of_phi(xr)
        return torch.autograd.grad(loss, [xr, *params])

    def fused(xr):
        if with_std:
            y, std = layer.forward_with_edge_std(xr)
            return (y * gy).sum() + std.square().sum()
        return (layer(xr) * gy).sum()

    def by_hand(xr):
        acts = phi_by_hand(layer, xr)
        y = acts.sum(1) + layer.bias
        return (y * gy).sum() + (acts.std(0).square().sum() if with_std else 0.0)

    for got, want in zip(grads(fused), grads(by_hand)):
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-10)


def test_numeric_weights_fold_scale_and_mask() -> None:
    layer = make_layer(symbolic=True)
    w_spline, w_base = layer.numeric_weights()
    m = layer.mask * (1 - layer.sym_mask)
    torch.testing.assert_close(w_base, layer.scale_base * m)
    torch.testing.assert_close(w_spline, layer.coef * (layer.scale_sp * m)[..., None])
    assert w_base[0, 1] == 0 and w_base[1, 2] == 0 and w_base[0, 0] != 0       # symbolic and pruned edges off
    direct = numeric_weights(layer.coef, layer.scale_sp, layer.scale_base, layer.mask)
    assert direct[1][0, 1] != 0                                                  # the mask alone keeps it


@pytest.mark.parametrize("grid", [5, 20])
def test_non_finite_input_gives_nan_for_that_input_not_an_error(grid: int) -> None:
    """An inf row used to raise IndexError from the spline evaluator (on fine grids)."""
    layer = make_layer(symbolic=True, grid=grid)
    x = samples(4)
    x[0, 0] = float("inf")
    x[1, 1] = float("-inf")
    x[2, 2] = float("nan")
    acts = layer.edge_activations(x)
    assert torch.isnan(acts[0, 0, [0, 2, 3]]).all() and torch.isnan(acts[2, 2, [1, 2, 3]]).all()
    assert torch.isfinite(acts[3]).all() and torch.isfinite(acts[0, 1:]).all()
    for path in (layer, layer.forward_with_edge_std):
        out = path(x)
        y = out[0] if isinstance(out, tuple) else out
        assert torch.isfinite(y[3]).all()
