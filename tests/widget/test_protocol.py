"""Page messages: every bad message sets `error`, warns, never raises and never touches the model."""
from __future__ import annotations

import math
from typing import Any

import pytest

from kanwidget import KANWidget
from kanwidget.widget import KANWidgetWarning
from widget_helpers import command, same_state, state_dict, target, wait_until

GOOD_TRAIN = {"steps": 5, "opt": "Adam", "lr": 0.01, "lamb": 0.0, "update_grid": False}


def page_send(w: KANWidget, message: Any) -> None:
    """Deliver `message` as the page does: to every handler registered with on_msg (exceptions propagate)."""
    for callback in w._msg_callbacks.callbacks:
        callback(w, message, [])


def train_with(**over):
    return {**GOOD_TRAIN, **over}


BAD = [
    # (message, expected words in the error)
    ({"type": "command", "name": "explode", "args": {}}, "unknown command"),
    ({"type": "command", "name": None, "args": {}}, "unknown command"),
    ({"type": "command", "args": {}}, "unknown command"),
    ({"type": "cmd", "name": "undo", "args": {}}, "unknown message type"),
    ({"name": "undo", "args": {}}, "unknown message type"),
    ("undo", "must be an object"),
    (["undo"], "must be an object"),
    ({"type": "command", "name": "undo", "args": [1]}, "args must be an object"),
    ({"type": "command", "name": "undo", "args": {}, "extra": 1}, "unexpected message field"),
    ({"type": "command", "name": "undo", "args": {"x": 1}}, "unknown argument"),
    ({"type": "command", "name": "train", "args": train_with(bogus=1)}, "unknown argument(s) bogus"),
    ({"type": "command", "name": "train", "args": {"steps": 5}}, "missing argument"),
    ({"type": "command", "name": "train", "args": train_with(steps="50")}, "steps must be an integer"),
    ({"type": "command", "name": "train", "args": train_with(steps=2.5)}, "steps must be an integer"),
    ({"type": "command", "name": "train", "args": train_with(steps=True)}, "steps must be an integer"),
    ({"type": "command", "name": "train", "args": train_with(steps=-1)}, "steps must be an integer in [0, 100000]"),
    ({"type": "command", "name": "train", "args": train_with(steps=100001)}, "[0, 100000]"),
    ({"type": "command", "name": "train", "args": train_with(opt="SGD")}, "opt must be one of LBFGS, Adam"),
    ({"type": "command", "name": "train", "args": train_with(opt="__import__('os')")}, "opt must be one of"),
    ({"type": "command", "name": "train", "args": train_with(lr=0)}, "lr must be in (0, 100]"),
    ({"type": "command", "name": "train", "args": train_with(lr=-1)}, "lr must be in"),
    ({"type": "command", "name": "train", "args": train_with(lr=101)}, "lr must be in"),
    ({"type": "command", "name": "train", "args": train_with(lr=math.nan)}, "finite"),
    ({"type": "command", "name": "train", "args": train_with(lr=math.inf)}, "finite"),
    ({"type": "command", "name": "train", "args": train_with(lr="1")}, "lr must be a number"),
    ({"type": "command", "name": "train", "args": train_with(lamb=-0.1)}, "lamb must be in [0, 10]"),
    ({"type": "command", "name": "train", "args": train_with(lamb=11)}, "lamb must be in [0, 10]"),
    ({"type": "command", "name": "train", "args": train_with(update_grid="yes")}, "update_grid must be true or false"),
    ({"type": "command", "name": "prune", "args": {"node_th": -1, "edge_th": 0.03}}, "node_th must be in [0, 10]"),
    ({"type": "command", "name": "prune", "args": {"node_th": 0.01, "edge_th": 10.5}}, "edge_th must be in [0, 10]"),
    ({"type": "command", "name": "prune", "args": {"node_th": 0.01}}, "missing argument(s) edge_th"),
    ({"type": "command", "name": "refine", "args": {"grid": 3}}, "grid must be an integer in [4, 1000]"),
    ({"type": "command", "name": "refine", "args": {"grid": 1001}}, "grid must be an integer in [4, 1000]"),
    ({"type": "command", "name": "refine", "args": {"grid": "10"}}, "grid must be an integer"),
    ({"type": "command", "name": "auto_symbolic", "args": {"lib": ["sin", "nope"], "weight_simple": 0.8}},
     "unknown function 'nope'"),
    ({"type": "command", "name": "auto_symbolic", "args": {"lib": "sin", "weight_simple": 0.8}}, "lib must be a list"),
    ({"type": "command", "name": "auto_symbolic", "args": {"lib": [], "weight_simple": 0.8}}, "lib is empty"),
    ({"type": "command", "name": "auto_symbolic", "args": {"lib": ["sin"], "weight_simple": 1.5}},
     "weight_simple must be in [0, 1]"),
    ({"type": "command", "name": "fix_symbolic", "args": {"l": 0, "i": 0, "j": 0, "name": "os.system('x')"}},
     "unknown function"),
    ({"type": "command", "name": "fix_symbolic", "args": {"l": 0, "i": 0, "j": 0, "name": 3}},
     "name must be a function name"),
    ({"type": "command", "name": "fix_symbolic", "args": {"l": 2, "i": 0, "j": 0, "name": "sin"}},
     "l must be an integer in [0, 1]"),
    ({"type": "command", "name": "fix_symbolic", "args": {"l": 0, "i": 2, "j": 0, "name": "sin"}},
     "i must be an integer in [0, 1]"),
    ({"type": "command", "name": "unfix_symbolic", "args": {"l": 1, "i": 0, "j": 1}}, "j must be an integer in [0, 0]"),
    ({"type": "command", "name": "inspect", "args": {"l": -1, "i": 0, "j": 0}}, "l must be an integer in"),
    ({"type": "command", "name": "inspect", "args": {"l": 0, "i": 0}}, "missing argument(s) j"),
    ({"type": "command", "name": "checkout", "args": {"id": 99}}, "unknown version 99"),
    ({"type": "command", "name": "checkout", "args": {"id": "0"}}, "id must be an integer"),
]


