"""KAN.discover on classification data (loss_fn="logistic"): the formula is a logit, judged by accuracy.

Truth is independent of the pipeline: labels come from known boundaries, and the report's formula is
evaluated here with sympy on fresh points and classified by its sign.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import sympy
import torch
from model_helpers import clone_state, state_equal

from kanwidget import KAN, create_dataset
from kanwidget.core.operations.discovery_report import DiscoveryReport

LIB = ["x", "x^2", "sin", "exp"]


def inside_circle(x: torch.Tensor) -> torch.Tensor:
    return ((x ** 2).sum(1, keepdim=True) < 0.5).to(x.dtype)


def above_wave(x: torch.Tensor) -> torch.Tensor:
    return (torch.sin(torch.pi * x[:, [0]]) > x[:, [1]]).to(x.dtype)


def labelled(rule, n: int = 300, seed: int = 1) -> dict:
    gen = torch.Generator().manual_seed(seed)
    x = {part: torch.rand(n, 2, generator=gen, dtype=torch.float64) * 2 - 1 for part in ("train", "test")}
    return {"train_input": x["train"], "train_label": rule(x["train"]),
            "test_input": x["test"], "test_label": rule(x["test"])}


def formula_accuracy(report: DiscoveryReport, x: torch.Tensor, y: torch.Tensor) -> float:
    """The share of points the printed formula (a logit) puts on the label's side, computed here."""
    fn = sympy.lambdify(report.variables, report.formula, "numpy")
    cols = x.double().numpy()
    z = np.broadcast_to(np.asarray(fn(*cols.T), dtype=np.float64), (cols.shape[0],))
    return float(np.mean((z > 0) == (y.double().numpy()[:, 0] > 0.5)))


