"""The edge inspector: curve, data and knots at once; symbolic candidates in the background.

Ranking the whole library for one edge takes seconds on a loaded machine, so a page `inspect`
publishes the curve / data / knots immediately and fits the candidates in a daemon thread on a copy
of the edge's samples (never touching the model, so it runs alongside a fit), in chunks of
functions with a cancel check between them. Results are cached per (version, steps, data, edge)
and published when ready if the inspector still shows that edge.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import torch

from kanwidget.core.numerics.symbolic import SYMBOLIC_LIB, fit_affine_batched, get_functions, rank_candidates
from kanwidget.core.operations.symbolic_edges import edge_samples
from kanwidget.widget import snapshot

if TYPE_CHECKING:
    from kanwidget.core.network.model import KAN
    from kanwidget.widget.session import Session

#: functions fitted per cancel check
FUNCTION_CHUNK = 6
#: candidate lists kept (least recently used dropped)
CACHE_SIZE = 64
TOPK = 5

Edge = tuple[int, int, int]


class Cancelled(Exception):
    """The candidate search was cancelled (another edge opened, inspector closed, pause)."""


def edge_candidates(x: torch.Tensor, y: torch.Tensor, lib: Sequence[str] | None = None, topk: int = TOPK,
                    weight_simple: float = 0.8, stop: threading.Event | None = None) -> list[dict[str, Any]]:
    """The best `topk` library functions for samples (x, y) of one edge, as inspector entries."""
    fns = get_functions(lib)
    r2_parts = []
    for start in range(0, len(fns), FUNCTION_CHUNK):
        if stop is not None and stop.is_set():
            raise Cancelled
        r2_parts.append(fit_affine_batched(x[None, :], y[None, :], fns[start:start + FUNCTION_CHUNK]).r2)
    r2 = torch.cat(r2_parts, dim=1)
    complexity = torch.tensor([f.complexity for f in fns], dtype=torch.float64)
    order, _ = rank_candidates(r2, complexity, weight_simple, topk=topk)
    out = []
    for f_idx in order[0].tolist():
        value = float(r2[0, f_idx])
        out.append({"name": fns[f_idx].name, "r2": round(value if np.isfinite(value) else 0.0, 6),
                    "complexity": int(fns[f_idx].complexity)})
    return out


class Inspector:
    """Which edge is open, its candidates (cached) and the background search for them."""

    def __init__(self, session: "Session") -> None:
        self.s = session
        self.edge: Edge | None = None
        self.candidates: list[dict[str, Any]] = []
        self._cache: OrderedDict[tuple, list[dict[str, Any]]] = OrderedDict()
        self._job: tuple[tuple, threading.Event, threading.Thread] | None = None
        self._thread: threading.Thread | None = None      # the latest search (joined by `join`)
        self._lock = threading.Lock()

    @staticmethod
    def key(model: "KAN", edge: Edge) -> tuple:
        return (model.lineage.current, model.steps_trained, id(model.data), *edge)

    # ------------------------------------------------------------ commands
    def open(self, model: "KAN", l: int, i: int, j: int, block: bool) -> dict[str, Any]:
        """Show edge (l, i, j); candidates now (block) or from the background search."""
        self.cancel()
        self.edge = (l, i, j)
        self.candidates = []
        if block:
            self.candidates = self._compute(model, self.edge, None)
        payload = self.value(model, search=True)
        with self.s.publisher.lock:
            self.s.widget.inspector = payload
        return payload

    def close(self) -> None:
        self.cancel()
        self.edge = None
        with self.s.publisher.lock:
            self.s.widget.inspector = {}

    def cancel(self) -> None:
        with self._lock:
            if self._job is not None:
                self._job[1].set()
                self._job = None

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the latest background search to end (also a cancelled one)."""
        thread = self._thread
        if thread is None or thread is threading.current_thread():
            return True
        thread.join(timeout)
        return not thread.is_alive()

    # ------------------------------------------------------------- payload
    def value(self, model: "KAN", search: bool = False) -> dict[str, Any]:
        """The `inspector` payload for the open edge ({} when none or it no longer exists).

        Candidates come from the cache, else a background search starts (not during a fit unless
        `search`: the edge moves every step, so the last candidates stay until the fit ends).
        """
        if self.edge is None:
            return {}
        l, i, j = self.edge
        if l >= model.depth or i >= model.width[l] or j >= model.width[l + 1]:
            self.edge = None
            return {}
        payload = snapshot.inspector_payload(model, l, i, j, candidates=False)
        if model.data is None:
            self.candidates = []
        else:
            key = self.key(model, self.edge)
            cached = self._cache.get(key)
            if cached is not None:
                self.candidates = cached
            elif search or not self.s.trainer.fitting:
                self._search(model, key)
        payload["candidates"] = self.candidates
        return payload

    def _compute(self, model: "KAN", edge: Edge, stop: threading.Event | None) -> list[dict[str, Any]]:
        if model.data is None:
            return []
        key = self.key(model, edge)
        if key not in self._cache:
            l, i, j = edge
            xl, acts = edge_samples(model, l)
            self._store(key, edge_candidates(xl[:, i].clone(), acts[:, i, j].clone(), list(SYMBOLIC_LIB),
                                             stop=stop))
        return self._cache[key]

    def _store(self, key: tuple, candidates: list[dict[str, Any]]) -> None:
        with self._lock:
            self._cache[key] = candidates
            self._cache.move_to_end(key)
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)

    def _search(self, model: "KAN", key: tuple) -> None:
        """Start the background search for `key` unless it is already running."""
        with self._lock:
            if self._job is not None and self._job[0] == key:
                return
            if self._job is not None:
                self._job[1].set()
            l, i, j = key[-3:]
            xl, acts = edge_samples(model, l)           # samples taken now: the thread never reads the model
            x, y = xl[:, i].clone(), acts[:, i, j].clone()
            stop = threading.Event()
            thread = threading.Thread(target=self._background, args=(key, x, y, stop), daemon=True,
                                      name="kanwidget-inspector")
            self._job = (key, stop, thread)
            self._thread = thread
        thread.start()

    def _background(self, key: tuple, x: torch.Tensor, y: torch.Tensor, stop: threading.Event) -> None:
        try:
            candidates = edge_candidates(x, y, list(SYMBOLIC_LIB), stop=stop)
        except Cancelled:
            return
        except Exception as exc:  # noqa: BLE001 - reported, never lost
            self.s.publisher.report(exc, prefix="inspect failed: ")
            return
        self._store(key, candidates)
        with self._lock:
            if self._job is not None and self._job[0] == key:
                self._job = None
        with self.s.publisher.lock:
            shown = self.s.widget.inspector
            now = self.key(self.s.model, self.edge) if self.edge is not None else None
            same = now is not None and (now == key or (self.s.trainer.fitting and now[:1] + now[2:] == key[:1] + key[2:]))
            if same and shown and (shown["l"], shown["i"], shown["j"]) == self.edge:
                self.candidates = candidates
                self.s.widget.inspector = {**shown, "candidates": candidates}
