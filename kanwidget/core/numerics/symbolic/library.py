"""The symbolic function library: what an edge may be fixed to.

:class:`SymbolicFunction` and the registry :data:`SYMBOLIC_LIB` (built-ins, extended with
:func:`add_symbolic`, queried with :func:`get_functions`), and the parameter symmetries of the
built-ins (parity, degree of homogeneity, period) with :func:`canonical_params`, which maps fitted
``(a, b, c, d)`` to one canonical equivalent.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Sequence

import torch
from torch import Tensor

from kanwidget.core.lazy import LazyModule

if TYPE_CHECKING:
    import sympy
else:
    sympy = LazyModule("sympy")  # imported on first use: keeps `import kanwidget` light

__all__ = ["SymbolicFunction", "SYMBOLIC_LIB", "add_symbolic", "get_functions", "canonical_params"]


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


_PROBE_SHAPE = (3, 7)  # registration probe: values in [-2, 2], float64 and float32


def add_symbolic(
    name: str,
    torch_fn: Callable[[Tensor], Tensor],
    sympy_fn: Callable[[sympy.Expr], sympy.Expr],
    complexity: int = 2,
    overwrite: bool = False,
) -> SymbolicFunction:
    """Register a user function in :data:`SYMBOLIC_LIB` and return it.

    ``torch_fn`` must be elementwise: for a float tensor it returns a tensor of the same shape and
    dtype (preferably differentiable and finite; non-finite values where the function is undefined,
    like ``log`` at 0, are allowed). ``sympy_fn`` maps a sympy expression to the same function.
    ``complexity`` is a non-negative integer (numpy integers accepted).

    Both functions are tried at registration (``torch_fn`` on a (3, 7) probe of values in [-2, 2]
    in float64 and float32, ``sympy_fn`` on ``Symbol("x")``); a bad argument raises ``TypeError``
    or ``ValueError`` naming it, and leaves :data:`SYMBOLIC_LIB` unchanged. Registering an existing
    name (a built-in included) raises ``ValueError`` unless ``overwrite=True``.
    """
    _check_name(name, overwrite)
    _check_torch_fn(torch_fn)
    _check_sympy_fn(sympy_fn)
    fn = SymbolicFunction(name, torch_fn, sympy_fn, _check_complexity(complexity))
    SYMBOLIC_LIB[name] = fn
    return fn


def _check_name(name: object, overwrite: object) -> None:
    if not isinstance(name, str) or not name.strip():
        raise TypeError(f"name must be a non-empty str, got {name!r}")
    if not isinstance(overwrite, bool):
        raise TypeError(f"overwrite must be a bool, got {type(overwrite).__name__}")
    if name in SYMBOLIC_LIB and not overwrite:
        kind = "a built-in" if name in _BUILTINS else "already registered"
        raise ValueError(f"name {name!r} is {kind} symbolic function; pass overwrite=True to replace it")


def _check_complexity(complexity: object) -> int:
    if isinstance(complexity, bool) or not isinstance(complexity, numbers.Integral):
        raise TypeError(f"complexity must be a non-negative int, got {complexity!r} ({type(complexity).__name__})")
    if complexity < 0:
        raise ValueError(f"complexity must be a non-negative int, got {complexity}")
    return int(complexity)


def _check_torch_fn(torch_fn: object) -> None:
    if not callable(torch_fn):
        raise TypeError(f"torch_fn must be callable, got {type(torch_fn).__name__}")
    for dtype in (torch.float64, torch.float32):
        probe = torch.linspace(-2.0, 2.0, math.prod(_PROBE_SHAPE), dtype=dtype).reshape(_PROBE_SHAPE)
        try:
            out = torch_fn(probe.clone())
        except Exception as exc:  # noqa: BLE001 - any failure means the function is unusable
            raise ValueError(f"torch_fn failed on a {tuple(probe.shape)} {dtype} tensor: "
                             f"{type(exc).__name__}: {exc}") from exc
        if not torch.is_tensor(out):
            raise TypeError(f"torch_fn must return a torch.Tensor, got {type(out).__name__} "
                            f"for a {tuple(probe.shape)} {dtype} tensor")
        if out.shape != probe.shape:
            raise ValueError(f"torch_fn must be elementwise (output shape == input shape): "
                             f"a {tuple(probe.shape)} input gave shape {tuple(out.shape)}")
        if out.dtype != dtype:
            raise ValueError(f"torch_fn must keep the input dtype: a {dtype} input gave {out.dtype}")


def _check_sympy_fn(sympy_fn: object) -> None:
    if not callable(sympy_fn):
        raise TypeError(f"sympy_fn must be callable, got {type(sympy_fn).__name__}")
    x = sympy.Symbol("x")
    try:
        expr = sympy_fn(x)
    except Exception as exc:  # noqa: BLE001
        raise ValueError(f"sympy_fn failed on sympy.Symbol('x'): {type(exc).__name__}: {exc}") from exc
    if not isinstance(expr, sympy.Expr):
        raise TypeError(f"sympy_fn must return a sympy expression for sympy.Symbol('x'), "
                        f"got {type(expr).__name__}")

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


def canonical_params(name: str | None, p: Tensor) -> Tensor:
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

