"""The Jupyter view of a KAN (anywidget). Imports anywidget; the core never imports this package."""
from kanwidget.widget.protocol import CommandError
from kanwidget.widget.widget import KANWidget, KANWidgetWarning

__all__ = ["KANWidget", "KANWidgetWarning", "CommandError"]
