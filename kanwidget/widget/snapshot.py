"""Model -> view payloads: graph JSON + float32 curves, formula, versions, inspector, metrics.

All numbers come from batched core calls (`edge_curves`, `attribute`, `edge_masks`,
`symbolic_names`); the only per-edge Python loop builds the edge list of the graph JSON.
Every float handed to JSON is finite (Jupyter's serialiser refuses NaN) and rounded so the
JSON stays small.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import sympy
import torch

from kanwidget.core.operations.formula import ex_round, formula_terms, spline_edge_count
from kanwidget.core.network import mult_nodes
from kanwidget.core.operations.tidy import clean_formula
from kanwidget.core.numerics.symbolic import SYMBOLIC_LIB

if TYPE_CHECKING:
    from kanwidget.core.network.model import KAN

#: importance = tanh(BETA * attribution score), as in model.plot
BETA = 3.0
#: bytes the curves of one update may take (the graph JSON, ~145 bytes per edge, comes on top)
CURVES_BUDGET = 850_000
#: samples used to compute importance during training (attribution is a statistic; 256 is plenty)
ATTRIBUTION_SAMPLES = 256
#: data points shown in the inspector
INSPECTOR_SAMPLES = 300
INSPECTOR_POINTS = 128
#: largest formula (input-to-output paths of one output) the view builds; prune to see bigger ones
FORMULA_MAX_TERMS = 256
#: formulas up to this many terms are also tidied (each rewrite checked on sample points: ~0.2 s at 6 terms)
TIDY_MAX_TERMS = 64


# ------------------------------------------------------------------ helpers
def num_points_for(width: Sequence[int]) -> int:
    """Samples per edge curve: 64 for small models, fewer (multiple of 4, >= 16) for big ones."""
    edges = sum(a * b for a, b in zip(width[:-1], width[1:]))
    p = CURVES_BUDGET // (8 * max(edges, 1))          # 2 float32 arrays of P values per edge
    return int(max(16, min(64, (p // 4) * 4)))


def round_sig(x: np.ndarray, digits: int = 4, mode: str = "nearest") -> np.ndarray:
    """Round to `digits` significant digits (vectorised); mode floor/ceil rounds outward for ranges.

    The result's Python floats have short reprs (an integer divided by a power of ten).
    """
    x = np.nan_to_num(np.asarray(x, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    ax = np.abs(x)
    with np.errstate(divide="ignore"):
        mag = np.floor(np.log10(np.where(ax > 0, ax, 1.0)))
    power = (digits - 1 - mag).clip(-300, 300)
    op = {"nearest": np.round, "floor": np.floor, "ceil": np.ceil}[mode]
    pos = power >= 0
    scale = 10.0 ** np.abs(power)
    out = np.where(pos, op(x * np.where(pos, scale, 1.0)) / np.where(pos, scale, 1.0),
                   op(x / np.where(pos, 1.0, scale)) * np.where(pos, 1.0, scale))
    out[ax < 1e-30] = 0.0
    return out


def _floats(t: torch.Tensor | np.ndarray, digits: int = 6) -> list[float]:
    arr = t.detach().cpu().double().numpy() if isinstance(t, torch.Tensor) else np.asarray(t, dtype=np.float64)
    return round_sig(arr.reshape(-1), digits).tolist()


def var_names(model: "KAN") -> tuple[list[str], list[str]]:
    ins = list(model.in_vars) if model.in_vars else [f"x_{i + 1}" for i in range(model.width[0])]
    outs = list(model.out_vars) if model.out_vars else [f"y_{j + 1}" for j in range(model.width[-1])]
    return ins, outs


def attribution_inputs(model: "KAN") -> torch.Tensor | None:
    """At most ATTRIBUTION_SAMPLES training inputs, evenly spaced (deterministic), or None without data."""
    if model.data is None:
        return None
    x = model.data["train_input"]
    n = x.shape[0]
    if n > ATTRIBUTION_SAMPLES:
        idx = torch.linspace(0, n - 1, ATTRIBUTION_SAMPLES).round().long().to(x.device)
        x = x[idx]
    return x


def importance(model: "KAN") -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Edge importance per layer (I, O) and node importance per level, all in [0, 1]."""
    masks = [m.detach().cpu().numpy() for m in model.edge_masks()]
    x = attribution_inputs(model)
    if x is None:
        edges = [m.astype(np.float64) for m in masks]
        nodes = [np.ones(n) for n in model.width]
        return edges, nodes
    edge_scores, node_scores = model.attribution(x)   # leaves the model's own scores alone
    edges = [np.tanh(BETA * s.detach().cpu().double().numpy()) * m for s, m in zip(edge_scores, masks)]
    nodes = [np.tanh(BETA * s.detach().cpu().double().numpy()) for s in node_scores]
    return edges, nodes


