"""The KAN core: pure torch + sympy. Never imports the widget."""
from kanwidget.core.data import create_dataset
from kanwidget.core.operations.formula import ex_round
from kanwidget.core.network.history import Activity, ModelBusyError, OperationCancelled
from kanwidget.core.network.model import KAN
from kanwidget.core.network.state import ModelState
from kanwidget.core.numerics.symbolic import SYMBOLIC_LIB, add_symbolic
from kanwidget.core.operations.fit_config import FitConfig
from kanwidget.core.operations.training import FitError, FitStep
from kanwidget.core.operations.discovery_report import DiscoveryReport

__all__ = ["KAN", "create_dataset", "ex_round", "add_symbolic", "SYMBOLIC_LIB", "FitStep", "FitConfig", "FitError",
           "ModelState", "ModelBusyError", "OperationCancelled", "Activity", "DiscoveryReport"]
