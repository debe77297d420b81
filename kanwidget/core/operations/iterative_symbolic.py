"""auto_symbolic's iterative mode: fix the most certain edge, refit the rest, repeat.

This is what a KAN practitioner does by hand: an edge whose curve is clearly sin (R² 0.99999) is fixed
first; the other edges then refit around an exact sin, so their curves become cleaner and their own
symbolic fits more certain than they were in a one-shot pass over a model fitted with splines only.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from kanwidget.core.network.history import Activity
from kanwidget.core.numerics.symbolic import (
    SymbolicFunction,
    fit_affine_batched,
    rank_candidates,
)
from kanwidget.core.operations.symbolic_edges import EDGE_CHUNK, SymbolicChoice

if TYPE_CHECKING:
    from kanwidget.core.network.model import KAN

R2_TIE = 1e-6   # edges whose R² differ by less than this are equally certain: the simpler one goes first


@dataclass(frozen=True)
class _Best:
    l: int
    i: int
    j: int
    fn: SymbolicFunction
    r2: float
    params: Tensor


def fix_most_certain_first(model: KAN, xs: Tensor, fns: list[SymbolicFunction], weight_simple: float,
                           r2_threshold: float, a_range: tuple[float, float], b_range: tuple[float, float],
                           verbose: int, refit_steps: int, activity: Activity) -> list[SymbolicChoice]:
    """Fix spline edges one at a time, most certain first (highest R², then lowest complexity), each
    followed by a `refit_steps` L-BFGS fit of the whole model on model.data (no grid update, no version).
    Edges whose best R² stays below r2_threshold are kept as splines. Runs inside auto_symbolic's
    activity and change (one version in all; cancel restores the model)."""
    if model.data is None:
        raise ValueError("auto_symbolic(iterative=True) refits the model and needs its data: call fit(dataset) first")
    lineage = model.lineage
    activity.total = sum(int((layer.numeric_mask > 0).sum()) for layer in model.layers)
    lineage.emit("progress", activity)
    choices: list[SymbolicChoice] = []
    while True:
        activity.check()
        bests = _best_per_edge(model, xs, fns, weight_simple, a_range, b_range, activity)
        eligible = [b for b in bests if b.r2 >= r2_threshold]
        if not eligible:
            choices.extend(SymbolicChoice(b.l, b.i, b.j, None, b.r2) for b in bests)
            if verbose:
                for b in bests:
                    print(f"keeping ({b.l},{b.i},{b.j}) as spline: best {b.fn.name}, r2={b.r2:.6f}")
            return choices
        top = max(b.r2 for b in eligible)
        pick = min((b for b in eligible if b.r2 >= top - R2_TIE), key=lambda b: (b.fn.complexity, -b.r2))
        model.layers[pick.l].set_symbolic(pick.i, pick.j, pick.fn.name, pick.params)
        choices.append(SymbolicChoice(pick.l, pick.i, pick.j, pick.fn.name, pick.r2))
        if verbose:
            print(f"fixing ({pick.l},{pick.i},{pick.j}) with {pick.fn.name}, r2={pick.r2:.6f}, "
                  f"c={pick.fn.complexity}; {len(bests) - 1} edges left")
        lineage.advance(activity, 1)
        if len(bests) == 1:
            return choices
        model.fit(model.data, opt="LBFGS", steps=refit_steps, update_grid=False, record=False, verbose=False)


def _best_per_edge(model: KAN, xs: Tensor, fns: list[SymbolicFunction], weight_simple: float,
                   a_range: tuple[float, float], b_range: tuple[float, float], activity: Activity) -> list[_Best]:
    """Every active spline edge's best library function (by rank_candidates) on the current model."""
    complexity = torch.tensor([f.complexity for f in fns], dtype=torch.float64)
    inputs = model.layer_inputs(xs)
    out: list[_Best] = []
    for l, layer in enumerate(model.layers):
        ii_all, jj_all = torch.nonzero(layer.numeric_mask > 0, as_tuple=True)
        if ii_all.numel() == 0:
            continue
        with torch.no_grad():
            acts = layer.edge_activations(inputs[l])
        for start in range(0, ii_all.numel(), EDGE_CHUNK):
            activity.check()
            ii, jj = ii_all[start:start + EDGE_CHUNK], jj_all[start:start + EDGE_CHUNK]
            fit = fit_affine_batched(inputs[l][:, ii].T, acts[:, ii, jj].T, fns, a_range=a_range, b_range=b_range)
            order, _ = rank_candidates(fit.r2, complexity, weight_simple, topk=1)
            for e, (i, j) in enumerate(zip(ii.tolist(), jj.tolist())):
                f_idx = int(order[e, 0])
                out.append(_Best(l, i, j, fns[f_idx], float(fit.r2[e, f_idx]), fit.params[e, f_idx]))
    return out
