"""Editing a network's shape: add or delete hidden nodes and layers, change grid and k, re-initialise.

Methods of KAN (bound in model.py). Each is one change through `lineage.change` (kind "structure"): one
version (undo / checkout restore the model before), a new model in the same lineage is returned (as prune
and refine do), and bad input or a failure leaves the model exactly as it was. Levels count as in `width`:
level 0 holds the inputs, level `depth` the outputs, levels 1..depth-1 are hidden.

What each keeps:
- `add_node(layer)`: the new node's incoming edges start as the constructor makes them, its outgoing edges
  with zero scales (trainable): the outputs are unchanged exactly.
- `delete_node(layer, i)`: node i goes from the width; its edges' mean contribution on the samples moves into
  the next level's bias (as prune does). pykan's `remove_node` (masking a node's edges in place) is unchanged.
- `add_layer(index)`: a new hidden level at position `index`, a copy of level index-1 through identity splines
  (coefficients at the Greville abscissae reproduce x exactly on the grid's span, which covers the samples);
  its other edges start with zero scales. The outputs are unchanged on the samples' range.
- `delete_layer(index)`: the two layers around hidden level `index` become one, its splines a least-squares
  fit of the old map on the samples: exact when that map is a sum of functions of single inputs, otherwise
  the closest such sum (train again).
- `regrid(grid, k)`: every spline refitted to its current curve on the new grid and/or spline order.
- `reinit(seed)`: fresh parameters as the constructor makes them (same width, grid, k).
Symbolic edges survive wherever their edge survives. Models with multiplication nodes: regrid and reinit only.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from kanwidget.core.checks import check_int
from kanwidget.core.network import limits
from kanwidget.core.network.layer import KANLayer
from kanwidget.core.network.state import ModelState
from kanwidget.core.numerics import spline
from kanwidget.core.operations import simplify

if TYPE_CHECKING:
    from kanwidget.core.network.model import KAN

KIND = "structure"
_COPIED = ("coef", "scale_base", "scale_sp", "mask", "sym_mask", "sym_fun_ids", "sym_affine")


# ------------------------------------------------------------------ checks
def _refuse_mult(model: "KAN", what: str) -> None:
    if any(model.mult_nodes):
        raise ValueError(f"{what}: editing the nodes and layers of a model with multiplication nodes is not "
                         f"supported (width {model.width_pykan}); regrid and reinit work")


def _check_hidden(model: "KAN", name: str, value: Any) -> int:
    """A hidden level index (1..depth-1); errors name the argument."""
    value = check_int(name, value)
    if model.depth < 2:
        raise ValueError(f"{name}={value}: the model {model.width} has no hidden layer; add one with add_layer(1)")
    if not 1 <= value <= model.depth - 1:
        raise ValueError(f"{name}={value} is not a hidden layer of {model.width}: hidden layers are "
                         f"1..{model.depth - 1} (0 holds the inputs, {model.depth} the outputs)")
    return value


def _check_size(model: "KAN", width: list[int], grid: int, k: int) -> None:
    limits.check_model_size(width, grid, k, model.dtype)


# ----------------------------------------------------------------- helpers
def _change(model: "KAN", label: str) -> Any:
    """The change door for an edit; a model with no version yet first records "init" (as fit does), so
    that undo can go back to the model before the edit."""
    if not model.lineage.versions:
        with model.lineage.change(model, "init"):
            pass
    return model.lineage.change(model, label, kind=KIND)


def _samples(model: "KAN") -> Tensor | None:
    """The samples the edit follows: the training inputs, else the last forward pass's input, else None."""
    if model.data is None and getattr(model, "cached_input", None) is None:
        return None
    return simplify.require_inputs(model, None, "reshape")


def _fresh_layer(model: "KAN", like: KANLayer, in_dim: int, out_dim: int, seed: int) -> KANLayer:
    """A layer initialised as the constructor does (noise, scales) on like's grid size and order."""
    cfg = model.config
    return KANLayer(in_dim, out_dim, grid=like.num, k=like.k, noise_scale=cfg["noise_scale"],
                    scale_base_mu=cfg["scale_base_mu"], scale_base_sigma=cfg["scale_base_sigma"],
                    grid_eps=like.grid_eps, grid_range=tuple(cfg["grid_range"]), base_fun=like.base_fun,
                    generator=torch.Generator().manual_seed(seed), dtype=like.coef.dtype, device=like.coef.device)