# -------------------------------------------------------------------- graph
def graph_payload(model: "KAN", num_points: int | None = None, version: int = -1) -> tuple[dict[str, Any], bytes]:
    """The `graph` trait and the matching `curves` bytes (float32 LE: per edge P x then P y)."""
    width = model.width
    p = num_points or num_points_for(width)
    with torch.no_grad():
        curves = model.edge_curves(p)
        edge_imp, node_imp = importance(model)
        masks = [m.cpu().numpy() for m in model.edge_masks()]
    names = model.symbolic_names()
    blocks = []
    layers = []
    for l, (xs, ys) in enumerate(curves):
        n_in, n_out = ys.shape[0], ys.shape[1]
        xs64 = xs.detach().cpu().double().numpy()                   # (I, P)
        ys64 = ys.detach().cpu().double().numpy()                   # (I, O, P)
        ys64 = np.nan_to_num(ys64, nan=0.0, posinf=0.0, neginf=0.0)
        block = np.empty((n_in, n_out, 2, p), dtype="<f4")
        block[:, :, 0, :] = xs64[:, None, :]
        block[:, :, 1, :] = ys64
        blocks.append(block.reshape(-1))
        xmin = round_sig(xs64[:, 0], 4, "floor").tolist()
        xmax = round_sig(xs64[:, -1], 4, "ceil").tolist()
        ymin = round_sig(ys64.min(axis=2), 4, "floor").tolist()
        ymax = round_sig(ys64.max(axis=2), 4, "ceil").tolist()
        imp = np.round(np.clip(edge_imp[l], 0.0, 1.0), 2).tolist()   # the page draws 8 levels
        active = masks[l].tolist()
        sym = names[l]
        edges = []
        append = edges.append
        for i in range(n_in):
            x0, x1, yl, yh, im, ac, sy = xmin[i], xmax[i], ymin[i], ymax[i], imp[i], active[i], sym[i]
            for j in range(n_out):
                append({"i": i, "j": j, "active": ac[j], "importance": im[j], "symbolic": sy[j],
                        "xmin": x0, "xmax": x1, "ymin": yl[j], "ymax": yh[j]})
        layers.append({"in": n_in, "out": n_out, "edges": edges})
    ins, outs = var_names(model)
    nodes = [[{"importance": v} for v in np.round(np.clip(np.nan_to_num(n), 0.0, 1.0), 3).tolist()]
             for n in node_imp]
    if any(model.mult_nodes):           # multiplication nodes: which node each layer output (subnode) feeds
        for l, layer_json in enumerate(layers):
            layer_json["owner"] = mult_nodes.owners(width[l + 1], model.mult_arity[l + 1])
        for level, arities in enumerate(model.mult_arity):
            first = width[level] - len(arities)          # products are the last nodes of their level
            for k, arity in enumerate(arities):
                nodes[level][first + k]["mult"] = int(arity)
    graph = {"width": list(width), "in_vars": ins, "out_vars": outs, "layers": layers, "nodes": nodes,
             "num_points": p, "version": int(version), "grid": int(model.grid), "k": int(model.k)}
    data = np.concatenate(blocks) if blocks else np.zeros(0, dtype="<f4")
    return graph, data.tobytes()


