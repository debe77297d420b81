"""KAN.discover: the reference discovery workflow in one call, checked between steps, ending in a report.

sparse fit -> (stuck?) -> prune -> fit -> refine(grid) -> fit -> auto_symbolic(lib) -> fit -> snap ->
formula (tidied and rounded). Every step goes through the public API, so each is its own version and
streams its events (a widget attached to the model follows live). The verdict is numeric: the printed
formula is evaluated with sympy on the test inputs (and against `target` on fresh points when given);
the report says "recovered: ..." only when it holds, and names the cause when it does not.
"""
from __future__ import annotations

import inspect
import math
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import torch

from kanwidget.core.checks import check_bool, check_float, check_int
from kanwidget.core.data import validate_dataset
from kanwidget.core.network.history import OperationCancelled
from kanwidget.core.numerics.symbolic import get_functions
from kanwidget.core.operations import (
    discovery_classification,
    discovery_shapes,
    discovery_task,
)
from kanwidget.core.operations import formula as formula_ops
from kanwidget.core.operations.discovery_report import (
    DiscoveryReport,
    EdgeFit,
    OutputCheck,
    StepRecord,
    accuracy_text,
    evaluate_formula,
    fresh_points,
    relative_text,
    rmse_of,
    spread,
    target_values,
)
from kanwidget.core.operations.discovery_shapes import SHAPES
from kanwidget.core.operations.discovery_task import Task
from kanwidget.core.operations.fit_convergence import ConvergenceStop

if TYPE_CHECKING:
    from kanwidget.core.network.model import KAN

MAX_FORMULA_TERMS = 256     # larger formulas are not built (sympy would take minutes)
STUCK_FACTOR = 10          # a spline fit above STUCK_FACTOR * fit_threshold is a plateau, not just rough
SYMBOLIC_SAMPLES = 512     # rows auto_symbolic ranks the library on (refits use all the data)
PLAN = ("fit (sparse)", "prune", "fit", "refine", "fit", "auto_symbolic", "fit", "snap", "formula")


class _Cancelled(Exception):
    """The stop token was set; the model is at the last completed step's version."""


