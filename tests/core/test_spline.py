"""Fast B-spline tables (spline.py): exactness against scipy and the plain Cox-de Boor reference, derivatives,
non-finite input, fitting."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from kanwidget.core.numerics import spline
from kanwidget.core.numerics.bspline_reference import bspline_basis_reference, bspline_derivative_reference

scipy_interpolate = pytest.importorskip("scipy.interpolate")

F64 = torch.float64


# ----------------------------------------------------------------------------- references

def scipy_bases(x: np.ndarray, t: np.ndarray, k: int) -> np.ndarray:
    """(N, M) basis values of one knot vector from scipy's basis elements, half-open on the right like ours."""
    m_count = t.size - k - 1
    out = np.zeros((x.size, m_count))
    for m in range(m_count):
        local = t[m:m + k + 2]
        if local[-1] == local[0]:
            continue                                    # empty support
        v = np.nan_to_num(scipy_interpolate.BSpline.basis_element(local, extrapolate=False)(x))
        v[x >= local[-1]] = 0.0                         # scipy closes the support on the right
        out[:, m] = v
    return out


def random_knots(n_in: int, grid: int, k: int, seed: int, repeated: bool = False) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    g = torch.sort(torch.rand(n_in, grid + 1, generator=gen, dtype=F64) * 3 - 1.5, dim=1).values
    if repeated:
        g[:, 2] = g[:, 3]
    return spline.extend_grid(g, k)


def grid_updated_knots(n_in: int, grid: int, k: int, seed: int) -> torch.Tensor:
    """Knots like KANLayer.update_grid_from_samples makes them: percentiles blended with uniform."""
    gen = torch.Generator().manual_seed(seed)
    xs = torch.sort(torch.randn(500, n_in, generator=gen, dtype=F64) ** 3, dim=0).values
    idx = torch.linspace(0, 499, grid + 1).round().long()
    adaptive = xs[idx].T
    uniform = spline.uniform_grid(n_in, grid, xs[0], xs[-1], dtype=F64)
    return spline.extend_grid(0.02 * uniform + 0.98 * adaptive, k)


