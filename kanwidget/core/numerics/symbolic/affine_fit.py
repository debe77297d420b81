"""Batched affine fitting: ``y ~ c * f(a * x + b) + d`` for many edges and many library functions.

:func:`fit_affine_batched` is used by ``suggest_symbolic`` / ``fix_symbolic`` / ``auto_symbolic``.

Fitting method
--------------
For fixed ``(a, b)`` the best ``(c, d)`` is an ordinary linear least-squares
problem, so the coefficient of determination ``R^2(a, b)`` follows in closed
form from three sums over the samples (``sum f``, ``sum f^2`` and
``sum f * y`` with ``y`` centred).  The fit therefore

1. evaluates ``R^2`` on a ``grid_number x grid_number`` grid of ``(a, b)``
   (on at most ``n_search`` quantile-spaced samples of each edge),
2. zooms ``iterations`` times onto the best grid cell (a finer local grid, on at
   most ``n_zoom`` quantile-spaced samples),
3. polishes ``(a, b)`` with Levenberg-Marquardt steps in which ``(c, d)`` are
   re-solved in closed form after every step (variable projection), using all
   samples, so exact data is recovered to round-off,
4. canonicalises the parameters of the built-in functions (see
   :func:`~.library.canonical_params`) and computes the final ``R^2 = 1 - SSE / SST`` in
   float64 on all samples.

Everything is batched over edges; Python only loops over functions and over
chunks.  Chunks are sized so that no temporary holds more than
``memory_budget_bytes`` (64 MiB by default) of float64 data, whatever the
number of edges, samples or functions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import torch
from torch import Tensor

from kanwidget.core.numerics.symbolic.chunking import DEFAULT_MEMORY_BUDGET, _search_steps, plan_chunks
from kanwidget.core.numerics.symbolic.library import (
    _PARITY,
    SymbolicFunction,
    _builtin_name,
    _resolve,
    canonical_params,
)

__all__ = ["FitResult", "fit_affine_batched"]


@dataclass(frozen=True)
class FitResult:
    """Result of :func:`fit_affine_batched`.

    params: (E, F, 4) tensor of ``(a, b, c, d)`` (input dtype), phi = c*f(a*x+b)+d.
    r2:     (E, F) float64 tensor, ``1 - SSE/SST``; ``-inf`` where the fit is not
            finite.  For a constant edge (SST == 0) every function gets ``0``,
            except ``"0"`` which gets ``-inf`` when the constant is not zero.
    names:  the F function names, in order.
    """

    params: Tensor
    r2: Tensor
    names: tuple[str, ...] = field(default=())


_F64 = torch.float64


def _quantile_subsample(x: Tensor, y: Tensor, n: int) -> tuple[Tensor, Tensor]:
    """Pick ``n`` samples per edge spread evenly over the sorted inputs."""
    N = x.shape[1]
    if n >= N:
        return x, y
    xs, order = torch.sort(x, dim=1)
    pos = torch.linspace(0, N - 1, n, dtype=_F64, device=x.device).round().long()
    idx = order[:, pos]
    return xs[:, pos], torch.gather(y, 1, idx)


def _subsample_centred(x: Tensor, yc: Tensor, n: int) -> tuple[Tensor, Tensor, Tensor]:
    xs, ys = _quantile_subsample(x, yc, n)
    ys = ys - ys.mean(1, keepdim=True)
    syy = (ys * ys).sum(1)
    return xs, ys, torch.where(syy > 0, syy, torch.ones_like(syy))


def _grid_r2(
    fn: SymbolicFunction, xs: Tensor, yc: Tensor, syy: Tensor, A: Tensor, B: Tensor,
    edge_step: int, pair_step: int,
) -> Tensor:
    """R^2 of the best (c, d) for every (edge, pair): A, B are (Ec, P) -> (Ec, P)."""
    Ec, n = xs.shape
    P = A.shape[1]
    out = torch.empty((Ec, P), dtype=_F64, device=xs.device)
    ones_y = torch.stack([torch.ones_like(yc), yc], dim=-1)  # (Ec, n, 2)
    for e0 in range(0, Ec, edge_step):
        e1 = min(Ec, e0 + edge_step)
        x_e = xs[e0:e1, None, :]
        y_e = ones_y[e0:e1]
        s_yy = syy[e0:e1, None]
        for p0 in range(0, P, pair_step):
            p1 = min(P, p0 + pair_step)
            z = torch.addcmul(B[e0:e1, p0:p1, None], A[e0:e1, p0:p1, None], x_e)
            fz = fn.torch_fn(z)
            del z
            m = torch.bmm(fz, y_e)  # (e, p, 2): sum f, sum f*y
            s1, sfy = m[..., 0], m[..., 1]
            s2 = torch.linalg.vecdot(fz, fz)
            del fz
            sff = s2 - s1 * s1 / n
            r2 = (sfy * sfy) / (sff * s_yy)
            constant = sff <= 1e-13 * s2.abs()
            r2 = torch.where(constant, torch.zeros_like(r2), r2)
            r2 = torch.where(torch.isfinite(r2) & torch.isfinite(s2), r2.clamp(max=1.0),
                             torch.full_like(r2, -math.inf))
            out[e0:e1, p0:p1] = r2
    return out


def _fn_and_grad(fn: SymbolicFunction, z: Tensor) -> tuple[Tensor, Tensor]:
    """f(z) and f'(z) (elementwise) by autograd; central differences as fallback."""
    g = None
    try:
        with torch.enable_grad():
            zz = z.detach().requires_grad_(True)
            f = fn.torch_fn(zz)
            if f.requires_grad:
                (g,) = torch.autograd.grad(f.sum(), zz, allow_unused=True)
            f = f.detach()
    except RuntimeError:
        with torch.no_grad():
            f = fn.torch_fn(z)
    if g is None:
        with torch.no_grad():
            h = 1e-6 * (1.0 + z.abs())
            g = (fn.torch_fn(z + h) - fn.torch_fn(z - h)) / (2 * h)
    return f, g


