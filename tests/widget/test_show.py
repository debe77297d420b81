"""w.show(): another live view of the same widget, displayed where it is called."""
from __future__ import annotations

import IPython.display
import torch

from kanwidget import KAN, KANWidget
from widget_helpers import target


def _widget() -> KANWidget:
    torch.manual_seed(0)
    x = torch.rand(40, 2) * 2 - 1
    data = {"train_input": x, "train_label": target(x), "test_input": x, "test_label": target(x)}
    return KANWidget(KAN(width=[2, 2, 1], grid=3, k=3, seed=0), data)


def test_show_displays_the_same_widget(monkeypatch):
    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs, **kw: shown.append(objs))
    w = _widget()
    assert w.show() is None
    w.show()
    assert len(shown) == 2 and all(len(o) == 1 and o[0] is w for o in shown)


def test_each_view_refers_to_the_one_model():
    w = _widget()
    bundle = w._repr_mimebundle_()
    view = bundle[0] if isinstance(bundle, tuple) else bundle
    ref = view["application/vnd.jupyter.widget-view+json"]
    assert ref["model_id"] == w.model_id