def discover(model: KAN, dataset: dict, lib: Sequence[str] | None = None, steps: int = 50, lamb: float = 0.001,
             grid: int | None = 10, r2_threshold: float = 0.99, tolerance: float = 1e-3, fit_threshold: float = 1e-2,
             target: Callable[[torch.Tensor], Any] | None = None, seed: int = 0, fresh_num: int = 1000,
             prune: bool = True, snap: bool = True, iterative: bool = True, n_digit: int = 4,
             verbose: bool = True, callbacks: Sequence[Callable[[Any], Any]] | None = None,
             stop: threading.Event | None = None, shapes: Sequence[str] = SHAPES, loss_fn: str | None = None,
             min_accuracy: float = 0.95) -> DiscoveryReport:
    """Run the reference workflow on `dataset` and report whether a formula was recovered.

    shapes: the model shapes tried in order (discovery_shapes.py): "product" (y = c*f_1(x_1)*...*f_n(x_n) + d,
    a multiplication node), "sum" (y = g(f_1(x_1) + ... + f_n(x_n))) and "model" (this model's own width
    through sparse fit -> prune -> fit -> refine -> fit). The first shape whose formula holds on the held-out
    test data (RMSE <= tolerance * std) is kept and the rest are not run; when none holds, the report is the
    one with the lowest held-out error, and says "not recovered" with its cause and what each shape gave.
    `report.model` is the model the formula was read from (a new model for "product"/"sum").
    steps: LBFGS steps per fit (a fit stops early once its loss has converged); lamb: sparsity of the first
    fit; grid: refine to this grid (None: skip); lib: library names for auto_symbolic (default: all).
    The verdict: every output's printed formula, evaluated with sympy on the test inputs, has RMSE <=
    tolerance * std(test labels) -- or, with `target` (a function of an (N, n_var) tensor, like
    create_dataset's f), on `fresh_num` fresh points in the data's range (sampled with `seed`) against
    target. A fit whose test RMSE stays above fit_threshold * std is reported as stuck; an edge whose
    symbolic fit has R² < r2_threshold is named. iterative: auto_symbolic's most-certain-edge-first mode;
    snap: snap_symbolic's simple constants. callbacks go to every fit. stop (or model.stop_training())
    cancels: the model is left at the last completed step's version and the report says "cancelled".
    loss_fn: None / "mse" fits and judges as above (regression); "logistic" / "bce" is classification
    (one output, labels 0/1; discovery_task.py): every fit uses the logistic loss, the formula is the
    model's logit (P(label 1) = sigmoid(formula)), and it is recovered when it classifies at least
    `min_accuracy` of the held-out points correctly and at most 1 point fewer than the spline model it
    was read from (and likewise on fresh points against `target`, a 0/1 labelling, when given); the
    report gives held-out accuracy and log-loss. With loss_fn None on labels that are all 0/1, the fit
    stays a regression but discover warns (UserWarning) and the report's notes say so.
    """
    opts = {"steps": check_int("steps", steps, 1, 1_000_000), "lamb": check_float("lamb", lamb, 0.0),
            "grid": None if grid is None else check_int("grid", grid, 1),
            "r2_threshold": check_float("r2_threshold", r2_threshold),
            "tolerance": check_float("tolerance", tolerance, 0.0),
            "fit_threshold": check_float("fit_threshold", fit_threshold, 0.0),
            "seed": check_int("seed", seed, 0, 2 ** 63 - 1), "fresh_num": check_int("fresh_num", fresh_num, 1, 10 ** 7),
            "prune": check_bool("prune", prune), "snap": check_bool("snap", snap),
            "iterative": check_bool("iterative", iterative), "n_digit": check_int("n_digit", n_digit, 0, 300),
            "verbose": check_bool("verbose", verbose),
            "min_accuracy": check_float("min_accuracy", min_accuracy, 0.0, 1.0)}
    shapes = discovery_shapes.check_shapes(shapes)
    if target is not None and not callable(target):
        raise TypeError(f"target must be a function of an (N, n_var) tensor, got {type(target).__name__}")
    if lib is not None:
        get_functions(lib)      # unknown names raise here, naming them
        lib = list(lib)
    data = validate_dataset(dataset, model.width[0], model.width[-1], dtype=model.dtype, device=model.device)
    task = discovery_task.resolve_task(loss_fn, data, model.width[-1])
    if task.hint:
        warnings.warn(f"discover: {task.hint}", UserWarning, stacklevel=2)
    stop = stop if stop is not None else threading.Event()
    started = time.perf_counter()
    with model.lineage.begin("discover", total=len(PLAN), stop=stop, unit="step") as activity:
        tried: list[tuple[str, DiscoveryReport]] = []
        for shape in shapes:
            candidate = discovery_shapes.build(model, shape, data["train_input"])
            if candidate is None:
                continue
            if opts["verbose"]:
                print(f"[discover] shape '{shape}': {discovery_shapes.DESCRIPTIONS[shape]}", flush=True)
            run = _Pipeline(candidate, dataset, data, lib, opts, callbacks, stop, shape, activity, model.lineage, task)
            report = run.execute(target)
            tried.append((shape, report))
            if report.cancelled or discovery_shapes.holds(report):
                break
        return discovery_shapes.choose(tried, opts["verbose"], started)


