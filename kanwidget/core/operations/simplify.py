"""Importance scores, pruning and grid refinement (methods of KAN)."""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import torch
from torch import Tensor

from kanwidget.core.checks import check_float, check_int
from kanwidget.core.network import limits, mult_nodes
from kanwidget.core.network.layer import KANLayer
from kanwidget.core.network.state import ModelState, _freeze
from kanwidget.core.numerics import spline
from kanwidget.core.operations import single_node

if TYPE_CHECKING:
    from kanwidget.core.network.model import KAN


def require_inputs(model: "KAN", x: Tensor | None, what: str) -> Tensor:
    """The samples to analyse: x if given, else the training inputs the model last saw, else the input of
    its last forward pass (pykan's cached activations, `model.cached_input`)."""
    if x is None:
        x = model.data["train_input"] if model.data is not None else getattr(model, "cached_input", None)
        if x is None:
            raise ValueError(f"{what} needs data: call fit(dataset) first, run model(x), or pass x=<inputs>")
    return model.check_input(x, what=f"{what} input")


def attribution(model: "KAN", x: Tensor | None = None) -> tuple[list[Tensor], list[Tensor]]:
    """Edge and node importance by attribution from the outputs backwards (KAN 2.0); sets nothing.

    score(edge i->j) = std(phi_ij) * score(j) / (std(node j) + 1e-4); score(i) = sum_j score(i->j);
    outputs score 1. Returns (edge scores per layer (I, O), node scores per level).
    """
    x = require_inputs(model, x, "attribute")
    inputs = model.layer_inputs(x)
    with torch.no_grad():
        node = torch.ones(model.width[-1], dtype=model.dtype, device=model.device)
        edge_scores: list[Tensor] = []
        node_scores = [node]
        for l in range(model.depth - 1, -1, -1):
            edge_std = model.layers[l].edge_activations(inputs[l]).std(0)     # (I, O)
            out_std = inputs[l + 1].std(0)
            if model.mult_nodes[l + 1]:   # subnodes of a multiplication node share its score
                node = node[_owners(model, l + 1)]
                out_std = model.layers[l](inputs[l]).std(0)
            score = edge_std * (node / (out_std + 1e-4))[None, :]
            edge_scores.insert(0, score)
            node = score.sum(1)
            node_scores.insert(0, node)
    return edge_scores, node_scores


def attribute(model: "KAN", x: Tensor | None = None) -> None:
    """Compute attribution scores (see `attribution`) and store them as model.edge_scores,
    model.node_scores (per level) and model.feature_score (the inputs' scores)."""
    model.edge_scores, model.node_scores = attribution(model, x)
    model.feature_score = model.node_scores[0]


def edge_means(model: "KAN", x: Tensor | None = None) -> list[Tensor]:
    """Per layer (I, O): every edge's mean output on the data."""
    inputs = model.layer_inputs(require_inputs(model, x, "pruning"))
    with torch.no_grad():
        return [layer.edge_activations(xl).mean(0) for layer, xl in zip(model.layers, inputs)]


def _owners(model: "KAN", level: int) -> Tensor:
    """For each subnode feeding `level`, the node it belongs to."""
    return torch.as_tensor(mult_nodes.owners(model.width[level], tuple(model.mult_arity[level])),
                           device=model.device)


def _reachable(masks: Sequence[Tensor], arities: Sequence[tuple[int, ...]] | None = None) -> Tensor:
    """Which outputs have at least one path of active edges from an input (a multiplication node
    is reached when any of its subnodes is); arities: per level, its multiplication nodes' arities."""
    alive = torch.ones(masks[0].shape[0], dtype=torch.bool)
    for l, m in enumerate(masks):
        alive = ((m.cpu() > 0) & alive[:, None]).any(0)
        if arities is not None and arities[l + 1]:
            total = m.shape[1] - sum(arities[l + 1]) + len(arities[l + 1])
            owner = torch.as_tensor(mult_nodes.owners(total, tuple(arities[l + 1])))
            alive = torch.zeros(total, dtype=torch.int64).index_add_(0, owner, alive.long()) > 0
    return alive


