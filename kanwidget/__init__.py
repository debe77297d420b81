"""kanwidget: Kolmogorov-Arnold Networks you can build, train, simplify and read in Jupyter."""
from kanwidget.core import SYMBOLIC_LIB, FitStep, KAN, add_symbolic, create_dataset, ex_round

__all__ = ["KAN", "create_dataset", "ex_round", "add_symbolic", "SYMBOLIC_LIB", "FitStep", "KANWidget"]
__version__ = "0.1.0"


def __getattr__(name: str):
    if name == "KANWidget":  # imported lazily: the core works without anywidget loaded
        from kanwidget.widget import KANWidget
        return KANWidget
    raise AttributeError(f"module 'kanwidget' has no attribute {name!r}")
