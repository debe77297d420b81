"""The KAN core: pure torch + sympy. Never imports the widget."""
from kanwidget.core.data import create_dataset
from kanwidget.core.operations.formula import ex_round
from kanwidget.core.network.model import KAN
from kanwidget.core.numerics.symbolic import SYMBOLIC_LIB, add_symbolic
from kanwidget.core.operations.training import FitStep

__all__ = ["KAN", "create_dataset", "ex_round", "add_symbolic", "SYMBOLIC_LIB", "FitStep"]