def _check_paths(model: "KAN", masks: Sequence[Tensor], what: str,
                 arities: Sequence[tuple[int, ...]] | None = None) -> None:
    alive = _reachable(masks, [tuple(a) for a in model.mult_arity] if arities is None else arities)
    if not bool(alive.all()):
        lost = [str(j) for j in torch.nonzero(~alive).flatten().tolist()]
        raise ValueError(f"{what} would leave output(s) {', '.join(lost)} with no path from any input; "
                         "lower the threshold")


def _derive_with_layers(model: "KAN", layers: list[KANLayer], data: dict | None = None,
                        in_vars: list[str] | None = None) -> "KAN":
    changes = {} if in_vars is None else {"in_vars": in_vars}
    new = model.derive(ModelState.of(model, layers=layers, **changes))
    if data is not None:
        new.data = data
    return new


def _check_threshold(name: str, value: float) -> float:
    return check_float(name, value, 0.0)


def _check_input_ids(active_inputs: Any, n_in: int) -> list[int]:
    """active_inputs as a list of input ids in [0, n_in); errors name the argument."""
    if isinstance(active_inputs, (str, bytes)) or not isinstance(active_inputs, Iterable):
        raise TypeError(f"active_inputs must be a list of input ids, got {active_inputs!r}")
    ids = [check_int(f"active_inputs[{n}]", i) for n, i in enumerate(active_inputs)]
    bad = [i for i in ids if not 0 <= i < n_in]
    if bad:
        raise ValueError(f"active_inputs: input ids {bad} out of range for {n_in} inputs (0..{n_in - 1})")
    if not ids:
        raise ValueError("active_inputs is empty: pruning inputs would remove every input")
    return ids


def prune_node(model: "KAN", threshold: float = 1e-2, x: Tensor | None = None) -> "KAN":
    """A new model without the hidden nodes whose attribution score is <= threshold.

    A multiplication node goes with all its subnodes (the outputs of the layer feeding it). What the removed
    nodes contributed on average is kept in the next layer's bias.
    """
    threshold = _check_threshold("threshold", threshold)
    with model.lineage.change(model, "prune nodes", kind="prune") as ch:
        attribute(model, x)
        ch.result = _subset_nodes(model, _nodes_above(model, threshold), x)
        ch.label = f"prune nodes -> {ch.result.width}"
    return ch.result


def _nodes_above(model: "KAN", threshold: float) -> list[list[int]]:
    """Per level, the nodes kept by pykan's rule (hidden nodes scoring > threshold; inputs and outputs all)."""
    keep = [list(range(model.width[0]))]
    for level in range(1, model.depth):
        ids = torch.nonzero(model.node_scores[level] > threshold).flatten().tolist()
        if not ids:
            raise ValueError(f"pruning with node_th={threshold} would remove every node of hidden layer "
                             f"{level} and lose every path to the outputs; lower node_th")
        keep.append(ids)
    keep.append(list(range(model.width[-1])))
    return keep


def _subset_nodes(model: "KAN", keep: list[list[int]], x: Tensor | None) -> "KAN":
    """A new model keeping the given nodes per level; removed nodes' mean contributions go into the biases."""
    arities = [tuple(a) for a in model.mult_arity]
    means = edge_means(model, x)
    outs = [_kept_subnodes(model.width[l + 1], arities[l + 1], keep[l + 1]) for l in range(model.depth)]
    layers = [layer.subset(keep[l], outs[l]) for l, layer in enumerate(model.layers)]
    with torch.no_grad():
        for l in range(1, model.depth):  # removed inputs of layer l: keep their average effect (on kept outputs)
            dropped = torch.ones(model.width[l], dtype=torch.bool, device=model.device)
            dropped[keep[l]] = False
            layers[l].bias += means[l][dropped][:, outs[l]].sum(0)
    new_arities = [_kept_arities(model.width[l], arities[l], keep[l]) for l in range(model.depth + 1)]
    _check_paths(model, [layer.mask for layer in layers], "pruning these nodes", new_arities)
    return _derive_pruned(model, layers, [len(ids) for ids in keep], new_arities)


