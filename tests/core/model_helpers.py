"""Helpers shared by the core tests: exact copies and comparisons of a model's tensors."""
from __future__ import annotations

import torch


def clone_state(model) -> dict:
    """A detached copy of every tensor of the model (parameters and buffers)."""
    return {k: v.clone() for k, v in model.state_dict().items()}


def state_equal(a: dict, b: dict) -> bool:
    """Same tensor names and bit-identical values."""
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
