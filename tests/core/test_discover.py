"""KAN.discover: the pipeline's verdict against independent truth (sympy evaluation, known formulas)."""
from __future__ import annotations

import threading

import numpy as np
import pytest
import sympy
import torch
from model_helpers import clone_state, state_equal

from kanwidget import KAN, create_dataset
from kanwidget.core.operations.discovery_report import DiscoveryReport

LIB = ["x", "x^2", "sin", "exp"]


def sin_plus_square(x):
    return torch.sin(torch.pi * x[:, [0]]) + x[:, [1]] ** 2


@pytest.fixture(scope="module")
def dataset():
    return create_dataset(sin_plus_square, n_var=2, train_num=200, test_num=200, dtype=torch.float64)


def sympy_rmse(report: DiscoveryReport, x: torch.Tensor, y: torch.Tensor) -> float:
    """The report's formula evaluated here, independently of the report's own helpers."""
    fn = sympy.lambdify(report.variables, report.formula, "numpy")
    cols = x.double().numpy()
    pred = np.broadcast_to(np.asarray(fn(*cols.T), dtype=np.float64), (cols.shape[0],))
    return float(np.sqrt(np.mean((pred - y.double().numpy()[:, 0]) ** 2)))


def test_recovers_a_known_formula_and_its_numbers_check_out(dataset):
    model = KAN(width=[2, 1], grid=5, seed=0, dtype=torch.float64)
    report = model.discover(dataset, lib=LIB, steps=20, target=sin_plus_square, verbose=False, shapes=["model"])
    assert report.recovered and not report.cancelled and report.shape == "model"
    assert report.message.startswith("recovered: ")
    x1, x2 = sympy.symbols("x_1 x_2")
    assert sympy.simplify(report.formula - (sympy.sin(sympy.pi * x1) + x2 ** 2)) == 0
    # the report's RMSE is what the printed formula gives on the test data
    ours = sympy_rmse(report, dataset["test_input"], dataset["test_label"])
    assert report.checks[0].test_rmse == pytest.approx(ours, rel=1e-6, abs=1e-12)
    assert report.checks[0].test_rmse < 1e-6
    assert report.checks[0].fresh_relative is not None and report.checks[0].fresh_relative < 1e-6
    assert {(e.l, e.i, e.j, e.name) for e in report.edges} == {(0, 0, 0, "sin"), (0, 1, 0, "x^2")}
    assert all(e.r2 > 0.99 for e in report.edges)
    # every step is its own version, and the final model is the lineage's current version
    names = [s.name for s in report.steps]
    assert names[:6] == ["fit (sparse)", "prune", "fit", "refine", "fit", "auto_symbolic"]
    versions = [s.version for s in report.steps if s.name != "formula"]
    assert len(set(versions)) == len(versions)
    assert report.model.lineage.current == report.steps[-1].version
    text = str(report)
    assert "recovered" in text and "NOT verified" not in text and "x_2**2" in text
    assert repr(report).startswith("DiscoveryReport(recovered=True")


def test_a_shape_the_library_cannot_express_is_not_recovered_and_says_why():
    def target(x):
        return torch.sin(torch.pi * x[:, [0]])
    ds = create_dataset(target, n_var=1, train_num=200, test_num=200, dtype=torch.float64)
    model = KAN(width=[1, 1], grid=5, seed=0, dtype=torch.float64)
    report = model.discover(ds, lib=["x", "x^2"], steps=20, target=target, verbose=False)
    assert not report.recovered
    assert report.message.startswith("not recovered: symbolic fit R² ")
    assert "edge (0,0,0)" in report.message
    r2 = report.edges[0].r2
    assert r2 < 0.99 and f"{r2:.3g}" in report.message
    # the formula the report holds is indeed wrong by the amount it states
    ours = sympy_rmse(report, ds["test_input"], ds["test_label"])
    assert report.checks[0].test_rmse == pytest.approx(ours, rel=1e-6)
    assert report.checks[0].test_relative > 1e-3
    assert "NOT verified" in str(report)


def test_noise_alone_is_never_reported_as_a_formula():
    gen = torch.Generator().manual_seed(3)
    ds = {k: torch.rand(200, 2, generator=gen, dtype=torch.float64) * 2 - 1 if k.endswith("input")
          else torch.randn(200, 1, generator=gen, dtype=torch.float64) for k in
          ("train_input", "train_label", "test_input", "test_label")}
    model = KAN(width=[2, 2, 1], grid=3, seed=0, dtype=torch.float64)
    report = model.discover(ds, lib=LIB, steps=5, grid=5, verbose=False)
    assert not report.recovered
    assert report.message.startswith("not recovered: the fit is stuck at RMSE")


