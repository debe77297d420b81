"""The parts behind one KANWidget, wired together: the current model, loss rows, publisher, trainer,
long commands, inspector, lineage subscription and the command runner."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kanwidget.core.data import validate_dataset
from kanwidget.core.numerics.symbolic import SYMBOLIC_LIB
from kanwidget.widget.dispatch import PAUSE_TIMEOUT, CommandRunner
from kanwidget.widget.events import LineageEvents
from kanwidget.widget.inspector import Inspector
from kanwidget.widget.long_ops import LongOps
from kanwidget.widget.loss_rows import LossRows
from kanwidget.widget.protocol import ModelInfo
from kanwidget.widget.publisher import ALL_PARTS, Publisher, idle
from kanwidget.widget.trainer import Trainer

if TYPE_CHECKING:
    from kanwidget.core.network.model import KAN


class Session:
    """State and workers of one widget (`widget` receives the traits)."""

    def __init__(self, widget: Any, model: "KAN", dataset: dict[str, Any] | None = None) -> None:
        self.widget = widget
        self.model = model
        #: the function behind the data when known (a preset, a typed formula, `KANWidget(target=...)`):
        #: a callable mapping a (N, n_in) tensor to (N, n_out); None for points given from Python
        self.target: Any = None
        #: "regression" or "classification" (labels 0/1; the data panel's classification presets)
        self.task: str = "regression"
        self.rows = LossRows(lambda: self.model.lineage.losses)   # the model keeps its loss history
        self.publisher = Publisher(self)
        self.trainer = Trainer(self)
        self.ops = LongOps(self)
        self.inspector = Inspector(self)
        self.events = LineageEvents(self)
        self.runner = CommandRunner(self)
        self.events.attach(model)
        if dataset is not None:
            self.set_dataset(dataset)
        self.publisher.refresh(ALL_PARTS, status=idle("ready"))

    def model_info(self) -> ModelInfo:
        m = self.model
        return ModelInfo(width=m.width, grid=m.grid, library=list(SYMBOLIC_LIB),
                         version_ids=[v.id for v in m.history])

    def set_dataset(self, dataset: dict[str, Any] | None, publish: bool = False) -> None:
        if dataset is not None:
            m = self.model
            validate_dataset(dataset, m.width[0], m.width[-1], dtype=m.dtype, device=m.device)
        self.model.data = dataset
        if publish:
            self.publisher.refresh({"graph", "has_data", "inspector"})

    def replace_model(self, model: "KAN") -> None:
        """Show another model: stop what runs, forget the loss rows, publish everything."""
        self.runner.pause()
        self.trainer.join(PAUSE_TIMEOUT)
        self.events.attach(model)
        self.rows.clear()
        self.inspector.close()
        self.publisher.refresh(ALL_PARTS, status=idle("model replaced"))

    def wait(self, timeout: float | None = None, fits: bool = True) -> bool:
        """Wait for background work (a fit when `fits`, a long command, inspector candidates)."""
        done = self.trainer.join(timeout) if fits else True
        return self.ops.join(timeout) and self.inspector.join(timeout) and done

    def close(self, timeout: float) -> None:
        self.inspector.cancel()
        self.ops.cancel()
        self.trainer.stop(timeout)
        self.trainer.join(timeout)
        self.ops.join(timeout)
        self.events.detach()