def _moments(
    fn: SymbolicFunction, x: Tensor, y: Tensor, a: Tensor, b: Tensor, step: int
) -> tuple[Tensor, Tensor, Tensor]:
    """Gram matrix of V = [f'(z) x, f'(z), f(z), 1] and V @ y, for z = a x + b.

    Returns (G (Ec,4,4), Vy (Ec,4), finite (Ec,) bool).  Accumulated over sample
    chunks of ``step``.
    """
    Ec, N = x.shape
    G = torch.zeros((Ec, 4, 4), dtype=_F64, device=x.device)
    Vy = torch.zeros((Ec, 4), dtype=_F64, device=x.device)
    for s0 in range(0, N, step):
        s1 = min(N, s0 + step)
        xc = x[:, s0:s1]
        z = torch.addcmul(b[:, None], a[:, None], xc)
        f, g = _fn_and_grad(fn, z)
        del z
        V = torch.stack([g * xc, g, f, torch.ones_like(f)], dim=1)
        del f, g
        G += V @ V.transpose(1, 2)
        Vy += (V @ y[:, s0:s1, None]).squeeze(-1)
        del V
    finite = torch.isfinite(G).all(-1).all(-1) & torch.isfinite(Vy).all(-1)
    return G, Vy, finite


def _closed_form_cd(G: Tensor, Vy: Tensor, N: int) -> tuple[Tensor, Tensor, Tensor]:
    """Best (c, d) from the moments, and the SSE (y is centred: sum y = 0)."""
    sf, sff_raw, sfy = G[:, 2, 3], G[:, 2, 2], Vy[:, 2]
    sy = Vy[:, 3]
    sff = sff_raw - sf * sf / N
    sfy_c = sfy - sf * sy / N
    ok = sff > 1e-13 * sff_raw.abs()
    c = torch.where(ok, sfy_c / torch.where(ok, sff, torch.ones_like(sff)), torch.zeros_like(sff))
    d = (sy - c * sf) / N
    return c, d, sff


