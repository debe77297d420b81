"""Helpers shared by the core tests: exact copies and comparisons of a model's tensors, pykan's setting."""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import torch


def clone_state(model) -> dict:
    """A detached copy of every tensor of the model (parameters and buffers)."""
    return {k: v.clone() for k, v in model.state_dict().items()}


def state_equal(a: dict, b: dict) -> bool:
    """Same tensor names and bit-identical values."""
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@contextlib.contextmanager
def float64_in(folder) -> Iterator[None]:
    """pykan builds in the default dtype and writes into its ckpt_path: float64 and a tmp folder for it."""
    old_dtype, old_cwd = torch.get_default_dtype(), os.getcwd()
    torch.set_default_dtype(torch.float64)
    os.chdir(folder)
    try:
        yield
    finally:
        torch.set_default_dtype(old_dtype)
        os.chdir(old_cwd)


def grid_and_beyond(n_in: int, seed: int = 0) -> torch.Tensor:
    """float64 points inside and well outside the grid range [-1, 1]."""
    g = torch.Generator().manual_seed(seed)
    return torch.cat([torch.rand(100, n_in, generator=g, dtype=torch.float64) * 2 - 1,
                      torch.rand(100, n_in, generator=g, dtype=torch.float64) * 8 - 4])


def randomise_parameters(layer, gen: torch.Generator) -> None:
    """Random coefficients (normal), base scales in [-1, 1], spline scales in [0.5, 1.5] and biases (normal)."""
    with torch.no_grad():
        layer.coef.normal_(generator=gen)
        layer.scale_base.uniform_(-1, 1, generator=gen)
        layer.scale_sp.uniform_(0.5, 1.5, generator=gen)
        layer.bias.normal_(generator=gen)


def random_layer(grid: int = 5):
    """A float64 KANLayer(3, 4) with random coefficients, scales and biases, and edge (1, 2) masked (pruned)."""
    from kanwidget.core.network.layer import KANLayer
    layer = KANLayer(3, 4, grid=grid, k=3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    randomise_parameters(layer, torch.Generator().manual_seed(1))
    with torch.no_grad():
        layer.mask[1, 2] = 0.0
    return layer
