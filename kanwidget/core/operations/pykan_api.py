"""pykan's names for things a KAN library does: activations of the last forward pass, edge ranges and
samples, edge modes, node removal, rewinding to a version, the symbolic layers' view, speed().

Methods of KAN (bound in model.py). pykan caches every layer's activations on each forward pass; kanwidget
remembers only the input of the last forward pass (`model.cached_input`, a reference, no copy) and
recomputes what is asked from it. Return shapes follow pykan's.
"""
from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from kanwidget.core.checks import check_bool
from kanwidget.core.operations.symbolic_edges import check_edge

if TYPE_CHECKING:
    from kanwidget.core.network.model import KAN

EDGE_MODES = ("s", "n", "sn", "ns", "off")


def remember_input(model: "KAN", args: tuple[Any, ...]) -> None:
    """Forward pre-hook: keep a reference to the input of the last forward pass (pykan's save_act)."""
    if model.save_act and args:
        model.cached_input = args[0]


def samples(model: "KAN", prefer_cached: bool = False) -> Tensor | None:
    """The inputs to analyse when none are given: the training inputs, else the last forward pass's input
    (the other way round with prefer_cached); None when the model has seen neither."""
    data = model.data["train_input"] if model.data is not None else None
    cached = getattr(model, "cached_input", None)
    first, second = (cached, data) if prefer_cached else (data, cached)
    x = first if first is not None else second
    return None if x is None else model.check_input(x, "samples")


def _require_samples(model: "KAN", what: str) -> Tensor:
    x = samples(model, prefer_cached=True)
    if x is None:
        raise ValueError(f"{what} needs activations: run the model on inputs first (model(x) or "
                         "model.get_act(x)) or fit it")
    return x


def get_act(model: "KAN", x: Any = None) -> None:
    """Run the model on x (a tensor, or a dataset dict: its train_input) and remember it as the samples
    that get_fun, get_range, plot(sample=True) and symbolic fitting without training data use."""
    if isinstance(x, dict):
        if "train_input" not in x:
            raise ValueError("x is a dict without 'train_input'; pass inputs or a dataset dict")
        x = x["train_input"]
    if x is None:
        x = samples(model)
        if x is None:
            raise ValueError("get_act needs inputs x: the model has no training data to use")
    x = model.check_input(x, "x")
    with torch.no_grad():
        model(x)
    model.cached_input = x


def _edge_samples(model: "KAN", l: int, i: int, j: int, what: str) -> tuple[Tensor, Tensor]:
    check_edge(model, l, i, j)
    inputs = model.layer_inputs(_require_samples(model, what))
    with torch.no_grad():
        x = inputs[l][:, i]
        y = model.layers[l].edge_activations(inputs[l])[:, i, j]
    return x, y