def fresh(rule, n: int = 2000, seed: int = 7) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.rand(n, 2, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * 2 - 1
    return x, rule(x)


@pytest.mark.parametrize("rule", [inside_circle, above_wave])
def test_a_known_boundary_is_recovered_and_its_formula_classifies_fresh_points(rule):
    ds = labelled(rule)
    model = KAN(width=[2, 3, 1], grid=5, seed=0, dtype=torch.float64)
    report = model.discover(ds, lib=LIB, steps=30, loss_fn="logistic", target=rule, verbose=False)
    assert report.recovered, str(report)
    assert report.task == "classification" and report.loss_fn == "logistic" and report.min_accuracy == 0.95
    check = report.checks[0]
    # the report's held-out accuracy is what the printed formula gives on the test points
    assert check.test_accuracy == pytest.approx(formula_accuracy(report, ds["test_input"], ds["test_label"]),
                                                 abs=1e-12)
    assert check.test_accuracy >= 0.95 and check.test_accuracy >= check.model_test_accuracy - 0.01
    assert math.isfinite(check.test_log_loss) and math.isnan(check.test_rmse)
    # fresh points the pipeline never saw, labelled by the rule: the formula classifies them at the same rate
    x, y = fresh(rule)
    ours = formula_accuracy(report, x, y)
    assert ours >= 0.95
    assert ours == pytest.approx(check.fresh_accuracy, abs=0.02)
    # the report says what was measured
    assert report.message.startswith("recovered: ") and "classification" in report.message
    assert "sigmoid" in report.message and "accuracy" in report.message
    text = str(report)
    assert "logit formula" in text and "held-out accuracy" in text and "loss logistic" in text
    assert "RMSE" not in text.split("steps (")[0]       # no regression measure in the verdict part
    assert all(s.test_accuracy is not None and 0 <= s.test_accuracy <= 1 for s in report.steps)
    assert report.shape in ("product", "sum", "model")


def test_every_fit_uses_the_logistic_loss():
    ds = labelled(inside_circle)
    model = KAN(width=[2, 1, 1], grid=5, seed=0, dtype=torch.float64)
    measured: list[tuple[float, float, float]] = []     # (fit's test loss, BCE here, RMSE here)

    def measure(info):
        with torch.no_grad():
            z, t = info.model(ds["test_input"]), ds["test_label"]
            bce = float(torch.mean(torch.nn.functional.softplus(z) - t * z))
            rmse = float(torch.sqrt(torch.mean((z - t) ** 2)))
        measured.append((float(info.test_loss), bce, rmse))

    report = model.discover(ds, lib=LIB, steps=10, loss_fn="bce", shapes=["sum"], verbose=False,
                            callbacks=[measure])
    assert report.task == "classification" and report.loss_fn == "bce"
    assert len([s for s in report.steps if s.name.startswith("fit")]) == 3     # fit, fit after refine, after symbolic
    assert len(measured) >= 3
    # every step of every fit reported the binary cross-entropy of the logits, not the squared error
    for loss, bce, rmse in measured:
        assert loss == pytest.approx(bce, rel=1e-6, abs=1e-12)
        assert abs(bce - rmse) > 1e-3 * max(bce, rmse)
    # and each step record's train figure is that log-loss of the model it left
    for s in report.steps:
        m = KAN.from_snapshot(report.model.lineage.get(s.version).snapshot)
        with torch.no_grad():
            z, t = m(ds["train_input"]), ds["train_label"]
        assert s.train_rmse == pytest.approx(float(torch.mean(torch.nn.functional.softplus(z) - t * z)), rel=1e-9,
                                             abs=1e-12)


def test_random_labels_are_not_recovered_and_the_report_says_why():
    gen = torch.Generator().manual_seed(5)
    ds = {k: torch.rand(200, 2, generator=gen, dtype=torch.float64) * 2 - 1 if k.endswith("input")
          else (torch.rand(200, 1, generator=gen, dtype=torch.float64) > 0.5).double()
          for k in ("train_input", "train_label", "test_input", "test_label")}
    model = KAN(width=[2, 1, 1], grid=3, seed=0, dtype=torch.float64)
    report = model.discover(ds, lib=LIB, steps=5, grid=None, loss_fn="logistic", shapes=["sum"], verbose=False)
    assert not report.recovered and report.task == "classification"
    assert report.message.startswith("not recovered: ")
    assert "classifies only" in report.message
    assert report.checks[0].test_accuracy < 0.95
    assert "NOT verified" in str(report)


def sin_plus_square(x):
    return torch.sin(torch.pi * x[:, [0]]) + x[:, [1]] ** 2


def _outcome(report: DiscoveryReport) -> tuple:
    steps = [(s.name, s.train_rmse, s.test_rmse, s.version, s.note, s.test_accuracy) for s in report.steps]
    return (str(report.formula), report.message, report.recovered, report.checks, report.edges, steps,
            report.tried, report.task, report.loss_fn, report.notes)


def test_regression_data_gives_the_same_result_with_mse_as_without_loss_fn():
    ds = create_dataset(sin_plus_square, n_var=2, train_num=100, test_num=100, dtype=torch.float64)
    reports = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # real-valued labels: no binary-label warning
        for loss_fn in (None, "mse"):
            model = KAN(width=[2, 1], grid=5, seed=0, dtype=torch.float64)
            reports.append(model.discover(ds, lib=LIB, steps=10, loss_fn=loss_fn, verbose=False,
                                          shapes=["sum", "model"]))
    assert _outcome(reports[0]) == _outcome(reports[1])
    assert reports[0].task == "regression" and reports[0].loss_fn is None and reports[0].notes == []
    assert reports[0].checks[0].test_accuracy is None and math.isfinite(reports[0].checks[0].test_rmse)


def test_binary_labels_without_loss_fn_stay_a_regression_and_say_so():
    ds = labelled(inside_circle, n=100)
    model = KAN(width=[2, 1, 1], grid=3, seed=0, dtype=torch.float64)
    with pytest.warns(UserWarning, match="loss_fn='logistic'"):
        report = model.discover(ds, lib=LIB, steps=3, grid=None, shapes=["sum"], verbose=False)
    assert report.task == "regression" and report.loss_fn is None
    assert any("0 or 1" in n and "loss_fn='logistic'" in n for n in report.notes)
    assert "note: every label is 0 or 1" in str(report)
    # the explicit choice of the squared error is the same fit, without the warning or the note
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        same = KAN(width=[2, 1, 1], grid=3, seed=0, dtype=torch.float64).discover(
            ds, lib=LIB, steps=3, grid=None, shapes=["sum"], verbose=False, loss_fn="mse")
    assert same.notes == [] and str(same.formula) == str(report.formula) and same.message == report.message


def test_bad_loss_fn_names_the_argument_and_changes_nothing():
    ds = labelled(inside_circle, n=50)
    regression = create_dataset(sin_plus_square, n_var=2, train_num=50, test_num=50, dtype=torch.float64)
    model = KAN(width=[2, 1, 1], grid=3, seed=0, dtype=torch.float64)
    two_out = KAN(width=[2, 2], grid=3, seed=0, dtype=torch.float64)
    before = clone_state(model)
    with pytest.raises(ValueError, match="loss_fn.*hinge"):
        model.discover(ds, loss_fn="hinge")
    with pytest.raises(TypeError, match="loss_fn"):
        model.discover(ds, loss_fn=torch.nn.functional.mse_loss)
    with pytest.raises(ValueError, match="loss_fn='logistic'.*labels"):
        model.discover(regression, loss_fn="logistic")
    with pytest.raises(ValueError, match="min_accuracy"):
        model.discover(ds, loss_fn="logistic", min_accuracy=1.5)
    two = {**ds, "train_label": ds["train_label"].repeat(1, 2), "test_label": ds["test_label"].repeat(1, 2)}
    with pytest.raises(ValueError, match="loss_fn='logistic'.*one output"):
        two_out.discover(two, loss_fn="logistic")
    assert state_equal(clone_state(model), before) and model.history == [] and two_out.history == []