def _sse_from(G: Tensor, Vy: Tensor, syy_raw: Tensor, c: Tensor, d: Tensor) -> Tensor:
    w = torch.stack([torch.zeros_like(c), torch.zeros_like(c), c, d], dim=1)
    return syy_raw - 2 * (w * Vy).sum(-1) + torch.einsum("ei,eij,ej->e", w, G, w)


def _polish(
    fn: SymbolicFunction, x: Tensor, yc: Tensor, syy_raw: Tensor, a: Tensor, b: Tensor,
    steps: int, sample_step: int,
) -> tuple[Tensor, Tensor]:
    """Levenberg-Marquardt on (a, b) with (c, d) projected out in closed form."""
    N = x.shape[1]
    G, Vy, fin = _moments(fn, x, yc, a, b, sample_step)
    c, d, _ = _closed_form_cd(G, Vy, N)
    sse = torch.where(fin, _sse_from(G, Vy, syy_raw, c, d), torch.full_like(a, math.inf))
    lam = torch.full_like(a, 1e-3)
    # nothing to polish where the best fit is flat (constant f or constant y)
    active = fin & (c != 0) & (syy_raw > 0)
    if not bool(active.any()):
        return a, b
    eye = torch.eye(4, dtype=_F64, device=x.device)
    for _ in range(steps):
        scale = torch.stack([c, c, torch.ones_like(c), torch.ones_like(c)], dim=1)  # J = V*scale
        w = torch.stack([torch.zeros_like(c), torch.zeros_like(c), c, d], dim=1)
        JtJ = scale[:, :, None] * G * scale[:, None, :]
        Jtr = scale * (Vy - (G @ w[:, :, None]).squeeze(-1))
        diag = torch.diagonal(JtJ, dim1=1, dim2=2)
        damp = lam[:, None] * diag + 1e-12 * diag.amax(-1, keepdim=True).clamp_min(1e-300)
        H = JtJ + torch.diag_embed(damp)
        H = torch.where(torch.isfinite(H), H, eye.expand_as(H))
        rhs = torch.where(torch.isfinite(Jtr), Jtr, torch.zeros_like(Jtr))
        delta, info = torch.linalg.solve_ex(H, rhs[:, :, None])
        delta = delta.squeeze(-1)
        good = active & (info == 0) & torch.isfinite(delta).all(-1)
        delta = torch.where(good[:, None], delta, torch.zeros_like(delta))
        a_new, b_new = a + delta[:, 0], b + delta[:, 1]
        G_n, Vy_n, fin_n = _moments(fn, x, yc, a_new, b_new, sample_step)
        c_n, d_n, _ = _closed_form_cd(G_n, Vy_n, N)
        sse_n = _sse_from(G_n, Vy_n, syy_raw, c_n, d_n)
        accept = good & fin_n & torch.isfinite(sse_n) & (sse_n < sse)
        acc = accept[:, None]
        a = torch.where(accept, a_new, a)
        b = torch.where(accept, b_new, b)
        c = torch.where(accept, c_n, c)
        d = torch.where(accept, d_n, d)
        sse = torch.where(accept, sse_n, sse)
        G = torch.where(acc[:, :, None], G_n, G)
        Vy = torch.where(acc, Vy_n, Vy)
        lam = torch.where(accept, (lam / 3).clamp_min(1e-12), (lam * 4).clamp_max(1e12))
    return a, b


