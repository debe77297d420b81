"""auto_symbolic's iterative mode: fix the most certain edge, refit the rest, repeat.

This is what a KAN practitioner does by hand: an edge whose curve is clearly sin (R² 0.99999) is fixed
first; the other edges then refit around an exact sin, so their curves become cleaner and their own
symbolic fits more certain than they were in a one-shot pass over a model fitted with splines only.
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from torch import Tensor

from kanwidget.core.network.history import Activity
from kanwidget.core.numerics.symbolic import SymbolicFunction
from kanwidget.core.operations.fit_convergence import ConvergenceStop
from kanwidget.core.operations.symbolic_edges import SymbolicChoice, best_fits
from kanwidget.core.operations.symbolic_log import EdgeLog

if TYPE_CHECKING:
    from kanwidget.core.network.model import KAN

R2_TIE = 1e-6   # edges whose R² differ by less than this are equally certain: the simpler one goes first
R2_CERTAIN = 1 - 1e-7   # edges fitted this well are fixed together in one round (no refit could make them surer)


def fix_most_certain_first(model: KAN, xs: Tensor, fns: list[SymbolicFunction], weight_simple: float,
                           r2_threshold: float, a_range: tuple[float, float], b_range: tuple[float, float],
                           verbose: int, refit_steps: int, activity: Activity) -> list[SymbolicChoice]:
    """Fix spline edges one at a time, most certain first (highest R², then lowest complexity; edges with
    R² >= R2_CERTAIN join the round's pick), each round followed by a `refit_steps` L-BFGS fit of the
    whole model on model.data (no grid update, no version; it ends early once converged).
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
        picks = [pick] + [b for b in eligible if b is not pick and b.r2 >= R2_CERTAIN]
        for b in picks:
            model.layers[b.l].set_symbolic(b.i, b.j, b.fn.name, b.params)
            choices.append(SymbolicChoice(b.l, b.i, b.j, b.fn.name, b.r2))
            log.edge(f"fixing ({b.l},{b.i},{b.j}) with {b.fn.name}, r2={b.r2:.6f}, "
                     f"c={b.fn.complexity}; {len(bests) - len(picks)} edges left", b.fn.name, b.r2)
        lineage.advance(activity, len(picks))
        if len(bests) == len(picks):
            log.finish()
            return choices
        _refit(model, refit_steps)


def _refit(model: KAN, steps: int) -> None:
    """Refit the whole model on its data (no grid update, no version), ending early once converged."""
    labels = model.data["train_label"]
    spreads = [float(labels[:, k].double().std()) or 1.0 for k in range(labels.shape[1])]
    converged = ConvergenceStop(threading.Event(), spreads)
    model.fit(model.data, opt="LBFGS", steps=steps, update_grid=False, record=False, verbose=False,
              callbacks=[converged], stop=converged.event)