@pytest.fixture(scope="module")
def trained_widget():
    from kanwidget import KAN, KANWidget, create_dataset
    data = create_dataset(target, n_var=2, train_num=200, test_num=200, seed=0)
    w = KANWidget(KAN(width=[2, 3, 1], grid=3, k=3, seed=1), data)
    w.train(steps=2, opt="Adam", lr=0.01, update_grid=False, block=True)   # one recorded version
    yield w
    w.close()


@pytest.mark.parametrize("message,words", BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_message_sets_error_and_warns(trained_widget, message, words):
    widget = trained_widget
    widget.error = ""
    before_model, before_state = widget.model, state_dict(widget.model)
    versions = list(widget.versions)
    with pytest.warns(KANWidgetWarning, match="KANWidget"):
        page_send(widget, message)        # must not raise
    assert words in widget.error, widget.error
    assert widget.model is before_model and same_state(before_state, state_dict(widget.model))
    assert widget.versions == versions
    assert widget.status["state"] == "idle"
    assert not widget.training


def test_error_dismiss_and_repeat(widget):
    with pytest.warns(KANWidgetWarning):
        command(widget, "refine", grid=1)
    first = widget.error
    assert "grid" in first
    widget.error = ""                      # the page dismisses the box
    assert widget.error == ""
    seen = []
    widget.observe(lambda change: seen.append(change["new"]), names="error")
    with pytest.warns(KANWidgetWarning):
        command(widget, "refine", grid=1)
    assert widget.error == first and seen[-1] == first
    # a repeated error while still shown changes the trait too (so the page shows it again)
    seen.clear()
    with pytest.warns(KANWidgetWarning):
        command(widget, "refine", grid=1)
    assert seen == ["", first]


def test_valid_command_clears_error(widget):
    with pytest.warns(KANWidgetWarning):
        command(widget, "refine", grid=0)
    assert widget.error
    command(widget, "refine", grid=4)
    assert widget.error == "" and widget.model.grid == 4


def test_integral_floats_accepted(widget):
    command(widget, "refine", grid=5.0)          # JSON from the page may carry 5.0
    assert widget.error == "" and widget.model.grid == 5


def test_python_methods_raise_clear_errors(widget):
    from kanwidget.widget import CommandError
    with pytest.raises(CommandError, match="steps must be an integer in"):
        widget.train(steps=-1)
    with pytest.raises(CommandError, match="unknown function"):
        widget.fix_symbolic(0, 0, 0, "nope")
    with pytest.raises(CommandError, match="unknown version"):
        widget.checkout(1234)
    assert widget.error == ""


def test_handler_is_registered_for_custom_messages(widget):
    # ipywidgets routes {"method": "custom"} comm messages to the on_msg callbacks
    widget._handle_custom_msg({"type": "command", "name": "refine", "args": {"grid": 4}}, [])
    wait_until(lambda: widget.model.grid == 4, what="refine from a custom message")   # may run in the background


# ------------------------------------------------------------------ the table itself
def _info(**over):
    from kanwidget.widget.protocol import ModelInfo
    base = dict(width=[2, 3, 1], grid=3, library=["x", "sin", "exp"], version_ids=[0, 1])
    return ModelInfo(**{**base, **over})


def test_page_table_is_json_and_lists_every_command():
    import json

    from kanwidget.core.network.history import EVENTS
    from kanwidget.core.operations.training import OPTIMISERS
    from kanwidget.widget.protocol import COMMANDS, KINDS, page_table
    table = page_table()
    assert json.loads(json.dumps(table, allow_nan=False)) == table
    assert set(table["commands"]) == set(COMMANDS) == {
        "train", "pause", "stop", "cancel", "step", "prune", "refine", "auto_symbolic", "discover", "inspect",
        "fix_symbolic", "unfix_symbolic", "undo", "checkout", "close_inspector",
        "add_node", "delete_node", "add_layer", "delete_layer", "regrid", "reinit",   # network editing
        "set_data", "regenerate"} | ({"dataview"} & set(COMMANDS))                     # data panel, data view
    assert table["optimisers"] == list(OPTIMISERS) and table["events"] == list(EVENTS)
    assert all(c["kind"] in KINDS for c in table["commands"].values())
    # Python is right: refine needs no data; cancel is a stop command
    assert table["commands"]["refine"]["needs_data"] is False
    assert table["commands"]["cancel"]["kind"] == "stop"
    choices = {a["name"]: a for a in table["commands"]["train"]["args"]}["opt"]["choices"]
    assert choices == list(OPTIMISERS)


def test_defaults_validate_against_the_table():
    from kanwidget.widget.protocol import COMMANDS, defaults
    from kanwidget.widget.validation import validate
    info = _info()
    assert defaults("train") == {"steps": 50, "opt": "LBFGS", "lr": 1.0, "lamb": 0.0, "update_grid": True}
    assert defaults("prune") == {"node_th": None, "edge_th": 0.03}   # None: auto (pykan rule + one-node trial)
    assert defaults("refine") == {} and defaults("undo") == {}
    assert defaults("auto_symbolic") == {"lib": None, "weight_simple": 0.8}
    for name, command in COMMANDS.items():
        if all(not a.required for a in command.args):
            assert validate(name, defaults(name), info) == defaults(name), name


def test_widget_method_defaults_match_the_table():
    import inspect

    from kanwidget import KANWidget
    from kanwidget.widget.protocol import defaults
    for name in ("train", "prune", "auto_symbolic"):
        params = inspect.signature(getattr(KANWidget, name)).parameters
        assert {k: params[k].default for k in defaults(name)} == defaults(name), name


@pytest.mark.parametrize("name,args,arg", [
    ("train", {**GOOD_TRAIN, "steps": 10**400}, "steps"),
    ("train", {**GOOD_TRAIN, "lr": 10**400}, "lr"),
    ("train", {**GOOD_TRAIN, "lamb": 10**400}, "lamb"),
    ("prune", {"node_th": 10**400, "edge_th": 0.1}, "node_th"),
    ("prune", {"node_th": 0.1, "edge_th": -10**400}, "edge_th"),
    ("refine", {"grid": 10**400}, "grid"),
    ("auto_symbolic", {"lib": None, "weight_simple": 10**400}, "weight_simple"),
    ("inspect", {"l": 0, "i": 10**400, "j": 0}, "i"),
    ("checkout", {"id": 10**400}, "version"),
    ("train", {**GOOD_TRAIN, "steps": 10**5000}, "steps"),      # too long even to print
])
def test_numbers_beyond_float_range_name_the_argument(name, args, arg):
    from kanwidget.widget.protocol import CommandError
    from kanwidget.widget.validation import validate
    with pytest.raises(CommandError, match=arg):
        validate(name, args, _info())


def test_refine_bound_follows_the_model_grid():
    from kanwidget.widget.protocol import CommandError
    from kanwidget.widget.validation import validate
    assert validate("refine", {"grid": 8}, _info(grid=7)) == {"grid": 8}
    with pytest.raises(CommandError, match=r"grid must be an integer in \[8, 1000\]"):
        validate("refine", {"grid": 7}, _info(grid=7))
    with pytest.raises(CommandError, match="already has 1000 intervals"):
        validate("refine", {"grid": 1000}, _info(grid=1000))


def test_auto_symbolic_lib_null_means_all_and_duplicates_fold():
    from kanwidget.widget.validation import validate
    assert validate("auto_symbolic", {"lib": None, "weight_simple": 0}, _info())["lib"] is None
    assert validate("auto_symbolic", {"lib": ["sin", "x", "sin"], "weight_simple": 1}, _info())["lib"] == ["sin", "x"]

