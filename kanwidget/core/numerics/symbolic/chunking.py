"""Chunk planning for the batched affine fit: how many edges, (a, b) pairs and samples go together
so that no float64 temporary exceeds a memory budget."""

from __future__ import annotations

__all__ = ["DEFAULT_MEMORY_BUDGET", "plan_chunks"]

DEFAULT_MEMORY_BUDGET = 64 * 2**20  # bytes; bound on the largest float64 temporary

_WORK_ELEMENTS = 2**18  # preferred size of a working chunk (cache friendly, ~2 MiB)


def plan_chunks(
    E: int, N: int, P: int, n_search: int, memory_budget_bytes: int = DEFAULT_MEMORY_BUDGET
) -> dict[str, int]:
    """Chunk sizes used by :func:`fit_affine_batched`.

    ``budget = memory_budget_bytes // 8`` float64 elements bounds every temporary;
    within that bound chunks are kept near ``_WORK_ELEMENTS`` for cache locality.

    * ``edge_chunk``: edges processed together; the fit holds a few
      ``(edge_chunk, N)`` arrays and the polish accumulates sums over
      ``(edge_chunk, 4, polish_samples)`` tensors.
    * ``search_edges`` x ``search_pairs`` x ``search_samples``: the shape of the
      grid-search temporaries (``z = a x + b`` and ``f(z)``) for ``P`` (a, b) pairs.

    Every one of these products is ``<= budget`` except that a single edge's
    ``N`` samples are never split in the ``(edge_chunk, N)`` arrays (so the bound
    is ``max(budget, few * N)``).
    """
    budget = max(1, int(memory_budget_bytes) // 8)
    work = max(1, min(budget, _WORK_ELEMENTS))
    n = max(1, min(n_search, N, budget))
    edge_chunk = max(1, min(E, work // max(1, 4 * N)))
    polish_samples = max(1, min(N, budget // (4 * edge_chunk)))
    search_edges, search_pairs = _search_steps(work, edge_chunk, P, n)
    return {
        "budget_elements": budget,
        "work_elements": work,
        "edge_chunk": edge_chunk,
        "search_edges": search_edges,
        "search_pairs": search_pairs,
        "search_samples": n,
        "polish_samples": polish_samples,
    }


def _search_steps(work: int, Ec: int, P: int, n: int) -> tuple[int, int]:
    """(edges, pairs) per grid-search chunk so that edges * pairs * n <= work."""
    if P * n <= work:
        return max(1, min(Ec, work // (P * n))), P
    return 1, max(1, min(P, work // n))

