"""One intra-op thread for small problems.

Training a small KAN runs thousands of operations on tensors of a few thousand numbers. Splitting such an
operation across threads costs more than it saves, and far more when the other cores are busy. Measured
here (2 cores), a 50-step sparse fit of a [2,5,1] KAN on 1000 samples: idle machine, one thread 1.57-1.75 s,
torch's default two OpenMP threads 1.54-2.38 s (2.53-3.15 s with OMP_WAIT_POLICY=PASSIVE); with another
process keeping one core busy, a 20-step fit took 6-11 s on two threads against 0.8-1.3 s on one. `fewer_threads(elements)` runs a block with one thread when its largest tensors hold at most
SMALL_ELEMENTS numbers, and restores the setting afterwards.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

import torch

SMALL_ELEMENTS = 2 ** 17      # largest per-operation tensor (numbers) that still runs single-threaded


@contextlib.contextmanager
def fewer_threads(elements: int) -> Iterator[None]:
    """Run the block with one torch intra-op thread when `elements` <= SMALL_ELEMENTS (else unchanged).

    torch's CPU build schedules with OpenMP, whose thread count is a per-thread setting: the calling thread
    sets and restores its own, so blocks in other threads (a widget's training thread) neither see nor undo it.
    """
    saved = torch.get_num_threads()
    if elements > SMALL_ELEMENTS or saved <= 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(saved)