def get_fun(model: "KAN", l: int, i: int, j: int, plot: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Edge (l, i, j) on the cached samples: (inputs, outputs) as numpy arrays sorted by input, as pykan;
    draws them on a new pyplot figure when plot (pykan always draws)."""
    x, y = _edge_samples(model, l, i, j, "get_fun")
    order = torch.argsort(x)
    xs, ys = x[order].cpu().numpy(), y[order].cpu().numpy()
    if check_bool("plot", plot):
        import matplotlib.pyplot as plt
        plt.figure(figsize=(3, 3))
        plt.plot(xs, ys, marker="o")
    return xs, ys


def get_range(model: "KAN", l: int, i: int, j: int, verbose: bool = True) -> tuple[np.ndarray, ...]:
    """(x_min, x_max, y_min, y_max) of edge (l, i, j) on the cached samples (numpy scalars, as pykan);
    prints both ranges when verbose."""
    x, y = _edge_samples(model, l, i, j, "get_range")
    out = tuple(v.cpu().numpy() for v in (x.min(), x.max(), y.min(), y.max()))
    if check_bool("verbose", verbose):
        print(f"x range: [{out[0]:.2f} , {out[1]:.2f} ]")
        print(f"y range: [{out[2]:.2f} , {out[3]:.2f} ]")
    return out


def set_mode(model: "KAN", l: int, i: int, j: int, mode: str, mask_n: float | None = None) -> None:
    """pykan's edge modes: "n" the spline, "s" keeps a symbolic edge (fix_symbolic makes one),
    "off" (or any other string, as pykan) removes the edge. "sn"/"ns" (spline and symbolic summed) is not
    supported: a kanwidget edge is one or the other (ValueError)."""
    check_edge(model, l, i, j)
    if not isinstance(mode, str):
        raise TypeError(f"mode must be one of {EDGE_MODES}, got {mode!r}")
    layer = model.layers[l]
    if mode in ("sn", "ns"):
        raise ValueError(f"mode={mode!r} (spline + symbolic on one edge) is not supported: a kanwidget edge is "
                         "either a spline ('n') or a symbolic function ('s')")
    if mode == "s" and layer.symbolic_name(i, j) is None:
        raise ValueError(f"mode='s': edge ({l},{i},{j}) is a spline; give it a function with "
                         f"fix_symbolic({l},{i},{j},name)")
    with model.lineage.change(model, f"set_mode ({l},{i},{j}) {mode}", kind="symbolic"):
        with torch.no_grad():
            if mode == "n":
                layer.set_symbolic(i, j, None)
                layer.mask[i, j] = 1.0
            elif mode == "s":
                layer.sym_mask[i, j] = 1.0
                layer.mask[i, j] = 1.0
            else:
                layer.mask[i, j] = 0.0


def remove_edge(model: "KAN", l: int, i: int, j: int) -> None:
    """Mask edge (l, i, j) (in place, one version)."""
    check_edge(model, l, i, j)
    with model.lineage.change(model, f"remove edge ({l},{i},{j})", kind="prune"):
        with torch.no_grad():
            model.layers[l].mask[i, j] = 0.0


def remove_node(model: "KAN", l: int, i: int, mode: str = "all") -> None:
    """Mask node i of level l's incoming ("down"), outgoing ("up") or all its edges (in place, one
    version); level 0 holds the inputs, level depth the outputs."""
    for name, v in (("l", l), ("i", i)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise TypeError(f"node index {name} must be an integer, got {v!r}")
    if not 0 <= l <= model.depth:
        raise ValueError(f"level l={l} out of range: the model has levels 0..{model.depth}")
    if not 0 <= i < model.width[l]:
        raise ValueError(f"node i={i} out of range: level {l} has {model.width[l]} nodes")
    if mode not in ("all", "up", "down"):
        raise ValueError(f"mode must be 'all', 'up' or 'down', got {mode!r}")
    with model.lineage.change(model, f"remove node ({l},{i})", kind="prune"):
        with torch.no_grad():
            if mode in ("all", "down") and l > 0:
                model.layers[l - 1].mask[:, i] = 0.0
            if mode in ("all", "up") and l < model.depth:
                model.layers[l].mask[i, :] = 0.0


def rewind(model: "KAN", model_id: str | int) -> "KAN":
    """pykan's `rewind('0.3')`: the model as it was at version 3 of this lineage (the part after the dot
    is the version id; auto_save's checkpoint names use the same ids). An int id works too."""
    if isinstance(model_id, str):
        tail = model_id.rsplit(".", 1)[-1]
        if not tail.isdigit():
            raise ValueError(f"model_id must look like '0.3' (round.version), got {model_id!r}")
        model_id = int(tail)
    elif isinstance(model_id, bool) or not isinstance(model_id, numbers.Integral):
        raise TypeError(f"model_id must be a string like '0.3' or a version id, got {model_id!r}")
    ids = [v.id for v in model.lineage.versions]
    if int(model_id) not in ids:
        raise ValueError(f"model_id {model_id}: no such version; recorded versions: {ids}")
    return model.checkout(int(model_id))


def speed(model: "KAN", compile: bool = False) -> "KAN":
    """pykan's speed mode: stop remembering inputs (save_act=False); kanwidget's forward is already the fast
    path. compile=True returns torch.compile(model)."""
    model.save_act = False
    model.cached_input = None
    return torch.compile(model) if check_bool("compile", compile) else model


def edge_scales(model: "KAN", x: Tensor, normalized: bool) -> list[Tensor]:
    """Per layer (I, O): std of every edge's output on x, divided by (std of its input + 0.1) when
    normalized (pykan's plot metrics 'forward_n' and 'forward_u')."""
    inputs = model.layer_inputs(x)
    out = []
    with torch.no_grad():
        for layer, xl in zip(model.layers, inputs[:-1]):
            std = layer.edge_activations(xl).std(0)
            out.append(std / (xl.std(0)[:, None] + 0.1) if normalized else std)
    return out


