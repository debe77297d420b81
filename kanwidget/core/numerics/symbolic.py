"""Symbolic function library and batched affine fitting for KAN edges.

This module is pure torch + sympy.  It provides

* :class:`SymbolicFunction` and the global registry :data:`SYMBOLIC_LIB`
  (extended with :func:`add_symbolic`, queried with :func:`get_functions`);
* :func:`fit_affine_batched`, which fits ``y ~ c * f(a * x + b) + d`` for many
  edges and many library functions at once (used by ``suggest_symbolic`` /
  ``fix_symbolic`` / ``auto_symbolic``);
* :func:`score_candidates` / :func:`rank_candidates`, the accuracy-vs-simplicity
  trade-off used to pick a function;
* :func:`to_sympy`, which turns a fitted edge into a sympy expression.

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
   :func:`_canonicalise`) and computes the final ``R^2 = 1 - SSE / SST`` in
   float64 on all samples.

Everything is batched over edges; Python only loops over functions and over
chunks.  Chunks are sized so that no temporary holds more than
``memory_budget_bytes`` (64 MiB by default) of float64 data, whatever the
number of edges, samples or functions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

import torch
from torch import Tensor

from kanwidget.core.lazy import LazyModule

if TYPE_CHECKING:
    import sympy
else:
    sympy = LazyModule("sympy")  # imported on first use: keeps `import kanwidget` light

__all__ = [
    "SymbolicFunction",
    "SYMBOLIC_LIB",
    "add_symbolic",
    "get_functions",
    "FitResult",
    "fit_affine_batched",
    "score_candidates",
    "rank_candidates",
    "to_sympy",
    "plan_chunks",
    "DEFAULT_MEMORY_BUDGET",
]

DEFAULT_MEMORY_BUDGET = 64 * 2**20  # bytes; bound on the largest float64 temporary


# --------------------------------------------------------------------------------------
# Function library
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SymbolicFunction:
    """One library function ``f``; edges are fitted as ``c * f(a * x + b) + d``.

    name:       registry key, e.g. ``"sin"`` or ``"x^2"``.
    torch_fn:   elementwise, differentiable torch function.  Built-ins are "safe":
                they return finite values with finite gradients everywhere (see
                the notes on each built-in for what happens at singularities).
    sympy_fn:   the same function on a sympy expression.
    complexity: integer cost used by :func:`score_candidates` (higher = more
                complex).
    """

    name: str
    torch_fn: Callable[[Tensor], Tensor]
    sympy_fn: Callable[[sympy.Expr], sympy.Expr]
    complexity: int


# Singularity handling of the built-ins -------------------------------------------------
#
# * 1/x^k       : |z| is clamped to at least 1e-6 ** (1/k) keeping the sign of z
#                 (+0.0 counts as positive, -0.0 as negative), so |f| <= 1e6.
# * sqrt, x^0.5 : z is clamped to >= 1e-30 (value ~1e-15 for z <= 0, finite gradient,
#                 zero gradient for z < 1e-30).
# * x^1.5       : z is clamped to >= 0 (value 0, gradient 0 for z <= 0).
# * 1/sqrt(x),
#   1/x^0.5     : z is clamped to >= 1e-12, so f <= 1e6.
# * log         : z is clamped to >= 1e-12 (log of a clamped positive value, >= -27.6);
#                 the sympy form is log(x), which agrees wherever z > 1e-12.
# * exp         : z is clamped to <= 50 (f <= 5.2e21), avoids float32 overflow.
# * tan         : sin(z) / cos(z) with |cos(z)| clamped to >= 1e-4 (sign kept), so
#                 |tan| <= 1e4.
# * arcsin, arccos, arctanh: z is clamped to [-1 + m, 1 - m] with m = 4 * machine eps
#                 of the dtype, so values and gradients stay finite.
# * sgn         : torch.sign (gradient 0 everywhere).
# * 0           : always 0 (finite even for non-finite input).


def _signed_clamp_abs(z: Tensor, lo: float) -> Tensor:
    return z.abs().clamp_min(lo).copysign(z)


def _inv_pow(k: int) -> Callable[[Tensor], Tensor]:
    lo = 1e-6 ** (1.0 / k)

    def f(z: Tensor) -> Tensor:
        return _signed_clamp_abs(z, lo).pow(-k)

    f.__name__ = f"inv_pow{k}"
    return f


def _domain_margin(z: Tensor) -> float:
    if z.is_floating_point():
        return 4.0 * torch.finfo(z.dtype).eps
    return 4.0 * torch.finfo(torch.get_default_dtype()).eps


def _safe_sqrt(z: Tensor) -> Tensor:
    return torch.sqrt(z.clamp_min(1e-30))


def _safe_pow15(z: Tensor) -> Tensor:
    return z.clamp_min(0.0).pow(1.5)


def _safe_rsqrt(z: Tensor) -> Tensor:
    return torch.rsqrt(z.clamp_min(1e-12))


def _safe_log(z: Tensor) -> Tensor:
    return torch.log(z.clamp_min(1e-12))


def _safe_exp(z: Tensor) -> Tensor:
    return torch.exp(z.clamp_max(50.0))


def _safe_tan(z: Tensor) -> Tensor:
    return torch.sin(z) / _signed_clamp_abs(torch.cos(z), 1e-4)


def _safe_arcsin(z: Tensor) -> Tensor:
    m = _domain_margin(z)
    return torch.asin(z.clamp(-1.0 + m, 1.0 - m))


def _safe_arccos(z: Tensor) -> Tensor:
    m = _domain_margin(z)
    return torch.acos(z.clamp(-1.0 + m, 1.0 - m))


def _safe_arctanh(z: Tensor) -> Tensor:
    m = _domain_margin(z)
    return torch.atanh(z.clamp(-1.0 + m, 1.0 - m))


def _zero(z: Tensor) -> Tensor:
    return torch.nan_to_num(z, nan=0.0, posinf=0.0, neginf=0.0) * 0.0


def _gaussian(z: Tensor) -> Tensor:
    return torch.exp(-z * z)


def _sym_zero(x: sympy.Expr) -> sympy.Expr:
    return sympy.Integer(0)


_BUILTIN_SPECS: list[tuple[str, Callable, Callable, int]] = [
    ("x", lambda z: z, lambda x: x, 1),
    ("x^2", lambda z: z * z, lambda x: x**2, 2),
    ("x^3", lambda z: z * z * z, lambda x: x**3, 3),
    ("x^4", lambda z: (z * z) * (z * z), lambda x: x**4, 3),
    ("x^5", lambda z: (z * z) * (z * z) * z, lambda x: x**5, 3),
    ("1/x", _inv_pow(1), lambda x: 1 / x, 2),
    ("1/x^2", _inv_pow(2), lambda x: 1 / x**2, 2),
    ("1/x^3", _inv_pow(3), lambda x: 1 / x**3, 3),
    ("1/x^4", _inv_pow(4), lambda x: 1 / x**4, 4),
    ("1/x^5", _inv_pow(5), lambda x: 1 / x**5, 5),
    ("sqrt", _safe_sqrt, lambda x: sympy.sqrt(x), 2),
    ("x^0.5", _safe_sqrt, lambda x: sympy.sqrt(x), 2),
    ("x^1.5", _safe_pow15, lambda x: x ** sympy.Rational(3, 2), 4),
    ("1/sqrt(x)", _safe_rsqrt, lambda x: 1 / sympy.sqrt(x), 2),
    ("1/x^0.5", _safe_rsqrt, lambda x: 1 / sympy.sqrt(x), 2),
    ("exp", _safe_exp, lambda x: sympy.exp(x), 2),
    ("log", _safe_log, lambda x: sympy.log(x), 2),
    ("abs", torch.abs, lambda x: sympy.Abs(x), 3),
    ("sin", torch.sin, lambda x: sympy.sin(x), 2),
    ("cos", torch.cos, lambda x: sympy.cos(x), 2),
    ("tan", _safe_tan, lambda x: sympy.tan(x), 3),
    ("tanh", torch.tanh, lambda x: sympy.tanh(x), 3),
    ("sgn", torch.sign, lambda x: sympy.sign(x), 3),
    ("arcsin", _safe_arcsin, lambda x: sympy.asin(x), 4),
    ("arccos", _safe_arccos, lambda x: sympy.acos(x), 4),
    ("arctan", torch.atan, lambda x: sympy.atan(x), 4),
    ("arctanh", _safe_arctanh, lambda x: sympy.atanh(x), 4),
    ("0", _zero, _sym_zero, 0),
    ("gaussian", _gaussian, lambda x: sympy.exp(-(x**2)), 3),
]

SYMBOLIC_LIB: dict[str, SymbolicFunction] = {
    name: SymbolicFunction(name, tfn, sfn, comp) for name, tfn, sfn, comp in _BUILTIN_SPECS
}
_BUILTINS: dict[str, SymbolicFunction] = dict(SYMBOLIC_LIB)

# Parameter symmetries of the built-ins, used to canonicalise fitted parameters.
#   parity:      "odd"  f(-z) = -f(z)        -> (a, b, c) -> (-a, -b, -c)
#                "even" f(-z) =  f(z)        -> (a, b)    -> (-a, -b)
#                "acos" f(-z) = pi - f(z)    -> (a, b, c, d) -> (-a, -b, -c, d + c*pi)
#   degree p:    f(k z) = k^p f(z) for k > 0 -> |a| -> 1, b -> b/|a|, c -> c*|a|^p
#   period:      f(z + T) = f(z)             -> b reduced to (-T/2, T/2]
#   "exp":       c*exp(a x + b) = c*e^b * exp(a x)      -> b -> 0
#   "log":       c*log(a x + b) = c*log|a| + c*log(sgn(a) x + b/|a|)
_PARITY = {
    "x^3": "odd", "x^5": "odd", "1/x": "odd", "1/x^3": "odd", "1/x^5": "odd",
    "sin": "odd", "tan": "odd", "tanh": "odd", "sgn": "odd", "arcsin": "odd",
    "arctan": "odd", "arctanh": "odd",
    "x^2": "even", "x^4": "even", "1/x^2": "even", "1/x^4": "even", "abs": "even",
    "cos": "even", "gaussian": "even",
    "arccos": "acos",
}
_DEGREE = {
    "x^2": 2.0, "x^3": 3.0, "x^4": 4.0, "x^5": 5.0,
    "1/x": -1.0, "1/x^2": -2.0, "1/x^3": -3.0, "1/x^4": -4.0, "1/x^5": -5.0,
    "sqrt": 0.5, "x^0.5": 0.5, "x^1.5": 1.5, "1/sqrt(x)": -0.5, "1/x^0.5": -0.5,
    "abs": 1.0, "sgn": 0.0,
}
_PERIOD = {"sin": 2 * math.pi, "cos": 2 * math.pi, "tan": math.pi}


def add_symbolic(
    name: str,
    torch_fn: Callable[[Tensor], Tensor],
    sympy_fn: Callable[[sympy.Expr], sympy.Expr],
    complexity: int = 2,
    overwrite: bool = False,
) -> SymbolicFunction:
    """Register a user function in :data:`SYMBOLIC_LIB` and return it.

    ``torch_fn`` must be elementwise (and preferably differentiable and finite);
    ``sympy_fn`` maps a sympy expression to the same function.  Registering an
    existing name raises ``ValueError`` unless ``overwrite=True``.
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty str, got {name!r}")
    if not callable(torch_fn):
        raise TypeError(f"torch_fn must be callable, got {type(torch_fn).__name__}")
    if not callable(sympy_fn):
        raise TypeError(f"sympy_fn must be callable, got {type(sympy_fn).__name__}")
    if isinstance(complexity, bool) or not isinstance(complexity, (int, float)):
        raise TypeError(f"complexity must be a number, got {type(complexity).__name__}")
    if not math.isfinite(complexity) or complexity < 0:
        raise ValueError(f"complexity must be finite and >= 0, got {complexity}")
    if name in SYMBOLIC_LIB and not overwrite:
        kind = "built-in" if name in _BUILTINS else "registered"
        raise ValueError(
            f"symbolic function {name!r} is already {kind}; pass overwrite=True to replace it"
        )
    fn = SymbolicFunction(name, torch_fn, sympy_fn, int(complexity) if float(complexity).is_integer() else complexity)
    SYMBOLIC_LIB[name] = fn
    return fn


