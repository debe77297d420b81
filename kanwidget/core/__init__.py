"""The KAN core: pure torch + sympy. Never imports the widget."""
from kanwidget.core.data import create_dataset
from kanwidget.core.model import KAN
from kanwidget.core.training import FitStep

__all__ = ["KAN", "create_dataset", "FitStep"]
