"""Saving and loading models as plain tensors + JSON-like metadata (loaded with weights_only=True)."""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import torch

from kanwidget.core.checks import check_int
from kanwidget.core.network import limits, mult_nodes
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
    """Read a model written by save(); never unpickles code. Raises ValueError for foreign or corrupt files.

    The header (width, grid, k, dtype) and every tensor's shape are checked before anything is built,
    so a crafted file cannot make it allocate more than the constructor's limits allow.
    """
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
        check_snapshot(snap)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path} is a corrupt kanwidget model file: {exc}") from None
    unknown = sorted({n for names in snap["sym_names"] for n in names if n not in SYMBOLIC_LIB})
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


# ------------------------------------------------------------------ file header checks
CONFIG_KEYS = {"width", "grid", "k", "seed", "noise_scale", "scale_base_mu", "scale_base_sigma", "grid_eps",
               "grid_range", "base_fun", "mult_arity"}


def layer_shapes(n_in: int, n_out: int, grid: int, k: int) -> dict[str, tuple[int, ...]]:
    """The state_dict shapes of a KANLayer(n_in, n_out, grid, k)."""
    edge = (n_in, n_out)
    return {"coef": (*edge, grid + k), "scale_base": edge, "scale_sp": edge, "sym_affine": (*edge, 4),
            "grid": (n_in, grid + 2 * k + 1), "mask": edge, "bias": (n_out,), "sym_mask": edge, "sym_fun_ids": edge}


def check_snapshot(snap: Any) -> None:
    """Check a saved snapshot's header and tensors without building anything (TypeError/ValueError naming the field)."""
    if not isinstance(snap, dict):
        raise TypeError("'snapshot' is missing")
    for key, kind in (("config", dict), ("width", list), ("dtype", str), ("state", dict), ("sym_names", list)):
        if not isinstance(snap.get(key), kind):
            raise TypeError(f"snapshot[{key!r}] must be a {kind.__name__}")
    config, state = snap["config"], snap["state"]
    unknown = sorted(str(key) for key in config if key not in CONFIG_KEYS)
    if unknown:
        raise ValueError(f"snapshot['config'] has unknown key(s) {', '.join(unknown)}")
    if len(snap["width"]) > limits.MAX_LAYERS + 1:
        raise ValueError(f"snapshot['width'] has {len(snap['width'])} entries; at most {limits.MAX_LAYERS + 1}")
    width = [check_int(f"snapshot['width'][{i}]", w, 1) for i, w in enumerate(snap["width"])]
    if len(width) < 2:
        raise ValueError("snapshot['width'] needs at least 2 entries")
    k = check_int("snapshot['config']['k']", config.get("k"), 1, limits.MAX_K)
    check_int("snapshot['config']['grid']", config.get("grid"), 1, limits.MAX_GRID)
    if snap["dtype"] not in limits.FLOAT_DTYPES:
        raise ValueError(f"snapshot['dtype'] must be one of {', '.join(limits.FLOAT_DTYPES)}, got {snap['dtype']!r}")
    dtype = limits.FLOAT_DTYPES[snap["dtype"]]
    if len(snap["sym_names"]) != len(width) - 1:
        raise ValueError(f"snapshot['sym_names'] has {len(snap['sym_names'])} layers, "
                         f"width {width} has {len(width) - 1}")
    outs = _subnode_counts(width, config.get("mult_arity"))
    grids = [_layer_grid(state, l, k) for l in range(len(width) - 1)]
    limits.check_model_size([max(n, o) for n, o in zip(width, outs)], max(grids), k, dtype)
    expected = {f"layers.{l}.{name}": shape for l, grid in enumerate(grids)
                for name, shape in layer_shapes(width[l], outs[l + 1], grid, k).items()}
    if set(state) != set(expected):
        odd = sorted(set(state) ^ set(expected))
        raise ValueError(f"snapshot['state'] has missing or unexpected tensor(s) {', '.join(map(str, odd[:5]))}")
    for name, shape in expected.items():
        _check_tensor(name, state[name], shape, torch.long if name.endswith("sym_fun_ids") else dtype)
    for l, names in enumerate(snap["sym_names"]):
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise TypeError(f"snapshot['sym_names'][{l}] must be a list of names")
        ids = state[f"layers.{l}.sym_fun_ids"][state[f"layers.{l}.sym_mask"] > 0]
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= len(names)):
            raise ValueError(f"layers.{l}.sym_fun_ids point outside snapshot['sym_names'][{l}]")


def _subnode_counts(width: list[int], mult_arity: Any) -> list[int]:
    """Outputs of the layer feeding each level (more than its nodes where multiplication nodes are)."""
    if mult_arity is None:
        return list(width)
    if not isinstance(mult_arity, list):
        raise TypeError("snapshot['config']['mult_arity'] must be per-level lists of arities")
    try:
        totals, arities = mult_nodes.parse_width(width, mult_arity)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"snapshot['config']['mult_arity']: {exc}") from None
    return [mult_nodes.subnode_count(n, a) for n, a in zip(totals, arities)]


def _layer_grid(state: dict, l: int, k: int) -> int:
    coef = state.get(f"layers.{l}.coef")
    if not isinstance(coef, torch.Tensor) or coef.dim() != 3:
        raise ValueError(f"layers.{l}.coef is missing or not a 3-D tensor")
    return check_int(f"layers.{l}.coef's grid", coef.shape[-1] - k, 1, limits.MAX_GRID)


def _check_tensor(name: str, value: Any, shape: tuple[int, ...], dtype: torch.dtype) -> None:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a tensor, got {type(value).__name__}")
    if tuple(value.shape) != shape:
        raise ValueError(f"{name} has shape {tuple(value.shape)}, the header implies {shape}")
    if value.dtype != dtype:
        raise ValueError(f"{name} has dtype {value.dtype}, expected {dtype}")
    if value.is_floating_point() and not bool(torch.isfinite(value).all()):
        raise ValueError(f"{name} holds NaN or inf values")
