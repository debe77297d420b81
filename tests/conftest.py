import os

import pytest
import torch

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def reference_function(x: torch.Tensor) -> torch.Tensor:
    """The pykan tutorial's target: exp(sin(pi*x1) + x2^2)."""
    return torch.exp(torch.sin(torch.pi * x[:, [0]]) + x[:, [1]] ** 2)


@pytest.fixture
def reference_dataset(float64):
    from kanwidget import create_dataset
    return create_dataset(reference_function, n_var=2)