def _embed(model: "KAN", layer: KANLayer, in_dim: int, out_dim: int, seed: int) -> KANLayer:
    """A bigger fresh layer holding `layer` in its first rows and columns (new inputs keep the fresh grid)."""
    new = _fresh_layer(model, layer, in_dim, out_dim, seed)
    i, o = layer.in_dim, layer.out_dim
    with torch.no_grad():
        new.grid[:i].copy_(layer.grid)
        for name in _COPIED:
            getattr(new, name)[:i, :o].copy_(getattr(layer, name))
        new.bias[:o].copy_(layer.bias)
    new.sym_names = list(layer.sym_names)
    return new


def _grid_for(layer: KANLayer, values: Tensor | None) -> Tensor | None:
    """Extended knots following `values` (N, I) on layer's grid size and order; None without values."""
    if values is None:
        return None
    return layer.grid_from_samples(values)


def _derive(model: "KAN", layers: list[KANLayer], **config: Any) -> "KAN":
    """A new model in the lineage with these layers (config entries replaced by `config`)."""
    state = ModelState.of(model, layers=layers)
    if config:
        state = state.replace(config=tuple((name, config.get(name, value)) for name, value in state.config))
    return model.derive(state)


def _refit(layer: KANLayer, x: Tensor, grid: int, k: int) -> KANLayer:
    """A copy of `layer` on `grid` intervals of order k whose splines fit the current ones on x."""
    new = KANLayer(layer.in_dim, layer.out_dim, grid=grid, k=k, grid_eps=layer.grid_eps, base_fun=layer.base_fun,
                   generator=torch.Generator().manual_seed(0), dtype=layer.coef.dtype, device=layer.coef.device)
    with torch.no_grad():
        knots = layer.grid_from_samples(x, grid)
        knots = spline.extend_grid(knots[:, layer.k:knots.shape[1] - layer.k], k)
        new.grid.copy_(knots)
        new.coef.copy_(spline.curve_to_coef(x, layer.spline_values(x), knots, k))
        for name in ("scale_base", "scale_sp", "mask", "bias", "sym_mask", "sym_fun_ids", "sym_affine"):
            getattr(new, name).copy_(getattr(layer, name))
    new.sym_names = list(layer.sym_names)
    return new


def greville(knots: Tensor, k: int) -> Tensor:
    """(I, G+k) Greville abscissae of extended knots (I, G+2k+1): with these coefficients a spline is x itself."""
    m = knots.shape[1] - k - 1
    return torch.stack([knots[:, j + 1:j + k + 1].mean(1) for j in range(m)], dim=1)


# ------------------------------------------------------------------- nodes
def add_node(model: "KAN", layer: int) -> "KAN":
    """A new model with one more node at the end of hidden level `layer`; the outputs are unchanged
    (the node's outgoing edges start with zero scales and learn from the next fit)."""
    _refuse_mult(model, "add_node")
    layer = _check_hidden(model, "layer", layer)
    width = list(model.width)
    width[layer] += 1
    _check_size(model, width, model.grid, model.k)
    with _change(model, f"add node to layer {layer}") as ch:
        before, after = model.layers[layer - 1], model.layers[layer]
        seed = int(model.config["seed"]) + 7919 * sum(width)
        into = _embed(model, before, before.in_dim, before.out_dim + 1, seed)
        out_of = _embed(model, after, after.in_dim + 1, after.out_dim, seed + 1)
        with torch.no_grad():
            out_of.scale_base[-1].zero_()
            out_of.scale_sp[-1].zero_()
            x = _samples(model)
            if x is not None:   # the new node's grid follows its values on the samples
                values = into(model.layer_inputs(x)[layer - 1])[:, -1:]
                one = KANLayer(1, 1, grid=after.num, k=after.k, grid_eps=after.grid_eps,
                               dtype=after.coef.dtype, device=after.coef.device)
                out_of.grid[-1:].copy_(_grid_for(one, values))
        layers = list(model.layers)
        layers[layer - 1:layer + 1] = [into, out_of]
        ch.result = _derive(model, layers)
        ch.label = f"add node to layer {layer} -> {ch.result.width}"
    return ch.result


