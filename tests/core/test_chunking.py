"""Chunk planning (symbolic/chunking.py): every temporary stays within the memory budget."""

from __future__ import annotations

from kanwidget.core.numerics.symbolic.chunking import DEFAULT_MEMORY_BUDGET, plan_chunks


def test_chunk_plan_respects_budget():
    budget_bytes = DEFAULT_MEMORY_BUDGET
    for E, N in ((64, 1000), (4672, 1000), (3, 100_000), (100_000, 10), (1, 2_000_000)):
        for P in (101 * 101, 21 * 21, 1001 * 1001):
            plan = plan_chunks(E, N, P, 128, budget_bytes)
            budget = plan["budget_elements"]
            assert budget == budget_bytes // 8
            assert plan["search_edges"] * plan["search_pairs"] * plan["search_samples"] <= budget
            assert plan["edge_chunk"] * 4 * plan["polish_samples"] <= budget
            assert plan["edge_chunk"] == 1 or plan["edge_chunk"] * 4 * N <= budget
            assert 1 <= plan["edge_chunk"] <= E