def decode_curves(buf: bytes, graph: dict[str, Any]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Inverse of the curves layout, per layer: xs (I, O, P), ys (I, O, P) (used by tests and tools)."""
    data = np.frombuffer(buf, dtype="<f4")
    p = graph["num_points"]
    out, offset = [], 0
    for layer in graph["layers"]:
        n = layer["in"] * layer["out"] * 2 * p
        block = data[offset:offset + n].reshape(layer["in"], layer["out"], 2, p)
        out.append((block[:, :, 0, :], block[:, :, 1, :]))
        offset += n
    return out


# ------------------------------------------------------------------ formula
def symbolic_edge_count(model: "KAN") -> int:
    return int(sum(int(((layer.mask > 0) & (layer.sym_mask > 0)).sum()) for layer in model.layers))


def formula_payload(model: "KAN", digits: int = 4, max_terms: int = FORMULA_MAX_TERMS) -> dict[str, Any]:
    """`formula` trait: LaTeX and sympy text per output; empty lists when no edge is symbolic.

    A formula with more than `max_terms` input-to-output paths is not built (that takes minutes on
    deep, unpruned models and is unreadable anyway): `terms` then says how large it would be.
    """
    splines = spline_edge_count(model)
    terms = max(formula_terms(model), default=0)
    if symbolic_edge_count(model) == 0:
        return {"latex": [], "sympy": [], "spline_edges": splines, "terms": terms, "too_large": False}
    if terms > max_terms:
        return {"latex": [], "sympy": [], "spline_edges": splines, "terms": terms, "too_large": True}
    if terms <= TIDY_MAX_TERMS:   # phase shifts, scales out of sqrt, exp constants: each verified numerically
        exprs = clean_formula(model, digits)
    else:
        exprs = [ex_round(e, digits) for e in model.symbolic_formula()[0]]
    return {"latex": [sympy.latex(e) for e in exprs], "sympy": [str(e) for e in exprs], "spline_edges": splines,
            "terms": terms, "too_large": False}


# ----------------------------------------------------------------- versions
def _loss(metrics: dict[str, float], key: str) -> float | None:
    v = metrics.get(key)
    if v is None:
        return None
    v = float(v)
    return v if np.isfinite(v) else None


def versions_payload(model: "KAN") -> list[dict[str, Any]]:
    current = model.lineage.current
    return [{"id": v.id, "label": v.label, "train_loss": _loss(v.metrics, "train_loss"),
             "test_loss": _loss(v.metrics, "test_loss"), "current": v.id == current} for v in model.history]


# ------------------------------------------------------------------ metrics
def metrics_bytes(rows: Sequence[Sequence[float]]) -> bytes:
    """float32 LE rows (step, train, test, reg)."""
    if not rows:
        return b""
    return np.asarray(rows, dtype="<f4").reshape(-1, 4).tobytes()


# ---------------------------------------------------------------- inspector
def inspector_payload(model: "KAN", l: int, i: int, j: int, candidates: bool = True) -> dict[str, Any]:
    """`inspector` trait for edge (l, i, j): curve, data samples, knots, symbolic candidates."""
    layer = model.layers[l]
    with torch.no_grad():
        r = model.input_ranges()[l]
        steps = torch.linspace(0, 1, INSPECTOR_POINTS, dtype=model.dtype, device=model.device)
        xs = r[:, :1] + steps[None, :] * (r[:, 1:] - r[:, :1])               # (I, P)
        ys = layer.edge_activations(xs.T.contiguous())[:, i, j]              # (P,)
        data_x: list[float] = []
        data_y: list[float] = []
        if model.data is not None:
            x = model.data["train_input"]
            n = x.shape[0]
            if n > INSPECTOR_SAMPLES:
                x = x[torch.linspace(0, n - 1, INSPECTOR_SAMPLES).round().long().to(x.device)]
            xl = model.layer_inputs(x)[l]
            data_x = _floats(xl[:, i])
            data_y = _floats(layer.edge_activations(xl)[:, i, j])
        knots = _floats(layer.grid_points()[i])
    cands: list[dict[str, Any]] = []
    if candidates and model.data is not None:
        lib = [name for name in SYMBOLIC_LIB]
        for c in model.symbolic_candidates(l, i, j, lib=lib, topk=5):
            r2 = float(c.r2) if np.isfinite(c.r2) else 0.0
            cands.append({"name": c.name, "r2": round(r2, 6), "complexity": int(c.complexity)})
    return {"l": l, "i": i, "j": j, "x": _floats(xs[i]), "y": _floats(ys), "data_x": data_x, "data_y": data_y,
            "knots": knots, "candidates": cands, "symbolic": layer.symbolic_name(i, j)}
