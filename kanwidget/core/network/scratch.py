"""Reusable scratch memory for large temporaries that never leave a function (the symbolic node's (E, N) work).

On CPU a fresh multi-megabyte tensor is mapped from the system page by page on its first write; reusing
a buffer skips that (measured: a mul into a fresh (2113, 1000) float32 tensor took ~10x a mul into a reused
one inside a training step). Buffers are kept per thread (no sharing between threads), per dtype and device,
at most POOL_SIZE each and only up to MAX_ELEMENTS elements, so the memory kept is bounded
(3 x 2**22 x 8 bytes = 96 MiB per thread in float64 at most).

    with scratch((E, N), like) as buf:   # buf: uninitialised, shape (E, N), like's dtype and device
        ...                              # must not be returned or saved: it goes back to the pool
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor

__all__ = ["MAX_ELEMENTS", "POOL_SIZE", "release_scratch", "scratch"]

MAX_ELEMENTS = 2 ** 22   # larger temporaries are allocated fresh each time (and not kept)
POOL_SIZE = 3            # kept buffers per thread, dtype and device


class _Pool(threading.local):
    def __init__(self) -> None:
        self.free: dict[tuple[torch.dtype, torch.device], list[Tensor]] = {}


_POOL = _Pool()


@contextmanager
def scratch(shape: tuple[int, ...], like: Tensor) -> Iterator[Tensor]:
    """An uninitialised tensor of `shape` with like's dtype and device, from this thread's pool when it fits."""
    numel = 1
    for size in shape:
        numel *= size
    if numel > MAX_ELEMENTS:
        yield like.new_empty(shape)
        return
    free = _POOL.free.setdefault((like.dtype, like.device), [])
    fitting = [k for k, buf in enumerate(free) if buf.numel() >= numel]
    buf = free.pop(fitting[0]) if fitting else like.new_empty(max(numel, 1))
    try:
        yield buf[:numel].view(shape)
    finally:
        if len(free) < POOL_SIZE:
            free.append(buf)
        else:                                            # keep the largest buffers
            smallest = min(range(len(free)), key=lambda k: free[k].numel())
            if free[smallest].numel() < buf.numel():
                free[smallest] = buf


def release_scratch() -> None:
    """Drop this thread's kept buffers (their memory is freed once no tensor uses it)."""
    _POOL.free.clear()