class _Pipeline:
    """One discover run: the current model, its step log and the checks between steps."""

    def __init__(self, model: KAN, dataset: dict, data: dict, lib: list[str] | None, opts: dict,
                 callbacks: Sequence[Callable[[Any], Any]] | None, stop: threading.Event, shape: str,
                 activity: Any, progress_lineage: Any, task: Task) -> None:
        self.model, self.dataset, self.data, self.lib, self.o = model, dataset, data, lib, opts
        self.task = task
        self.notes = [task.hint] if task.hint else []
        self.callbacks = list(callbacks or ())
        self.stop = stop
        self.shape = shape
        self.activity = activity
        self.progress_lineage = progress_lineage       # the lineage discover was called on (progress events)
        self.records: list[StepRecord] = []
        self.edges: list[EdgeFit] = []
        self.snapped: list[Any] = []
        self.note = ""                                  # a remark the running step leaves for its log line
        self.spline_fit: StepRecord | None = None      # the last fit before auto_symbolic
        self.std = [spread(data["test_label"][:, k].detach().cpu().double().numpy())
                    for k in range(model.width[-1])]
        self.started = time.perf_counter()

    # ------------------------------------------------------------------ steps
    def execute(self, target: Callable | None) -> DiscoveryReport:
        lineage = self.model.lineage
        if lineage.current is None:
            with lineage.change(self.model, "init"):
                pass
        o = self.o
        try:
            if self.shape == "model":
                self._fit("fit (sparse)", lamb=o["lamb"])
                if o["prune"]:
                    self._step("prune", self._prune)
                    self._fit("fit")
            else:   # small fixed shapes: nothing to sparsify or prune; a product's grids stay where build put them
                self._fit("fit", update_grid=self.shape != "product")
            if o["grid"] is not None:
                self._step("refine", lambda m: m.refine(o["grid"], stop=self.stop))
                self._fit("fit")
            self.spline_fit = self.records[-1]
            self._step("auto_symbolic", self._auto_symbolic)
            self._fit("fit", update_grid=False)
            if o["snap"] and hasattr(self.model, "snap_symbolic") and not self.task.classification:
                self._step("snap", self._snap)
            elif o["snap"] and self.task.classification:
                self._note_once("snap skipped: snap_symbolic judges constants by squared error against the labels, "
                                "which does not measure a logit")
            self._check_stop()
        except _Cancelled:
            return self._report([], [], [], cancelled=True)
        return self._verdict(target)

    def _check_stop(self) -> None:
        if self.stop.is_set():
            raise _Cancelled

    def _step(self, name: str, body: Callable[[KAN], KAN | None], note: str = "") -> StepRecord:
        """Run one step (a new model or None for in place), time it, measure the RMSEs, log it."""
        self._check_stop()
        t0 = time.perf_counter()
        try:
            result = body(self.model)
        except OperationCancelled:
            raise _Cancelled from None
        seconds = time.perf_counter() - t0
        if result is not None:
            self.model = result
        note, self.note = note or self.note, ""
        (train, train_acc), (test, test_acc) = self._measure("train"), self._measure("test")
        if self.task.classification:
            stuck = test_acc <= self._majority
            rough = test_acc < self.o["min_accuracy"] and name != "fit (sparse)"
            what = f"held-out accuracy {accuracy_text(test_acc)}" + (
                " (no better than guessing the majority class)" if stuck else "")
        else:
            relative = test / max(self.std)
            stuck = relative > STUCK_FACTOR * self.o["fit_threshold"]
            rough = relative > self.o["fit_threshold"] and name != "fit (sparse)"   # sparsity costs accuracy there
            what = f"test RMSE is {relative_text(relative)} of the target's std"
        if name.startswith("fit") and self.spline_fit is None and (stuck or rough):
            word = "stuck" if stuck else "rough fit"
            note = (note + "; " if note else "") + f"{word}: {what}"
        record = StepRecord(name, seconds, train, test, self.model.lineage.current, note, train_acc, test_acc)
        self.records.append(record)
        self.activity.done += 1
        self.activity.total = max(self.activity.total, self.activity.done + 1)
        self.progress_lineage.emit("progress", self.activity)
        if self.o["verbose"]:
            print(f"[discover] {self.shape:<8}{record.text()}{'   ' + note if note else ''}", flush=True)
        return record

    def _fit(self, name: str, lamb: float = 0.0, update_grid: bool = True) -> None:
        before = self.model.lineage.current
        # a classification's fit reports the log-loss (nats): its convergence is judged on that scale
        converged = ConvergenceStop(self.stop, [1.0] if self.task.classification else self.std, self.o["fit_threshold"],
                                    "log-loss" if self.task.classification else "RMSE")
        loss = {"loss_fn": self.task.loss_fn} if self.task.classification else {}

        def body(m: KAN) -> None:
            m.fit(self.dataset, opt="LBFGS", steps=self.o["steps"], lamb=lamb, verbose=False, update_grid=update_grid,
                  callbacks=[*self.callbacks, converged], stop=converged.event, **loss)
            if self.stop.is_set() or (converged.event.is_set() and not converged.reason):
                self.model = m.checkout(before)   # cancelled inside the fit: back to the last completed step
                raise _Cancelled
            if converged.reason:
                self.note = f"stopped at step {converged.step}: {converged.reason}"
        self._step(name, body)

    def _prune(self, m: KAN) -> KAN | None:
        try:
            if self.task.classification:    # prune()'s one-node trial refits with squared error: pykan's rule only
                return m.prune(node_th=1e-2)
            return m.prune()
        except ValueError as exc:  # pruning would cut every path to an output: keep the model
            self.note = f"not pruned: {exc}"
            return None

    def _auto_symbolic(self, m: KAN) -> None:
        kwargs: dict[str, Any] = {"lib": self.lib, "r2_threshold": 0.0, "verbose": 0, "stop": self.stop,
                                  "x": _subsample(self.data["train_input"], SYMBOLIC_SAMPLES)}
        if self.o["iterative"] and self.task.classification:
            self._note_once("auto_symbolic ran in one pass: its iterative mode refits with squared error, "
                            "which does not fit a logit")
        elif self.o["iterative"] and "iterative" in inspect.signature(m.auto_symbolic).parameters:
            kwargs["iterative"] = True
        scores, _ = m.attribution(self.data["train_input"])
        share = [(sc / max(float(sc.sum()), 1e-300)).tolist() for sc in scores]
        choices = m.auto_symbolic(**kwargs)
        self.edges = [EdgeFit(c.l, c.i, c.j, c.name, float(c.r2), share[c.l][c.i][c.j]) for c in choices]

    def _snap(self, m: KAN) -> None:
        self.snapped = list(m.snap_symbolic(stop=self.stop))

    def _note_once(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    @property
    def _majority(self) -> float:
        return discovery_task.majority_share(self.data["test_label"].detach().cpu().double().numpy())

    def _measure(self, part: str, model: KAN | None = None) -> tuple[float, float | None]:
        """(RMSE, None) on the train or test part; a classification: (log-loss, accuracy)."""
        with torch.no_grad():
            pred = (model or self.model)(self.data[f"{part}_input"])
            labels = self.data[f"{part}_label"]
            if not self.task.classification:
                return float(torch.sqrt(torch.mean((pred - labels) ** 2))), None
            z, y = pred.detach().cpu().double().numpy(), labels.detach().cpu().double().numpy()
            return discovery_task.log_loss(z, y), discovery_task.accuracy(z, y)

    def _rmse(self, part: str) -> float:
        return self._measure(part)[0]

    # --------------------------------------------------------------- verdict
    def _formulas(self) -> tuple[list[Any], list[Any]]:
        model = self.model
        variables = formula_ops.input_symbols(model)
        if hasattr(model, "clean_formula"):
            formulas = list(model.clean_formula(self.o["n_digit"]))
        else:
            raw = model.symbolic_formula()
            raw = raw[0] if isinstance(raw, tuple) else raw
            formulas = [formula_ops.ex_round(f, self.o["n_digit"]) for f in raw]
        return formulas, variables

    def _verdict(self, target: Callable | None) -> DiscoveryReport:
        terms = max(formula_ops.formula_terms(self.model))
        if terms > MAX_FORMULA_TERMS:
            return self._report([], [], [], message=f"not recovered: the formula would have {terms} terms "
                                f"(over {MAX_FORMULA_TERMS}); prune harder (higher lamb) before reading one")
        t0 = time.perf_counter()
        formulas, variables = self._formulas()
        try:
            if self.task.classification:
                version = self.spline_fit.version if self.spline_fit is not None else None
                checks = discovery_classification.check_all(formulas, variables, self.model, version, self.data,
                                                            target, self.o)
            else:
                checks = self._check(formulas, variables, target)
        except ValueError as exc:   # spline edges left in the formula
            return self._report(formulas, variables, [], message=f"not recovered: {exc}")
        (train, train_acc), (test, test_acc) = self._measure("train"), self._measure("test")
        self.records.append(StepRecord("formula", time.perf_counter() - t0, train, test, self.model.lineage.current,
                                       "", train_acc, test_acc))
        if self.task.classification:
            message = discovery_classification.message(formulas, checks, self.spline_fit, self.edges, self.o,
                                                       target is not None, self._majority)
        else:
            message = self._message(formulas, checks, target)
        return self._report(formulas, variables, checks, message=message)


    def _check(self, formulas: list[Any], variables: list[Any], target: Callable | None) -> list[OutputCheck]:
        x_test = self.data["test_input"]
        y_test = self.data["test_label"].detach().cpu().double().numpy()
        fresh_x = fresh_y = None
        if target is not None:
            fresh_x = fresh_points(self.data["train_input"], self.o["fresh_num"], self.o["seed"])
            fresh_y = target_values(target, fresh_x.to(self.model.dtype), self.model.width[-1])
        checks = []
        for k, expr in enumerate(formulas):
            rmse, bad = rmse_of(evaluate_formula(expr, variables, x_test), y_test[:, k])
            check = OutputCheck(rmse, rmse / self.std[k], non_finite=bad)
            if fresh_x is not None and fresh_y is not None:
                f_rmse, f_bad = rmse_of(evaluate_formula(expr, variables, fresh_x), fresh_y[:, k])
                check = OutputCheck(rmse, rmse / self.std[k], f_rmse, f_rmse / spread(fresh_y[:, k]), bad + f_bad)
            checks.append(check)
        return checks

    def _message(self, formulas: list[Any], checks: list[OutputCheck], target: Callable | None) -> str:
        tol = self.o["tolerance"]
        errors = [c.fresh_relative if target is not None else c.test_relative for c in checks]
        if all(e <= tol for e in errors):
            shown = "; ".join(str(f) for f in formulas)
            where = "fresh points vs the target" if target is not None else "the test data"
            return f"recovered: {shown} (RMSE {relative_text(max(errors))} of the target's std on {where})"
        bad = [c for c in checks if c.non_finite]
        if bad:
            return f"not recovered: the formula is not finite (or not real) on {bad[0].non_finite} of the check points"
        fit = self.spline_fit
        fit_error = fit.test_rmse / max(self.std) if fit is not None else 0.0
        if fit is not None and fit_error > STUCK_FACTOR * self.o["fit_threshold"]:
            return (f"not recovered: the fit is stuck at RMSE {fit.test_rmse:.3g} ({relative_text(fit_error)} of the target's "
                    f"std) after '{fit.name}' before auto_symbolic: the splines never fitted the data, so no formula "
                    "read from them can hold (try another seed, more hidden nodes or steps)")
        if fit is not None and fit_error > self.o["fit_threshold"]:
            return (f"not recovered: the spline fit only reached RMSE {fit.test_rmse:.3g} ({relative_text(fit_error)} of the "
                    f"target's std) after '{fit.name}', above fit_threshold {self.o['fit_threshold']:g}; the curves "
                    "read for auto_symbolic are that rough (try a finer grid or more steps)")
        weak = [e for e in self.edges if e.r2 < self.o["r2_threshold"]]
        if weak:   # the weak edge that matters most: its share of the output times how badly it fits
            worst = max(weak, key=lambda e: ((1 - e.r2) * e.importance if math.isfinite(e.importance) else 0, -e.r2))
            return (f"not recovered: symbolic fit R² {worst.r2:.3g} on edge ({worst.l},{worst.i},{worst.j}) "
                    f"(best: {worst.name}); the library has no function of that shape there"
                    + (f" ({len(weak)} edges below R² {self.o['r2_threshold']})" if len(weak) > 1 else ""))
        return (f"not recovered: the formula's RMSE is {relative_text(max(errors))} of the target's std, above the tolerance "
                f"{tol:g} (every edge fitted with R² >= {self.o['r2_threshold']})")

    def _report(self, formulas: list[Any], variables: list[Any], checks: list[OutputCheck],
                message: str = "", cancelled: bool = False) -> DiscoveryReport:
        if cancelled:
            last = self.records[-1].name if self.records else "none"
            message = (f"cancelled after {len(self.records)} of the pipeline's steps (last completed: {last}); "
                       f"the model is at version {self.model.lineage.current}; nothing was recovered")
        report = DiscoveryReport(formulas, variables, checks, self.edges, self.model, self.records,
                                 recovered=message.startswith("recovered"), message=message, cancelled=cancelled,
                                 tolerance=self.o["tolerance"], snapped=self.snapped,
                                 seconds=time.perf_counter() - self.started, shape=self.shape, task=self.task.kind,
                                 loss_fn=self.task.loss_fn,
                                 min_accuracy=self.o["min_accuracy"] if self.task.classification else None,
                                 notes=list(self.notes))
        if self.o["verbose"]:
            print(f"[discover] {self.shape}: {message}", flush=True)
        return report


def _subsample(x: torch.Tensor, n: int) -> torch.Tensor:
    """At most n rows of x, evenly strided (deterministic): symbolic fits rank curves as well on them."""
    if x.shape[0] <= n:
        return x
    return x[torch.linspace(0, x.shape[0] - 1, n).round().long()]


__all__ = ["DiscoveryReport", "discover"]