def _kept_subnodes(total: int, arities: tuple[int, ...], kept_nodes: list[int]) -> list[int]:
    """The subnodes (outputs of the feeding layer) of the kept nodes of a level, in order."""
    kept = set(kept_nodes)
    return [s for s, owner in enumerate(mult_nodes.owners(total, arities)) if owner in kept]


def _kept_arities(total: int, arities: tuple[int, ...], kept_nodes: list[int]) -> tuple[int, ...]:
    """The arities of a level's kept multiplication nodes (they are the level's last nodes)."""
    n_add = total - len(arities)
    return tuple(arities[j - n_add] for j in kept_nodes if j >= n_add)


def _derive_pruned(model: "KAN", layers: list[KANLayer], widths: list[int],
                   arities: list[tuple[int, ...]]) -> "KAN":
    """A model from pruned layers with the given nodes per level and multiplication layout."""
    if not any(model.mult_nodes):
        return _derive_with_layers(model, layers)
    state = ModelState.of(model, layers=layers)
    config = state.config_dict()
    config["width"] = list(widths)
    if any(arities):
        config["mult_arity"] = [list(a) for a in arities]
    else:
        config.pop("mult_arity", None)
    return model.derive(state.replace(config=tuple((k, _freeze(v)) for k, v in config.items()),
                                      width=tuple(widths)))


def prune_edge(model: "KAN", threshold: float = 3e-2, x: Tensor | None = None) -> None:
    """Mask (in place) the edges whose attribution score is <= threshold."""
    threshold = _check_threshold("threshold", threshold)
    with model.lineage.change(model, "prune edges", kind="prune"):
        attribute(model, x)
        masks = [layer.mask * (score > threshold).to(layer.mask) for layer, score in zip(model.layers, model.edge_scores)]
        _check_paths(model, masks, f"pruning with edge_th={threshold}")
        means = edge_means(model, x)
        with torch.no_grad():
            for layer, m, mean in zip(model.layers, masks, means):
                layer.bias += (mean * ((layer.mask > 0) & (m <= 0))).sum(0)   # keep removed edges' average
                layer.mask.copy_(m)


def prune(model: "KAN", node_th: float | None = None, edge_th: float = 3e-2, x: Tensor | None = None) -> "KAN":
    """Remove unimportant hidden nodes, then mask unimportant edges; returns a new, smaller model.

    node_th given: pykan's rule exactly (hidden nodes scoring <= node_th go). node_th=None (the default):
    pykan's rule with node_th=1e-2, then every hidden layer that keeps several nodes is tried with its best
    node only, refitted on the model's data, and kept that way when it fits about as well
    (operations/single_node.py; the version label says what was tried).
    """
    auto = node_th is None
    node_th = 1e-2 if node_th is None else _check_threshold("node_th", node_th)
    edge_th = _check_threshold("edge_th", edge_th)
    with model.lineage.change(model, "prune", kind="prune") as ch:
        attribute(model, x)
        keep = _nodes_above(model, node_th)
        refitted, trials = None, []
        if auto and single_node.applicable(model) and any(len(ids) > 1 for ids in keep[1:-1]):
            keep, refitted, trials = single_node.try_single_nodes(model, keep, x, _subset_nodes)
        new = model.derive(refitted.snapshot()) if refitted is not None else _subset_nodes(model, keep, x)
        prune_edge(new, edge_th, x)
        ch.result = new
        ch.label = f"prune -> {new.width}" + "".join(f"; {t.text()}" for t in trials)
    return new


