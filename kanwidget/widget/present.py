"""Presentation helpers of the widget: the next step of the reference workflow, and saving the network picture.

The reference workflow (the KAN paper's, and the lesson notebook's) is
train (sparse) -> prune -> train -> refine -> train -> auto-symbolic -> train (the formula's constants). `next_step(model)` reads where
the current version stands in it from the labels of its ancestry (versions are labelled by the
operation that made them: "fit ...", "prune ...", "refine ...", "auto_symbolic") and returns the
command to run next with its full arguments, or None when the workflow is done (or no data).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from kanwidget.widget.picture_file import picture_path, write_figure
from kanwidget.widget.protocol import MAX_GRID, defaults

if TYPE_CHECKING:
    from kanwidget.core.network.model import KAN

#: lamb of the first (sparsifying) training, steps of every training the Next button runs
SPARSE_LAMB = 0.001
NEXT_STEPS = 50
#: the grid the first refine goes to (at least twice the current one)
REFINE_GRID = 10
#: the functions auto-symbolic tries in the workflow (pykan's tutorial library: simple, readable formulas)
TEACHING_LIB = ("x", "x^2", "x^3", "x^4", "exp", "log", "sqrt", "tanh", "sin", "abs")


def stage_of(label: str) -> str:
    """The workflow stage of a version label: fit | prune | refine | symbolic | edit | start."""
    word = label.strip().split(" ", 1)[0].lower() if label else ""
    if word == "fit":
        return "fit"
    if word in ("prune", "remove"):
        return "prune"
    if word == "refine":
        return "refine"
    if word == "auto_symbolic":
        return "symbolic"
    if word in ("fix", "unfix", "snap_symbolic", "set_mode"):
        return "edit"
    return "start"


def rule(stages: Sequence[str], grid: int) -> tuple[str, dict[str, Any], str, str] | None:
    """(command, args, label, reason) that follows `stages` (oldest first, the current version last), or None.

    Every change is followed by training; after a training: prune if never pruned, else refine if never
    refined, else auto-symbolic; a training after auto-symbolic (fitting the formula's constants) ends it.
    """
    last = stages[-1] if stages else "start"
    if "symbolic" in stages:
        if last == "fit":
            return None
        args = {**defaults("train"), "steps": NEXT_STEPS, "lamb": 0.0}
        return "train", args, "Train", "fit the constants of the formula"
    pruned, refined = "prune" in stages, "refine" in stages
    if last != "fit":
        if not pruned:
            args = {**defaults("train"), "steps": NEXT_STEPS, "lamb": SPARSE_LAMB}
            return "train", args, "Train", f"train with sparsity (lamb {SPARSE_LAMB:g}) so unimportant edges fade"
        args = {**defaults("train"), "steps": NEXT_STEPS, "lamb": 0.0}
        return "train", args, "Train", f"train again after the {last if last != 'start' else 'change'}"
    if not pruned:
        return "prune", defaults("prune"), "Prune", "remove the faded edges and nodes"
    if not refined:
        new_grid = min(MAX_GRID, max(REFINE_GRID, 2 * grid))
        return "refine", {"grid": new_grid}, "Refine", f"a finer grid ({grid} → {new_grid} intervals) for accuracy"
    args = {**defaults("auto_symbolic"), "lib": list(TEACHING_LIB)}
    return "auto_symbolic", args, "Auto-symbolic", "replace every edge by its best-fitting simple function"


def lineage_stages(model: "KAN") -> list[str]:
    """Stages of the current version's ancestry, oldest first (the parent chain, so undo/checkout count)."""
    lineage = model.lineage
    by_id = {v.id: v for v in lineage.versions}
    chain: list[str] = []
    vid = lineage.current
    while vid is not None and vid in by_id:
        chain.append(stage_of(by_id[vid].label))
        vid = by_id[vid].parent
    return chain[::-1]


def next_step(model: "KAN") -> dict[str, Any]:
    """The `next_step` trait: {command, args, label, reason}, or {} when done or without data."""
    if model.data is None:
        return {}
    found = rule(lineage_stages(model), int(model.grid))
    if found is None:
        return {}
    command, args, label, reason = found
    return {"command": command, "args": args, "label": label, "reason": reason}


def save_network(model: "KAN", path: str | os.PathLike[str], **plot_kwargs: Any) -> Path:
    """Write the network picture (core `plot`, matplotlib) to `path`; PNG or SVG by its suffix."""
    target = picture_path(path)
    return write_figure(model.plot(**plot_kwargs), target, png_dpi=200)
