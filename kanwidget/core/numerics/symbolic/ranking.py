"""Ranking fitted candidates: the accuracy-vs-simplicity trade-off used to pick an edge's function."""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import Tensor

__all__ = ["score_candidates", "rank_candidates", "NEGATIVE_R2_PENALTY"]

_F64 = torch.float64


def score_candidates(
    r2: Tensor,
    complexity: Tensor | Sequence[float],
    weight_simple: float = 0.8,
    eps: float = 1e-5,
    tol: float = 0.05,
) -> Tensor:
    """Lower-is-better score trading fit quality against complexity (as KAN does).

    ``score = weight_simple * complexity + (1 - weight_simple) * quality`` with
    ``quality = log2(1 + eps - r2)``, the log of the unexplained-variance fraction
    (the same trade-off as pykan's ``suggest_symbolic``):

    * the quality term is bounded below by ``log2(eps)`` (about -16.6 for
      ``eps=1e-5``): fits better than ``1 - eps`` all count as perfect and
      complexity decides between them;
    * candidates whose quality is within ``tol`` bits of the best candidate in the
      same row (default 0.05 bits, i.e. within ~3.5% of the best unexplained
      variance) get the best quality.  Richer families can always absorb a
      simpler one in a limit (``c*cos(a x) + d`` with tiny ``a`` is a parabola)
      and then win by fitting noise; with the tolerance, such near-ties are
      decided by complexity and then by library order (:func:`rank_candidates`
      is stable).  ``tol=0`` gives the plain KAN formula;
    * ``r2`` of ``-inf`` or NaN gives ``+inf``;
    * a candidate with ``r2 < 0`` (worse than the edge's mean, e.g. ``0`` on an edge
      with a large offset) ranks after every candidate with ``r2 >= 0``, however
      simple it is.

    ``r2`` has shape (..., F) and ``complexity`` (F,); returns float64 (..., F).
    """
    r2 = torch.as_tensor(r2, dtype=_F64)
    comp = torch.as_tensor(complexity, dtype=_F64, device=r2.device)
    r2 = torch.where(torch.isnan(r2), torch.full_like(r2, -math.inf), r2).clamp(max=1.0)
    quality = torch.log2(1.0 + eps - r2)
    if tol > 0 and quality.numel() > 0:
        best = quality.amin(dim=-1, keepdim=True)
        quality = torch.where(quality <= best + tol, best.expand_as(quality), quality)
    score = weight_simple * comp + (1.0 - weight_simple) * quality
    worse_than_mean = NEGATIVE_R2_PENALTY + score.abs().amax(dim=-1, keepdim=True).nan_to_num(0.0, 0.0, 0.0)
    return torch.where(r2 < 0, score + worse_than_mean, score)


NEGATIVE_R2_PENALTY = 1e3


def rank_candidates(
    r2: Tensor,
    complexity: Tensor | Sequence[float],
    weight_simple: float = 0.8,
    topk: int | None = None,
    eps: float = 1e-5,
    tol: float = 0.05,
) -> tuple[Tensor, Tensor]:
    """Indices of the candidates, best first, and their scores.

    Sorts :func:`score_candidates` ascending along the last axis (stable: ties
    keep library order).  Returns ``(order, sorted_scores)``, truncated to
    ``topk`` when given.
    """
    scores = score_candidates(r2, complexity, weight_simple, eps, tol)
    order = torch.sort(scores, dim=-1, stable=True).indices
    if topk is not None:
        order = order[..., :topk]
    return order, torch.gather(scores, -1, order)