def prune_input(model: "KAN", active_inputs: Sequence[int] | None = None, threshold: float = 1e-2,
                x: Tensor | None = None) -> "KAN":
    """A new model keeping only the given inputs (or those with feature score > threshold).

    The new model's stored data keeps only those input columns.
    """
    threshold = _check_threshold("threshold", threshold)
    if active_inputs is not None:
        active_inputs = _check_input_ids(active_inputs, model.width[0])
    with model.lineage.change(model, "prune inputs", kind="prune") as ch:
        n_in = model.width[0]
        if active_inputs is None:
            attribute(model, x)
            ids = torch.nonzero(model.feature_score > threshold).flatten().tolist()
        else:
            ids = sorted({int(i) for i in active_inputs})
            bad = [i for i in ids if not 0 <= i < n_in]
            if bad:
                raise ValueError(f"input ids {bad} out of range for {n_in} inputs")
        if not ids:
            raise ValueError("pruning inputs would remove every input")
        layers = [model.layers[0].subset(ids, list(range(model.layers[0].out_dim)))] + [
            layer.subset(list(range(layer.in_dim)), list(range(layer.out_dim))) for layer in model.layers[1:]]
        _check_paths(model, [layer.mask for layer in layers], "pruning inputs")
        data = None
        if model.data is not None:
            cols = torch.as_tensor(ids, dtype=torch.long)
            data = {k: (v[:, cols.to(v.device)] if k.endswith("input") else v) for k, v in model.data.items()}
        in_vars = [model.in_vars[i] for i in ids] if model.in_vars else None
        ch.result = _derive_with_layers(model, layers, data=data, in_vars=in_vars)
        ch.label = f"prune inputs -> {ch.result.width}"
    return ch.result


def refine(model: "KAN", new_grid: int, x: Tensor | None = None, stop: threading.Event | None = None) -> "KAN":
    """A new model on a finer grid (following the data) whose curves are least-squares fits of the current ones.

    Without data, samples spread evenly over the current grid are used. Reports "progress" per layer;
    setting `stop` (or model.stop_training()) cancels it with OperationCancelled, the model unchanged.
    """
    new_grid = check_int("new_grid", new_grid, 1, limits.MAX_GRID)
    if new_grid <= model.grid:
        raise ValueError(f"refine needs a finer grid than the current {model.grid} intervals, got {new_grid}")
    limits.check_model_size(model.width, new_grid, model.k, model.dtype)
    lineage = model.lineage
    with lineage.begin("refine", total=model.depth, stop=stop, unit="layer") as activity, \
            lineage.change(model, f"refine grid {model.grid} -> {new_grid}", kind="refine") as ch:
        lineage.emit("progress", activity)
        if x is None and model.data is None:
            x = _grid_samples(model)
        x = require_inputs(model, x, "refine")
        inputs = model.layer_inputs(x)
        layers = []
        for layer, xl in zip(model.layers, inputs):
            activity.check()
            fine = KANLayer(layer.in_dim, layer.out_dim, grid=new_grid, k=layer.k, grid_eps=layer.grid_eps,
                            base_fun=layer.base_fun, generator=torch.Generator().manual_seed(0),
                            dtype=layer.coef.dtype, device=layer.coef.device)
            with torch.no_grad():
                knots = layer.grid_from_samples(xl, new_grid)
                fine.grid.copy_(knots)
                fine.coef.copy_(spline.curve_to_coef(xl, layer.spline_values(xl), knots, layer.k))
                for name in ("scale_base", "scale_sp", "mask", "bias", "sym_mask", "sym_fun_ids", "sym_affine"):
                    getattr(fine, name).copy_(getattr(layer, name))
            fine.sym_names = list(layer.sym_names)
            layers.append(fine)
            lineage.advance(activity)
        activity.check()
        ch.result = _derive_with_layers(model, layers)
    return ch.result


def _grid_samples(model: "KAN", n: int = 1001) -> Tensor:
    """Evenly spaced samples over the first layer's grid range (used when the model has no data)."""
    pts = model.layers[0].grid_points()
    steps = torch.linspace(0, 1, n, dtype=pts.dtype, device=pts.device)[:, None]
    return pts[:, 0][None, :] + steps * (pts[:, -1] - pts[:, 0])[None, :]
