"""phi's weighting in one place: how an edge combines its base function, its spline and its symbolic function.

    phi_io(x) = mask_io * [ (1 - s_io) * (scale_base_io * base(x_i) + scale_sp_io * spline_io(x_i))
                            + s_io * (c_io * f_io(a_io * x_i + b_io) + d_io) ]

with spline_io(x) = sum_m coef_iom B_m(x) and s_io = 1 for edges fixed to a symbolic function f_io.
The numeric branch folds m = mask * (1 - s) (`KANLayer.numeric_mask`) into two weights,

    w_base   = scale_base * m            (I, O)
    w_spline = coef * scale_sp * m       (I, O, M)

made by `numeric_weights` and evaluated by `layer_output` (sum over inputs, (N, O)) or `edge_outputs`
(every edge, (I, N, O)). Every path uses these: the layer's forward, the fused training node, per-edge
activations and the regulariser's edge std. The symbolic branch (weighted by mask where s = 1) is
`symbolic_branch.py` (edges grouped by function, per-edge values) and `symbolic_node.py` (summed per node).
"""
from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["numeric_weights", "layer_output", "edge_outputs"]


def numeric_weights(coef: Tensor, scale_sp: Tensor, scale_base: Tensor, numeric_mask: Tensor) -> tuple[Tensor, Tensor]:
    """(w_spline (I, O, M), w_base (I, O)) of the numeric branch; see the module docstring."""
    return coef * (scale_sp * numeric_mask).unsqueeze(-1), scale_base * numeric_mask


def layer_output(bias: Tensor, bases: Tensor, base_values: Tensor, w_spline: Tensor, w_base: Tensor) -> Tensor:
    """bias + sum_i of the numeric phi_io, (N, O), as two matmuls.

    bases (N, I, M) B-spline bases of the samples, base_values (N, I) base(x).
    """
    n, out_dim = bases.shape[0], w_spline.shape[1]
    y = torch.addmm(bias, bases.reshape(n, -1), w_spline.transpose(1, 2).reshape(-1, out_dim))
    return y.addmm_(base_values, w_base)


def edge_outputs(bases: Tensor, base_values: Tensor, w_spline: Tensor, w_base: Tensor) -> Tensor:
    """Every edge's numeric phi_io on every sample, (I, N, O), in one batched matmul (costs N*I*O memory)."""
    return torch.baddbmm(base_values.t().unsqueeze(-1) * w_base.unsqueeze(1), bases.transpose(0, 1),
                         w_spline.transpose(1, 2))
