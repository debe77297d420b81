"""Layers with symbolic edges on the fast path (fused numeric node + symbolic node, symbolic_node.py):
values and gradients (x, coef, scale_base, scale_sp, sym_affine) equal autograd of the composed formula,
written edge by edge here in float64:

    phi_io(x) = mask_io * [ (1 - s_io) * (scale_base_io * silu(x_i) + scale_sp_io * sum_m coef_iom B_m(x_i))
                            + s_io * (c * f(a * x_i + b) + d) ],      y_o = bias_o + sum_i phi_io
"""
from __future__ import annotations

import math

import pytest
import torch

from kanwidget.core.network.layer import KANLayer
from kanwidget.core.network.symbolic_kernels import has_hand_derivative
from kanwidget.core.numerics.bspline_reference import bspline_basis_reference
from kanwidget.core.numerics.symbolic import SYMBOLIC_LIB
from kanwidget.core.numerics.symbolic.library import SymbolicFunction
from model_helpers import randomise_parameters

F64 = torch.float64
# hand derivatives (sin ... arctan) and autograd fallbacks (sqrt, log, 1/x, tan)
FUNCTIONS = ["sin", "x^2", "exp", "tanh", "x", "cos", "x^3", "x^4", "gaussian", "abs", "arctan",
             "sqrt", "log", "1/x", "tan"]


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def mixed_layer(in_dim: int = 5, out_dim: int = 7, only_symbolic: bool = False, dtype=F64) -> KANLayer:
    """Random layer: every other edge symbolic (cycling through FUNCTIONS), one masked numeric edge and
    one masked symbolic edge; with only_symbolic every edge but one masked edge is symbolic."""
    layer = KANLayer(in_dim, out_dim, grid=5, k=3, generator=gen(0), dtype=dtype)
    g = gen(1)
    randomise_parameters(layer, g)
    with torch.no_grad():
        layer.mask[0, 1] = 0.0
        layer.mask[1, 0] = 0.0
    edge = 0
    for i in range(in_dim):
        for o in range(out_dim):
            if (i, o) == (0, 1) or (not only_symbolic and (i + o) % 2 == 1 and (i, o) != (1, 0)):
                continue
            name = FUNCTIONS[edge % len(FUNCTIONS)]
            edge += 1
            a = 0.5 + 0.5 * torch.rand(1, generator=g).item()
            b = 1.6 if name in ("sqrt", "log") else 0.1 * torch.randn(1, generator=g).item()   # sqrt/log: z > 0
            b = 0.3 if name == "1/x" else b
            c, d = torch.randn(2, generator=g).tolist()
            layer.set_symbolic(i, o, name, torch.tensor([a, b, c, d], dtype=F64))
    return layer