def _final_fit(
    fn: SymbolicFunction, x: Tensor, y: Tensor, ymean: Tensor, sst: Tensor, a: Tensor,
    b: Tensor, sample_step: int,
) -> tuple[Tensor, Tensor]:
    """Closed-form (c, d), canonicalisation and direct-residual R^2 on all samples."""
    N = x.shape[1]
    yc = y - ymean[:, None]
    G, Vy, fin = _moments(fn, x, yc, a, b, sample_step)
    c, d, _ = _closed_form_cd(G, Vy, N)
    p = torch.stack([a, b, c, d + ymean], dim=-1)
    p = canonical_params(_builtin_name(fn), p)
    # SSE from residuals directly (accurate for exact fits)
    sse = torch.zeros_like(a)
    for s0 in range(0, N, sample_step):
        s1 = min(N, s0 + sample_step)
        z = torch.addcmul(p[:, 1, None], p[:, 0, None], x[:, s0:s1])
        r = y[:, s0:s1] - (p[:, 2, None] * fn.torch_fn(z) + p[:, 3, None])
        sse += (r * r).sum(-1)
    return p, _r2_from(sse, sst)


def _r2_from(sse: Tensor, sst: Tensor) -> Tensor:
    const = sst <= 0
    r2 = 1.0 - sse / torch.where(const, torch.ones_like(sst), sst)
    r2 = torch.where(const, torch.zeros_like(r2), r2)
    r2 = torch.where(torch.isfinite(r2), r2, torch.full_like(r2, -math.inf))
    return r2.clamp(max=1.0)