def delete_node(model: "KAN", layer: int, i: int) -> "KAN":
    """A new model without node i of hidden level `layer`; its mean contribution on the samples is kept in
    the next level's bias (as prune). pykan's remove_node masks a node's edges in place instead."""
    _refuse_mult(model, "delete_node")
    layer = _check_hidden(model, "layer", layer)
    n = model.width[layer]
    i = check_int("i", i)
    if not 0 <= i < n:
        raise ValueError(f"i={i} out of range: hidden layer {layer} has {n} nodes (0..{n - 1})")
    if n == 1:
        raise ValueError(f"i={i}: it is the last node of hidden layer {layer}; delete the layer with "
                         f"delete_layer({layer}) instead")
    with _change(model, f"delete node ({layer},{i})") as ch:
        keep = [j for j in range(n) if j != i]
        before, after = model.layers[layer - 1], model.layers[layer]
        into = before.subset(list(range(before.in_dim)), keep)
        out_of = after.subset(keep, list(range(after.out_dim)))
        x = _samples(model)
        if x is not None:
            with torch.no_grad():
                out_of.bias += after.edge_activations(model.layer_inputs(x)[layer]).mean(0)[i]
        layers = list(model.layers)
        layers[layer - 1:layer + 1] = [into, out_of]
        simplify._check_paths(model, [lay.mask for lay in layers], f"delete_node({layer}, {i})")
        ch.result = _derive(model, layers)
        ch.label = f"delete node ({layer},{i}) -> {ch.result.width}"
    return ch.result


# ------------------------------------------------------------------ layers
def add_layer(model: "KAN", index: int) -> "KAN":
    """A new model with a hidden level inserted at position `index` (1..depth) of the width: a copy of
    level index-1 through identity splines, so the outputs are unchanged on the samples' range."""
    _refuse_mult(model, "add_layer")
    index = check_int("index", index)
    if not 1 <= index <= model.depth:
        raise ValueError(f"index={index}: a hidden layer goes between the inputs and the outputs, at 1..{model.depth}"
                         f" of the width {model.width}")
    width = list(model.width)
    n = width[index - 1]
    width.insert(index, n)
    _check_size(model, width, model.grid, model.k)
    with _change(model, f"add layer at {index}") as ch:
        like = model.layers[index - 1]
        new = _fresh_layer(model, like, n, n, int(model.config["seed"]) + 104729 * index)
        x = _samples(model)
        with torch.no_grad():
            if x is not None:
                new.grid.copy_(_grid_for(new, model.layer_inputs(x)[index - 1]))
            new.scale_base.zero_()
            new.scale_sp.zero_()
            new.mask.fill_(1.0)
            eye = torch.arange(n, device=new.coef.device)
            new.scale_sp[eye, eye] = 1.0
            new.coef[eye, eye] = greville(new.grid, new.k)
        layers = list(model.layers)
        layers.insert(index - 1, new)
        ch.result = _derive(model, layers)
        ch.label = f"add layer at {index} -> {ch.result.width}"
    return ch.result


def delete_layer(model: "KAN", index: int) -> "KAN":
    """A new model without hidden level `index`: its two layers become one whose splines are a
    least-squares fit of the old map on the samples (exact when that map is additive)."""
    _refuse_mult(model, "delete_layer")
    index = _check_hidden(model, "index", index)
    width = list(model.width)
    del width[index]
    _check_size(model, width, model.grid, model.k)
    with _change(model, f"delete layer {index}") as ch:
        before, after = model.layers[index - 1], model.layers[index]
        merged = _fresh_layer(model, before, before.in_dim, after.out_dim, int(model.config["seed"]) + index)
        x = _samples(model)
        if x is None:
            x = simplify._grid_samples(model)
        inputs = model.layer_inputs(x)
        knots = [before.grid, merged.grid_from_samples(inputs[index - 1])]
        if after.grid.shape == before.grid.shape:   # e.g. after add_layer: the next layer's knots fit best
            knots.append(after.grid)
        _fit_additive(merged, inputs[index - 1], inputs[index + 1], knots)
        layers = list(model.layers)
        layers[index - 1:index + 1] = [merged]
        ch.result = _derive(model, layers)
        ch.label = f"delete layer {index} -> {ch.result.width}"
    return ch.result


