"""The uniform-knot path (uniform_spline.py): chosen only for equally spaced knots, and equal to the plain
Cox-de Boor recursion (values) and its derivative, inside, on and outside the knots, in float64 and float32."""
from __future__ import annotations

import pytest
import torch

from kanwidget.core.numerics import spline, spline_tables
from kanwidget.core.numerics.bspline_reference import bspline_basis_reference, bspline_derivative_reference

F64 = torch.float64


def uniform_knots(ranges: list[tuple[float, float]], intervals: int, k: int, dtype=F64) -> torch.Tensor:
    lo = torch.tensor([r[0] for r in ranges], dtype=dtype)
    hi = torch.tensor([r[1] for r in ranges], dtype=dtype)
    return spline.extend_grid(spline.uniform_grid(len(ranges), intervals, lo, hi, dtype=dtype), k)


def samples(knots: torch.Tensor, n: int = 400, seed: int = 0) -> torch.Tensor:
    """Points in and beyond each input's knots, plus every knot exactly."""
    g = torch.Generator().manual_seed(seed)
    lo, hi = knots[:, 0], knots[:, -1]
    span = hi - lo
    x = lo + (torch.rand(n, knots.shape[0], generator=g, dtype=knots.dtype) * 1.4 - 0.2) * span
    exact = knots.t()                                       # each knot of each input, row by row
    return torch.cat([x, exact])


@pytest.mark.parametrize("k", [1, 2, 3, 4])
@pytest.mark.parametrize("intervals", [3, 5, 10])
def test_values_and_slopes_equal_the_recursion(k: int, intervals: int) -> None:
    knots = uniform_knots([(-1.0, 1.0), (0.0, 3.5), (-7.0, -2.0)], intervals, k)
    assert spline_tables._table_for(knots, k, F64).uniform is not None
    x = samples(knots)
    bases, slopes = spline._bases_and_derivative(x, knots, k, need_derivative=True)
    torch.testing.assert_close(bases, bspline_basis_reference(x, knots, k), rtol=0, atol=1e-13)
    # k = 1: the slope jumps at a knot, so a knot itself may be rounded to either side
    rows = slice(0, 400) if k == 1 else slice(None)
    torch.testing.assert_close(slopes[rows], bspline_derivative_reference(x, knots, k)[rows], rtol=0, atol=1e-11)
    only, none = spline._bases_and_derivative(x, knots, k, need_derivative=False)
    assert none is None and torch.equal(only, bases)


@pytest.mark.parametrize("bend", [False, True])   # uniform knots, and uneven ones (the general path's views)
def test_samples_last_layout_gives_the_same_bases_one_row_per_input(bend: bool) -> None:
    knots = uniform_knots([(-1.0, 1.0), (0.0, 3.5), (-7.0, -2.0)], 5, 3)
    if bend:
        knots[1, 4] += 1e-2
    x = samples(knots)
    x[3, 1] = float("nan")
    bases, slopes = spline.bases_samples_last(x.t().contiguous(), knots, 3, need_derivative=True)
    assert bases.shape == slopes.shape == (3, x.shape[0], 8)
    want = bspline_basis_reference(x, knots, 3).transpose(0, 1)
    torch.testing.assert_close(bases, want, rtol=0, atol=1e-13, equal_nan=True)
    torch.testing.assert_close(slopes, bspline_derivative_reference(x, knots, 3).transpose(0, 1), rtol=0, atol=1e-11,
                               equal_nan=True)
    assert bool(torch.isnan(bases[1, 3]).all()) and bool(torch.isfinite(bases[0, 3]).all())
    only, none = spline.bases_samples_last(x.t().contiguous(), knots, 3, need_derivative=False)
    assert none is None
    torch.testing.assert_close(only, bases, rtol=0, atol=1e-15, equal_nan=True)


def test_live_bases_put_back_in_their_columns_are_the_dense_bases() -> None:
    knots = uniform_knots([(-1.0, 1.0), (0.0, 3.5)], 5, 3)
    x = samples(knots).t().contiguous()                     # (I, N), in and beyond the knots, every knot
    x[0, 7] = float("nan")
    live = spline.live_bases_samples_last(x, knots, 3, need_derivative=True)
    assert live is not None and live.values.shape == live.slopes.shape == (2, x.shape[1], 4)
    for part, want in ((live.values, bspline_basis_reference(x.t(), knots, 3)),
                       (live.slopes, bspline_derivative_reference(x.t(), knots, 3))):
        row = x.new_zeros(2, x.shape[1], live.n_columns).scatter_add_(2, live.columns, part)
        dense = row[..., live.first:live.first + 8]
        keep = torch.ones(x.shape[1], dtype=torch.bool)
        keep[7] = False                                     # the NaN sample: all its live values are NaN
        torch.testing.assert_close(dense[:, keep], want.transpose(0, 1)[:, keep], rtol=0, atol=1e-11)
    assert bool(torch.isnan(live.values[0, 7]).all()) and bool(torch.isfinite(live.values[1]).all())
    bent = knots.clone()
    bent[0, 4] += 1e-2
    assert spline.live_bases_samples_last(x, bent, 3, need_derivative=False) is None   # not uniform: no live form


def test_outside_the_knots_is_zero_and_inside_sums_to_one() -> None:
    knots = uniform_knots([(-1.0, 1.0)], 5, 3)
    x = torch.tensor([[-5.0], [knots[0, 0].item() - 1e-9], [knots[0, -1].item()], [9.0], [0.1]], dtype=F64)
    bases, slopes = spline._bases_and_derivative(x, knots, 3, need_derivative=True)
    assert torch.equal(bases[:4], torch.zeros_like(bases[:4])) and torch.equal(slopes[:4], torch.zeros_like(slopes[:4]))
    assert float(bases[4].sum()) == pytest.approx(1.0, abs=1e-15)


def test_non_finite_samples_give_nan_rows_for_their_input_only() -> None:
    knots = uniform_knots([(-1.0, 1.0), (-1.0, 1.0)], 5, 3)
    x = torch.tensor([[float("nan"), 0.2], [float("inf"), 0.3], [-float("inf"), 0.4], [0.5, 0.5]], dtype=F64)
    bases, slopes = spline._bases_and_derivative(x, knots, 3, need_derivative=True)
    assert bool(torch.isnan(bases[:3, 0]).all()) and bool(torch.isnan(slopes[:3, 0]).all())
    assert bool(torch.isfinite(bases[:, 1]).all()) and bool(torch.isfinite(bases[3]).all())


def test_uneven_knots_take_the_general_path() -> None:
    knots = uniform_knots([(-1.0, 1.0)], 5, 3)
    bent = knots.clone()
    bent[0, 5] += 1e-3
    assert spline_tables._table_for(bent, 3, F64).uniform is None
    x = samples(bent)
    torch.testing.assert_close(spline._bases_and_derivative(x, bent, 3, True)[0], bspline_basis_reference(x, bent, 3),
                               rtol=0, atol=1e-13)


def test_float32_and_half_precision_knots_take_the_general_path() -> None:
    """The uniform path's global position would round worse than the general path's local one in float32."""
    for dtype in (torch.float32, torch.float16):
        knots = uniform_knots([(-1.0, 1.0)], 5, 3, dtype=dtype)
        assert spline_tables._table_for(knots, 3, dtype).uniform is None
