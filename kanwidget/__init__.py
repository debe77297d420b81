"""kanwidget: Kolmogorov-Arnold Networks you can build, train, simplify and read in Jupyter."""
from kanwidget.core import KAN, create_dataset

__all__ = ["KAN", "create_dataset"]
__version__ = "0.1.0"
