"""Presentation mode, the workflow's next step, and saving the network picture (issue 11, items 4 and 6)."""
from __future__ import annotations

import os
import struct
import xml.etree.ElementTree as ET

import pytest

from kanwidget import KAN, KANWidget
from kanwidget.widget import present
from kanwidget.widget.present import lineage_stages, rule, stage_of
from kanwidget.widget.validation import validate
from widget_helpers import command, same_state, state_dict

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SVG_NS = "{http://www.w3.org/2000/svg}"


# ------------------------------------------------------------------ the rule
@pytest.mark.parametrize("label, stage", [
    ("init", "start"), ("fit LBFGS x50", "fit"), ("fit Adam x1", "fit"), ("prune", "prune"),
    ("prune nodes", "prune"), ("remove edge (0,1,2)", "prune"), ("refine grid 3 -> 10", "refine"),
    ("auto_symbolic", "symbolic"), ("fix (0,0,0) sin", "edit"), ("load", "start"), ("", "start"),
])
def test_stage_of_version_labels(label, stage):
    assert stage_of(label) == stage


@pytest.mark.parametrize("stages, expected", [
    ([], "train"), (["start"], "train"), (["start", "fit"], "prune"), (["start", "fit", "prune"], "train"),
    (["start", "fit", "prune", "fit"], "refine"), (["start", "fit", "prune", "fit", "refine"], "train"),
    (["start", "fit", "prune", "fit", "refine", "fit"], "auto_symbolic"),
    (["start", "fit", "fit", "fit"], "prune"), (["start", "fit", "edit"], "train"),
    (["start", "fit", "prune", "fit", "refine", "fit", "symbolic"], "train"),   # the formula's constants
    (["start", "fit", "prune", "fit", "refine", "fit", "symbolic", "edit"], "train"),
    (["start", "fit", "prune", "fit", "refine", "fit", "symbolic", "fit"], None),
])
def test_rule_follows_the_reference_workflow(stages, expected):
    found = rule(stages, grid=3)
    assert (found[0] if found else None) == expected


def test_rule_args_are_complete_and_valid(widget):
    info = widget._session.model_info()
    first = rule(["start"], 3)
    assert first[1]["lamb"] == present.SPARSE_LAMB          # the first training is sparse, for pruning
    assert rule(["start", "fit", "prune"], 3)[1]["lamb"] == 0.0
    assert rule(["start", "fit", "prune", "fit"], 3)[1] == {"grid": 10}
    assert rule(["start", "fit", "prune", "fit"], 8)[1] == {"grid": 16}   # at least twice the grid
    for stages in ([], ["fit"], ["fit", "prune", "fit"], ["fit", "prune", "fit", "refine", "fit"]):
        name, args, label, reason = rule(stages, 3)
        assert validate(name, args, info) == args and label and reason


# --------------------------------------------------------- widget: next step
def test_next_step_needs_data(model):
    w = KANWidget(model)
    try:
        assert w.next_step == {}
        assert w.next_action() is None
    finally:
        w.close()


def test_next_action_runs_the_whole_workflow(widget, monkeypatch):
    monkeypatch.setattr(present, "NEXT_STEPS", 4)
    assert widget.next_step["command"] == "train" and widget.next_step["args"]["lamb"] == present.SPARSE_LAMB
    done = []
    while widget.next_step:
        done.append(widget.next_step["command"])
        widget.next_action()
        assert len(done) < 10
    assert done == ["train", "prune", "train", "refine", "train", "auto_symbolic", "train"]
    assert widget.model.grid == 10
    assert widget.formula["spline_edges"] == 0                        # every edge is symbolic now
    assert lineage_stages(widget.model)[-2:] == ["symbolic", "fit"]
    assert widget.next_action() is None
    widget.undo()
    assert widget.next_step["command"] == "train"                     # the constants' fit again
    widget.undo()                                                     # back before auto-symbolic
    assert widget.next_step["command"] == "auto_symbolic"
    assert widget.next_step["args"]["lib"] == list(present.TEACHING_LIB)


def test_next_step_from_the_page_command(widget, monkeypatch):
    monkeypatch.setattr(present, "NEXT_STEPS", 3)
    widget.train(steps=3, block=True)
    step = widget.next_step
    assert step["command"] == "prune"
    before = widget.model
    command(widget, step["command"], **step["args"])      # what the page's Next button sends
    assert widget.model is not before and widget.next_step["command"] == "train"


# --------------------------------------------------------------- presenting
def test_presenting_trait(widget):
    assert widget.presenting is False
    widget.present()
    assert widget.presenting is True
    widget.present(False)
    assert widget.presenting is False
    widget.presenting = True
    assert widget.get_state("presenting") == {"presenting": True}
    widget.set_state({"presenting": False})                 # the page's toggle writes the trait back
    assert widget.presenting is False
    with pytest.raises(TypeError, match="on"):
        widget.present("yes")
    assert widget.presenting is False


# ------------------------------------------------------------ save_network
def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_MAGIC
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_save_network_png(widget, tmp_path):
    widget.train(steps=2, block=True)
    out = widget.save_network(tmp_path / "net.png")
    data = out.read_bytes()
    w, h = _png_size(data)
    fig = widget.model.plot()
    fw, fh = fig.get_size_inches()
    assert (w, h) == (round(fw * 200), round(fh * 200))     # 200 dpi, for slides
    assert len(data) > 5000


def test_save_network_svg_has_one_curve_per_edge(widget, tmp_path):
    widget.model.fix_symbolic(0, 0, 0, "sin")
    out = widget.save_network(str(tmp_path / "net.SVG"), in_vars=["a", "b"])
    root = ET.parse(out).getroot()
    assert root.tag == f"{SVG_NS}svg"
    paths = root.iter(f"{SVG_NS}path")
    assert sum(1 for _ in paths) >= 9                      # 9 edges' curves (plus lines and markers)
    assert out.suffix == ".SVG" and out.read_text().lstrip().startswith("<?xml")


@pytest.mark.parametrize("name", ["net.pdf", "net", "net.png.txt"])
def test_save_network_refuses_other_formats(widget, tmp_path, name):
    before = state_dict(widget.model)
    with pytest.raises(ValueError, match="path .*" + name.replace(".", r"\.")):
        widget.save_network(tmp_path / name)
    assert not (tmp_path / name).exists()
    assert same_state(before, state_dict(widget.model))


def test_save_network_unwritable_paths(widget, tmp_path):
    with pytest.raises(FileNotFoundError, match="path .*missing"):
        widget.save_network(tmp_path / "missing" / "net.png")
    with pytest.raises(TypeError, match="path"):
        widget.save_network(3)
    if os.name == "posix" and os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        try:
            with pytest.raises(OSError, match="path .*locked"):
                widget.save_network(locked / "net.svg")
        finally:
            locked.chmod(0o700)


def test_core_plot_writes_svg_by_suffix(tmp_path):
    model = KAN(width=[2, 2, 1], grid=3, k=3, seed=0)
    model.plot(path=tmp_path / "p.svg")
    assert ET.parse(tmp_path / "p.svg").getroot().tag == f"{SVG_NS}svg"
