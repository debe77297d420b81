"""Static matplotlib picture of a KAN: nodes, edge curves, importance as opacity, symbolic labels."""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Sequence

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from torch import Tensor

    from kanwidget.core.network.model import KAN

MAX_CURVE_BOXES = 256   # per layer; above this only lines are drawn (a [8,64,64,1] net stays legible)
PLOT_METRICS = ("backward", "forward_n", "forward_u")
MAX_SAMPLE_POINTS = 200  # per edge with sample=True


def plot(model: "KAN", beta: float = 3.0, in_vars: Sequence[str] | None = None,
         out_vars: Sequence[str] | None = None, title: str | None = None, path: str | os.PathLike[str] | None = None,
         num: int = 32, metric: str = "backward", scale: float = 0.5, sample: bool = False, tick: bool = False,
         varscale: float = 1.0, folder: str | None = None) -> "Figure":
    """Draw the network and return the Figure (writes a file only if `path` is given).

    Edges fade with tanh(beta * importance); symbolic edges are red and labelled with their function.
    pykan's options: metric "backward" (attribution, the default), "forward_n" (std(phi) / (std(x) + 0.1))
    or "forward_u" (std(phi)) on the samples; scale sizes the figure (0.5: the default size); sample=True
    marks the samples of the last forward pass (else the training inputs) on every edge. tick and folder
    are accepted and ignored (pykan writes one image per edge into folder; kanwidget writes nothing).
    """
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure

    from kanwidget.core.checks import check_bool, check_float
    from kanwidget.core.operations import pykan_api

    if metric not in PLOT_METRICS:
        raise ValueError(f"unknown metric {metric!r}; valid: {', '.join(PLOT_METRICS)}")
    size = check_float("scale", scale, 0.0, low_open=True) / 0.5
    font = check_float("varscale", varscale, 0.0, low_open=True)
    sample, _ = check_bool("sample", sample), check_bool("tick", tick)

    width = model.width
    in_vars = list(in_vars) if in_vars is not None else (model.in_vars or [f"x_{i + 1}" for i in range(width[0])])
    out_vars = list(out_vars) if out_vars is not None else (model.out_vars or
                                                            [f"y_{j + 1}" for j in range(width[-1])])
    x = pykan_api.samples(model)
    if x is None:
        scores = [np.ones((layer.in_dim, layer.out_dim)) for layer in model.layers]
    elif metric == "backward":
        model.attribute(x)
        scores = [s.detach().cpu().numpy() for s in model.edge_scores]
    else:
        scores = [s.cpu().numpy() for s in pykan_api.edge_scales(model, x, normalized=metric == "forward_n")]
    points = _sample_points(model, pykan_api.samples(model, prefer_cached=True)) if sample else None
    curves = model.edge_curves(num, x)
    names = model.symbolic_names()
    masks = [m.cpu().numpy() for m in model.edge_masks()]
    widest = max(width)
    size = min(size, 8.0)
    fig = Figure(figsize=(max(4.0, min(16.0, 1.2 * widest)) * size, (2.6 * model.depth + 0.8) * size))
    ax = fig.add_axes((0.02, 0.02, 0.96, 0.9 if title else 0.96))
    ax.set_axis_off()
    ax.set_xlim(-0.05, 1.05)
    ax.set_ylim(-0.25, model.depth + 0.25)

    def xpos(n: int) -> np.ndarray:
        return (np.arange(n) + 0.5) / n

    segs, colors, curve_segs, curve_colors = [], [], [], []
    for l, layer in enumerate(model.layers):
        n_in, n_out = layer.in_dim, layer.out_dim
        x_in, x_out = xpos(n_in), xpos(n_out)
        alpha = np.tanh(beta * scores[l])
        draw_boxes = n_in * n_out <= MAX_CURVE_BOXES
        dense_alpha = max(0.02, min(1.0, 40.0 / (n_in * n_out)))
        box_w = min(0.7 / (n_in * n_out), 0.12) if draw_boxes else 0.0
        box_h = 0.28
        xs, ys = curves[l]
        xs, ys = xs.detach().cpu().numpy(), ys.detach().cpu().numpy()
        for i in range(n_in):
            for j in range(n_out):
                if masks[l][i, j] <= 0:
                    continue
                a = float(np.clip(alpha[i, j], 0.0, 1.0))
                symbolic = names[l][i][j]
                color = (0.8, 0.1, 0.1, a) if symbolic else (0.0, 0.0, 0.0, a)
                if not draw_boxes:  # dense layer: faint hairlines so structure stays visible
                    segs.append(((x_in[i], l), (x_out[j], l + 1)))
                    colors.append(color[:3] + (a * dense_alpha,))
                    continue
                cx = (i * n_out + j + 0.5) / (n_in * n_out)
                y0, y1 = l + 0.5 - box_h / 2, l + 0.5 + box_h / 2
                segs += [((x_in[i], l), (cx, y0)), ((cx, y1), (x_out[j], l + 1))]
                colors += [color, color]
                segs += [((cx - box_w / 2, y0), (cx + box_w / 2, y0)), ((cx + box_w / 2, y0), (cx + box_w / 2, y1)),
                         ((cx + box_w / 2, y1), (cx - box_w / 2, y1)), ((cx - box_w / 2, y1), (cx - box_w / 2, y0))]
                colors += [(0.0, 0.0, 0.0, 0.25 * a + 0.05)] * 4
                xv, yv = xs[i], ys[i, j]
                span_y = float(yv.max() - yv.min()) or 1.0
                px = cx - box_w / 2 * 0.85 + (xv - xv[0]) / (float(xv[-1] - xv[0]) or 1.0) * box_w * 0.85
                py = l + 0.5 - box_h * 0.4 + (yv - yv.min()) / span_y * box_h * 0.8
                curve_segs.append(np.stack([px, py], axis=1))
                curve_colors.append(color)
                if points is not None:
                    sx, sy = points[l][0][:, i], points[l][1][:, i, j]
                    ax.scatter(cx - box_w / 2 * 0.85 + (sx - xv[0]) / (float(xv[-1] - xv[0]) or 1.0) * box_w * 0.85,
                               l + 0.5 - box_h * 0.4 + (sy - yv.min()) / span_y * box_h * 0.8, s=2.0 * size,
                               color=color, zorder=2)
                if symbolic:
                    ax.text(cx + box_w / 2 + 0.005, l + 0.5, symbolic, fontsize=8, color=(0.8, 0.1, 0.1, max(a, 0.4)),
                            va="center", ha="left")
    ax.add_collection(LineCollection(segs, colors=colors, linewidths=0.8 if len(segs) <= 2000 else 0.4))
    if curve_segs:
        ax.add_collection(LineCollection(curve_segs, colors=curve_colors, linewidths=1.4))
    node_size = max(4.0, min(60.0, 400.0 / widest))
    for level, n in enumerate(width):
        ax.scatter(xpos(n), np.full(n, level), s=node_size, c="black", zorder=3)
    def label(name: str) -> str:  # math-render names like x_1; names already in $...$ stay as they are
        return name if (name.startswith("$") and name.endswith("$")) or "_" not in name else f"${name}$"

    if width[0] <= 32:
        for i, name in enumerate(in_vars):
            ax.text(xpos(width[0])[i], -0.12, label(name), ha="center", va="top", fontsize=10 * font)
    if width[-1] <= 32:
        for j, name in enumerate(out_vars):
            ax.text(xpos(width[-1])[j], model.depth + 0.12, label(name), ha="center", va="bottom",
                    fontsize=10 * font)
    if title:
        fig.suptitle(title)
    if path is not None:
        fig.savefig(os.fspath(path), dpi=150)
    return fig


def _sample_points(model: "KAN", x: "Tensor | None") -> list[tuple[np.ndarray, np.ndarray]] | None:
    """Per layer: (inputs (N, I), phi (N, I, O)) of at most MAX_SAMPLE_POINTS samples, or None without samples."""
    if x is None:
        return None
    import torch
    x = x[:: max(1, x.shape[0] // MAX_SAMPLE_POINTS)][:MAX_SAMPLE_POINTS]
    out = []
    with torch.no_grad():
        for layer, xl in zip(model.layers, model.layer_inputs(x)[:-1]):
            out.append((xl.cpu().numpy(), layer.edge_activations(xl).cpu().numpy()))
    return out
