"""KANWidget: an anywidget view of a live KAN -- traits and the public API.

The work is done by the parts in `session.Session`: `dispatch` (one command at a time, the command
table), `trainer` (fits and their stop tokens), `long_ops` (long commands: progress, cancel),
`inspector` (edge inspector, background candidates), `events` (the lineage subscription),
`publisher` (payloads, throttle, one message per update) and `loss_rows` (the bounded loss series).
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import anywidget
import traitlets

from kanwidget.widget import dataview as dataview_module
from kanwidget.widget import data_panel
from kanwidget.widget.dispatch import PAUSE_TIMEOUT
from kanwidget.widget.protocol import defaults, page_table
from kanwidget.widget.publisher import ALL_PARTS, KANWidgetWarning, idle  # noqa: F401 - re-exported
from kanwidget.widget.session import Session

if TYPE_CHECKING:
    from kanwidget.core.network.model import KAN

STATIC = Path(__file__).resolve().parent.parent / "static"
ESM_PATH, CSS_PATH = STATIC / "widget.js", STATIC / "widget.css"
BUNDLE_MISSING = ("the kanwidget front-end bundle is missing ({missing}); build it with\n"
                  "    cd js && npm ci && npm run build\n"
                  "(it writes kanwidget/static/widget.js and widget.css), then restart the kernel")
_BUNDLE_OK = ESM_PATH.is_file() and CSS_PATH.is_file()


class KANWidget(anywidget.AnyWidget):
    """A live view of a KAN (``KANWidget(model, dataset)``): network, edge curves, loss chart, formula, versions.

    `w.model` follows prune / refine / checkout / undo (also `model = model.prune()` in a cell). Python calls
    run in the caller (except `train(block=False)`); page fits and long commands run in the background.
    """

    _esm = ESM_PATH if _BUNDLE_OK else "export default { render() {} };"
    _css = CSS_PATH if _BUNDLE_OK else ""

    graph = traitlets.Dict().tag(sync=True)
    curves = traitlets.Bytes(b"").tag(sync=True)
    metrics = traitlets.Bytes(b"").tag(sync=True)
    status = traitlets.Dict(idle()).tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    formula = traitlets.Dict({"latex": [], "sympy": [], "spline_edges": 0, "terms": 0, "too_large": False}).tag(sync=True)
    versions = traitlets.List().tag(sync=True)
    inspector = traitlets.Dict().tag(sync=True)
    library = traitlets.List().tag(sync=True)
    has_data = traitlets.Bool(False).tag(sync=True)
    protocol = traitlets.Dict(page_table()).tag(sync=True)   # the command table (kanwidget.widget.protocol)
    dataview = traitlets.Dict().tag(sync=True)          # data view meta (kanwidget.widget.dataview)
    dataview_data = traitlets.Bytes(b"").tag(sync=True)  # its float32 LE arrays (meta["arrays"])
    presenting = traitlets.Bool(False).tag(sync=True)   # presentation mode (present.py; the page writes it too)
    next_step = traitlets.Dict().tag(sync=True)         # the workflow's next command (present.next_step)
    data_source = traitlets.Dict().tag(sync=True)       # what the data is (data_panel.py): {kind, name, formula, ...}
    # -- feature traits: add new traits above this line --

    def __init__(self, model: "KAN", dataset: dict[str, Any] | None = None, target: Any = None,
                 **kwargs: Any) -> None:
        if not _BUNDLE_OK:
            missing = ", ".join(str(p) for p in (ESM_PATH, CSS_PATH) if not p.is_file())
            raise RuntimeError(BUNDLE_MISSING.format(missing=missing or "found after import"))
        model, note = _accept_model(model)
        super().__init__(**kwargs)
        self._session = Session(self, model, dataset)
        data_panel.python_data(self._session)
        if target is not None:
            self.target = target
        if note:
            self._session.publisher.set_status(idle(note))
        self.on_msg(lambda _w, content, _buffers=None: self._session.runner.handle_message(content))
        self._follow_workflow(None)

    def _run(self, command: str, **args: Any) -> Any:
        return self._session.runner.run(command, {**defaults(command), **args})

    @property
    def model(self) -> "KAN":
        """The current model (follows prune / refine / undo / checkout of its lineage)."""
        return self._session.model

    @model.setter
    def model(self, model: "KAN") -> None:
        model, note = _accept_model(model)
        self._session.replace_model(model)
        if note:
            self._session.publisher.set_status(idle(note))

    @property
    def dataset(self) -> dict[str, Any] | None:
        """The data of the view (the model's `data`); set it to enable training and simplification."""
        return self.model.data

    @dataset.setter
    def dataset(self, dataset: dict[str, Any] | None) -> None:
        self._session.set_dataset(dataset, publish=True)
        data_panel.python_data(self._session)

    @property
    def training(self) -> bool:
        """True while a fit started by the widget runs in the background."""
        return self._session.trainer.running

    def train(self, steps: int | None = 50, opt: str = "LBFGS", lr: float = 1.0, lamb: float = 0.0,
              update_grid: bool = True, block: bool = False) -> dict[str, list[float]] | None:
        """Train in a background thread (block=False, returns None) or in the caller (returns fit's results).

        steps=0 or None: run until paused (`w.pause()`), as the page's Play button; needs block=False.
        """
        steps = 0 if steps is None else steps
        if steps == 0 and block:
            raise ValueError("steps: 0 (until paused) needs block=False; pause with w.pause()")
        args = {"steps": steps, "opt": opt, "lr": lr, "lamb": lamb, "update_grid": update_grid}
        return self._session.runner.run("train", args, background=not block)

    def pause(self, timeout: float = PAUSE_TIMEOUT) -> bool:
        """Stop a running fit or long command; True once it has stopped."""
        return self._session.runner.pause(timeout)

    stop = pause

    def cancel(self, timeout: float = PAUSE_TIMEOUT) -> bool:
        """Cancel the running long command (the model stays as before) or fit; True once stopped."""
        return self._session.runner.cancel(timeout)

    def step(self) -> dict[str, list[float]]:
        """One optimiser step (the optimiser, lr and lamb of the last train), in the caller."""
        return self._run("step")

    def prune(self, node_th: float | None = None, edge_th: float = 3e-2) -> "KAN":
        """Prune as `model.prune` does (node_th=None: pykan's rule, then one node per hidden layer when it fits)."""
        return self._run("prune", node_th=node_th, edge_th=edge_th)

    def refine(self, grid: int) -> "KAN":
        return self._run("refine", grid=grid)

    def auto_symbolic(self, lib: Sequence[str] | None = None, weight_simple: float = 0.8) -> list[Any]:
        return self._run("auto_symbolic", lib=None if lib is None else list(lib), weight_simple=weight_simple)

    def discover(self, lib: Sequence[str] | None = None) -> Any:
        """The whole discovery workflow on the widget's data; returns the DiscoveryReport."""
        return self._run("discover", lib=None if lib is None else list(lib))

    def inspect(self, l: int, i: int, j: int) -> dict[str, Any]:
        """Open the inspector on edge (l, i, j); returns the `inspector` payload (with candidates)."""
        return self._run("inspect", l=l, i=i, j=j)

    def close_inspector(self) -> None:
        self._run("close_inspector")

    def fix_symbolic(self, l: int, i: int, j: int, name: str) -> float:
        return self._run("fix_symbolic", l=l, i=i, j=j, name=name)

    def unfix_symbolic(self, l: int, i: int, j: int) -> None:
        self._run("unfix_symbolic", l=l, i=i, j=j)

    def undo(self) -> "KAN":
        return self._run("undo")

    def checkout(self, id: int) -> "KAN":  # noqa: A002 - the protocol's name
        return self._run("checkout", id=id)

    @property
    def target(self) -> Any:
        """The function behind the data (an (N, n_in) tensor -> (N, n_out)), or None: the data view's target."""
        return self._session.target

    @target.setter
    def target(self, fn: Any) -> None:
        self._session.target = dataview_module.check_target(fn, self.model)
        self._session.publisher.refresh({"dataview"})

    def configure_dataview(self, x_axis: int | None = None, y_axis: int | None = None, output: int | None = None,
                           held: Sequence[float] | None = None, resolution: int | None = None) -> Any:
        """Data view settings (None keeps a setting; held=None: the data's medians); returns the ViewConfig."""
        c = self._session.publisher.dataview.config
        return self._run("dataview", x_axis=c.x_axis if x_axis is None else x_axis,
                         y_axis=c.y_axis if y_axis is None else y_axis, output=c.output if output is None else output,
                         held=None if held is None else list(held),
                         resolution=c.resolution if resolution is None else resolution)

    def save_dataview(self, path: str | Path) -> Path:
        """Save the data view (target / prediction / residual with the points) as PNG or SVG (by suffix)."""
        from kanwidget.widget.dataview_export import save_dataview
        return save_dataview(self.dataview, self.dataview_data, path)

    # network editing (widget/net_edit.py): each is one version; w.model follows, undo() goes back
    def add_node(self, layer: int) -> "KAN":
        """Add a node to hidden layer `layer` (1..depth-1); the outputs are unchanged."""
        return self._run("add_node", layer=layer)

    def delete_node(self, layer: int, i: int) -> "KAN":
        """Remove node i of hidden layer `layer` (its mean effect is kept in the next layer's bias)."""
        return self._run("delete_node", layer=layer, i=i)

    def add_layer(self, index: int) -> "KAN":
        """Insert a hidden layer at position `index` (1..depth) of the width, starting as an identity."""
        return self._run("add_layer", index=index)

    def delete_layer(self, index: int) -> "KAN":
        """Remove hidden layer `index`; the merged layer is fitted to the old map on the data."""
        return self._run("delete_layer", index=index)

    def regrid(self, grid: int | None = None, k: int | None = None) -> "KAN":
        """Change the grid size and/or the spline order k (None: keep), refitting the curves."""
        return self._run("regrid", grid=grid, k=k)

    def reinit(self, seed: int | None = None) -> "KAN":
        """Fresh parameters with the same width, grid and k (seed None: the model's seed + 1)."""
        return self._run("reinit", seed=seed)

    def present(self, on: bool = True) -> None:
        """Presentation mode on (or off): larger type and lines, the formula big, only Train/Pause/Step/Next."""
        from kanwidget.core.checks import check_bool
        self.presenting = check_bool("on", on)

    def next_action(self) -> Any:
        """Run the next step of the workflow (train -> prune -> refine -> auto-symbolic), as the page's Next
        button does; returns that command's result, or None when the workflow is done."""
        from kanwidget.widget.present import next_step
        step = next_step(self.model)
        if not step:
            return None
        return self._session.runner.run(step["command"], dict(step["args"]))

    def save_network(self, path: "str | os.PathLike[str]", **plot_kwargs: Any) -> Path:
        """Save the network picture (matplotlib, as `model.plot`) as PNG or SVG, chosen by the suffix of `path`."""
        from kanwidget.widget.present import save_network
        return save_network(self.model, path, **plot_kwargs)

    @traitlets.observe("versions", "has_data")
    def _follow_workflow(self, _change: Any) -> None:   # present.py: keeps next_step with the model
        session = self.__dict__.get("_session")
        if session is not None:
            from kanwidget.widget.present import next_step
            self.next_step = next_step(session.model)

    def show(self) -> None:
        """Shows another live view of this widget where it is called (say, below the cells that pushed it
        out of view); every view of the widget follows the same model and stays in sync."""
        from IPython.display import display
        display(self)

    def set_data(self, preset: str | None = None, formula: str | None = None, noise: float = 0.0,
                 n_train: int = 500, test_fraction: float = 0.2, seed: int = 0) -> dict[str, Any]:
        """Load a preset (kanwidget.core.presets.PRESETS) or a formula in x_1..x_n as the model's data (one
        version: undo brings the old data back); classification presets train with the logistic loss."""
        return self._run("set_data", preset=preset, formula=formula, noise=noise, n_train=n_train,
                         test_fraction=test_fraction, seed=seed)

    def regenerate(self) -> dict[str, Any]:
        """Sample the loaded preset or formula again with the next seed."""
        return self._run("regenerate")

    # -- feature methods: add new public methods above this line --

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for background work (a fit, a long command, inspector candidates); True when all ended."""
        return self._session.wait(timeout)

    def refresh(self) -> None:
        """Recompute every view payload from the model (after changes made without events)."""
        self._session.publisher.refresh(ALL_PARTS)

    def close(self) -> None:
        """Stop background work, unsubscribe from the model's events and close the comm."""
        session = self.__dict__.get("_session")
        if session is not None:                     # also called by __del__ of a half-built widget
            del self.__dict__["_session"]
            session.close(PAUSE_TIMEOUT)
        try:
            super().close()
        except Exception:  # noqa: BLE001 - a widget whose __init__ failed has no comm to close
            pass


PYKAN_CONVERTED = "converted a pykan MultKAN to kanwidget.KAN"


def _accept_model(model: Any) -> tuple["KAN", str | None]:
    """The model to show: a kanwidget KAN as is, a pykan model converted (with a note and a warning)."""
    from kanwidget.core.network.model import KAN
    from kanwidget.core.operations.pykan_import import is_pykan_model
    if isinstance(model, KAN):
        return model, None
    if is_pykan_model(model):
        converted = KAN.from_pykan(model)
        warnings.warn(f"KANWidget: {PYKAN_CONVERTED} (KAN.from_pykan); the widget shows and changes the "
                      "converted model (w.model), not the pykan one", KANWidgetWarning, stacklevel=3)
        return converted, PYKAN_CONVERTED
    raise TypeError(f"KANWidget needs a kanwidget.KAN (or a pykan MultKAN) model, got {type(model).__name__}")
