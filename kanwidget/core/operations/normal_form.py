"""A symbolic KAN's constants in one normal form, the same function (before snapping).

A hidden node's scale and shift can sit on either side of it: node h = sum_i (c_i f_i(...) + d_i) + bias
feeding C*g(a*h + b) + D is the same function as h' = (h - mu) / lam feeding C*g(a*lam*h' + a*mu + b) + D.
Fitted models land anywhere on that line, so their constants (0.37, 2.7, ...) have no simple values even
when the law does. `normalise_scales` moves every hidden node's scale (and an additive node's shift) into
the edges it feeds, so the node's incoming edge with the largest |c| has c = 1 exactly and its d's and bias are 0; a
product node's factors are scaled the same way (their shifts stay: they are not movable). Each edge it
changes is then put in its function's canonical form (library.canonical_params: x gets a = 1, exp gets
b = 0, ...). Only nodes whose incoming and outgoing active edges are all symbolic are touched.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch

from kanwidget.core.network import mult_nodes
from kanwidget.core.numerics.symbolic.library import canonical_params

if TYPE_CHECKING:
    from kanwidget.core.network.model import KAN

A, B, C, D = range(4)


def normalise_scales(model: KAN) -> int:
    """Normalise the hidden nodes' scales and shifts in place (see the module doc); returns how many nodes
    changed. The model computes the same function up to rounding; callers verify that."""
    changed = 0
    with torch.no_grad():
        for level in range(1, model.depth):
            feeding, fed = model.layers[level - 1], model.layers[level]
            arities = tuple(model.mult_arity[level])
            owner = mult_nodes.owners(model.width[level], arities)
            for node in range(model.width[level]):
                subnodes = [s for s, o in enumerate(owner) if o == node]
                product = node >= model.width[level] - len(arities)
                if _normalise_node(feeding, fed, node, subnodes, product):
                    changed += 1
    return changed


def _all_symbolic(layer, rows: list[int] | None, cols: list[int] | None) -> list[tuple[int, int]] | None:
    """Active edges of the layer within rows x cols; None when one of them is still a spline."""
    active = layer.mask > 0
    edges = []
    for i, j in torch.nonzero(active).tolist():
        if (rows is None or i in rows) and (cols is None or j in cols):
            if layer.sym_mask[i, j] <= 0:
                return None
            edges.append((i, j))
    return edges


def _normalise_node(feeding, fed, node: int, subnodes: list[int], product: bool) -> bool:
    outgoing = _all_symbolic(fed, [node], None)
    if not outgoing:
        return False
    scales, shift = [], 0.0
    plans = []
    for s in subnodes:
        incoming = _all_symbolic(feeding, None, [s])
        if not incoming:
            return False
        lead = max((feeding.sym_affine[i, j, C].item() for i, j in incoming), key=abs)   # the dominant edge
        if not math.isfinite(lead) or lead == 0.0:
            return False
        scales.append(lead)
        plans.append((s, incoming))
    if not product:      # an additive node: its constants move too
        s, incoming = plans[0]
        shift = sum(feeding.sym_affine[i, j, D].item() for i, j in incoming) + feeding.bias[s].item()
    if all(v == 1.0 for v in scales) and shift == 0.0:
        return False
    for (s, incoming), lam in zip(plans, scales):
        for i, j in incoming:
            p = feeding.sym_affine[i, j]
            p[C] = p[C] / lam
            p[D] = 0.0 if not product else p[D] / lam
        feeding.bias[s] = 0.0 if not product else feeding.bias[s] / lam
    total = math.prod(scales)
    for i, j in outgoing:
        p = fed.sym_affine[i, j].clone()
        p[B] = p[B] + p[A] * shift
        p[A] = p[A] * total
        fed.sym_affine[i, j] = canonical_params(fed.symbolic_name(i, j), p)
    return True