def sample_points(knots: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    """Random points over and beyond the knots, plus every knot itself and far-away points."""
    gen = torch.Generator().manual_seed(seed)
    lo, hi = knots[:, 0], knots[:, -1]
    span = hi - lo
    rnd = lo + (torch.rand(n, knots.shape[0], generator=gen, dtype=knots.dtype) * 1.4 - 0.2) * span
    far = torch.stack([lo - 1e6, hi + 1e6, lo - 1e-9, hi, hi + 1e-9, lo])
    return torch.cat([rnd, knots.T, far], dim=0)


KNOT_CASES = {
    "uniform": lambda k: spline.extend_grid(spline.uniform_grid(4, 5, -1.0, 1.0, dtype=F64), k),
    "uniform_wide": lambda k: spline.extend_grid(spline.uniform_grid(3, 20, torch.tensor([-3.0, 0.0, 100.0]),
                                                                     torch.tensor([2.0, 1e-3, 130.0]), dtype=F64), k),
    "random": lambda k: random_knots(4, 6, k, seed=3),
    "grid_update": lambda k: grid_updated_knots(5, 7, k, seed=4),
    "repeated_knot": lambda k: random_knots(3, 6, k, seed=5, repeated=True),
    "very_uneven": lambda k: spline.extend_grid(
        torch.tensor([[0.0, 1e-4, 2e-4, 1.0, 1000.0, 1000.5]], dtype=F64), k),
}


# ----------------------------------------------------------------------------- values

@pytest.mark.parametrize("case", sorted(KNOT_CASES))
@pytest.mark.parametrize("k", [0, 1, 2, 3, 5])
def test_bases_match_scipy_and_reference(case: str, k: int) -> None:
    knots = KNOT_CASES[case](k)
    x = sample_points(knots, 1500, seed=k)
    got = spline.bspline_basis(x, knots, k)
    assert got.shape == (x.shape[0], knots.shape[0], knots.shape[1] - k - 1)
    assert got.dtype == F64
    ref = bspline_basis_reference(x, knots, k)
    torch.testing.assert_close(got, ref, rtol=0, atol=1e-12)
    for i in range(knots.shape[0]):
        expected = scipy_bases(x[:, i].numpy(), knots[i].numpy(), k)
        np.testing.assert_allclose(got[:, i].numpy(), expected, rtol=0, atol=1e-12)


def test_partition_of_unity_inside_and_zero_outside() -> None:
    k = 3
    knots = grid_updated_knots(6, 5, k, seed=7)
    inner_lo, inner_hi = knots[:, k], knots[:, -k - 1]
    gen = torch.Generator().manual_seed(0)
    x = inner_lo + torch.rand(2000, 6, generator=gen, dtype=F64) * (inner_hi - inner_lo)
    x = torch.cat([x, knots[:, k:-k - 1].T])                       # grid points themselves too
    total = spline.bspline_basis(x, knots, k).sum(-1)
    torch.testing.assert_close(total, torch.ones_like(total), rtol=0, atol=1e-13)
    outside = torch.cat([knots[:, :1].T - torch.rand(50, 1, dtype=F64) * 10 - 1e-12,
                         knots[:, -1:].T + torch.rand(50, 1, dtype=F64) * 10, knots[:, -1:].T,
                         torch.full((1, 6), 1e300, dtype=F64), torch.full((1, 6), -1e300, dtype=F64)])
    assert torch.equal(spline.bspline_basis(outside, knots, k), torch.zeros(outside.shape[0], 6, knots.shape[1] - k - 1,
                                                                             dtype=F64))


def test_at_most_k_plus_one_nonzero_and_nonnegative() -> None:
    k = 3
    knots = random_knots(5, 8, k, seed=11)
    x = sample_points(knots, 1000, seed=1)
    b = spline.bspline_basis(x, knots, k)
    assert (b >= -1e-15).all()
    assert ((b != 0).sum(-1) <= k + 1).all()


def test_nan_input_gives_nan_not_error() -> None:
    knots = spline.extend_grid(spline.uniform_grid(2, 5, -1, 1, dtype=F64), 3)
    x = torch.tensor([[float("nan"), 0.3]], dtype=F64)
    b = spline.bspline_basis(x, knots, 3)
    assert torch.isnan(b[0, 0]).any()
    torch.testing.assert_close(b[0, 1], bspline_basis_reference(x, knots, 3)[0, 1], rtol=0, atol=1e-12)


@pytest.mark.parametrize("intervals", [3, 5, 20, 100])
@pytest.mark.parametrize("k", [0, 1, 3])
@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_non_finite_samples_give_nan_rows_never_index_error(intervals: int, k: int, dtype: torch.dtype) -> None:
    """+inf used to step one row past the table on fine grids (IndexError); now every non-finite sample
    gives a NaN row for its input, and the other inputs of that sample keep their exact values."""
    knots = spline.extend_grid(spline.uniform_grid(3, intervals, -1, 1, dtype=dtype), k)
    inf, nan = float("inf"), float("nan")
    x = torch.tensor([[inf, 0.3, -0.7], [-inf, 0.9, 0.1], [nan, -0.2, 0.5], [inf, -inf, nan]], dtype=dtype)
    for requires_grad in (False, True):
        xa = x.clone().requires_grad_(requires_grad)
        b = spline.bspline_basis(xa, knots, k)
        if requires_grad:
            b.nansum().backward()                                   # the backward must not raise either
        finite = torch.isfinite(x)
        assert torch.isnan(b[~finite]).all()
        ref = bspline_basis_reference(x[finite].reshape(-1, 1).expand(-1, 3), knots, k)
        got = b[finite]
        rows, cols = finite.nonzero(as_tuple=True)
        for n, (r, c) in enumerate(zip(rows.tolist(), cols.tolist())):
            torch.testing.assert_close(got[n], ref[n, c], rtol=0, atol=1e-6 if dtype == torch.float32 else 1e-12)
    curve = spline.coef_to_curve(x, knots, torch.ones(3, 2, knots.shape[1] - k - 1, dtype=dtype), k)
    assert torch.isnan(curve[~torch.isfinite(x)]).all() and torch.isfinite(curve[torch.isfinite(x)]).all()


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("k", [1, 2, 3])
def test_fast_path_agrees_with_reference_on_random_non_uniform_knots(seed: int, k: int) -> None:
    """Values, the analytic slopes the backward uses, and autograd: all equal the plain recursion."""
    gen = torch.Generator().manual_seed(100 + seed)
    widths = torch.rand(4, 7, generator=gen, dtype=F64) ** 3 + 1e-3          # very uneven spacings
    grid = torch.cumsum(torch.cat([torch.zeros(4, 1, dtype=F64) - 2.0, widths], dim=1), dim=1)
    knots = spline.extend_grid(grid, k)
    x = sample_points(knots, 600, seed=seed)
    values, slopes = spline._bases_and_derivative(x, knots, k, need_derivative=True)
    torch.testing.assert_close(values, bspline_basis_reference(x, knots, k), rtol=0, atol=1e-11)
    ref_slopes = bspline_derivative_reference(x, knots, k)
    scale = ref_slopes.abs().max().clamp_min(1.0)
    torch.testing.assert_close(slopes / scale, ref_slopes / scale, rtol=0, atol=1e-12)
    xa = x.clone().requires_grad_()
    w = torch.randn(values.shape, generator=gen, dtype=F64)
    (spline.bspline_basis(xa, knots, k) * w).sum().backward()
    torch.testing.assert_close(xa.grad / scale, (ref_slopes * w).sum(-1) / scale, rtol=0, atol=1e-12)


def test_knot_changes_in_place_are_seen() -> None:
    """The per-knot table is cached; an in-place grid update must invalidate it."""
    knots = spline.extend_grid(spline.uniform_grid(3, 5, -1, 1, dtype=F64), 3)
    x = sample_points(knots, 300, seed=2)
    spline.bspline_basis(x, knots, 3)
    with torch.no_grad():
        knots.copy_(grid_updated_knots(3, 5, 3, seed=9))
    torch.testing.assert_close(spline.bspline_basis(x, knots, 3), bspline_basis_reference(x, knots, 3), rtol=0, atol=1e-12)


def test_float32_matches_float64() -> None:
    k = 3
    knots = grid_updated_knots(8, 5, k, seed=1)
    x = sample_points(knots, 3000, seed=3)
    b32 = spline.bspline_basis(x.float(), knots.float(), k)
    assert b32.dtype == torch.float32
    ref = bspline_basis_reference(x.float().double(), knots.float().double(), k)
    torch.testing.assert_close(b32.double(), ref, rtol=0, atol=1e-5)


# ----------------------------------------------------------------------------- derivatives

@pytest.mark.parametrize("case", ["uniform", "random", "grid_update", "repeated_knot", "very_uneven"])
@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_gradient_matches_autograd_of_reference(case: str, k: int) -> None:
    knots = KNOT_CASES[case](k)
    x = sample_points(knots, 800, seed=k + 10)
    weights = torch.randn(x.shape[0], knots.shape[0], knots.shape[1] - k - 1, dtype=F64,
                          generator=torch.Generator().manual_seed(k))
    xa = x.clone().requires_grad_()
    (spline.bspline_basis(xa, knots, k) * weights).sum().backward()
    xb = x.clone().requires_grad_()
    (bspline_basis_reference(xb, knots, k) * weights).sum().backward()
    scale = xb.grad.abs().max().clamp_min(1.0)
    torch.testing.assert_close(xa.grad / scale, xb.grad / scale, rtol=0, atol=1e-12)


def test_gradient_matches_finite_differences() -> None:
    k = 3
    knots = grid_updated_knots(4, 6, k, seed=12)
    gen = torch.Generator().manual_seed(0)
    lo, hi = knots[:, 0], knots[:, -1]
    x = (lo + (torch.rand(400, 4, generator=gen, dtype=F64) * 1.2 - 0.1) * (hi - lo)).requires_grad_()
    weights = torch.randn(400, 4, knots.shape[1] - k - 1, dtype=F64, generator=gen)
    (spline.bspline_basis(x, knots, k) * weights).sum().backward()
    eps = 1e-6 * (hi - lo)
    with torch.no_grad():
        up = (spline.bspline_basis(x + eps, knots, k) * weights).sum(-1)
        down = (spline.bspline_basis(x - eps, knots, k) * weights).sum(-1)
    fd = (up - down) / (2 * eps)
    torch.testing.assert_close(x.grad, fd, rtol=1e-5, atol=1e-5)


def test_gradcheck_and_no_knot_grad() -> None:
    k = 3
    knots = random_knots(3, 5, k, seed=2).requires_grad_()
    gen = torch.Generator().manual_seed(1)
    x = (torch.rand(20, 3, generator=gen, dtype=F64) * 3 - 1.5).requires_grad_()
    assert torch.autograd.gradcheck(lambda v: spline.bspline_basis(v, knots.detach(), k), (x,))
    out = spline.bspline_basis(x, knots, k)
    out.sum().backward()
    assert knots.grad is None
    with pytest.raises(RuntimeError):   # once differentiable
        g = torch.autograd.grad(spline.bspline_basis(x, knots.detach(), k).pow(2).sum(), x, create_graph=True)[0]
        g.sum().backward()


def test_float32_gradient() -> None:
    k = 3
    knots = spline.extend_grid(spline.uniform_grid(16, 5, -1, 1), k)
    gen = torch.Generator().manual_seed(0)
    x = (torch.rand(1000, 16, generator=gen) * 2.4 - 1.2)
    xa = x.clone().requires_grad_()
    w = torch.randn(1000, 16, 8, generator=gen)
    (spline.bspline_basis(xa, knots, k) * w).sum().backward()
    xb = x.double().requires_grad_()
    (bspline_basis_reference(xb, knots.double(), k) * w.double()).sum().backward()
    torch.testing.assert_close(xa.grad.double(), xb.grad, rtol=0, atol=1e-4)


# ----------------------------------------------------------------------------- curves and coefficients

def test_curve_to_coef_recovers_known_spline() -> None:
    k = 3
    knots = grid_updated_knots(3, 6, k, seed=5)
    n_bases = knots.shape[1] - k - 1
    gen = torch.Generator().manual_seed(0)
    coef = torch.randn(3, 2, n_bases, dtype=F64, generator=gen)
    # samples covering every basis' support (including the extension intervals)
    lo, hi = knots[:, 0], knots[:, -1]
    x = lo + torch.rand(3000, 3, generator=gen, dtype=F64) * (hi - lo)
    y = spline.coef_to_curve(x, knots, coef, k)
    assert y.shape == (3000, 3, 2)
    fitted = spline.curve_to_coef(x, y, knots, k, ridge=0.0)
    torch.testing.assert_close(fitted, coef, rtol=0, atol=1e-9)


def test_coef_to_curve_matches_scipy_spline() -> None:
    k = 3
    knots = random_knots(2, 7, k, seed=8)
    coef = torch.randn(2, 3, knots.shape[1] - k - 1, dtype=F64, generator=torch.Generator().manual_seed(3))
    x = sample_points(knots, 500, seed=4)
    y = spline.coef_to_curve(x, knots, coef, k)
    for i in range(2):
        for o in range(3):
            ref = scipy_interpolate.BSpline(knots[i].numpy(), coef[i, o].numpy(), k, extrapolate=False)(x[:, i].numpy())
            xi = x[:, i].numpy()
            base = (xi >= knots[i, k].item()) & (xi < knots[i, -k - 1].item())   # scipy's base interval
            assert base.sum() > 150
            np.testing.assert_allclose(y[base, i, o].numpy(), ref[base], rtol=0, atol=1e-11)


def test_round_trip_onto_a_new_grid() -> None:
    """Fitting a curve sampled from one grid's spline onto a finer grid reproduces the curve."""
    k = 3
    old = spline.extend_grid(spline.uniform_grid(2, 5, -1, 1, dtype=F64), k)
    new = spline.extend_grid(spline.uniform_grid(2, 10, -1, 1, dtype=F64), k)   # contains the old knots
    coef = torch.randn(2, 4, old.shape[1] - k - 1, dtype=F64, generator=torch.Generator().manual_seed(1))
    x = torch.linspace(-1, 1, 800, dtype=F64)[:, None].expand(-1, 2).contiguous()
    y = spline.coef_to_curve(x, old, coef, k)
    fitted = spline.curve_to_coef(x, y, new, k, ridge=0.0)
    torch.testing.assert_close(spline.coef_to_curve(x, new, fitted, k), y, rtol=0, atol=1e-10)
    assert fitted.shape == (2, 4, new.shape[1] - k - 1)


def test_curve_to_coef_keeps_dtype_float32() -> None:
    k = 3
    knots = spline.extend_grid(spline.uniform_grid(2, 5, -1, 1), k)
    x = torch.rand(300, 2) * 2 - 1
    y = torch.sin(3 * x).unsqueeze(-1)
    coef = spline.curve_to_coef(x, y, knots, k)
    assert coef.dtype == torch.float32 and coef.shape == (2, 1, 8)
    err = (spline.coef_to_curve(x, knots, coef, k) - y).abs().max()
    assert err < 1e-2


# ----------------------------------------------------------------------------- grids

def test_uniform_and_extended_grid() -> None:
    g = spline.uniform_grid(3, 4, -1.0, 1.0, dtype=F64)
    assert g.shape == (3, 5)
    torch.testing.assert_close(g[0], torch.tensor([-1.0, -0.5, 0.0, 0.5, 1.0], dtype=F64))
    t = spline.extend_grid(g, 2)
    assert t.shape == (3, 9)
    torch.testing.assert_close(t[1], torch.tensor([-2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0], dtype=F64))
    per_input = spline.uniform_grid(2, 2, torch.tensor([0.0, 1.0]), torch.tensor([1.0, 3.0]), dtype=F64)
    torch.testing.assert_close(per_input, torch.tensor([[0.0, 0.5, 1.0], [1.0, 2.0, 3.0]], dtype=F64))


def test_many_inputs_large_batch_float32_matches_reference() -> None:
    """The hot-path shape: (1000, 64) float32, after a grid update."""
    k = 3
    knots = grid_updated_knots(64, 5, k, seed=21).float()
    x = sample_points(knots.double(), 1000, seed=5).float()
    b = spline.bspline_basis(x, knots, k)
    ref = bspline_basis_reference(x.double(), knots.double(), k)
    torch.testing.assert_close(b.double(), ref, rtol=0, atol=2e-5)
