"""The report of `KAN.discover`: what was found, how well it holds, and the plain verdict.

The verdict is numeric: a formula counts as recovered only when the printed formula itself, evaluated
with sympy (lambdify) on held-out inputs, matches the data (and the known target on fresh points, when
one was given) to within a tolerance relative to the target's std. Helpers here evaluate formulas;
the pipeline lives in `discover.py`.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from kanwidget.core.lazy import LazyModule

if TYPE_CHECKING:
    import sympy

    from kanwidget.core.network.model import KAN
else:
    sympy = LazyModule("sympy")


@dataclass(frozen=True)
class StepRecord:
    """One completed pipeline step: its name, wall time, error after it and the version it left.

    train_rmse / test_rmse: the fit's error -- the RMSE for a regression, the log-loss (mean binary
    cross-entropy of the logits, nats) for a classification, which also has the accuracies (share of
    points classified right; None for a regression)."""
    name: str
    seconds: float
    train_rmse: float
    test_rmse: float
    version: int | None
    note: str = ""
    train_accuracy: float | None = None
    test_accuracy: float | None = None

    def text(self) -> str:
        """The step's log line."""
        if self.test_accuracy is None:
            errors = f"train {self.train_rmse:.3e}   test {self.test_rmse:.3e}"
        else:
            errors = (f"log-loss train {self.train_rmse:.3e} test {self.test_rmse:.3e}   accuracy train "
                      f"{accuracy_text(self.train_accuracy)} test {accuracy_text(self.test_accuracy)}")
        return f"{self.name:<16}{self.seconds:>7.2f} s   {errors}"


@dataclass(frozen=True)
class EdgeFit:
    """A symbolic edge (l, i, j): the library function auto_symbolic chose and the R² of that fit."""
    l: int
    i: int
    j: int
    name: str | None
    r2: float
    importance: float = math.nan    # the edge's attribution score before auto_symbolic (share of the output)


@dataclass(frozen=True)
class OutputCheck:
    """How one output's printed formula holds: RMSE on the test inputs (and on fresh points against the
    known target), absolute and relative to the target's std; None where not measured.

    A classification (the formula is a logit) is measured by accuracy and log-loss instead: the formula's
    and the fitted spline model's on the test data (and, with a target, their accuracy on fresh points);
    test_rmse / test_relative are NaN there."""
    test_rmse: float
    test_relative: float
    fresh_rmse: float | None = None
    fresh_relative: float | None = None
    non_finite: int = 0
    test_accuracy: float | None = None
    model_test_accuracy: float | None = None
    test_log_loss: float | None = None
    model_test_log_loss: float | None = None
    fresh_accuracy: float | None = None
    model_fresh_accuracy: float | None = None