def fit_affine_batched(
    x: Tensor,
    y: Tensor,
    fns: Sequence[SymbolicFunction | str],
    a_range: tuple[float, float] = (-10, 10),
    b_range: tuple[float, float] = (-10, 10),
    grid_number: int = 101,
    iterations: int = 3,
    *,
    zoom_grid_number: int = 21,
    n_search: int = 64,
    n_zoom: int = 256,
    polish_steps: int = 12,
    memory_budget_bytes: int = DEFAULT_MEMORY_BUDGET,
) -> FitResult:
    """Fit ``y ~ c * f(a * x + b) + d`` for every edge and every function.

    Args:
        x, y: (E, N) tensors (or (N,) for one edge): E edges with N samples each.
        fns: F library functions (or names).
        a_range, b_range: range of the coarse (a, b) grid.
        grid_number: points per axis of the coarse grid.
        iterations: number of zoom steps; each zooms onto +-1 cell around the
            best point with a ``zoom_grid_number``-point grid per axis.
        n_search, n_zoom: at most this many quantile-spaced samples per edge are
            used for the coarse grid search and for the zooms respectively (the
            polish and the final R^2 use all samples).
        polish_steps: Levenberg-Marquardt iterations on (a, b) (0 disables).
        memory_budget_bytes: bound on the largest float64 temporary.

    Returns:
        FitResult with params (E, F, 4) = (a, b, c, d) in the input dtype and r2
        (E, F) float64.  "x" is fitted by linear regression (a=1, b=0); "0" has all
        parameters 0 and the honest ``r2 = 1 - sum(y^2)/SST`` (0 for zero-mean y).
    """
    if not torch.is_tensor(x) or not torch.is_tensor(y):
        raise TypeError("x and y must be torch tensors")
    x, y = x.detach(), y.detach()
    if x.dim() == 1:
        x = x[None]
    if y.dim() == 1:
        y = y[None]
    if x.dim() != 2 or x.shape != y.shape:
        raise ValueError(f"x and y must both be (E, N) with the same shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    if isinstance(fns, (SymbolicFunction, str)):
        fns = [fns]
    fns = [_resolve(f) for f in fns]
    if grid_number < 2 or zoom_grid_number < 2:
        raise ValueError("grid_number and zoom_grid_number must be >= 2")
    out_dtype = x.dtype if x.is_floating_point() else torch.get_default_dtype()
    E, N = x.shape
    F = len(fns)
    device = x.device
    params = torch.zeros((E, F, 4), dtype=_F64, device=device)
    r2_all = torch.zeros((E, F), dtype=_F64, device=device)
    if E == 0 or F == 0 or N == 0:
        return FitResult(params.to(out_dtype), r2_all, tuple(f.name for f in fns))

    P = grid_number * grid_number
    Pz = zoom_grid_number * zoom_grid_number
    plan = plan_chunks(E, N, max(P, Pz), n_search, memory_budget_bytes)
    ec = plan["edge_chunk"]
    work = plan["work_elements"]
    n = plan["search_samples"]
    nz = max(1, min(n_zoom, N, plan["budget_elements"]))
    s_step = plan["polish_samples"]

    a_lo, a_hi = float(a_range[0]), float(a_range[1])
    b_lo, b_hi = float(b_range[0]), float(b_range[1])
    ga = torch.linspace(a_lo, a_hi, grid_number, dtype=_F64, device=device)
    gb = torch.linspace(b_lo, b_hi, grid_number, dtype=_F64, device=device)
    A0 = ga[:, None].expand(grid_number, grid_number).reshape(1, P)
    B0 = gb[None, :].expand(grid_number, grid_number).reshape(1, P)
    da0 = (a_hi - a_lo) / (grid_number - 1)
    db0 = (b_hi - b_lo) / (grid_number - 1)
    # odd/even built-ins satisfy phi(a, b) == phi(-a, -b) (up to c, d): on a symmetric
    # grid only the a >= 0 half needs searching.
    symmetric = a_lo == -a_hi and b_lo == -b_hi
    half = A0[0] >= 0
    A_half, B_half = A0[:, half], B0[:, half]
    zoff = torch.linspace(-1.0, 1.0, zoom_grid_number, dtype=_F64, device=device)
    ZA = zoff[:, None].expand(zoom_grid_number, zoom_grid_number).reshape(1, Pz)
    ZB = zoff[None, :].expand(zoom_grid_number, zoom_grid_number).reshape(1, Pz)

    for e0 in range(0, E, ec):
        e1 = min(E, e0 + ec)
        xe = x[e0:e1].to(_F64)
        ye = y[e0:e1].to(_F64)
        Ec = e1 - e0
        ymean = ye.mean(1)
        yc = ye - ymean[:, None]
        sst = (yc * yc).sum(1)
        xs, ys, syy_s = _subsample_centred(xe, yc, n)
        xz, yz, syy_z = _subsample_centred(xe, yc, nz)
        for k, fn in enumerate(fns):
            bname = _builtin_name(fn)
            if bname == "0":
                sse0 = (ye * ye).sum(1)
                params[e0:e1, k] = 0.0
                r2 = _r2_from(sse0, sst)
                r2 = torch.where((sst <= 0) & (sse0 > 0), torch.full_like(r2, -math.inf), r2)
                r2_all[e0:e1, k] = r2
                continue
            if bname == "x":
                a = torch.ones(Ec, dtype=_F64, device=device)
                b = torch.zeros(Ec, dtype=_F64, device=device)
            else:
                # coarse grid
                Ag, Bg = (A_half, B_half) if (symmetric and bname in _PARITY) else (A0, B0)
                pe, pp = _search_steps(work, Ec, Ag.shape[1], n)
                r2g = _grid_r2(fn, xs, ys, syy_s, Ag.expand(Ec, -1), Bg.expand(Ec, -1), pe, pp)
                best = r2g.argmax(1)
                a, b = Ag[0, best], Bg[0, best]
                da, db = da0, db0
                pe, pp = _search_steps(work, Ec, Pz, nz)
                for _ in range(iterations):
                    A = a[:, None] + da * ZA
                    B = b[:, None] + db * ZB
                    r2z = _grid_r2(fn, xz, yz, syy_z, A, B, pe, pp)
                    best = r2z.argmax(1, keepdim=True)
                    a = torch.gather(A, 1, best).squeeze(1)
                    b = torch.gather(B, 1, best).squeeze(1)
                    da = 2 * da / (zoom_grid_number - 1)
                    db = 2 * db / (zoom_grid_number - 1)
                if polish_steps > 0:
                    a, b = _polish(fn, xe, yc, sst, a, b, polish_steps, s_step)
            p, r2 = _final_fit(fn, xe, ye, ymean, sst, a, b, s_step)
            params[e0:e1, k] = p
            r2_all[e0:e1, k] = r2
    return FitResult(params.to(out_dtype), r2_all, tuple(f.name for f in fns))

