"""Network editing from the page and from Python (widget/net_edit.py): one version each, w.model follows,
undo goes back, a fit is paused first, bad input becomes an error naming the argument."""
from __future__ import annotations

import pytest
import torch

from kanwidget.widget import KANWidgetWarning
from kanwidget.widget.protocol import CommandError
from widget_helpers import command, wait_until


def _labels(w):
    return [v["label"] for v in w.versions]


@pytest.mark.parametrize("name,args,width", [
    ("add_node", {"layer": 1}, [2, 4, 1]),
    ("delete_node", {"layer": 1, "i": 0}, [2, 2, 1]),
    ("add_layer", {"index": 2}, [2, 3, 3, 1]),
    ("delete_layer", {"index": 1}, [2, 1]),
])
def test_page_commands_change_the_width_and_undo_goes_back(widget, name, args, width):
    old = widget.model
    assert widget.versions == []
    command(widget, name, **args)
    assert widget.error == "", widget.error
    assert widget.model is not old and widget.model.width == width
    assert widget.graph["width"] == width and _labels(widget)[0] == "init" and len(widget.versions) == 2
    assert widget.versions[-1]["current"] and widget.status["state"] == "idle"
    assert widget.model.lineage is old.lineage
    command(widget, "undo")
    assert widget.model.width == [2, 3, 1] and widget.graph["width"] == [2, 3, 1]


def test_add_node_from_python_keeps_the_outputs(widget):
    x = widget.dataset["test_input"]
    with torch.no_grad():
        before = widget.model(x)
    new = widget.add_node(1)
    assert new is widget.model and new.width == [2, 4, 1]
    with torch.no_grad():
        assert torch.allclose(widget.model(x), before, atol=1e-6)


def test_regrid_and_reinit_publish_grid_k_and_seed(widget):
    assert (widget.graph["grid"], widget.graph["k"]) == (3, 3)
    command(widget, "regrid", grid=6, k=None)
    assert (widget.model.grid, widget.model.k) == (6, 3) and (widget.graph["grid"], widget.graph["k"]) == (6, 3)
    widget.regrid(k=2)
    assert (widget.graph["grid"], widget.graph["k"]) == (6, 2)
    command(widget, "reinit", seed=11)
    assert widget.model.config["seed"] == 11 and "seed 11" in widget.status["text"]
    widget.reinit()
    assert widget.model.config["seed"] == 12
    assert [lab.split(" ")[0] for lab in _labels(widget)[-4:]] == ["regrid", "regrid", "re-initialise",
                                                                    "re-initialise"]
    widget.undo()
    widget.undo()
    assert (widget.model.grid, widget.model.k, widget.graph["k"]) == (6, 2, 2)


@pytest.mark.parametrize("name,args,text", [
    ("add_node", {"layer": 2}, "layer=2"),
    ("delete_node", {"layer": 1, "i": 3}, "i=3"),
    ("delete_layer", {"index": 2}, "index=2"),
    ("regrid", {"grid": 3, "k": 3}, "nothing to change"),
])
def test_bad_edits_from_the_page_name_the_argument_and_change_nothing(widget, name, args, text):
    model, versions = widget.model, list(widget.versions)
    with pytest.warns(KANWidgetWarning, match=text):
        command(widget, name, **args)
    assert text in widget.error
    assert widget.model is model and widget.versions == versions


def test_protocol_bounds_are_checked_before_the_model(widget):
    with pytest.raises(CommandError, match="layer must be an integer in"):
        widget.add_node(0)
    with pytest.raises(CommandError, match="k must be an integer in"):
        widget.regrid(k=21)
    with pytest.raises(CommandError, match="seed must be an integer"):
        widget.reinit(seed="1")


def test_an_edit_during_a_fit_pauses_it_first(widget):
    command(widget, "train", steps=10_000, opt="Adam", lr=0.01, lamb=0.0, update_grid=False)
    wait_until(lambda: widget.model.steps_trained >= 2, what="widget training")
    command(widget, "add_node", layer=1)
    assert widget.error == "" and not widget.training
    assert widget.status["text"].startswith("paused training at step")
    assert widget.model.width == [2, 4, 1] and _labels(widget)[-2].startswith("fit Adam")