def get_functions(lib: Sequence[str] | None = None) -> list[SymbolicFunction]:
    """Return the library functions named in ``lib`` (all of them when ``None``).

    Raises ``TypeError`` when ``lib`` is not a list/tuple of strings and
    ``ValueError`` (listing the unknown and the valid names) for unknown names.
    """
    if lib is None:
        return list(SYMBOLIC_LIB.values())
    if isinstance(lib, str) or not isinstance(lib, (list, tuple)):
        raise TypeError(f"lib must be a list of function names or None, got {type(lib).__name__}")
    bad_types = [item for item in lib if not isinstance(item, str)]
    if bad_types:
        raise TypeError(f"lib must contain only str names, got {bad_types!r}")
    unknown = [name for name in lib if name not in SYMBOLIC_LIB]
    if unknown:
        raise ValueError(
            f"unknown symbolic function(s) {unknown}; valid names are {list(SYMBOLIC_LIB)}"
        )
    return [SYMBOLIC_LIB[name] for name in lib]


def _resolve(fn: SymbolicFunction | str) -> SymbolicFunction:
    if isinstance(fn, SymbolicFunction):
        return fn
    if isinstance(fn, str):
        return get_functions([fn])[0]
    raise TypeError(f"expected a SymbolicFunction or a name, got {type(fn).__name__}")


