"""The fused sparsity penalty equals the KAN paper's formula, with the right gradient."""
import torch
from torch import Tensor

from kanwidget import KAN
from kanwidget.core.network import layer as layer_module
from kanwidget.core.operations.training import _NetworkSparsity, forward_with_stats


def regularization_reference(vec: Tensor, lamb_l1: float, lamb_entropy: float) -> Tensor:
    """The KAN paper's penalty written with plain autograd ops (the independent reference)."""
    p_in = vec / (vec.sum(0, keepdim=True) + 1)
    p_out = vec / (vec.sum(1, keepdim=True) + 1)
    ent_in = -(p_in * torch.log2(p_in + 1e-4)).sum(0).mean()
    ent_out = -(p_out * torch.log2(p_out + 1e-4)).sum(1).mean()
    return lamb_l1 * vec.sum() + lamb_entropy * (ent_in + ent_out)


def test_fused_penalty_matches_reference_value_and_gradient():
    """The penalty node on v = edge_std / (in_std + 0.1) (in_std = 0.9 makes v = edge_std)."""
    torch.manual_seed(0)
    v = (torch.rand(5, 3, dtype=torch.float64) * 2).requires_grad_()
    in_std = torch.full((5,), 0.9, dtype=torch.float64)
    fused = _NetworkSparsity.apply(1.0, 2.0, v, in_std)
    ref = regularization_reference(v, 1.0, 2.0)
    assert torch.allclose(fused, ref, atol=1e-12)
    g_fused, = torch.autograd.grad(fused, v)
    g_ref, = torch.autograd.grad(ref, v)
    assert torch.allclose(g_fused, g_ref, atol=1e-10)
    s = torch.rand(5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t, u: _NetworkSparsity.apply(0.7, 1.3, t, u), (v, s))


def test_explicit_and_covariance_edge_std_agree(monkeypatch):
    model = KAN(width=[3, 4, 2], grid=5, seed=0, dtype=torch.float64)
    x = torch.rand(200, 3, dtype=torch.float64) * 2 - 1
    y1, s1 = forward_with_stats(model, x)
    monkeypatch.setattr(layer_module, "EXPLICIT_ACTIVATION_LIMIT", 0)
    y2, s2 = forward_with_stats(model, x)
    assert torch.allclose(y1, y2, atol=1e-12)
    for (a, _), (b, _) in zip(s1, s2):
        assert torch.allclose(a, b, atol=1e-10)
    explicit = model.layers[0].edge_activations(x).std(0)
    assert torch.allclose(s1[0][0], explicit, atol=1e-10)


def test_fused_layer_matches_composed_autograd(monkeypatch):
    """The fused training path (one autograd node per layer) gives the same values and gradients."""
    from kanwidget.core.network.layer import KANLayer
    from kanwidget.core.operations.training import regularization
    model = KAN(width=[3, 4, 2], grid=5, seed=0, dtype=torch.float64)
    with torch.no_grad():
        for layer in model.layers:
            layer.mask[0, 1] = 0.0
            layer.bias.normal_()
    x = torch.rand(60, 3, dtype=torch.float64) * 2 - 1

    def run(with_reg):
        model.zero_grad(set_to_none=True)
        xr = x.clone().requires_grad_()
        if with_reg:
            pred, stds = forward_with_stats(model, xr)
            loss = (pred ** 2).mean() + 0.3 * regularization(model, stds, 1.0, 2.0, 0.0, 0.0)
        else:
            loss = (model(xr) ** 3).mean()
        loss.backward()
        return loss.detach(), [p.grad.clone() for p in model.parameters() if p.grad is not None] + [xr.grad]

    assert all(layer.fusable for layer in model.layers)
    fused = [run(False), run(True)]
    monkeypatch.setattr(KANLayer, "fusable", property(lambda self: False))
    composed = [run(False), run(True)]
    for (lf, gf), (lc, gc) in zip(fused, composed):
        assert torch.allclose(lf, lc, atol=1e-13)
        assert len(gf) == len(gc) == 7
        for a, b in zip(gf, gc):
            assert torch.allclose(a, b, atol=1e-12)


def test_first_layer_bases_are_reused_until_data_or_grid_change():
    from kanwidget.core.numerics.spline import bspline_basis
    model = KAN(width=[2, 3, 1], grid=5, seed=0, dtype=torch.float64)
    layer = model.layers[0]
    x = torch.rand(100, 2, dtype=torch.float64) * 2 - 1
    first, _ = layer._training_bases(x)
    again, _ = layer._training_bases(x)
    assert again is first                                   # cached for the same tensor
    layer.update_grid_from_samples(x)                       # knots change in place
    after_grid, _ = layer._training_bases(x)
    assert after_grid is not first and torch.equal(after_grid, bspline_basis(x, layer.grid, layer.k))
    x.mul_(0.5)                                             # data changed in place
    after_data, _ = layer._training_bases(x)
    assert torch.equal(after_data, bspline_basis(x, layer.grid, layer.k))
    other = x.clone()
    assert layer._training_bases(other)[0] is not after_data
