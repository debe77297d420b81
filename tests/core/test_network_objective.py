"""fit's autograd-free objective (operations/network_objective.py) equals the KAN's objective written by hand.

The reference below is the plain formula, differentiated by torch's autograd: phi_io = mask * (scale_base * silu(x)
+ scale_sp * sum_m coef B_m(x)) with the textbook (Cox-de Boor) bases, the layer sums, the squared error, and the
KAN paper's sparsity penalty on edge magnitudes std(phi_io) / (std(x_i) + 0.1).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from kanwidget import KAN, create_dataset
from kanwidget.core.numerics.bspline_reference import bspline_basis_reference
from kanwidget.core.numerics.symbolic import SYMBOLIC_LIB
from kanwidget.core.operations import network_objective
from kanwidget.core.operations.network_objective import applies, evaluate_with_gradient, sparsity_penalty
from model_helpers import randomise_parameters


def reference_penalty(v: torch.Tensor, lamb_l1: float, lamb_entropy: float) -> torch.Tensor:
    p = v / (v.sum(0, keepdim=True) + 1)
    q = v / (v.sum(1, keepdim=True) + 1)
    ent_in = -(p * torch.log2(p + 1e-4)).sum(0).mean()
    ent_out = -(q * torch.log2(q + 1e-4)).sum(1).mean()
    return lamb_l1 * v.sum() + lamb_entropy * (ent_in + ent_out)


def reference_objective(model: KAN, x: torch.Tensor, y: torch.Tensor, lamb: float, lamb_l1: float = 1.0,
                        lamb_entropy: float = 2.0) -> tuple[torch.Tensor, torch.Tensor]:
    h, reg = x, x.new_zeros(())
    for layer in model.layers:
        bases = bspline_basis_reference(h, layer.grid, layer.k)                       # (N, I, M)
        spline = torch.einsum("nim,iom->nio", bases, layer.coef)
        silu = h * torch.sigmoid(h)
        phi = layer.mask * (layer.scale_base * silu[:, :, None] + layer.scale_sp * spline)   # (N, I, O)
        if lamb > 0:
            v = phi.std(0) / (h.std(0)[:, None] + 0.1)
            reg = reg + reference_penalty(v, lamb_l1, lamb_entropy)
        h = phi.sum(1) + layer.bias
    return torch.mean((h - y) ** 2), reg


def randomised(width: list[int], dtype: torch.dtype, seed: int = 0) -> KAN:
    model = KAN(width=width, grid=5, k=3, seed=seed, dtype=dtype)
    gen = torch.Generator().manual_seed(seed + 1)
    for layer in model.layers:
        randomise_parameters(layer, gen)
    with torch.no_grad():
        model.layers[0].mask[1, 2] = 0.0            # a pruned edge
    return model


def gradients_by_hand(model: KAN, x: torch.Tensor, y: torch.Tensor, lamb: float):
    params = [p for p in model.parameters() if p.requires_grad]
    for p in params:
        p.grad = torch.zeros_like(p)
    loss, reg = evaluate_with_gradient(model, x, y, lamb, 1.0, 2.0)
    return loss, reg, {id(p): p.grad.clone() for p in params}


def gradients_by_autograd(model: KAN, x: torch.Tensor, y: torch.Tensor, lamb: float):
    params = [p for p in model.parameters() if p.requires_grad]
    loss, reg = reference_objective(model, x, y, lamb)
    grads = torch.autograd.grad(loss + lamb * reg, params, allow_unused=True)
    return loss, reg, {id(p): (g if g is not None else torch.zeros_like(p)) for p, g in zip(params, grads)}


@pytest.mark.parametrize("width", [[2, 5, 1], [3, 4, 2, 2], [2, 3, 9, 1], [2, 3, 17, 1]])   # 9 outputs > 8 bases; 17 >= WIDE_OUTPUTS
@pytest.mark.parametrize("lamb", [0.0, 0.01])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_values_and_gradients_equal_the_formula(width: list[int], lamb: float, dtype: torch.dtype) -> None:
    model = randomised(width, dtype)
    gen = torch.Generator().manual_seed(7)
    x = (torch.rand(300, width[0], generator=gen, dtype=torch.float64) * 2.6 - 1.3).to(dtype)   # some beyond the grid
    y = torch.randn(300, width[-1], generator=gen, dtype=torch.float64).to(dtype)
    assert applies(model, x, lamb, None, 0.0, 0.0)
    loss, reg, got = gradients_by_hand(model, x, y, lamb)
    want_loss, want_reg, want = gradients_by_autograd(model, x, y, lamb)
    rtol = 1e-10 if dtype == torch.float64 else 2e-4
    assert float(loss) == pytest.approx(float(want_loss.detach()), rel=rtol)
    assert float(reg) == pytest.approx(float(want_reg.detach()), rel=rtol, abs=1e-12)
    if lamb > 0:
        assert float(reg) > 1.0                     # the penalty really is there
    for name, p in model.named_parameters():
        scale = float(want[id(p)].abs().max()) + 1e-30
        err = float((got[id(p)] - want[id(p)]).abs().max()) / scale
        assert err < (1e-9 if dtype == torch.float64 else 1e-3), (name, err)
    assert any(float(g.abs().max()) > 0 for g in got.values())


def test_non_uniform_knots_take_the_general_bases_and_still_match() -> None:
    """Knots that are not equally spaced leave the uniform-bases path: same values and gradients."""
    model = randomised([2, 4, 3, 1], torch.float64)
    gen = torch.Generator().manual_seed(11)
    with torch.no_grad():
        for layer in model.layers:
            steps = torch.rand(layer.grid.shape, generator=gen, dtype=torch.float64) + 0.5
            layer.grid.copy_(torch.cumsum(steps, dim=1) * 0.25 - 2.5)
    x = torch.rand(250, 2, generator=gen, dtype=torch.float64) * 2 - 1
    y = torch.randn(250, 1, generator=gen, dtype=torch.float64)
    for lamb in (0.0, 0.01):
        loss, _, got = gradients_by_hand(model, x, y, lamb)
        want_loss, _, want = gradients_by_autograd(model, x, y, lamb)
        assert float(loss) == pytest.approx(float(want_loss.detach()), rel=1e-10)
        for key in got:
            torch.testing.assert_close(got[key], want[key], rtol=1e-9, atol=1e-12)


def reference_with_symbolic_edges(model: KAN, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """mean((f(x) - y)^2) with phi_io = mask * ((1 - s) * (scale_base silu + scale_sp spline) + s * (c f(a x + b) + d))."""
    h = x
    for layer in model.layers:
        bases = bspline_basis_reference(h, layer.grid, layer.k)
        numeric = layer.scale_base * (h * torch.sigmoid(h))[:, :, None] + \
            layer.scale_sp * torch.einsum("nim,iom->nio", bases, layer.coef)
        symbolic = [[torch.zeros_like(h[:, 0]) for _ in range(layer.out_dim)] for _ in range(layer.in_dim)]
        for i, j in torch.nonzero(layer.sym_mask).tolist():
            a, b, c, d = layer.sym_affine[i, j]
            fn = SYMBOLIC_LIB[layer.sym_names[int(layer.sym_fun_ids[i, j])]].torch_fn
            symbolic[i][j] = c * fn(a * h[:, i] + b) + d
        sym = torch.stack([torch.stack(row, dim=1) for row in symbolic], dim=1)        # (N, I, O)
        phi = layer.mask * ((1 - layer.sym_mask) * numeric + layer.sym_mask * sym)
        h = phi.sum(1) + layer.bias
    return torch.mean((h - y) ** 2)


@pytest.mark.parametrize("case", ["mixed", "all symbolic", "first layer symbolic", "frozen affine"])
def test_symbolic_edges_without_penalty_match_the_formula(case: str) -> None:
    model = randomised([2, 3, 1], torch.float64)
    edges = {"mixed": [(1, 0, 0, "sin"), (1, 2, 0, "x^2"), (0, 0, 1, "exp")],
             "all symbolic": [(0, i, j, name) for i, j, name in [(0, 0, "sin"), (0, 1, "x"), (0, 2, "tanh"),
                                                                  (1, 0, "x^2"), (1, 1, "exp"), (1, 2, "sqrt")]]
             + [(1, i, 0, name) for i, name in enumerate(["x", "sin", "x^3"])],
             "first layer symbolic": [(0, 0, 1, "x"), (0, 1, 1, "cos"), (0, 0, 2, "abs")],
             "frozen affine": [(1, 1, 0, "tanh"), (0, 1, 0, "x")]}[case]
    gen = torch.Generator().manual_seed(5)
    for l, i, j, name in edges:
        affine = torch.tensor([1.3, -0.2, 0.8, 0.1], dtype=torch.float64) + 0.1 * torch.rand(4, generator=gen,
                                                                                             dtype=torch.float64)
        model.layers[l].set_symbolic(i, j, name, affine)
    if case == "frozen affine":
        model.layers[1].sym_affine.requires_grad_(False)
    x = torch.rand(200, 2, generator=gen, dtype=torch.float64) * 2 - 1
    y = torch.randn(200, 1, generator=gen, dtype=torch.float64)
    assert applies(model, x, 0.0, None, 0.0, 0.0)
    loss, reg, got = gradients_by_hand(model, x, y, 0.0)
    params = [p for p in model.parameters() if p.requires_grad]
    want_loss = reference_with_symbolic_edges(model, x, y)
    want = torch.autograd.grad(want_loss, params, allow_unused=True)
    assert float(loss) == pytest.approx(float(want_loss.detach()), rel=1e-12) and float(reg) == 0.0
    for p, w in zip(params, want):
        w = torch.zeros_like(p) if w is None else w
        torch.testing.assert_close(got[id(p)], w, rtol=1e-9, atol=1e-12)
    assert float(model.layers[0].sym_affine.grad.abs().sum()) > 0        # every case has a symbolic edge there
    fixed = network_objective.FixedInputLoss(x, y)(model)
    assert float(fixed) == pytest.approx(float(want_loss.detach()), rel=1e-12)


def test_frozen_scales_get_no_gradient_and_the_others_match() -> None:
    model = randomised([2, 3, 1], torch.float64)
    for layer in model.layers:
        layer.scale_sp.requires_grad_(False)
    x = torch.rand(200, 2, generator=torch.Generator().manual_seed(3), dtype=torch.float64) * 2 - 1
    y = torch.sin(3 * x[:, :1])
    _, _, got = gradients_by_hand(model, x, y, 0.01)
    _, _, want = gradients_by_autograd(model, x, y, 0.01)
    assert got.keys() == want.keys()
    for key in got:
        torch.testing.assert_close(got[key], want[key], rtol=1e-9, atol=1e-12)
    assert all(layer.scale_sp.grad is None for layer in model.layers)


def test_sparsity_penalty_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(0)
    v = rng.uniform(0.01, 2.0, size=(4, 3))
    value, grad = sparsity_penalty(v, 1.0, 2.0)
    assert value == pytest.approx(float(reference_penalty(torch.from_numpy(v), 1.0, 2.0)), rel=1e-12)
    eps = 1e-6
    for i in range(4):
        for j in range(3):
            up, down = v.copy(), v.copy()
            up[i, j] += eps
            down[i, j] -= eps
            fd = (sparsity_penalty(up, 1.0, 2.0)[0] - sparsity_penalty(down, 1.0, 2.0)[0]) / (2 * eps)
            assert grad[i, j] == pytest.approx(fd, rel=1e-6, abs=1e-8)


def test_applies_only_to_silu_networks_with_the_squared_error() -> None:
    model = randomised([2, 3, 1], torch.float64)
    x = torch.rand(50, 2, dtype=torch.float64)
    assert applies(model, x, 0.01, None, 0.0, 0.0)
    assert not applies(model, x, 0.01, torch.nn.functional.l1_loss, 0.0, 0.0)   # a custom loss
    assert not applies(model, x, 0.01, None, 0.1, 0.0)                          # coefficient penalties
    assert not applies(model, x, 0.01, None, 0.0, 0.1)
    assert not applies(model, x[:1], 0.01, None, 0.0, 0.0)                      # no std of one sample
    assert not applies(model, x.requires_grad_(), 0.0, None, 0.0, 0.0)
    model.layers[1].set_symbolic(0, 0, "sin")
    assert applies(model, x.detach(), 0.0, None, 0.0, 0.0)                      # a symbolic edge, no penalty
    assert not applies(model, x.detach(), 0.01, None, 0.0, 0.0)                 # a symbolic edge and the penalty
    assert not applies(KAN(width=[2, [0, 1], 1], seed=0), x.detach(), 0.0, None, 0.0, 0.0)   # a product node
    assert not applies(KAN(width=[2, 2, 1], base_fun="identity", seed=0), x.detach(), 0.0, None, 0.0, 0.0)


def test_fit_takes_the_same_steps_with_and_without_the_autograd_free_path(monkeypatch) -> None:
    """Five sparse LBFGS steps (grid updates included) land on the same model either way (rounding differs
    between the two, and LBFGS amplifies it: about 3e-6 relative after five steps)."""
    ds = create_dataset(lambda x: torch.exp(torch.sin(math.pi * x[:, [0]]) + x[:, [1]] ** 2), n_var=2,
                        train_num=300, test_num=100, seed=0, dtype=torch.float64)

    def trained() -> tuple[KAN, dict]:
        model = KAN(width=[2, 3, 1], grid=5, k=3, seed=1, dtype=torch.float64)
        results = model.fit(ds, steps=5, lamb=0.001, verbose=False)
        return model, results

    fast_model, fast = trained()
    calls = []
    real = network_objective.applies
    monkeypatch.setattr(network_objective, "applies", lambda *a: calls.append(1) and False or False)
    slow_model, slow = trained()
    monkeypatch.setattr(network_objective, "applies", real)
    assert calls                                    # the second fit really went through autograd
    np.testing.assert_allclose(fast["train_loss"][:3], slow["train_loss"][:3], rtol=1e-8)
    np.testing.assert_allclose(fast["train_loss"], slow["train_loss"], rtol=1e-4)
    for (name, a), b in zip(fast_model.state_dict().items(), slow_model.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-6, msg=name)


def test_fixed_input_loss_equals_the_models_and_follows_grid_updates() -> None:
    model = randomised([2, 5, 1], torch.float64)
    gen = torch.Generator().manual_seed(11)
    x = torch.rand(120, 2, generator=gen, dtype=torch.float64) * 2 - 1
    y = torch.randn(120, 1, generator=gen, dtype=torch.float64)
    loss = network_objective.FixedInputLoss(x, y)

    def by_model() -> float:
        with torch.no_grad():
            return float(torch.mean((model(x) - y) ** 2))

    assert float(loss(model)) == pytest.approx(by_model(), rel=1e-12)
    model.update_grid_from_samples(x * 0.5)                # new grids: the kept features must be rebuilt
    assert float(loss(model)) == pytest.approx(by_model(), rel=1e-12)
    with torch.no_grad():
        x.mul_(0.7)                                         # the data changed in place
    assert float(loss(model)) == pytest.approx(by_model(), rel=1e-12)
