"""Size limits of a KAN: bounds on grid, k and depth, and the memory a model or a forward pass needs.

The spline evaluator keeps, per layer, a dense table of (I * (G + 2k + 2) * (k + 1)) rows of G + k
coefficients (values and slopes, built in float64 and copied to the model's dtype), so memory grows
with I * k * G**2. A model whose estimate exceeds MEMORY_LIMIT_BYTES is refused before anything is
allocated; raise the limit (`kanwidget.core.network.limits.MEMORY_LIMIT_BYTES = ...`) on a big machine.
"""
from __future__ import annotations

from typing import Sequence

import torch

MAX_K = 20                      # spline order (pykan uses 3; higher orders are numerically fragile anyway)
MAX_GRID = 10_000               # grid intervals per input (the memory estimate usually binds far earlier)
MAX_LAYERS = 1_000              # number of layers (len(width) - 1)
MEMORY_LIMIT_BYTES = 4 * 2 ** 30
FLOAT_DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32,
                "float64": torch.float64}


def _gib(n: int) -> str:
    return f"{n / 2 ** 30:.2f} GiB"


def model_bytes(width: Sequence[int], grid: int, k: int, dtype: torch.dtype) -> int:
    """Estimated bytes of a model's weights plus the spline tables its first forward pass builds."""
    item = torch.tensor([], dtype=dtype).element_size()
    n_bases = grid + k
    total = 0
    for n_in, n_out in zip(width[:-1], width[1:]):
        weights = n_in * n_out * (n_bases + 12) + n_in * (grid + 2 * k + 1) + n_out
        table_rows = n_in * (grid + 2 * k + 2) * (k + 1)
        total += weights * item + table_rows * n_bases * (16 + 4 * item) + table_rows * 2 * item
    return total


def bytes_per_row(width: Sequence[int], grid: int, k: int, dtype: torch.dtype) -> int:
    """Estimated bytes one input row costs in a forward pass with gradients (bases, slopes, indices)."""
    item = torch.tensor([], dtype=dtype).element_size()
    n_bases = grid + k
    return sum(n_in * ((2 * n_bases + k + 3) * item + (k + 1) * 8) + n_out * item
               for n_in, n_out in zip(width[:-1], width[1:]))


def check_model_size(width: Sequence[int], grid: int, k: int, dtype: torch.dtype) -> None:
    """Refuse (ValueError naming width, grid and k) a model whose memory estimate exceeds the limit."""
    if len(width) - 1 > MAX_LAYERS:
        raise ValueError(f"width has {len(width) - 1} layers; at most {MAX_LAYERS} are supported")
    need = model_bytes(width, grid, k, dtype)
    if need > MEMORY_LIMIT_BYTES:
        raise ValueError(f"a KAN of width {list(width)} with grid={grid}, k={k} would need about {_gib(need)} "
                         f"(weights and spline tables), above the limit of {_gib(MEMORY_LIMIT_BYTES)}; use a "
                         "smaller grid, k or width (or raise kanwidget.core.network.limits.MEMORY_LIMIT_BYTES)")


def check_batch_size(n_rows: int, row_bytes: int, what: str = "x") -> None:
    """Refuse (ValueError naming `what`) a batch whose forward pass would exceed the memory limit."""
    need = n_rows * row_bytes
    if need > MEMORY_LIMIT_BYTES:
        raise ValueError(f"{what} has {n_rows} rows; a forward pass would need about {_gib(need)}, above the "
                         f"limit of {_gib(MEMORY_LIMIT_BYTES)}; evaluate it in smaller batches")
