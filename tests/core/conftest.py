"""Fixtures shared by the core tests."""
from __future__ import annotations

import copy

import pytest
import torch

from kanwidget import KAN, create_dataset
from tests.conftest import reference_function


@pytest.fixture(scope="session")
def _trained_once():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        ds = create_dataset(reference_function, n_var=2)
        model = KAN(width=[2, 5, 1], grid=5, k=3, seed=42)
        model.fit(ds, opt="LBFGS", steps=15, lamb=0.001, verbose=False)
    finally:
        torch.set_default_dtype(old)
    return model


@pytest.fixture
def trained(_trained_once, float64):
    """A copy (own lineage) of a [2,5,1] model trained sparsely on the reference function."""
    return copy.deepcopy(_trained_once)
