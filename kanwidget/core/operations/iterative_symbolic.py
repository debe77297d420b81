"""auto_symbolic's iterative mode: fix the most certain edge, refit the rest, repeat.

This is what a KAN practitioner does by hand: an edge whose curve is clearly sin (R² 0.99999) is fixed
first; the other edges then refit around an exact sin, so their curves become cleaner and their own
symbolic fits more certain than they were in a one-shot pass over a model fitted with splines only.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from torch import Tensor

from kanwidget.core.network.history import Activity
from kanwidget.core.numerics.symbolic import SymbolicFunction
from kanwidget.core.operations.symbolic_edges import SymbolicChoice, best_fits
from kanwidget.core.operations.symbolic_log import EdgeLog

if TYPE_CHECKING:
    from kanwidget.core.network.model import KAN

R2_TIE = 1e-6   # edges whose R² differ by less than this are equally certain: the simpler one goes first


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
    log = EdgeLog(activity.total, bool(verbose))
    choices: list[SymbolicChoice] = []
    while True:
        activity.check()
        bests = [b for chunk in best_fits(model, xs, fns, weight_simple, a_range, b_range, activity) for b in chunk]
        eligible = [b for b in bests if b.r2 >= r2_threshold]
        if not eligible:
            choices.extend(SymbolicChoice(b.l, b.i, b.j, None, b.r2) for b in bests)
            for b in bests:
                log.edge(f"keeping ({b.l},{b.i},{b.j}) as spline: best {b.fn.name}, r2={b.r2:.6f}", None, b.r2)
            log.finish()
            return choices
        top = max(b.r2 for b in eligible)
        pick = min((b for b in eligible if b.r2 >= top - R2_TIE), key=lambda b: (b.fn.complexity, -b.r2))
        model.layers[pick.l].set_symbolic(pick.i, pick.j, pick.fn.name, pick.params)
        choices.append(SymbolicChoice(pick.l, pick.i, pick.j, pick.fn.name, pick.r2))
        log.edge(f"fixing ({pick.l},{pick.i},{pick.j}) with {pick.fn.name}, r2={pick.r2:.6f}, "
                 f"c={pick.fn.complexity}; {len(bests) - 1} edges left", pick.fn.name, pick.r2)
        lineage.advance(activity, 1)
        if len(bests) == 1:
            log.finish()
            return choices
        model.fit(model.data, opt="LBFGS", steps=refit_steps, update_grid=False, record=False, verbose=False)
