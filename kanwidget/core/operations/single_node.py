"""prune()'s automatic node choice: try one node per hidden layer when the data allow it.

After a sparse fit, pykan's rule (keep nodes scoring above node_th) often keeps 2-4 hidden nodes that split
one function between them (measured on exp(sin(pi x1) + x2^2), [2,5,1], seeds 0-9: seeds 0 and 1 kept 2,
seed 6 kept 3, seed 8 kept 4 nodes; the symbolic fits of those models then fail). The split is a worse
local optimum of the sparse objective than one node, not a need of the data: one node refitted for
CHECK_STEPS steps reaches about the sparse model's train RMSE.

So, when `prune` chooses nodes itself (node_th not given) and a hidden layer keeps more than one node,
that layer is tried with its best-scoring node only: a copy is refitted (LBFGS, up to CHECK_STEPS steps, no
regularisation, its own lineage) and kept when its train RMSE is within ACCEPT_FACTOR of the sparse
model's. The refit ends as soon as the copy is as good as the sparse model (train RMSE at or below it):
measured on that example (seeds 0-9 and 42), accepted trials get there in 3-8 steps, so the trial costs
a few steps instead of CHECK_STEPS, and the fit that follows prune does the rest. Deterministic (the
fit's randomness is the model's own); one fit per hidden layer tried.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import torch
from torch import Tensor

if TYPE_CHECKING:
    from kanwidget.core.network.model import KAN

CHECK_STEPS = 50       # LBFGS steps of the one-node refit
ACCEPT_FACTOR = 2.0    # keep one node when its refit train RMSE <= this x the sparse model's train RMSE


@dataclass(frozen=True)
class NodeTrial:
    """The outcome of trying one node in a hidden layer (for the version label)."""
    level: int
    kept_before: int
    rmse_sparse: float
    rmse_single: float
    accepted: bool
    steps: int = CHECK_STEPS

    def text(self) -> str:
        verdict = "kept one node" if self.accepted else "kept the nodes"
        return (f"layer {self.level}: {verdict} ({self.kept_before} -> 1 refit {self.steps} steps: train RMSE "
                f"{self.rmse_single:.2e} vs {self.rmse_sparse:.2e})")


def train_rmse(model: "KAN", data: dict[str, Tensor]) -> float:
    with torch.no_grad():
        return float(torch.sqrt(torch.mean((model(data["train_input"]) - data["train_label"]) ** 2)))


def applicable(model: "KAN") -> bool:
    """Whether the trial can run: labelled data, a regression output, no multiplication nodes."""
    data = model.data
    return (data is not None and "train_label" in data and not any(model.mult_nodes)
            and data["train_label"].is_floating_point() and data["train_label"].shape[0] > 1)


Subset = Callable[["KAN", list[list[int]], "Tensor | None"], "KAN"]


def try_single_nodes(model: "KAN", keep: list[list[int]], x: Tensor | None,
                     subset: Subset) -> tuple[list[list[int]], "KAN | None", list[NodeTrial]]:
    """For each hidden level with > 1 kept node (first to last), refit a copy keeping only its best node.

    `subset(model, keep, x)` builds the node-pruned model (simplify's). Returns (the node lists finally kept,
    the refitted model when a trial was accepted else None, the trials).
    """
    from kanwidget.core.network.model import KAN

    data = model.data
    assert data is not None and model.node_scores is not None
    rmse_sparse = train_rmse(model, data)
    keep = [list(ids) for ids in keep]
    refitted: KAN | None = None
    trials: list[NodeTrial] = []
    for level in range(1, model.depth):
        if len(keep[level]) <= 1:
            continue
        best = max(keep[level], key=lambda j: float(model.node_scores[level][j]))
        candidate_keep = [list(ids) for ids in keep]
        candidate_keep[level] = [best]
        trial = KAN.from_snapshot(subset(model, candidate_keep, x).snapshot())   # own lineage: nothing recorded
        trial.fit_generator.set_state(model.fit_generator.get_state())
        good_enough = threading.Event()

        def stop_when_as_good(step, target=rmse_sparse, event=good_enough) -> None:
            if step.train_loss <= target:
                event.set()

        result = trial.fit(data, opt="LBFGS", steps=CHECK_STEPS, verbose=False, record=False, stop=good_enough,
                           callbacks=[stop_when_as_good])
        rmse_single = train_rmse(trial, data)
        accepted = rmse_single <= ACCEPT_FACTOR * rmse_sparse
        trials.append(NodeTrial(level, len(keep[level]), rmse_sparse, rmse_single, accepted,
                                len(result["train_loss"])))
        if accepted:
            keep, refitted = candidate_keep, trial
    return keep, refitted, trials