class SymbolicLayerView:
    """pykan's `model.symbolic_fun[l]`: layer l's symbolic edges in pykan's (out, in) orientation.

    Read-only: `mask` (O, I), `funs_name` [j][i] ('0' for a spline edge), `affine` (O, I, 4) = (a, b, c, d).
    """

    def __init__(self, layer: Any) -> None:
        self._layer = layer

    @property
    def in_dim(self) -> int:
        return self._layer.in_dim

    @property
    def out_dim(self) -> int:
        return self._layer.out_dim

    @property
    def mask(self) -> Tensor:
        return (self._layer.sym_mask * self._layer.mask).T.detach().clone()

    @property
    def affine(self) -> Tensor:
        return self._layer.sym_affine.detach().transpose(0, 1).clone()

    @property
    def funs_name(self) -> list[list[str]]:
        layer = self._layer
        return [[layer.symbolic_name(i, j) or "0" for i in range(layer.in_dim)] for j in range(layer.out_dim)]

    def __repr__(self) -> str:
        return f"Symbolic_KANLayer(in_dim={self.in_dim}, out_dim={self.out_dim})"


def symbolic_fun(model: "KAN") -> list[SymbolicLayerView]:
    """pykan's symbolic layers, one view per layer (see SymbolicLayerView)."""
    return [SymbolicLayerView(layer) for layer in model.layers]


# ------------------------------------------------------- constructor options
BASE_FUN_MODULES = {"SiLU": "silu", "Identity": "identity"}


def base_fun_name(base_fun: Any) -> Any:
    """pykan's base functions by name; torch.nn.SiLU() / torch.nn.Identity() (and F.silu) map to their
    names, anything else is passed on (the constructor refuses it, naming base_fun)."""
    if isinstance(base_fun, torch.nn.Module) and type(base_fun).__name__ in BASE_FUN_MODULES:
        return BASE_FUN_MODULES[type(base_fun).__name__]
    if base_fun is torch.nn.functional.silu:
        return "silu"
    return base_fun


def sparse_mask(in_dim: int, out_dim: int) -> Tensor:
    """pykan's sparse initialisation: nodes of both levels sit evenly on [0, 1]; every input keeps the edge
    to its nearest output and every output the edge to its nearest input (I, O)."""
    in_pos = torch.arange(in_dim, dtype=torch.float32) * (1 / in_dim) + 1 / (2 * in_dim)   # float32 as pykan:
    out_pos = torch.arange(out_dim, dtype=torch.float32) * (1 / out_dim) + 1 / (2 * out_dim)  # same ties
    dist = (in_pos[:, None] - out_pos[None, :]).abs()                 # (I, O)
    mask = torch.zeros(in_dim, out_dim, dtype=torch.float64)
    mask[torch.arange(in_dim), dist.argmin(1)] = 1.0
    mask[dist.argmin(0), torch.arange(out_dim)] = 1.0
    return mask


def apply_options(model: "KAN", sparse_init: bool = False, auto_save: bool = False, ckpt_path: Any = "./model",
                  save_act: bool = True, symbolic_enabled: bool = True, affine_trainable: bool = False,
                  sp_trainable: bool = True, sb_trainable: bool = True, mult_arity: int = 2, first_init: bool = True,
                  state_id: int = 0, round: int = 0) -> None:
    """pykan's extra constructor arguments (see docs/PYKAN.md); errors name the argument."""
    import os

    from kanwidget.core.checks import check_int
    flags = {name: check_bool(name, value) for name, value in (
        ("sparse_init", sparse_init), ("auto_save", auto_save), ("save_act", save_act),
        ("symbolic_enabled", symbolic_enabled), ("affine_trainable", affine_trainable),
        ("sp_trainable", sp_trainable), ("sb_trainable", sb_trainable), ("first_init", first_init))}
    check_int("mult_arity", mult_arity, 2)
    if flags["affine_trainable"]:
        raise ValueError("affine_trainable=True: kanwidget has no trainable per-node affines (scale, bias); "
                         "leave it False")
    if not isinstance(ckpt_path, (str, os.PathLike)):
        raise TypeError(f"ckpt_path must be a folder path, got {ckpt_path!r}")
    model.pykan_options = dict(flags, mult_arity=int(mult_arity), ckpt_path=os.fspath(ckpt_path),
                               state_id=check_int("state_id", state_id, 0), round=check_int("round", round, 0))
    model.save_act = flags["save_act"]
    model.symbolic_enabled = flags["symbolic_enabled"]
    model.cached_input = None
    with torch.no_grad():
        for layer in model.layers:
            if flags["sparse_init"]:
                layer.mask.copy_(sparse_mask(layer.in_dim, layer.out_dim))
            layer.scale_sp.requires_grad_(flags["sp_trainable"])
            layer.scale_base.requires_grad_(flags["sb_trainable"])
    model.register_forward_pre_hook(remember_input)
    model.auto_save = flags["auto_save"]
    if flags["auto_save"]:  # only when asked: pykan's checkpoints of every version into ckpt_path
        from kanwidget.core.operations.checkpoints import enable_auto_save
        model.record_version("init")
        enable_auto_save(model, model.pykan_options["ckpt_path"])