@dataclass(repr=False)
class DiscoveryReport:
    """What `KAN.discover` found. `recovered` is True only when every output's printed formula passed
    the numeric check; `message` says why not otherwise ("not recovered: the fit is stuck at ...")."""
    formulas: list[Any]
    variables: list[Any]
    checks: list[OutputCheck]
    edges: list[EdgeFit]
    model: KAN
    steps: list[StepRecord]
    recovered: bool
    message: str
    cancelled: bool = False
    tolerance: float = 1e-3
    snapped: list[Any] = field(default_factory=list)
    seconds: float = 0.0
    shape: str = "model"      # the model shape the formula was read from (see discovery_shapes.py)
    # (shape, held-out error, message) each; the error: relative RMSE (regression) or error rate (classification)
    tried: list[tuple[str, float, str]] = field(default_factory=list)
    task: str = "regression"  # or "classification" (loss_fn logistic: the formula is a logit, judged by accuracy)
    loss_fn: str | None = None   # the loss every fit used (None: squared error)
    min_accuracy: float | None = None    # classification: the held-out accuracy a recovered formula reaches
    notes: list[str] = field(default_factory=list)   # remarks on the run (binary labels fitted as a regression, ...)

    @property
    def formula(self) -> Any:
        """The first output's formula (None when the pipeline did not reach the formula)."""
        return self.formulas[0] if self.formulas else None

    def __str__(self) -> str:
        lines = [self.message] + [f"note: {n}" for n in self.notes]
        classifying = self.task == "classification"
        for k, expr in enumerate(self.formulas):
            head = "formula" if self.recovered else "formula (NOT verified)"
            name = f"y_{k + 1}" if len(self.formulas) > 1 else "y"
            if classifying:
                head, name = head.replace("formula", "logit formula"), "logit"
            lines.append(f"{head}: {name} = {expr}" + ("   (P(label 1) = sigmoid(logit))" if classifying else ""))
        for k, check in enumerate(self.checks):
            if classifying:
                lines.append(_classification_line(check))
                continue
            where = f"output {k + 1}: " if len(self.checks) > 1 else ""
            text = f"  {where}test RMSE {check.test_rmse:.3e} ({relative_text(check.test_relative)} of the target's std)"
            if check.fresh_rmse is not None:
                text += f"; fresh points vs target RMSE {check.fresh_rmse:.3e} ({relative_text(check.fresh_relative)})"
            if check.non_finite:
                text += f"; not finite on {check.non_finite} points"
            lines.append(text)
        if self.edges:
            lines.append("symbolic edges: " + ", ".join(
                f"({e.l},{e.i},{e.j}) {e.name or 'spline'} R²={e.r2:.4f}" + _importance(e) for e in self.edges))
        if self.snapped:
            lines.append(f"snapped constants: {len(self.snapped)}")
        if len(self.tried) > 1:
            lines.append("shapes tried: " + "; ".join(
                (f"{s} (held-out error rate {accuracy_text(err)})" if classifying else
                 f"{s} (held-out RMSE {relative_text(err)} of the target's std)") for s, err, _ in self.tried)
                + f"; kept: {self.shape}")
        loss = f", loss {self.loss_fn}" if self.loss_fn else ""
        lines.append(f"steps ({self.seconds:.1f} s, shape {self.shape}{loss}):")
        for s in self.steps:
            note = f"  [{s.note}]" if s.note else ""
            lines.append(f"  {s.text()}   v{s.version}{note}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"DiscoveryReport(recovered={self.recovered}, cancelled={self.cancelled}, message={self.message!r})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text("DiscoveryReport(...)" if cycle else str(self))


def accuracy_text(value: float | None) -> str:
    """A share of points classified right, as '96.7%' ('n/a' when there is none)."""
    return "n/a" if value is None or not math.isfinite(value) else f"{100 * value:.1f}%"


def _classification_line(check: OutputCheck) -> str:
    text = (f"  held-out accuracy {accuracy_text(check.test_accuracy)} (fitted spline model {accuracy_text(check.model_test_accuracy)})"
            f"; log-loss {_loss(check.test_log_loss)} (model {_loss(check.model_test_log_loss)})")
    if check.fresh_accuracy is not None:
        text += (f"; fresh points vs target: accuracy {accuracy_text(check.fresh_accuracy)} (model "
                 f"{accuracy_text(check.model_fresh_accuracy)})")
    if check.non_finite:
        text += f"; not finite on {check.non_finite} points"
    return text


def _loss(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"


def _importance(edge: EdgeFit) -> str:
    return "" if not math.isfinite(edge.importance) else f" (importance {edge.importance:.2g})"


def relative_text(value: float | None) -> str:
    """An error relative to the target's std: '2.3%', '1.5x' from 10 on, the bare number below 1e-4 (a formula
    that is exact up to rounding reads '3.4e-16', not '3.4e-14%'); 'n/a' when there is none."""
    if value is None or not math.isfinite(value):
        return "n/a"
    if value < 1e-4:
        return f"{value:.2g}"
    return f"{100 * value:.2g}%" if value < 10 else f"{value:.3g}x"


# ------------------------------------------------------------------ evaluating formulas
def evaluate_formula(expr: Any, variables: Sequence[Any], x: Tensor | np.ndarray) -> np.ndarray:
    """expr evaluated with sympy.lambdify (numpy) at the rows of x (N, n_var); float64 (N,), NaN where not
    real or not finite. Undefined functions (spline edges) raise ValueError."""
    expr = sympy.sympify(expr)
    undefined = [f for f in expr.atoms(sympy.Function) if isinstance(f.func, sympy.core.function.UndefinedFunction)]
    if undefined:
        raise ValueError(f"the formula still has spline edges: {', '.join(sorted(str(f.func) for f in undefined))}")
    cols = np.asarray(x.detach().cpu().double() if isinstance(x, Tensor) else x, dtype=np.float64)
    fn = sympy.lambdify(list(variables), expr, modules="numpy")
    with np.errstate(all="ignore"):
        values = np.asarray(fn(*[cols[:, c] for c in range(cols.shape[1])]))
    values = np.broadcast_to(values, (cols.shape[0],))
    if np.iscomplexobj(values):
        values = np.where(np.abs(values.imag) <= 1e-12 * np.maximum(np.abs(values.real), 1.0), values.real, np.nan)
    return np.asarray(values, dtype=np.float64)


def rmse_of(pred: np.ndarray, truth: np.ndarray) -> tuple[float, int]:
    """(RMSE over the finite predictions, count of non-finite ones); RMSE inf when any is not finite."""
    bad = int((~np.isfinite(pred)).sum())
    if bad:
        return math.inf, bad
    return float(np.sqrt(np.mean((pred - truth) ** 2))), 0


def spread(values: np.ndarray) -> float:
    """The target's std (the scale errors are measured against); 1.0 for a constant target."""
    std = float(np.std(values))
    return std if std > 1e-300 else 1.0


def fresh_points(x_train: Tensor, n: int, seed: int) -> Tensor:
    """n points uniform in the box the training inputs span (float64)."""
    x = x_train.detach().cpu().double()
    low, high = x.min(0).values, x.max(0).values
    gen = torch.Generator().manual_seed(seed)
    return low + torch.rand(n, x.shape[1], generator=gen, dtype=torch.float64) * (high - low)


def target_values(target: Callable[[Tensor], Any], x: Tensor, n_out: int) -> np.ndarray:
    """target(x) as float64 (N, n_out), as create_dataset's f is called (column mode)."""
    y = torch.as_tensor(target(x), dtype=torch.float64)
    if y.dim() == 1:
        y = y[:, None]
    if y.shape != (x.shape[0], n_out):
        raise ValueError(f"target must return ({x.shape[0]},) or ({x.shape[0]}, {n_out}) values, got {tuple(y.shape)}")
    return y.numpy()
