"""Multiplication nodes (pykan's `width=[2, [0, 1], 1]`, `mult_arity`): layout, the product step, its formula.

A level with `n_add` additive and `m` multiplicative nodes is fed by a layer with n_add + sum(arities) outputs
("subnodes"): the first n_add are the additive nodes themselves; multiplication node t is the product of the
next `arities[t]` consecutive subnodes. Levels without multiplication nodes take no extra step at all.
"""
from __future__ import annotations

import numbers
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor

Arities = tuple[int, ...]


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _check_arity(value: Any, where: str) -> int:
    if not _is_int(value):
        raise TypeError(f"mult_arity must be an int >= 2 or a list of per-level lists of ints, got {value!r}{where}")
    if value < 2:
        raise ValueError(f"mult_arity must be >= 2 (a product of at least two subnodes), got {value}{where}")
    return int(value)


def parse_arity(mult_arity: Any, depth_plus_one: int) -> int | list[list[int]]:
    """An int >= 2, or pykan's per-level lists of per-node arities (one list per level)."""
    if _is_int(mult_arity):
        return _check_arity(mult_arity, "")
    if isinstance(mult_arity, (str, bytes)) or not isinstance(mult_arity, (Sequence, np.ndarray)):
        raise TypeError(f"mult_arity must be an int >= 2 or a list of per-level lists of ints, got {mult_arity!r}")
    if len(mult_arity) != depth_plus_one:
        raise ValueError(f"mult_arity has {len(mult_arity)} per-level lists but width has {depth_plus_one} levels")
    levels = []
    for l, entry in enumerate(mult_arity):
        if isinstance(entry, (str, bytes)) or not isinstance(entry, (Sequence, np.ndarray)):
            raise TypeError(f"mult_arity[{l}] must be a list of arities (ints >= 2), got {entry!r}")
        levels.append([_check_arity(a, f" in mult_arity[{l}]") for a in entry])
    return levels


def parse_width(width: Sequence[Any], mult_arity: Any = 2) -> tuple[list[int], list[Arities]]:
    """(total nodes per level, multiplication nodes' arities per level) from pykan's width syntax.

    Entries: n (n nodes; with a per-level mult_arity list, the last len(mult_arity[l]) of them multiply) or
    [n_add, n_mult]. Errors name `width` or `mult_arity`.
    """
    if isinstance(width, (str, bytes)) or not isinstance(width, (Sequence, np.ndarray)):
        raise TypeError(f"width must be a list of layer sizes such as [2, 5, 1] or [2, [0, 1], 1], got {width!r}")
    arity = parse_arity(mult_arity, len(width))
    totals: list[int] = []
    arities: list[Arities] = []
    for l, entry in enumerate(width):
        per_level = arity[l] if isinstance(arity, list) else None
        if isinstance(entry, (list, tuple, np.ndarray)):
            if len(entry) != 2 or not all(_is_int(v) for v in entry):
                raise ValueError(f"width entry {list(entry)!r} must be [n_additive, n_multiplicative] (two ints) "
                                 f"in width {list(width)!r}")
            n_add, n_mult = int(entry[0]), int(entry[1])
            if n_add < 0 or n_mult < 0:
                raise ValueError(f"width entry {list(entry)!r} has a negative node count in width {list(width)!r}")
        elif _is_int(entry):
            n_mult = len(per_level) if per_level is not None else 0
            n_add = int(entry) - n_mult
            if int(entry) < 1 or n_add < 0:
                raise ValueError(f"width entries must be >= 1 (and cover mult_arity[{l}]), got {entry} "
                                 f"in width {list(width)!r}")
        else:
            raise TypeError(f"width entries must be integers or [n_add, n_mult], got {entry!r} in {list(width)!r}")
        if n_add + n_mult < 1:
            raise ValueError(f"width level {l} has no nodes in width {list(width)!r}")
        if per_level is not None:
            if len(per_level) != n_mult:
                raise ValueError(f"mult_arity[{l}] lists {len(per_level)} arities but width level {l} has "
                                 f"{n_mult} multiplication nodes")
            arities.append(tuple(per_level))
        else:
            arities.append((int(arity),) * n_mult)
        totals.append(n_add + n_mult)
    if len(totals) < 2:
        raise ValueError(f"width needs at least 2 layers (inputs and outputs), got {list(width)!r}")
    if arities[0]:
        raise ValueError(f"width: the input level cannot have multiplication nodes, got {list(width)!r}")
    return totals, arities


def subnode_count(total: int, arities: Arities) -> int:
    """Outputs of the layer feeding a level: additive nodes plus every multiplication node's subnodes."""
    return total - len(arities) + sum(arities)


def combine(y: Tensor, arities: Arities) -> Tensor:
    """Level values from the feeding layer's subnode values (N, n_add + sum(arities)): products appended."""
    n_add = y.shape[1] - sum(arities)
    parts = [y[:, :n_add]]
    if len(set(arities)) == 1:   # one arity: one strided product for all nodes
        a = arities[0]
        block = y[:, n_add:]
        prod = block[:, 0::a]
        for k in range(1, a):
            prod = prod * block[:, k::a]
        parts.append(prod)
    else:
        start = n_add
        for a in arities:
            prod = y[:, start:start + 1]
            for k in range(1, a):
                prod = prod * y[:, start + k:start + k + 1]
            parts.append(prod)
            start += a
    return torch.cat(parts, dim=1)


def owners(total: int, arities: Arities) -> list[int]:
    """For each subnode of a level, the index of the node it feeds (additive nodes feed themselves)."""
    n_add = total - len(arities)
    out = list(range(n_add))
    for t, a in enumerate(arities):
        out.extend([n_add + t] * a)
    return out


def product_exprs(subnode_exprs: Sequence[Any], arities: Arities) -> list[Any]:
    """Formula step: the level's expressions (sympy) from its subnodes' expressions."""
    n_add = len(subnode_exprs) - sum(arities)
    out = list(subnode_exprs[:n_add])
    start = n_add
    for a in arities:
        term = subnode_exprs[start]
        for k in range(1, a):
            term = term * subnode_exprs[start + k]
        out.append(term)
        start += a
    return out


def pykan_width(totals: Sequence[int], arities: Sequence[Arities]) -> list[list[int]]:
    """pykan's [[n_add, n_mult], ...] form of a layout."""
    return [[int(t) - len(a), len(a)] for t, a in zip(totals, arities)]
