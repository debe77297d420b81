"""The teaching helpers exported at the package top: make_dataset, PRESETS, parse_formula."""
from __future__ import annotations

import torch

import kanwidget
from kanwidget.core import expression, presets


def test_teaching_helpers_are_the_core_objects():
    assert kanwidget.make_dataset is presets.make_dataset
    assert kanwidget.PRESETS is presets.PRESETS
    assert kanwidget.parse_formula is expression.parse_formula


def test_star_import_gives_the_teaching_helpers():
    ns: dict = {}
    exec("from kanwidget import *", ns)
    assert ns["make_dataset"] is presets.make_dataset and ns["PRESETS"] is presets.PRESETS
    assert ns["parse_formula"] is expression.parse_formula


def test_exported_helpers_work_from_the_top():
    x = torch.tensor([[0.5, -1.0], [0.0, 2.0]], dtype=torch.float64)
    f = kanwidget.parse_formula("x_1 * x_2 + 1")
    assert torch.allclose(f(x).reshape(-1), torch.tensor([0.5, 1.0], dtype=torch.float64))
    data = kanwidget.make_dataset(preset="xor", n_train=40, test_fraction=0.25, seed=3)
    assert data["train_input"].shape == (40, 2) and data["test_input"].shape[1] == 2
    assert set(torch.unique(data["train_label"]).tolist()) <= {0.0, 1.0}
    assert "two_circles" in kanwidget.PRESETS