def test_cancel_leaves_the_last_completed_step(dataset):
    model = KAN(width=[2, 1], grid=5, seed=0, dtype=torch.float64)
    stop = threading.Event()
    fits = []

    def cancel_in_second_fit(info):
        if info.step == 1:
            fits.append(info.model.lineage.current)
        if len(fits) == 2 and info.step == 3:
            stop.set()

    report = model.discover(dataset, lib=LIB, steps=10, verbose=False, callbacks=[cancel_in_second_fit], stop=stop,
                            shapes=["model"])
    assert report.cancelled and not report.recovered and report.formulas == []
    assert "cancelled" in report.message
    assert [s.name for s in report.steps] == ["fit (sparse)", "prune"]
    lineage = report.model.lineage
    assert lineage.current == report.steps[-1].version
    recorded = KAN.from_snapshot(lineage.get(lineage.current).snapshot)
    assert state_equal(clone_state(report.model), clone_state(recorded))
    assert lineage.activity is None                      # nothing left running: the model is usable
    report.model.fit(dataset, steps=1, verbose=False)


def test_stop_training_in_the_first_fit_goes_back_to_the_start(dataset):
    model = KAN(width=[2, 1], grid=5, seed=0, dtype=torch.float64)
    start = clone_state(model)

    def stop_at_step_2(info):
        if info.step == 2:
            info.model.stop_training()    # the model's own cancel: sets the running activities' tokens

    report = model.discover(dataset, lib=LIB, steps=10, verbose=False, callbacks=[stop_at_step_2], shapes=["model"])
    assert report.cancelled and report.steps == [] and "cancelled" in report.message
    assert state_equal(clone_state(report.model), start)
    assert report.model.lineage.current == report.model.history[0].id     # the "init" version


def test_bad_input_names_the_argument_and_changes_nothing(dataset):
    model = KAN(width=[2, 1], grid=5, seed=0, dtype=torch.float64)
    before = clone_state(model)
    with pytest.raises(ValueError, match="steps"):
        model.discover(dataset, steps=0)
    with pytest.raises(TypeError, match="target"):
        model.discover(dataset, target=3)
    with pytest.raises(ValueError, match="nope"):
        model.discover(dataset, lib=["x", "nope"])
    with pytest.raises(ValueError, match="train_input"):
        model.discover({**dataset, "train_input": dataset["train_input"][:, :1]})
    assert state_equal(clone_state(model), before) and model.history == []


def test_a_product_is_recovered_exactly_through_a_multiplication_node():
    def product(x):
        return x[:, [0]] * x[:, [1]] / (2 * torch.pi)
    ds = create_dataset(product, n_var=2, ranges=[1, 5], train_num=300, test_num=300, dtype=torch.float64)
    model = KAN(width=[2, 5, 1], grid=5, seed=0, dtype=torch.float64)
    report = model.discover(ds, lib=["x", "x^2", "1/x", "sin"], steps=20, target=product, verbose=False)
    assert report.recovered and report.shape == "product"
    assert report.model is not model and report.model.mult_nodes == [0, 1, 0]
    x1, x2 = sympy.symbols("x_1 x_2")
    assert sympy.simplify(report.formula - x1 * x2 / (2 * sympy.pi)) == 0, report.formula
    assert [s for s, _, _ in report.tried] == ["product"]      # it held: the other shapes never ran
    assert model.history == []                                  # the given model was not touched


def test_each_shape_that_fails_is_named_with_its_held_out_error():
    def target(x):
        return torch.sin(torch.pi * x[:, [0]]) * x[:, [1]] + x[:, [1]] ** 2   # neither a product nor a sum
    ds = create_dataset(target, n_var=2, train_num=200, test_num=200, dtype=torch.float64)
    model = KAN(width=[2, 2, 1], grid=3, seed=0, dtype=torch.float64)
    report = model.discover(ds, lib=["x", "x^2"], steps=5, grid=None, target=target, verbose=False)
    assert [s for s, _, _ in report.tried] == ["product", "sum", "model"]
    assert not report.recovered and report.message.startswith("not recovered")
    assert all(err > 1e-3 for _, err, _ in report.tried)
    assert "shapes tried: product" in str(report)
    with pytest.raises(ValueError, match="shapes"):
        model.discover(ds, shapes=["product", "bogus"])
