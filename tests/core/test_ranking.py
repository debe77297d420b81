"""Ranking (symbolic/ranking.py): the score formula, and that fit + rank picks the true function."""

from __future__ import annotations

import math

import torch

from kanwidget.core.numerics.symbolic.affine_fit import fit_affine_batched
from kanwidget.core.numerics.symbolic.library import SYMBOLIC_LIB, get_functions
from kanwidget.core.numerics.symbolic.ranking import rank_candidates, score_candidates


# ----------------------------------------------------------------------------- ranking

RANK_LIB = ["x", "x^2", "x^3", "exp", "sin", "tanh"]


def _best_name(x, y, lib, weight_simple=0.8):
    fns = get_functions(lib)
    res = fit_affine_batched(x, y, fns)
    comp = torch.tensor([f.complexity for f in fns], dtype=torch.float64)
    order, scores = rank_candidates(res.r2[0], comp, weight_simple)
    return lib[order[0].item()], res


def test_ranking_x2():
    x = torch.linspace(-1, 1, 1000, dtype=torch.float64)
    assert _best_name(x, x**2, RANK_LIB)[0] == "x^2"


def test_ranking_sin():
    x = torch.linspace(-1, 1, 1000, dtype=torch.float64)
    assert _best_name(x, torch.sin(math.pi * x), RANK_LIB)[0] == "sin"


def test_ranking_exp():
    x = torch.linspace(-1, 1, 1000, dtype=torch.float64)
    lib = ["x", "x^2", "x^3", "x^4", "x^5", "exp", "sin", "tanh", "gaussian"]
    assert _best_name(x, torch.exp(x), lib)[0] == "exp"


def test_ranking_full_library_picks_right_function():
    x = torch.linspace(-1, 1, 1000, dtype=torch.float64)
    lib = list(SYMBOLIC_LIB)
    assert _best_name(x, 2 * torch.sin(3 * x + 1) + 0.5, lib)[0] == "sin"
    assert _best_name(x, 1.5 * (x - 0.3) ** 2 - 2, lib)[0] == "x^2"
    assert _best_name(x, 0.5 * x - 0.1, lib)[0] == "x"


def test_ranking_noise_robust():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1000, generator=g, dtype=torch.float64) * 2 - 1
    for target, want in ((torch.sin(math.pi * x), "sin"), (x**2, "x^2"), (torch.exp(x), "exp")):
        y = target + 0.01 * torch.randn(1000, generator=g, dtype=torch.float64)
        name, res = _best_name(x, y, RANK_LIB)
        assert name == want
        assert res.r2[0, RANK_LIB.index(want)] > 0.99


def test_score_formula_and_ordering():
    r2 = torch.tensor([1.0, 0.99, 0.5, -math.inf, float("nan")], dtype=torch.float64)
    comp = torch.tensor([2, 1, 0, 1, 1])
    s = score_candidates(r2, comp, weight_simple=0.8, tol=0.0)
    expect = 0.8 * comp.double() + 0.2 * torch.log2(1 + 1e-5 - r2.clamp(max=1))
    assert torch.allclose(s[:3], expect[:3])
    assert s[3] == math.inf and s[4] == math.inf
    # quality term bounded below: an "exact" fit cannot beat log2(eps)
    assert score_candidates(torch.tensor([1.0 + 1e-3]), torch.tensor([0]), 0.0) >= math.log2(1e-5) - 1e-9
    # tolerance: qualities within tol bits of the best row entry count as the best
    r2t = torch.tensor([1 - 1.00e-3, 1 - 1.01e-3, 1 - 2e-3], dtype=torch.float64)
    st = score_candidates(r2t, torch.tensor([2, 2, 2]), weight_simple=0.8, tol=0.05)
    assert st[0] == st[1] and st[2] > st[1]
    s0 = score_candidates(r2t, torch.tensor([2, 2, 2]), weight_simple=0.8, tol=0.0)
    assert s0[0] < s0[1]
    # batched (E, F) input and stable order for ties
    order, scores = rank_candidates(torch.tensor([[0.5, 1.0, 1.0], [1.0, 1.0, 0.0]]),
                                      torch.tensor([2, 2, 2]), topk=2)
    assert order.tolist() == [[1, 2], [0, 1]]
    assert scores.shape == (2, 2)
    # weight_simple = 1: pure complexity; 0: pure accuracy
    o1, _ = rank_candidates(torch.tensor([1.0, 0.2]), torch.tensor([3, 1]), weight_simple=1.0)
    o0, _ = rank_candidates(torch.tensor([1.0, 0.2]), torch.tensor([3, 1]), weight_simple=0.0)
    assert o1[0] == 1 and o0[0] == 0
