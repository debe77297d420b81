"""pykan's extra fit arguments: per-step metrics, the regularisation metric's name, figures per step.

`fit_extras(...)` validates them (errors name the argument) and returns the callbacks that implement them
plus `finish(results)`, which adds each metric's per-step list to fit's results under the metric's
`__name__`, as pykan does. Nothing is written unless `save_fig=True` with a folder named in `img_folder`.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Sequence

from kanwidget.core.checks import check_bool, check_float, check_int

if TYPE_CHECKING:
    from kanwidget.core.operations.training import FitStep

# What fit's regulariser computes: every edge's std(phi) / (std(x) + 0.1), pykan's default metric.
REG_METRICS = ("edge_forward_spline_n",)
# pykan's other metrics, named in the error that refuses them
OTHER_PYKAN_REG_METRICS = ("edge_forward_sum", "edge_forward_spline_u", "edge_backward", "node_backward")


@dataclass
class FitExtras:
    """Callbacks for one fit and the per-step values they collect."""
    callbacks: tuple[Callable[["FitStep"], Any], ...] = ()
    values: dict[str, list[float]] = field(default_factory=dict)

    def finish(self, results: dict[str, list[float]]) -> dict[str, list[float]]:
        """fit's results with one list per metric (as long as the loss lists: an undone step is dropped)."""
        steps = len(results.get("train_loss", []))
        for name, series in self.values.items():
            results[name] = series[:steps]
        return results


def _metric_values(metrics: Sequence[Callable[[], Any]]) -> tuple[Callable[["FitStep"], None], dict[str, list]]:
    values: dict[str, list[float]] = {m.__name__: [] for m in metrics}

    def record(step: "FitStep") -> None:
        for m in metrics:
            value = m()
            values[m.__name__].append(float(value.item() if hasattr(value, "item") else value))
    return record, values


def _figure_writer(folder: str, every: int, beta: float, in_vars: Any, out_vars: Any) -> Callable[["FitStep"], None]:
    def write(step: "FitStep") -> None:
        index = step.step - 1   # pykan numbers the figures from 0
        if index % every == 0:
            os.makedirs(folder, exist_ok=True)
            fig = step.model.plot(beta=beta, in_vars=in_vars, out_vars=out_vars, title=f"Step {index}")
            fig.savefig(os.path.join(folder, f"{index}.jpg"), bbox_inches="tight", dpi=100)
    return write


def fit_extras(metrics: Sequence[Callable[[], Any]] | None = None, reg_metric: str = "edge_forward_spline_n",
               save_fig: bool = False, save_fig_freq: int = 1, img_folder: str | os.PathLike[str] | None = None,
               in_vars: Sequence[str] | None = None, out_vars: Sequence[str] | None = None, beta: float = 3.0,
               display_metrics: Sequence[str] | None = None, singularity_avoiding: bool = False,
               y_th: float = 1000.0) -> FitExtras:
    """Check pykan's extra fit arguments and build their callbacks (see KAN.fit)."""
    if not isinstance(reg_metric, str) or reg_metric not in REG_METRICS:
        other = f" (pykan's {reg_metric!r} is not implemented)" if reg_metric in OTHER_PYKAN_REG_METRICS else ""
        raise ValueError(f"unknown reg_metric {reg_metric!r}{other}; valid: {', '.join(REG_METRICS)}")
    callbacks: list[Callable[["FitStep"], Any]] = []
    values: dict[str, list[float]] = {}
    if metrics is not None:
        if callable(metrics):
            metrics = (metrics,)
        if isinstance(metrics, (str, bytes)) or not isinstance(metrics, Sequence) or \
                not all(callable(m) and hasattr(m, "__name__") for m in metrics):
            raise TypeError("metrics must be a list of functions taking no arguments (their __name__ names "
                            "the result)")
        names = [m.__name__ for m in metrics]
        clash = sorted({n for n in names if names.count(n) > 1 or n in ("train_loss", "test_loss", "reg")})
        if clash:
            raise ValueError(f"metrics: names {clash} repeat or clash with fit's own results")
        record, values = _metric_values(tuple(metrics))
        callbacks.append(record)
    if display_metrics is not None and (isinstance(display_metrics, (str, bytes)) or
                                        not all(isinstance(n, str) for n in display_metrics)):
        raise TypeError("display_metrics must be a list of result names")
    check_float("y_th", y_th, 0.0, low_open=True)
    if check_bool("singularity_avoiding", singularity_avoiding):
        warnings.warn("kanwidget: singularity_avoiding is accepted and ignored (symbolic edges are evaluated "
                      "as they are)", stacklevel=3)
    if check_bool("save_fig", save_fig):
        if img_folder is None:
            raise ValueError("save_fig=True needs img_folder=<folder>: kanwidget writes figures only into a "
                             "folder you name (pykan's default is ./video)")
        if not isinstance(img_folder, (str, os.PathLike)):
            raise TypeError(f"img_folder must be a folder path, got {img_folder!r}")
        every = check_int("save_fig_freq", save_fig_freq, 1)
        beta = check_float("beta", beta, 0.0)
        callbacks.append(_figure_writer(os.fspath(img_folder), every, beta, in_vars, out_vars))
    return FitExtras(tuple(callbacks), values)
