"""`KAN.discover`'s verdict on a classification (loss_fn "logistic"): the formula is a logit.

The printed formula is evaluated with sympy on the held-out test inputs (and on fresh points against the
target's 0/1 labels, when a target was given); its accuracy (sign of the logit vs the label) and log-loss
are set next to those of the spline model it was read from (the model after the last fit before
auto_symbolic). Recovered: the formula is finite everywhere, classifies at least min_accuracy of the points
right, and at most ACCURACY_SLACK (1 point) fewer than that spline model -- on the test data, and on the
fresh points when there is a target. Otherwise the message names the cause: the spline model itself never
classified well (no formula read from it can), a weak symbolic edge, or the formula's plain shortfall.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from kanwidget.core.operations.discovery_report import (
    EdgeFit,
    OutputCheck,
    StepRecord,
    accuracy_text,
    evaluate_formula,
    fresh_points,
    target_values,
)
from kanwidget.core.operations.discovery_task import (
    ACCURACY_SLACK,
    accuracy,
    log_loss,
)

if TYPE_CHECKING:
    from kanwidget.core.network.model import KAN


def _logits(model: KAN, x: Tensor) -> np.ndarray:
    with torch.no_grad():
        return model(x.to(model.dtype)).detach().cpu().double().numpy()[:, 0]


def check(expr: Any, variables: Sequence[Any], spline: KAN, data: dict[str, Tensor],
          fresh: tuple[Tensor, np.ndarray] | None) -> OutputCheck:
    """The formula's and the spline model's accuracy / log-loss on the test data (and accuracy on `fresh`
    (inputs, 0/1 target labels) when given). Spline edges left in expr raise ValueError."""
    x_test = data["test_input"]
    y_test = data["test_label"].detach().cpu().double().numpy()[:, 0]
    z = evaluate_formula(expr, variables, x_test)
    z_model = _logits(spline, x_test)
    bad = int((~np.isfinite(z)).sum())
    result = {"test_accuracy": accuracy(z, y_test), "model_test_accuracy": accuracy(z_model, y_test),
              "test_log_loss": log_loss(z, y_test), "model_test_log_loss": log_loss(z_model, y_test)}
    if fresh is not None:
        fresh_x, fresh_y = fresh
        z_fresh = evaluate_formula(expr, variables, fresh_x)
        bad += int((~np.isfinite(z_fresh)).sum())
        result["fresh_accuracy"] = accuracy(z_fresh, fresh_y)
        result["model_fresh_accuracy"] = accuracy(_logits(spline, fresh_x), fresh_y)
    return OutputCheck(math.nan, math.nan, non_finite=bad, **result)


def check_all(formulas: list[Any], variables: Sequence[Any], model: KAN, spline_version: int | None,
              data: dict[str, Tensor], target: Callable | None, o: dict) -> list[OutputCheck]:
    """`check` for each formula, against the spline model at `spline_version` of model's lineage (the last
    fit before auto_symbolic; its own copy) and, with a target, on o["fresh_num"] fresh points (o["seed"])."""
    from kanwidget.core.network.model import KAN

    spline = model if spline_version is None else KAN.from_snapshot(model.lineage.get(spline_version).snapshot)
    fresh = None
    if target is not None:
        fresh_x = fresh_points(data["train_input"], o["fresh_num"], o["seed"])
        fresh = (fresh_x, target_values(target, fresh_x.to(model.dtype), 1)[:, 0])
    return [check(expr, variables, spline, data, fresh) for expr in formulas]


def _pairs(c: OutputCheck, with_target: bool) -> list[tuple[str, float, float]]:
    """(where, formula accuracy, spline model accuracy) for each place the formula is judged."""
    pairs = [("the held-out test points", c.test_accuracy, c.model_test_accuracy)]
    if with_target:
        pairs.append(("fresh points labelled by the target", c.fresh_accuracy, c.model_fresh_accuracy))
    return pairs  # type: ignore[return-value]


def holds(checks: Sequence[OutputCheck], min_accuracy: float, with_target: bool) -> bool:
    """Every formula finite, >= min_accuracy and within ACCURACY_SLACK of its spline model, everywhere judged."""
    return bool(checks) and all(
        not c.non_finite and a >= min_accuracy and a >= m - ACCURACY_SLACK
        for c in checks for _, a, m in _pairs(c, with_target))


def message(formulas: list[Any], checks: list[OutputCheck], spline_fit: StepRecord | None, edges: list[EdgeFit],
            o: dict, with_target: bool, majority: float) -> str:
    """'recovered: ...' with what was measured, or 'not recovered: <cause>'."""
    min_acc = o["min_accuracy"]
    if holds(checks, min_acc, with_target):
        c = checks[0]
        shown = "; ".join(str(f) for f in formulas)
        where = " and ".join(f"{accuracy_text(a)} of {w} (spline model {accuracy_text(m)})" for w, a, m in _pairs(c, with_target))
        return (f"recovered: {shown} (classification: the formula is the logit, P(label 1) = sigmoid(formula); "
                f"it classifies {where} correctly, at least min_accuracy {accuracy_text(min_acc)} and within "
                f"{100 * ACCURACY_SLACK:g} point of the spline model; held-out log-loss {c.test_log_loss:.3g} "
                f"vs {c.model_test_log_loss:.3g})")
    bad = [c for c in checks if c.non_finite]
    if bad:
        return f"not recovered: the formula is not finite (or not real) on {bad[0].non_finite} of the check points"
    worst = min(((w, a, m) for c in checks for w, a, m in _pairs(c, with_target)), key=lambda t: (t[2], t[1]))
    where, acc, model_acc = worst
    after = f" after '{spline_fit.name}'" if spline_fit is not None else ""
    if model_acc <= majority:
        return (f"not recovered: the fit is stuck: the spline model{after} classifies only {accuracy_text(model_acc)} of "
                f"{where} correctly, no better than always guessing the majority class ({accuracy_text(majority)}); no "
                "formula read from it can hold (try another seed, more hidden nodes or steps)")
    if model_acc < min_acc:
        return (f"not recovered: the spline model{after} classifies only {accuracy_text(model_acc)} of {where} correctly, "
                f"below min_accuracy {accuracy_text(min_acc)}; the boundary read for auto_symbolic is that rough (try a "
                "finer grid, more hidden nodes or steps)")
    worst = min(((w, a, m) for c in checks for w, a, m in _pairs(c, with_target)), key=lambda t: t[1] - t[2])
    where, acc, model_acc = worst
    shortfall = (f"the formula classifies {accuracy_text(acc)} of {where} correctly vs the spline model's {accuracy_text(model_acc)} "
                 f"(recovered needs >= {accuracy_text(min_acc)} and within {100 * ACCURACY_SLACK:g} point of the model)")
    weak = [e for e in edges if e.r2 < o["r2_threshold"]]
    if weak:   # the weak edge that matters most: its share of the output times how badly it fits
        e = max(weak, key=lambda e: ((1 - e.r2) * e.importance if math.isfinite(e.importance) else 0, -e.r2))
        return (f"not recovered: {shortfall}; symbolic fit R² {e.r2:.3g} on edge ({e.l},{e.i},{e.j}) "
                f"(best: {e.name}): the library has no function of that shape there"
                + (f" ({len(weak)} edges below R² {o['r2_threshold']})" if len(weak) > 1 else ""))
    return f"not recovered: {shortfall} (every edge fitted with R² >= {o['r2_threshold']})"
