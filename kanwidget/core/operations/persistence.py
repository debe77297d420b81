"""Saving and loading models as plain tensors + JSON-like metadata (loaded with weights_only=True)."""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import torch

from kanwidget.core.numerics.symbolic import SYMBOLIC_LIB

if TYPE_CHECKING:
    from kanwidget.core.network.model import KAN

FORMAT = "kanwidget-model"
FORMAT_VERSION = 1


def save(model: "KAN", path: str | os.PathLike[str]) -> None:
    """Write the model (structure, weights, symbolic edges) to `path`; nothing else is written."""
    with model.lineage.guard("save"):
        snap = model.snapshot().to_dict()
    torch.save({"format": FORMAT, "format_version": FORMAT_VERSION, "snapshot": snap}, os.fspath(path))


def load(cls: type["KAN"], path: str | os.PathLike[str], device: torch.device | str = "cpu") -> "KAN":
    """Read a model written by save(); never unpickles code. Raises ValueError for foreign or corrupt files."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such model file: {path}")
    try:
        blob: Any = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(f"{path} is not a readable kanwidget model file ({type(exc).__name__}: {exc})") from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise ValueError(f"{path} is not a kanwidget model file (format marker missing)")
    if blob.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{path} has format version {blob.get('format_version')!r}; this kanwidget reads "
                         f"{FORMAT_VERSION}")
    snap = blob.get("snapshot")
    try:
        unknown = sorted({n for names in snap["sym_names"] for n in names if n not in SYMBOLIC_LIB})
    except Exception:
        raise ValueError(f"{path} is a corrupt kanwidget model file (no symbolic table)") from None
    if unknown:
        raise ValueError(f"{path} uses symbolic function(s) {', '.join(unknown)} that are not registered; "
                         "register them with kanwidget.add_symbolic before loading")
    try:
        model = cls.from_snapshot(snap, device=device)
    except Exception as exc:
        raise ValueError(f"{path} is a corrupt kanwidget model file ({type(exc).__name__}: {exc})") from None
    with model.lineage.change(model, "load"):
        pass  # records the loaded state as the first version of a new lineage
    return model
