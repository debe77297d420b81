"""The plain Cox-de Boor reference (bspline_reference.py) against scipy and closed forms.

The fast tables are checked against this reference in test_spline.py; here the reference itself is
checked against independent truth, so the chain fast -> reference -> scipy holds.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from kanwidget.core.numerics import spline
from kanwidget.core.numerics.bspline_reference import bspline_basis_reference, bspline_derivative_reference

scipy_interpolate = pytest.importorskip("scipy.interpolate")

F64 = torch.float64


def _knots(seed: int, k: int, n_in: int = 3, intervals: int = 6, repeated: bool = False) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    g = torch.sort(torch.rand(n_in, intervals + 1, generator=gen, dtype=F64) * 4 - 2, dim=1).values
    if repeated:
        g[:, 2] = g[:, 3]
    return spline.extend_grid(g, k)


def _samples(knots: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    lo, hi = knots[:, 0], knots[:, -1]
    inside = lo + (torch.rand(n, knots.shape[0], generator=gen, dtype=F64) * 1.3 - 0.15) * (hi - lo)
    return torch.cat([inside, knots.T])


def _scipy_design(x: np.ndarray, t: np.ndarray, k: int, nu: int = 0) -> np.ndarray:
    """(N, M): column m = scipy's spline with unit coefficient m (half-open on the right like ours)."""
    m_count = t.size - k - 1
    out = np.zeros((x.size, m_count))
    for m in range(m_count):
        c = np.zeros(m_count)
        c[m] = 1.0
        spl = scipy_interpolate.BSpline(t, c, k, extrapolate=False)
        out[:, m] = np.nan_to_num(spl.derivative(nu)(x) if nu else spl(x))
    # scipy evaluates only on [t_k, t_{-k-1}]; compare there (the base interval), half-open
    base = (x >= t[k]) & (x < t[-k - 1])
    return out, base


@pytest.mark.parametrize("k", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("repeated", [False, True])
def test_reference_matches_scipy_values(k: int, repeated: bool) -> None:
    knots = _knots(seed=k, k=k, repeated=repeated)
    x = _samples(knots, 400, seed=k)
    got = bspline_basis_reference(x, knots, k)
    assert got.shape == (x.shape[0], knots.shape[0], knots.shape[1] - k - 1)
    for i in range(knots.shape[0]):
        want, base = _scipy_design(x[:, i].numpy(), knots[i].numpy(), k)
        assert base.sum() > 100
        np.testing.assert_allclose(got[base, i].numpy(), want[base], rtol=0, atol=1e-12)


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_reference_derivative_matches_scipy_and_autograd(k: int) -> None:
    knots = _knots(seed=10 + k, k=k)
    gen = torch.Generator().manual_seed(k)
    lo, hi = knots[:, k], knots[:, -k - 1]
    x = lo + torch.rand(300, knots.shape[0], generator=gen, dtype=F64) * (hi - lo)   # off the knots
    d = bspline_derivative_reference(x, knots, k)
    for i in range(knots.shape[0]):
        want, base = _scipy_design(x[:, i].numpy(), knots[i].numpy(), k, nu=1)
        np.testing.assert_allclose(d[base, i].numpy(), want[base], rtol=1e-10, atol=1e-10)
    xa = x.clone().requires_grad_()
    w = torch.randn(d.shape, generator=gen, dtype=F64)
    (bspline_basis_reference(xa, knots, k) * w).sum().backward()
    torch.testing.assert_close(xa.grad, (d * w).sum(-1), rtol=1e-10, atol=1e-10)


def test_uniform_cubic_closed_form_and_partition_of_unity() -> None:
    """Uniform cubic B-spline: values 1/6, 2/3, 1/6 at the knots and slopes -1/2, 0, 1/2 (unit spacing).
    Basis m lives on [t_m, t_{m+4}) = [m-3, m+1)."""
    knots = torch.arange(-3.0, 8.0, dtype=F64)[None]                 # unit spacing, 11 knots, 7 bases
    x = torch.tensor([[2.0], [2.5]], dtype=F64)
    b = bspline_basis_reference(x, knots, 3)[:, 0]
    torch.testing.assert_close(b[0, 2:5], torch.tensor([1 / 6, 2 / 3, 1 / 6], dtype=F64))
    assert b[0].sum().item() == pytest.approx(1.0, abs=1e-15)
    torch.testing.assert_close(b[1, 2:6], torch.tensor([1, 23, 23, 1], dtype=F64) / 48)
    d = bspline_derivative_reference(x, knots, 3)[0, 0]
    torch.testing.assert_close(d[2:5], torch.tensor([-0.5, 0.0, 0.5], dtype=F64), rtol=0, atol=1e-15)
    assert bspline_basis_reference(torch.tensor([[-3.5], [7.0]], dtype=F64), knots, 3).abs().sum() == 0


def test_k0_is_the_interval_indicator_and_has_zero_derivative() -> None:
    knots = torch.tensor([[0.0, 1.0, 1.0, 3.0]], dtype=F64)
    x = torch.tensor([[0.0], [0.999], [1.0], [2.9], [3.0], [-0.1]], dtype=F64)
    b = bspline_basis_reference(x, knots, 0)[:, 0]
    expected = torch.tensor([[1, 0, 0], [1, 0, 0], [0, 0, 1], [0, 0, 1], [0, 0, 0], [0, 0, 0]], dtype=F64)
    assert torch.equal(b, expected)                                 # the empty interval [1, 1) is never live
    assert torch.equal(bspline_derivative_reference(x, knots, 0), torch.zeros(6, 1, 3, dtype=F64))
