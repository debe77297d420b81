"""The page's Discover button: the whole workflow as one long command, ending in the report's verdict."""
from __future__ import annotations

import sympy
import torch

from kanwidget import KAN, KANWidget, create_dataset
from widget_helpers import wait_until


def square(x: torch.Tensor) -> torch.Tensor:
    return x[:, [0]] ** 2


def test_discover_from_python_returns_the_report_and_the_view_follows():
    data = create_dataset(square, n_var=1, train_num=200, test_num=100, seed=0)
    w = KANWidget(KAN(width=[1, 1], grid=3, seed=0), data)
    try:
        report = w.discover(lib=["x", "x^2"])
        assert report.recovered, report.message
        x = sympy.Symbol("x_1")
        assert sympy.simplify(report.formulas[0] - x ** 2) == 0          # the exact target
        assert w.model is report.model                                   # the widget follows the final model
        assert w.status["state"] == "idle" and w.status["text"].startswith("recovered")
        assert w.formula["sympy"] and "x_1**2" in w.formula["sympy"][0]
        assert len(w.versions) >= 5                                      # each pipeline step is a version
    finally:
        w.close()


def test_discover_from_the_page_runs_in_the_background_and_says_when_it_fails(monkeypatch):
    data = create_dataset(lambda x: torch.sin(torch.pi * x[:, [0]]), n_var=1, train_num=200, test_num=100, seed=0)
    w = KANWidget(KAN(width=[1, 1], grid=3, seed=0), data)
    try:
        for handler in list(w._msg_callbacks.callbacks):
            handler(w, {"type": "command", "name": "discover", "args": {"lib": ["x", "x^2"]}}, [])
        wait_until(lambda: w.status.get("state") == "idle" and w.status.get("text", "").startswith("not recovered"),
                   timeout=120, what="the discovery report")
        assert w.error == ""
        assert "not recovered" in w.status["text"]                    # sin cannot be written with x and x^2
    finally:
        w.close()


def test_discover_on_a_classification_preset_uses_the_logistic_loss_and_judges_accuracy():
    w = KANWidget(KAN(width=[2, 3, 1], grid=3, seed=0))
    try:
        w.set_data(preset="two_blobs", n_train=200, test_fraction=0.3, seed=0)
        report = w.discover(lib=["x", "x^2", "sin", "exp"])
        assert report.task == "classification" and "logistic" in report.loss_fn
        assert report.checks and report.checks[0].test_accuracy is not None
        assert "accuracy" in report.message
    finally:
        w.close()
