"""Hand-written kernels of the built-in symbolic functions, for the symbolic branch's autograd node.

- `values_into(name, z, out)` writes f(z) into `out` (no temporary for the built-ins below; any other
  function is called and its result copied).
- `chain_rule(name, z, f, g, scratch)` returns g * f'(z) (f = f(z) already computed), or None when there is no
  hand-written form: the caller then differentiates that group with autograd.

Only names whose library entry is still the built-in get hand-written kernels (`add_symbolic(...,
overwrite=True)` switches a name back to calling its function and autograd). Each kernel computes what the
built-in's torch function and autograd compute, clamps included (exp's gradient is 0 where z > 50, like
clamp_max's). `chain_rule` may overwrite g and scratch (the caller's own tensors); never z or f.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from kanwidget.core.numerics.symbolic import SYMBOLIC_LIB

__all__ = ["chain_rule", "has_hand_derivative", "values_into"]

EXP_CLAMP = 50.0   # library.py's _safe_exp clamps z to <= 50

Values = Callable[[Tensor, Tensor], Tensor]
Slope = Callable[[Tensor, Tensor, Tensor, Tensor], Tensor]


def _power_values(k: int) -> Values:
    """z*z, z*z*z, (z*z)*(z*z), (z*z)*(z*z)*z: the built-ins' own products, in their order."""
    def values(z: Tensor, out: Tensor) -> Tensor:
        torch.mul(z, z, out=out)
        if k >= 4:
            out.mul_(out)
        return out.mul_(z) if k in (3, 5) else out
    return values


def _power_slope(k: int) -> Slope:
    def slope(z: Tensor, f: Tensor, g: Tensor, scratch: Tensor) -> Tensor:
        if k == 2:
            return g.mul_(z).mul_(2.0)
        return g.mul_(torch.pow(z, k - 1, out=scratch)).mul_(float(k))
    return slope


def _exp_values(z: Tensor, out: Tensor) -> Tensor:
    return torch.clamp_max(z, EXP_CLAMP, out=out).exp_()


def _exp_slope(z: Tensor, f: Tensor, g: Tensor, scratch: Tensor) -> Tensor:
    return g.mul_(f).masked_fill_(~(z <= EXP_CLAMP), 0.0)      # NaN z: 0, like clamp_max's backward


def _gaussian_values(z: Tensor, out: Tensor) -> Tensor:
    return torch.mul(z, z, out=out).neg_().exp_()


_VALUES: dict[str, Values] = {
    "x": lambda z, out: out.copy_(z), "x^2": _power_values(2), "x^3": _power_values(3),
    "x^4": _power_values(4), "x^5": _power_values(5), "exp": _exp_values,
    "sin": lambda z, out: torch.sin(z, out=out), "cos": lambda z, out: torch.cos(z, out=out),
    "tanh": lambda z, out: torch.tanh(z, out=out), "arctan": lambda z, out: torch.atan(z, out=out),
    "abs": lambda z, out: torch.abs(z, out=out), "sgn": lambda z, out: torch.sign(z, out=out),
    "gaussian": _gaussian_values,
}

_SLOPES: dict[str, Slope] = {
    "x": lambda z, f, g, s: g,
    "x^2": _power_slope(2), "x^3": _power_slope(3), "x^4": _power_slope(4), "x^5": _power_slope(5),
    "exp": _exp_slope,
    "sin": lambda z, f, g, s: g.mul_(torch.cos(z, out=s)),
    "cos": lambda z, f, g, s: g.mul_(torch.sin(z, out=s)).neg_(),
    "tanh": lambda z, f, g, s: torch.ops.aten.tanh_backward.grad_input(g, f, grad_input=g),
    "arctan": lambda z, f, g, s: g.div_(torch.mul(z, z, out=s).add_(1.0)),
    "abs": lambda z, f, g, s: g.mul_(torch.sgn(z, out=s)),
    "sgn": lambda z, f, g, s: g.zero_(),
    "gaussian": lambda z, f, g, s: g.mul_(f).mul_(z).mul_(-2.0),
}
# the built-ins' torch functions as registered at import: an overwritten name is not a built-in any more
_BUILTIN_FN = {name: SYMBOLIC_LIB[name].torch_fn for name in _VALUES}


def _is_builtin(name: str) -> bool:
    fn = SYMBOLIC_LIB.get(name)
    return fn is not None and name in _BUILTIN_FN and fn.torch_fn is _BUILTIN_FN[name]


def has_hand_derivative(name: str) -> bool:
    """Whether `name` is a built-in (not overwritten) with hand-written kernels."""
    return _is_builtin(name)


def values_into(name: str, z: Tensor, out: Tensor) -> Tensor:
    """f(z) of library function `name` written into out (same shape as z)."""
    if _is_builtin(name):
        return _VALUES[name](z, out)
    return out.copy_(SYMBOLIC_LIB[name].torch_fn(z))


def chain_rule(name: str, z: Tensor, f: Tensor, g: Tensor, scratch: Tensor) -> Tensor | None:
    """g * f'(z) for library function `name` (g and scratch may be overwritten), or None without a
    hand-written form."""
    if not _is_builtin(name):
        return None
    return _SLOPES[name](z, f, g, scratch)
