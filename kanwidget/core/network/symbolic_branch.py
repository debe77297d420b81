"""The symbolic branch of phi: edges fixed to a library function, evaluated one function group at a time.

An edge (i, o) with s_io = 1 computes mask_io * (c * f(a * x_i + b) + d) with (a, b, c, d) =
sym_affine[i, o] and f = SYMBOLIC_LIB[name]. Edges are grouped by function (`SymbolicPlan`) so that a
layer with E symbolic edges costs one gather and one tensor op per function, not one per edge.
`symbolic_edge_values` gives every edge's values (E, N) (the layer's edge_activations); the layer's
forward sums them per node in one autograd node of its own (symbolic_node.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from kanwidget.core.numerics.symbolic import SYMBOLIC_LIB

__all__ = ["SymbolicPlan", "plan_symbolic_edges", "symbolic_edge_values"]


@dataclass(frozen=True)
class SymbolicPlan:
    ii: Tensor                          # (E,) input of each symbolic edge, grouped by function
    jj: Tensor                          # (E,) output of each symbolic edge
    flat: Tensor                        # (E,) ii * out_dim + jj
    groups: list[tuple[str, int, int]]  # (function name, start, end) slices of the edges


def plan_symbolic_edges(sym_mask: Tensor, sym_fun_ids: Tensor, sym_names: list[str]) -> SymbolicPlan:
    """The symbolic edges (sym_mask > 0) of an (I, O) layer, sorted by function, the linear "x" last
    (symbolic_node.py treats that group as one matmul)."""
    active = sym_mask > 0
    ii_parts, jj_parts, groups, start = [], [], [], 0
    for fid in sorted(range(len(sym_names)), key=lambda fid: sym_names[fid] == "x"):
        name = sym_names[fid]
        ii, jj = torch.nonzero(active & (sym_fun_ids == fid), as_tuple=True)
        if ii.numel():
            ii_parts.append(ii)
            jj_parts.append(jj)
            groups.append((name, start, start + ii.numel()))
            start += ii.numel()
    empty = torch.zeros(0, dtype=torch.long, device=sym_mask.device)
    ii = torch.cat(ii_parts) if ii_parts else empty
    jj = torch.cat(jj_parts) if jj_parts else empty
    return SymbolicPlan(ii, jj, ii * sym_mask.shape[1] + jj, groups)


def symbolic_edge_values(plan: SymbolicPlan, x: Tensor, sym_affine: Tensor, mask: Tensor) -> Tensor:
    """mask * (c * f(a * x + b) + d) of every planned edge on the samples x (N, I): (E, N)."""
    p = sym_affine.reshape(-1, 4).index_select(0, plan.flat)                       # (E, 4)
    z = x.t().contiguous().index_select(0, plan.ii)                                # (E, N)
    z = torch.addcmul(p[:, 1:2], p[:, 0:1], z)
    f = torch.cat([SYMBOLIC_LIB[name].torch_fn(z[a:b]) for name, a, b in plan.groups])
    return torch.addcmul(p[:, 3:4], p[:, 2:3], f) * mask.reshape(-1).index_select(0, plan.flat)[:, None]