def y_by_hand(layer: KANLayer, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(y (N, O), acts (N, I, O)) from the formula, edge by edge, with autograd through the library functions."""
    bases = bspline_basis_reference(x, layer.grid, layer.k)
    silu = x * torch.sigmoid(x)
    cols = []
    for i in range(layer.in_dim):
        row = []
        for o in range(layer.out_dim):
            name = layer.symbolic_name(i, o)
            if name is None:
                value = layer.scale_base[i, o] * silu[:, i] + layer.scale_sp[i, o] * (bases[:, i] @ layer.coef[i, o])
            else:
                a, b, c, d = layer.sym_affine[i, o]
                value = c * SYMBOLIC_LIB[name].torch_fn(a * x[:, i] + b) + d
            row.append(layer.mask[i, o] * value)
        cols.append(torch.stack(row, dim=1))
    acts = torch.stack(cols, dim=1)
    return acts.sum(1) + layer.bias, acts


def samples(n: int = 150, in_dim: int = 5, seed: int = 2, dtype=F64) -> torch.Tensor:
    x = torch.rand(n, in_dim, generator=gen(seed), dtype=F64) * 2.4 - 1.2
    return x.to(dtype)


PARAMS = ("coef", "scale_base", "scale_sp", "sym_affine")


def gradients(layer: KANLayer, x: torch.Tensor, loss_fn, x_grad: bool = True) -> list[torch.Tensor]:
    xr = x.clone().requires_grad_(x_grad)
    params = [getattr(layer, name) for name in PARAMS]
    loss = loss_fn(xr)
    return list(torch.autograd.grad(loss, ([xr] if x_grad else []) + params, allow_unused=True))


def assert_all_close(got: list, want: list) -> None:
    for g, w in zip(got, want):      # None: the loss does not use that tensor (coef when every edge is symbolic)
        if g is None or w is None:
            assert (g is None or not g.any()) and (w is None or not w.any())
            continue
        torch.testing.assert_close(g, w, rtol=1e-10, atol=1e-11)


@pytest.mark.parametrize("only_symbolic", [False, True])
@pytest.mark.parametrize("x_grad", [True, False])
def test_values_and_gradients_equal_the_composed_formula(only_symbolic: bool, x_grad: bool) -> None:
    layer = mixed_layer(only_symbolic=only_symbolic)
    assert layer.fusable and layer._only_symbolic() is only_symbolic
    assert len(layer.sym_names) == len(FUNCTIONS)
    x = samples()
    gy = torch.randn(x.shape[0], layer.out_dim, generator=gen(3), dtype=F64)
    y_want = y_by_hand(layer, x)[0]
    torch.testing.assert_close(layer(x).detach(), y_want.detach(), rtol=0, atol=1e-12)
    with torch.no_grad():
        torch.testing.assert_close(layer(x), y_want.detach(), rtol=0, atol=1e-12)
    got = gradients(layer, x, lambda xr: (layer(xr) * gy).sum(), x_grad)
    want = gradients(layer, x, lambda xr: (y_by_hand(layer, xr)[0] * gy).sum(), x_grad)
    assert_all_close(got, want)
    sym = layer.sym_mask > 0
    assert torch.all(got[-1][~sym] == 0) and torch.all(got[-1][sym & (layer.mask == 0)] == 0)


@pytest.mark.parametrize("x_grad", [True, False])
def test_edge_std_path_with_symbolic_edges_equals_the_formula(x_grad: bool) -> None:
    layer = mixed_layer()
    x = samples(seed=5)
    gy = torch.randn(x.shape[0], layer.out_dim, generator=gen(6), dtype=F64)
    numeric = (layer.sym_mask == 0).to(F64)

    def fast(xr):
        y, std = layer.forward_with_edge_std(xr)
        return (y * gy).sum() + std.square().sum()

    def by_hand(xr):
        y, acts = y_by_hand(layer, xr)
        return (y * gy).sum() + (acts * numeric).std(0).square().sum()

    y, std = layer.forward_with_edge_std(x)
    y_want, acts = y_by_hand(layer, x)
    torch.testing.assert_close(y.detach(), y_want.detach(), rtol=0, atol=1e-12)
    torch.testing.assert_close(std.detach(), (acts * numeric).std(0).detach(), rtol=0, atol=1e-10)
    assert_all_close(gradients(layer, x, fast, x_grad), gradients(layer, x, by_hand, x_grad))


def test_symbolic_values_match_the_plain_functions() -> None:
    """Independent of the library: one layer of sin / x^2 / tanh edges against math written out."""
    layer = KANLayer(2, 2, generator=gen(0), dtype=F64)
    layer.set_symbolic(0, 0, "sin", torch.tensor([2.0, 0.5, -1.5, 0.25], dtype=F64))
    layer.set_symbolic(1, 0, "x^2", torch.tensor([1.0, -0.3, 0.7, -0.1], dtype=F64))
    layer.set_symbolic(0, 1, "tanh", torch.tensor([-1.0, 0.2, 3.0, 1.0], dtype=F64))
    layer.set_symbolic(1, 1, "exp", torch.tensor([0.5, 0.0, 1.0, 0.0], dtype=F64))
    x = torch.tensor([[0.3, -0.7], [-1.1, 0.4]], dtype=F64)
    for n, (u, v) in enumerate(x.tolist()):
        y0 = -1.5 * math.sin(2 * u + 0.5) + 0.25 + 0.7 * (v - 0.3) ** 2 - 0.1
        y1 = 3.0 * math.tanh(-u + 0.2) + 1.0 + math.exp(0.5 * v)
        torch.testing.assert_close(layer(x)[n].detach(), torch.tensor([y0, y1], dtype=F64), rtol=0, atol=1e-14)


def test_exp_beyond_its_clamp_has_the_clamps_zero_slope() -> None:
    layer = KANLayer(1, 1, generator=gen(0), dtype=F64)
    layer.set_symbolic(0, 0, "exp", torch.tensor([40.0, 15.0, 1e-20, 0.0], dtype=F64))
    x = torch.linspace(-1.0, 1.0, 41, dtype=F64)[:, None]          # z = 40x + 15 crosses 50 at x = 0.875
    gy = torch.ones(41, 1, dtype=F64)
    got = gradients(layer, x, lambda xr: (layer(xr) * gy).sum())
    want = gradients(layer, x, lambda xr: (y_by_hand(layer, xr)[0] * gy).sum())
    assert_all_close(got, want)
    assert torch.all(got[0][x[:, 0] > 0.875] == 0) and torch.all(got[0][x[:, 0] < 0.875] > 0)


def test_an_overwritten_builtin_is_differentiated_by_autograd(monkeypatch: pytest.MonkeyPatch) -> None:
    twice = SymbolicFunction("sin", lambda z: torch.sin(2 * z), lambda s: s, 2)
    layer = mixed_layer(only_symbolic=True)
    x = samples(seed=7)
    assert has_hand_derivative("sin")
    monkeypatch.setitem(SYMBOLIC_LIB, "sin", twice)
    assert not has_hand_derivative("sin")
    gy = torch.randn(x.shape[0], layer.out_dim, generator=gen(8), dtype=F64)
    torch.testing.assert_close(layer(x).detach(), y_by_hand(layer, x)[0].detach(), rtol=0, atol=1e-12)
    assert_all_close(gradients(layer, x, lambda xr: (layer(xr) * gy).sum()),
                     gradients(layer, x, lambda xr: (y_by_hand(layer, xr)[0] * gy).sum()))


def test_a_non_finite_sample_spoils_only_its_own_row() -> None:
    layer = mixed_layer()
    x = samples(n=10)
    x[4, 2] = float("nan")
    got, want = layer(x).detach(), y_by_hand(layer, x)[0].detach()
    torch.testing.assert_close(got, want, rtol=0, atol=1e-12, equal_nan=True)
    assert torch.isfinite(got[[0, 1, 2, 3, 5, 6, 7, 8, 9]]).all() and torch.isnan(got[4]).any()


def test_float32_layer_agrees_with_float64() -> None:
    wide = mixed_layer()
    narrow = mixed_layer(dtype=torch.float32)
    with torch.no_grad():
        for name in ("coef", "scale_base", "scale_sp", "sym_affine", "bias", "grid"):
            getattr(narrow, name).copy_(getattr(wide, name))
    x = samples()
    y32 = narrow(x.float())
    assert y32.dtype == torch.float32
    torch.testing.assert_close(y32.detach().double(), wide(x).detach(), rtol=1e-4, atol=1e-4)
    y32.sum().backward()
    assert narrow.sym_affine.grad.dtype == torch.float32 and torch.isfinite(narrow.sym_affine.grad).all()


@pytest.mark.parametrize("overwrite_x", [False, True])
def test_linear_edges_equal_the_composed_formula(overwrite_x: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Edges fixed to "x" are one matmul (or, when "x" is overwritten, evaluated like any function)."""
    layer = mixed_layer()
    g = gen(9)
    for i in range(layer.in_dim):                      # every symbolic edge on input 0 and 2 linear
        for o in range(layer.out_dim):
            if layer.symbolic_name(i, o) is not None and i in (0, 2):
                layer.set_symbolic(i, o, "x", torch.randn(4, generator=g, dtype=F64))
    only_linear = KANLayer(3, 2, generator=gen(0), dtype=F64)
    for i, o in [(0, 0), (1, 0), (2, 1), (0, 1)]:
        only_linear.set_symbolic(i, o, "x", torch.randn(4, generator=g, dtype=F64))
    with torch.no_grad():
        only_linear.mask[0, 1] = 0.0
    if overwrite_x:
        monkeypatch.setitem(SYMBOLIC_LIB, "x", SymbolicFunction("x", lambda z: 1.0 * z, lambda s: s, 1))
    assert has_hand_derivative("x") is not overwrite_x
    for lay in (layer, only_linear):
        x = samples(in_dim=lay.in_dim, seed=10)
        gy = torch.randn(x.shape[0], lay.out_dim, generator=gen(11), dtype=F64)
        torch.testing.assert_close(lay(x).detach(), y_by_hand(lay, x)[0].detach(), rtol=0, atol=1e-12)
        assert_all_close(gradients(lay, x, lambda xr, lay=lay, gy=gy: (lay(xr) * gy).sum()),
                         gradients(lay, x, lambda xr, lay=lay, gy=gy: (y_by_hand(lay, xr)[0] * gy).sum()))


def test_scratch_buffers_are_reused_per_thread_never_shared() -> None:
    import threading

    from kanwidget.core.network.scratch import MAX_ELEMENTS, release_scratch, scratch
    release_scratch()                                      # this thread's pool starts empty
    like = torch.zeros(1, dtype=F64)
    with scratch((30, 20), like) as first, scratch((30, 20), like) as second:   # nested: two distinct buffers
        assert first.shape == (30, 20) and first.dtype == F64
        assert first.data_ptr() != second.data_ptr()
        ptrs = {first.data_ptr(), second.data_ptr()}
    with scratch((10, 20), like) as again:                 # a smaller request reuses a kept buffer
        assert again.data_ptr() in ptrs
    seen = []
    def other_thread() -> None:
        with scratch((10, 20), like) as buf:
            seen.append(buf.data_ptr())
    worker = threading.Thread(target=other_thread)
    worker.start()
    worker.join()
    assert seen and seen[0] not in ptrs
    with scratch((MAX_ELEMENTS + 1,), like) as big:          # too large to keep: fresh each time
        big_ptr = big.data_ptr()
    with scratch((5,), like) as small:
        assert small.data_ptr() != big_ptr
