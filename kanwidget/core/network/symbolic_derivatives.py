"""Hand-written derivatives of the built-in symbolic functions, for the symbolic branch's autograd node.

`chain_rule(name, z, f, g)` returns g * f'(z) for a library function f (f = f(z) already computed), or None
when there is no hand-written form: a function without a cheap derivative, or a name whose library entry is
not the built-in any more (`add_symbolic(..., overwrite=True)`). The caller then differentiates that group
with autograd. Each form equals what autograd computes through the built-in's torch function (including the
clamps: exp's gradient is 0 where z > 50, like clamp_max's).

`chain_rule` may overwrite g (the caller's own scratch tensor); it never changes z or f.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from kanwidget.core.numerics.symbolic import SYMBOLIC_LIB

__all__ = ["chain_rule", "has_hand_derivative"]

EXP_CLAMP = 50.0   # library.py's _safe_exp clamps z to <= 50


def _identity(z: Tensor, f: Tensor, g: Tensor) -> Tensor:
    return g


def _power(k: int) -> Callable[[Tensor, Tensor, Tensor], Tensor]:
    def grad(z: Tensor, f: Tensor, g: Tensor) -> Tensor:
        return g.mul_(z.pow(k - 1)).mul_(k) if k > 2 else g.mul_(z).mul_(2.0)
    return grad


def _exp(z: Tensor, f: Tensor, g: Tensor) -> Tensor:
    return torch.where(z <= EXP_CLAMP, g.mul_(f), 0.0)


def _sin(z: Tensor, f: Tensor, g: Tensor) -> Tensor:
    return g.mul_(torch.cos(z))


def _cos(z: Tensor, f: Tensor, g: Tensor) -> Tensor:
    return g.mul_(torch.sin(z)).neg_()


def _tanh(z: Tensor, f: Tensor, g: Tensor) -> Tensor:
    return torch.ops.aten.tanh_backward(g, f)


def _arctan(z: Tensor, f: Tensor, g: Tensor) -> Tensor:
    return g.div_(torch.addcmul(torch.ones_like(z), z, z))


def _abs(z: Tensor, f: Tensor, g: Tensor) -> Tensor:
    return g.mul_(torch.sgn(z))


def _zero_slope(z: Tensor, f: Tensor, g: Tensor) -> Tensor:
    return g.zero_()


def _gaussian(z: Tensor, f: Tensor, g: Tensor) -> Tensor:
    return g.mul_(f).mul_(z).mul_(-2.0)


_HAND: dict[str, Callable[[Tensor, Tensor, Tensor], Tensor]] = {
    "x": _identity, "x^2": _power(2), "x^3": _power(3), "x^4": _power(4), "x^5": _power(5),
    "exp": _exp, "sin": _sin, "cos": _cos, "tanh": _tanh, "arctan": _arctan, "abs": _abs, "sgn": _zero_slope,
    "gaussian": _gaussian,
}
# the built-ins' torch functions as registered at import: an overwritten name falls back to autograd
_BUILTIN_FN = {name: SYMBOLIC_LIB[name].torch_fn for name in _HAND}


def has_hand_derivative(name: str) -> bool:
    """Whether `name` is a built-in (not overwritten) with a hand-written derivative."""
    fn = SYMBOLIC_LIB.get(name)
    return fn is not None and name in _HAND and fn.torch_fn is _BUILTIN_FN[name]


def chain_rule(name: str, z: Tensor, f: Tensor, g: Tensor) -> Tensor | None:
    """g * f'(z) for library function `name` (g may be overwritten), or None without a hand-written form."""
    if not has_hand_derivative(name):
        return None
    return _HAND[name](z, f, g)
