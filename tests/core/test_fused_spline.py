"""The constant-input training node (first layer's data: cached features + covariance) equals phi by hand."""
from __future__ import annotations

import pytest
import torch

from kanwidget.core.network.fused_spline import ConstantInputSplineLayer
from kanwidget.core.network.layer import KANLayer
from kanwidget.core.numerics.bspline_reference import bspline_basis_reference
from model_helpers import random_layer

F64 = torch.float64


def make_layer() -> KANLayer:
    return random_layer(5)


def phi_by_hand(layer: KANLayer, x: torch.Tensor) -> torch.Tensor:
    """(N, I, O): mask * (scale_base * silu(x) + scale_sp * sum_m coef B_m(x)) with reference bases."""
    bases = bspline_basis_reference(x, layer.grid, layer.k)
    silu = x * torch.sigmoid(x)
    spline_part = torch.einsum("nim,iom->nio", bases, layer.coef)
    return layer.mask * (layer.scale_base * silu[:, :, None] + layer.scale_sp * spline_part)


@pytest.mark.parametrize("with_std", [False, True])
def test_constant_input_values_and_gradients_equal_the_formula(with_std: bool) -> None:
    layer = make_layer()
    x = torch.rand(150, 3, generator=torch.Generator().manual_seed(2), dtype=F64) * 2.4 - 1.2
    gy = torch.randn(150, 4, generator=torch.Generator().manual_seed(3), dtype=F64)
    gs = torch.randn(3, 4, generator=torch.Generator().manual_seed(4), dtype=F64)
    params = [layer.coef, layer.scale_sp, layer.scale_base]

    y, std = layer.forward_with_edge_std(x) if with_std else (layer(x), None)
    got_loss = (y * gy).sum() + ((std * gs).sum() if with_std else 0.0)
    got = torch.autograd.grad(got_loss, params)

    acts = phi_by_hand(layer, x)
    y_want = acts.sum(1) + layer.bias
    torch.testing.assert_close(y.detach(), y_want.detach(), rtol=0, atol=1e-12)
    want_loss = (y_want * gy).sum()
    if with_std:
        torch.testing.assert_close(std.detach(), acts.std(0).detach(), rtol=0, atol=1e-10)
        assert std[1, 2] < 1e-100                                      # the pruned edge
        want_loss = want_loss + (acts.std(0).clamp_min(1e-150) * gs).sum()
    want = torch.autograd.grad(want_loss, params)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=1e-9, atol=1e-10)


def test_features_are_cached_until_the_data_or_grid_change() -> None:
    layer = make_layer()
    x = torch.rand(50, 3, generator=torch.Generator().manual_seed(5), dtype=F64) * 2 - 1
    first = layer._constant_features(x)
    assert layer._constant_features(x) is first
    layer.update_grid_from_samples(x)
    second = layer._constant_features(x)
    assert second is not first
    x.mul_(0.5)
    assert layer._constant_features(x) is not second
    y, _ = ConstantInputSplineLayer.apply(layer._constant_features(x), layer.coef, layer.scale_sp,
                                          layer.scale_base, layer.mask, layer.bias, False)
    torch.testing.assert_close(y.detach(), (phi_by_hand(layer, x).sum(1) + layer.bias).detach(), rtol=0, atol=1e-12)


def test_a_layer_with_only_symbolic_edges_skips_the_spline_branch_with_the_same_values() -> None:
    layer = make_layer()
    with torch.no_grad():
        layer.mask[1, 2] = 0.0
    for i in range(3):
        for o in range(4):
            if (i, o) != (1, 2):
                layer.set_symbolic(i, o, ["sin", "x^2"][(i + o) % 2], torch.tensor([1.5, -0.2, 0.8, 0.1], dtype=F64))
    assert layer._only_symbolic()
    x = torch.rand(80, 3, generator=torch.Generator().manual_seed(6), dtype=F64) * 2 - 1
    y_want = layer.bias.expand(80, 4).clone()
    for i in range(3):
        for o in range(4):
            if (i, o) != (1, 2):
                f = torch.sin if (i + o) % 2 == 0 else torch.square
                y_want[:, o] += 0.8 * f(1.5 * x[:, i] - 0.2) + 0.1
    torch.testing.assert_close(layer(x).detach(), y_want.detach(), rtol=0, atol=1e-12)
    torch.testing.assert_close(layer(x).detach(), layer.forward_with_bases(x)[0].detach(), rtol=0, atol=1e-14)
    layer.set_symbolic(0, 0, None)                                      # one numeric edge again
    assert not layer._only_symbolic()


def test_network_sparsity_node_equals_the_papers_formula_with_its_gradients() -> None:
    from kanwidget.core.operations.training import _NetworkSparsity

    gen = torch.Generator().manual_seed(7)
    stats = [torch.rand(3, 4, generator=gen, dtype=F64), torch.rand(3, generator=gen, dtype=F64),
             torch.rand(4, 1, generator=gen, dtype=F64), torch.rand(4, generator=gen, dtype=F64)]
    stats = [t.requires_grad_() for t in stats]

    def by_hand():
        total = 0.0
        for edge_std, in_std in zip(stats[::2], stats[1::2]):
            v = edge_std / (in_std[:, None] + 0.1)
            p = v / (v.sum(0, keepdim=True) + 1)
            q = v / (v.sum(1, keepdim=True) + 1)
            ent = -(p * torch.log2(p + 1e-4)).sum(0).mean() - (q * torch.log2(q + 1e-4)).sum(1).mean()
            total = total + 0.7 * v.sum() + 2.0 * ent
        return total

    got = _NetworkSparsity.apply(0.7, 2.0, *stats)
    want = by_hand()
    torch.testing.assert_close(got, want, rtol=1e-13, atol=1e-13)
    for g, w in zip(torch.autograd.grad(got, stats), torch.autograd.grad(want, stats)):
        torch.testing.assert_close(g, w, rtol=1e-10, atol=1e-12)


def test_the_training_and_the_test_inputs_keep_their_features_side_by_side() -> None:
    """fit alternates the training data (every closure) and the test data (every step): both stay cached."""
    layer = make_layer()
    gen = torch.Generator().manual_seed(9)
    train, test, third = (torch.rand(30, 3, generator=gen, dtype=F64) for _ in range(3))
    first_train, first_test = layer._constant_features(train), layer._constant_features(test)
    assert layer._constant_features(train) is first_train and layer._constant_features(test) is first_test
    layer._constant_features(third)                        # a third input pushes out the least recently used
    assert layer._constant_features(test) is first_test and layer._constant_features(train) is not first_train


def test_cached_bases_are_a_view_of_the_features_once_those_exist() -> None:
    layer = make_layer()
    x = torch.rand(40, 3, generator=torch.Generator().manual_seed(8), dtype=F64) * 2 - 1
    bases, _ = layer._training_bases(x)
    features = layer._constant_features(x)
    again, _ = layer._training_bases(x)
    assert again.data_ptr() == features.feats.data_ptr() + 8 and torch.equal(again, bases)
    assert layer._training_bases(x)[0] is again