def _fit_additive(layer: KANLayer, x: Tensor, y: Tensor, knots: list[Tensor], ridge: float = 1e-11) -> None:
    """Set layer's knots (the candidate fitting best), coef, scale_base (silu's weight), scale_sp = 1 and
    bias so that bias_o + sum_i phi_io(x_i) ~ y_o in least squares (float64, ridge-regularised)."""
    best: tuple[float, Tensor, Tensor] | None = None
    n, n_in = x.shape
    x64, y64 = x.double(), y.double()
    ones = torch.ones(n, 1, dtype=torch.float64, device=x.device)
    for grid in knots:
        bases = spline.bspline_basis(x64, grid.double(), layer.k)                       # (N, I, M)
        feats = torch.cat([layer.base_fun(x64).unsqueeze(-1), bases], dim=-1).reshape(n, -1)
        feats = torch.cat([feats, ones], dim=1)                                          # (N, I*(M+1)+1)
        gram = feats.T @ feats
        eye = torch.eye(gram.shape[0], dtype=gram.dtype, device=gram.device)
        w = torch.linalg.solve(gram + ridge * gram.diagonal().mean().clamp_min(1e-300) * eye, feats.T @ y64)
        err = float((feats @ w - y64).square().sum())
        if best is None or err < best[0]:
            best = (err, grid, w)
    assert best is not None
    _, grid, w = best
    per_input = w[:-1].reshape(n_in, -1, w.shape[1])                                     # (I, M+1, O)
    with torch.no_grad():
        layer.grid.copy_(grid)
        layer.scale_base.copy_(per_input[:, 0, :].to(layer.scale_base))
        layer.scale_sp.fill_(1.0)
        layer.coef.copy_(per_input[:, 1:, :].permute(0, 2, 1).to(layer.coef))
        layer.bias.copy_(w[-1].to(layer.bias))
        layer.mask.fill_(1.0)


# ----------------------------------------------------------- grid, k, init
def regrid(model: "KAN", grid: int | None = None, k: int | None = None) -> "KAN":
    """A new model on `grid` intervals and spline order `k` (None: keep the current one) whose splines are
    least-squares fits of the current curves on the samples (without data: points spread over the grid)."""
    new_grid = model.grid if grid is None else check_int("grid", grid, 1, limits.MAX_GRID)
    new_k = model.k if k is None else check_int("k", k, 1, limits.MAX_K)
    if new_grid == model.grid and new_k == model.k and all(lay.num == new_grid for lay in model.layers):
        raise ValueError(f"regrid: grid={new_grid} and k={new_k} are the current ones; nothing to change")
    _check_size(model, [max(a, b) for a, b in zip(model.width, model.width_out)], new_grid, new_k)
    with _change(model, f"regrid G={model.grid},k={model.k} -> G={new_grid},k={new_k}") as ch:
        x = _samples(model)
        if x is None:
            x = simplify._grid_samples(model)
        inputs = model.layer_inputs(x)
        layers = [_refit(layer, xl, new_grid, new_k) for layer, xl in zip(model.layers, inputs)]
        ch.result = _derive(model, layers, k=new_k)
    return ch.result


def reinit(model: "KAN", seed: int | None = None) -> "KAN":
    """A new model with fresh parameters (as the constructor makes them) of the same width, grid, k and
    options; seed None takes the next one after the model's (config seed + 1). Symbolic edges are cleared."""
    seed = int(model.config["seed"]) + 1 if seed is None else check_int("seed", seed, -2 ** 63, 2 ** 64 - 1)
    with _change(model, f"re-initialise (seed {seed})") as ch:
        config = dict(model.config, seed=seed, grid=model.grid)
        fresh = type(model)(**config, dtype=model.dtype, device=model.device, in_vars=model.in_vars,
                            out_vars=model.out_vars, sparse_init=model.pykan_options.get("sparse_init", False))
        state = fresh.snapshot().replace(steps_trained=model.steps_trained)
        ch.result = model.derive(state)
    return ch.result
