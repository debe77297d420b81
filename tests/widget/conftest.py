"""Fixtures for the widget tests: small models, a message recorder, a page-command helper."""
from __future__ import annotations

import pytest

from kanwidget import KAN, KANWidget, create_dataset
from widget_helpers import Recorder, target


@pytest.fixture
def data():
    return create_dataset(target, n_var=2, train_num=200, test_num=200, seed=0)


@pytest.fixture
def model():
    return KAN(width=[2, 3, 1], grid=3, k=3, seed=1)


@pytest.fixture
def widget(model, data):
    w = KANWidget(model, data)
    yield w
    w.close()


@pytest.fixture
def recorder(widget):
    return Recorder(widget)
