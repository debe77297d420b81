"""KANWidget(pykan_model): the pykan model is converted on the way in, and the widget says so."""
from __future__ import annotations

import os

import pytest
import torch

from kanwidget import KAN, KANWidget, create_dataset
from kanwidget.widget.publisher import KANWidgetWarning
from kanwidget.widget.widget import PYKAN_CONVERTED
from widget_helpers import target


@pytest.fixture
def pykan_model(tmp_path):
    kan = pytest.importorskip("kan", exc_type=ImportError)  # also a pykan missing its deps
    old = os.getcwd()
    os.chdir(tmp_path)                  # pykan writes into ./model when a method turns auto_save on
    try:
        yield kan.KAN(width=[2, 3, 1], grid=3, k=3, seed=0, auto_save=False)
    finally:
        os.chdir(old)


def test_widget_converts_a_pykan_model_and_says_so(pykan_model):
    data = create_dataset(target, n_var=2, train_num=50, test_num=20, seed=0)
    with pytest.warns(KANWidgetWarning, match="converted a pykan MultKAN to kanwidget.KAN"):
        w = KANWidget(pykan_model, data)
    try:
        assert isinstance(w.model, KAN)
        assert w.status["text"] == PYKAN_CONVERTED and w.status["state"] == "idle"
        x = data["test_input"]
        with torch.no_grad():
            assert (w.model(x) - pykan_model(x)).abs().max().item() < 1e-6      # float32, same weights
        assert w.graph["width"] == [2, 3, 1]
        w.train(steps=1, block=True)        # the converted model is a working kanwidget model
        assert w.model.steps_trained == 1
    finally:
        w.close()


def test_assigning_a_pykan_model_converts_it(widget, pykan_model):
    with pytest.warns(KANWidgetWarning, match="converted a pykan MultKAN"):
        widget.model = pykan_model
    assert isinstance(widget.model, KAN) and widget.status["text"] == PYKAN_CONVERTED


def test_a_kanwidget_model_is_shown_as_is_without_a_warning(model, recwarn):
    w = KANWidget(model)
    try:
        assert w.model is model and w.status["text"] != PYKAN_CONVERTED
        assert not [r for r in recwarn if issubclass(r.category, KANWidgetWarning)]
    finally:
        w.close()


def test_other_objects_are_refused():
    with pytest.raises(TypeError, match=r"kanwidget\.KAN \(or a pykan MultKAN\) model, got dict"):
        KANWidget({"width": [2, 1]})
