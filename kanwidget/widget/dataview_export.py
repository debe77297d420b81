"""The data view as a picture file (PNG or SVG by the suffix) with matplotlib: the page's panels and colours.

Target, prediction and residual heat maps (2-D and slice views) or the curve against the points (1-D), train
points filled, test points hollow; sequential colours for values, diverging ones for the residual.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np

from kanwidget.widget.picture_file import picture_path, write_figure

#: the page's light palette (js/src/theme.ts LIGHT) and its colour maps (js/src/dataview.ts)
BACKGROUND, TEXT, TRAIN, TEST, CURVE, SYMBOLIC = "#ffffff", "#27324b", "#2f5bd3", "#e0761e", "#2f5bd3", "#d1364f"


def arrays(meta: Mapping[str, Any], data: bytes) -> dict[str, np.ndarray]:
    """The float arrays of a `dataview_data` payload by name (meta["arrays"] = {name: [offset, length]})."""
    values = np.frombuffer(data, dtype="<f4")
    return {name: values[at:at + n].astype(np.float64) for name, (at, n) in meta.get("arrays", {}).items()}


def _maps() -> tuple[Any, Any]:
    from matplotlib.colors import LinearSegmentedColormap
    seq = LinearSegmentedColormap.from_list("kw_values", ["#f4f6fb", "#9fb4ea", CURVE, "#1b2f6e"])
    div = LinearSegmentedColormap.from_list("kw_residual", [SYMBOLIC, "#ffffff", TRAIN])
    return seq, div


def save_dataview(meta: Mapping[str, Any], data: bytes, path: str | Path) -> Path:
    """Write the data view described by (meta, data) to `path` (.png or .svg); returns the path."""
    path = picture_path(path)
    kind = meta.get("kind")
    if kind not in ("1d", "2d", "slice"):
        raise ValueError(f"the data view is empty ({meta.get('error') or 'no model view yet'}); nothing to save")
    import matplotlib
    from matplotlib.figure import Figure
    a = arrays(meta, data)
    seq, div = _maps()
    names = meta.get("axis_names", ["x_1", "x_2"])
    out = meta.get("output_name", "y")
    panels = [p for p in ("target", "pred", "residual") if p in a] if kind != "1d" else ["curve"]
    fig = Figure(figsize=(3.4 * len(panels), 3.2), facecolor=BACKGROUND)
    titles = {"target": f"target {out}", "pred": f"prediction {out}", "residual": "residual (prediction − target)"}
    r = int(meta["resolution"])
    for k, panel in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), k + 1)
        ax.set_facecolor(BACKGROUND)
        if kind == "1d":
            (x0, x1), = meta["box"]
            xs = x0 + (np.arange(r) + 0.5) * (x1 - x0) / r
            if "target" in a:
                ax.plot(xs, a["target"], color=TEXT, lw=1.2, ls="--", label="target")
            ax.plot(xs, a["pred"], color=CURVE, lw=2, label="prediction")
            _points(ax, a, None, None)
            ax.set_xlabel(names[0], color=TEXT)
            ax.set_ylabel(out, color=TEXT)
            ax.set_title(f"prediction {out}", color=TEXT)
            ax.legend(frameon=False, fontsize=8)
            continue
        (x0, x1), (y0, y1) = meta["box"]
        lo, hi = meta["residual_range"] if panel == "residual" else meta["value_range"]
        image = ax.imshow(a[panel].reshape(r, r), origin="lower", extent=(x0, x1, y0, y1), aspect="auto",
                          cmap=div if panel == "residual" else seq, vmin=lo, vmax=hi, interpolation="nearest")
        _points(ax, a, seq, meta["value_range"])
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_xlabel(names[0], color=TEXT)
        ax.set_ylabel(names[1], color=TEXT)
        ax.set_title(titles[panel], color=TEXT, fontsize=10)
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    if kind == "slice":
        held = ", ".join(f"x_{i + 1}={v:.3g}" for i, v in enumerate(meta["held"]) if i not in meta["axes"])
        fig.suptitle(f"slice: {held}", color=TEXT, fontsize=9)
    fig.tight_layout()
    del matplotlib
    write_figure(fig, path, png_dpi=110, facecolor=BACKGROUND)
    return path


def _points(ax: Any, a: Mapping[str, np.ndarray], cmap: Any, vrange: Any) -> None:
    for part, filled in (("train", True), ("test", False)):
        if part not in a or not a[part].size:
            continue
        rows = a[part].reshape(-1, 3)
        if filled and cmap is not None:
            ax.scatter(rows[:, 0], rows[:, 1], c=rows[:, 2], cmap=cmap, vmin=vrange[0], vmax=vrange[1], s=14,
                       edgecolors=TEXT, linewidths=0.6, label=part)
        elif filled:
            ax.scatter(rows[:, 0], rows[:, 1], color=TRAIN, s=12, edgecolors=TEXT, linewidths=0.5, label=part)
        else:
            ax.scatter(rows[:, 0], rows[:, 1], facecolors="none", edgecolors=TEXT if cmap is not None else TEST,
                       s=16, linewidths=0.9, label=part)