def _builtin_name(fn: SymbolicFunction) -> str | None:
    """Name of ``fn`` if it is an unmodified built-in (symmetry tables apply)."""
    ref = _BUILTINS.get(fn.name)
    if ref is not None and ref.torch_fn is fn.torch_fn:
        return fn.name
    return None


# --------------------------------------------------------------------------------------
# Chunk planning (memory bound)
# --------------------------------------------------------------------------------------


_WORK_ELEMENTS = 2**18  # preferred size of a working chunk (cache friendly, ~2 MiB)


def plan_chunks(
    E: int, N: int, P: int, n_search: int, memory_budget_bytes: int = DEFAULT_MEMORY_BUDGET
) -> dict[str, int]:
    """Chunk sizes used by :func:`fit_affine_batched`.

    ``budget = memory_budget_bytes // 8`` float64 elements bounds every temporary;
    within that bound chunks are kept near ``_WORK_ELEMENTS`` for cache locality.

    * ``edge_chunk``: edges processed together; the fit holds a few
      ``(edge_chunk, N)`` arrays and the polish accumulates sums over
      ``(edge_chunk, 4, polish_samples)`` tensors.
    * ``search_edges`` x ``search_pairs`` x ``search_samples``: the shape of the
      grid-search temporaries (``z = a x + b`` and ``f(z)``) for ``P`` (a, b) pairs.

    Every one of these products is ``<= budget`` except that a single edge's
    ``N`` samples are never split in the ``(edge_chunk, N)`` arrays (so the bound
    is ``max(budget, few * N)``).
    """
    budget = max(1, int(memory_budget_bytes) // 8)
    work = max(1, min(budget, _WORK_ELEMENTS))
    n = max(1, min(n_search, N, budget))
    edge_chunk = max(1, min(E, work // max(1, 4 * N)))
    polish_samples = max(1, min(N, budget // (4 * edge_chunk)))
    search_edges, search_pairs = _search_steps(work, edge_chunk, P, n)
    return {
        "budget_elements": budget,
        "work_elements": work,
        "edge_chunk": edge_chunk,
        "search_edges": search_edges,
        "search_pairs": search_pairs,
        "search_samples": n,
        "polish_samples": polish_samples,
    }


def _search_steps(work: int, Ec: int, P: int, n: int) -> tuple[int, int]:
    """(edges, pairs) per grid-search chunk so that edges * pairs * n <= work."""
    if P * n <= work:
        return max(1, min(Ec, work // (P * n))), P
    return 1, max(1, min(P, work // n))


# --------------------------------------------------------------------------------------
# Fitting
# --------------------------------------------------------------------------------------


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


def _canonicalise(name: str | None, p: Tensor) -> Tensor:
    """Map fitted (a, b, c, d) of a built-in to a canonical equivalent (same phi).

    Odd/even functions get a >= 0; homogeneous functions get |a| = 1; periodic
    functions get b in (-T/2, T/2]; exp gets b = 0; log gets |a| = 1.
    (Equivalence is exact outside the clamped singular regions; R^2 is computed
    after canonicalisation.)
    """
    if name is None:
        return p
    a, b, c, d = p.unbind(-1)
    parity = _PARITY.get(name)
    if parity is not None:
        neg = a < 0
        a = torch.where(neg, -a, a)
        b = torch.where(neg, -b, b)
        if parity == "odd":
            c = torch.where(neg, -c, c)
        elif parity == "acos":
            d = torch.where(neg, d + c * math.pi, d)
            c = torch.where(neg, -c, c)
    if name in _DEGREE:
        k = a.abs()
        ok = k > 0
        ks = torch.where(ok, k, torch.ones_like(k))
        c_new = c * ks.pow(_DEGREE[name])
        ok = ok & torch.isfinite(c_new)
        a = torch.where(ok, torch.sign(a), a)
        b = torch.where(ok, b / ks, b)
        c = torch.where(ok, c_new, c)
    if name in _PERIOD:
        T = _PERIOD[name]
        b = b - T * torch.ceil(b / T - 0.5)
    if name == "exp":
        c_new = c * torch.exp(b)
        ok = torch.isfinite(c_new) & (c_new != 0)
        c = torch.where(ok, c_new, c)
        b = torch.where(ok, torch.zeros_like(b), b)
    if name == "log":
        k = a.abs()
        ok = k > 0
        ks = torch.where(ok, k, torch.ones_like(k))
        d = torch.where(ok, d + c * torch.log(ks), d)
        b = torch.where(ok, b / ks, b)
        a = torch.where(ok, torch.sign(a), a)
    return torch.stack([a, b, c, d], dim=-1)


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
    p = _canonicalise(_builtin_name(fn), p)
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


# --------------------------------------------------------------------------------------
# Ranking
# --------------------------------------------------------------------------------------


def score_candidates(
    r2: Tensor,
    complexity: Tensor | Sequence[float],
    weight_simple: float = 0.8,
    eps: float = 1e-5,
    tol: float = 0.05,
) -> Tensor:
    """Lower-is-better score trading fit quality against complexity (as KAN does).

    ``score = weight_simple * complexity + (1 - weight_simple) * quality`` with
    ``quality = log2(1 + eps - r2)``, the log of the unexplained-variance fraction
    (the same trade-off as pykan's ``suggest_symbolic``):

    * the quality term is bounded below by ``log2(eps)`` (about -16.6 for
      ``eps=1e-5``): fits better than ``1 - eps`` all count as perfect and
      complexity decides between them;
    * candidates whose quality is within ``tol`` bits of the best candidate in the
      same row (default 0.05 bits, i.e. within ~3.5% of the best unexplained
      variance) get the best quality.  Richer families can always absorb a
      simpler one in a limit (``c*cos(a x) + d`` with tiny ``a`` is a parabola)
      and then win by fitting noise; with the tolerance, such near-ties are
      decided by complexity and then by library order (:func:`rank_candidates`
      is stable).  ``tol=0`` gives the plain KAN formula;
    * ``r2`` of ``-inf`` or NaN gives ``+inf``;
    * a candidate with ``r2 < 0`` (worse than the edge's mean, e.g. ``0`` on an edge
      with a large offset) ranks after every candidate with ``r2 >= 0``, however
      simple it is.

    ``r2`` has shape (..., F) and ``complexity`` (F,); returns float64 (..., F).
    """
    r2 = torch.as_tensor(r2, dtype=_F64)
    comp = torch.as_tensor(complexity, dtype=_F64, device=r2.device)
    r2 = torch.where(torch.isnan(r2), torch.full_like(r2, -math.inf), r2).clamp(max=1.0)
    quality = torch.log2(1.0 + eps - r2)
    if tol > 0 and quality.numel() > 0:
        best = quality.amin(dim=-1, keepdim=True)
        quality = torch.where(quality <= best + tol, best.expand_as(quality), quality)
    score = weight_simple * comp + (1.0 - weight_simple) * quality
    worse_than_mean = NEGATIVE_R2_PENALTY + score.abs().amax(dim=-1, keepdim=True).nan_to_num(0.0, 0.0, 0.0)
    return torch.where(r2 < 0, score + worse_than_mean, score)


NEGATIVE_R2_PENALTY = 1e3


def rank_candidates(
    r2: Tensor,
    complexity: Tensor | Sequence[float],
    weight_simple: float = 0.8,
    topk: int | None = None,
    eps: float = 1e-5,
    tol: float = 0.05,
) -> tuple[Tensor, Tensor]:
    """Indices of the candidates, best first, and their scores.

    Sorts :func:`score_candidates` ascending along the last axis (stable: ties
    keep library order).  Returns ``(order, sorted_scores)``, truncated to
    ``topk`` when given.
    """
    scores = score_candidates(r2, complexity, weight_simple, eps, tol)
    order = torch.sort(scores, dim=-1, stable=True).indices
    if topk is not None:
        order = order[..., :topk]
    return order, torch.gather(scores, -1, order)


# --------------------------------------------------------------------------------------
# Sympy
# --------------------------------------------------------------------------------------


def _num(v) -> float:
    return float(v.item()) if torch.is_tensor(v) else float(v)


def to_sympy(
    fn: SymbolicFunction | str, a, b, c, d, x_symbol: sympy.Expr | str = "x"
) -> sympy.Expr:
    """``c * f(a * x + b) + d`` as a sympy expression (numbers as sympy Floats).

    Zero ``b`` / ``d`` terms and unit ``a`` / ``c`` factors are left out.
    """
    fn = _resolve(fn)
    x = sympy.Symbol(x_symbol) if isinstance(x_symbol, str) else x_symbol
    a, b, c, d = (_num(v) for v in (a, b, c, d))
    arg = x if a == 1.0 else sympy.Float(a) * x
    if b != 0.0:
        arg = arg + sympy.Float(b)
    inner = fn.sympy_fn(arg)
    expr = inner if c == 1.0 else sympy.Float(c) * inner
    if d != 0.0:
        expr = expr + sympy.Float(d)
    return expr
