"""The widget protocol in one place: every command the page (or the Python API) can send.

`COMMANDS` is a declarative table: for each command its kind, whether it needs a dataset, the
page button's label and tooltip, and each argument's type, bounds, default and help. Validation
(`validate`, in kanwidget.widget.validation), the widget's dispatch and method defaults (`defaults`) and the page (the `protocol`
trait, `page_table()`) all read it, so a protocol change is one edit here.

Validation checks every field: the command name against the table, the args against the keys the
command takes, numbers for type, range and float overflow (an error always names the argument),
edges against the current model, function names against the symbolic library, version ids
against the history. A `nullable` argument also takes null (None: "keep" or "choose for me", as its help
says). Strings are compared, never evaluated. `floats` is a list of finite numbers
(nullable: null allowed); its length is checked by the command's handler against the model. `text` is a string
of at most `max_length` characters without control characters (the data panel's formula): only compared or
parsed by a safe parser (kanwidget.core.expression), never evaluated. Bounds that depend on the model
(edge indices, the refine grid, version ids, library names) come from `ModelInfo`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from kanwidget.core.network.history import EVENTS
from kanwidget.core.operations.training import OPTIMISERS
from kanwidget.core.expression import MAX_LENGTH as FORMULA_MAX_LENGTH
from kanwidget.core.presets import PRESETS

#: version of the table's shape (bump when a field changes meaning)
PROTOCOL_VERSION = 1
KINDS = ("stop", "read", "train", "change")
#: argument types: numbers, a flag, one of fixed choices, library function name(s), an edge index, a version id
ARG_TYPES = ("int", "float", "bool", "choice", "function", "functions", "edge_index", "version", "floats", "text")
#: which part of an edge an `edge_index` argument names
EDGE_ROLES = ("layer", "in", "out")
MAX_GRID = 1000


class CommandError(ValueError):
    """A command from the page (or the Python API) that cannot be run as given."""


@dataclass(frozen=True)
class ModelInfo:
    """What validation needs to know about the current model."""
    width: Sequence[int]
    grid: int
    library: Sequence[str]
    version_ids: Sequence[int]


@dataclass(frozen=True)
class Arg:
    """One argument of a command.

    Bounds apply to int/float args: `low`/`high` (None = unbounded), open ends with
    `low_open`/`high_open`; `above` names a ModelInfo field the value must exceed ("grid").
    `default` is what the Python method and the page input start with; `required` args have no
    Python default (the page still starts its input at `default`). `default_by` switches the
    page's default with another argument's choice, e.g. lr by opt.
    """
    name: str
    type: str
    help: str
    default: Any = None
    required: bool = False
    label: str | None = None
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    above: str | None = None
    choices: tuple[str, ...] = ()
    nullable: bool = False
    role: str | None = None
    default_by: tuple[str, Mapping[str, Any]] | None = None
    max_length: int | None = None     # "text" args: the most characters accepted

    def __post_init__(self) -> None:
        assert self.type in ARG_TYPES, self.type
        assert (self.type == "text") == (self.max_length is not None), self.name
        assert self.role is None or self.role in EDGE_ROLES, self.role


@dataclass(frozen=True)
class Command:
    """One command: its kind (stop | read | train | change), dataset need, page button and args."""
    name: str
    kind: str
    needs_data: bool
    help: str
    args: tuple[Arg, ...] = ()
    label: str | None = None
    tooltip: str | None = None
    #: what `status.done/total` count while it runs (None: no progress)
    progress_unit: str | None = None
    arg_names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        assert self.kind in KINDS, self.kind
        object.__setattr__(self, "arg_names", tuple(a.name for a in self.args))


def _edge(help_suffix: str = "") -> tuple[Arg, ...]:
    return (Arg("l", "edge_index", f"layer of the edge{help_suffix}", role="layer", required=True),
            Arg("i", "edge_index", "input node of the edge in layer l", role="in", required=True),
            Arg("j", "edge_index", "output node of the edge in layer l", role="out", required=True))


_TABLE: tuple[Command, ...] = (
    Command("train", "train", True, "train the model (in the background from the page)", label="Train",
            tooltip="Train the model", progress_unit="steps", args=(
                Arg("steps", "int", "number of optimiser steps (0: until paused, the Play button)", 50, low=0,
                    high=100_000, label="steps"),
                Arg("opt", "choice", "optimiser", "LBFGS", choices=OPTIMISERS, label="opt"),
                Arg("lr", "float", "learning rate", 1.0, low=0.0, low_open=True, high=100.0, label="lr",
                    default_by=("opt", {"LBFGS": 1.0, "Adam": 0.01})),
                Arg("lamb", "float", "lamb: regularisation strength", 0.0, low=0.0, high=10.0, label="λ"),
                Arg("update_grid", "bool", "update the spline grids from the data while training", True,
                    label="grid update"))),
    Command("pause", "stop", False, "stop a running fit after its current step", label="Pause",
            tooltip="Stop training after the current step"),
    Command("stop", "stop", False, "the same as pause"),
    Command("cancel", "stop", False, "cancel the running long command (auto-symbolic, refine, inspect); "
            "the model stays as it was", label="Cancel", tooltip="Cancel the running command; the model stays as it was"),
    Command("step", "train", True, "one optimiser step (optimiser, lr and lamb of the last train)", label="Step",
            tooltip="Run one optimiser step"),
    Command("prune", "change", True, "remove unimportant nodes and edges", label="Prune",
            tooltip="Remove unimportant nodes and edges", args=(
                Arg("node_th", "float", "node_th: node importance threshold; empty (None) = auto: pykan's 1e-2, then "
                    "each hidden layer tried with its best node only (kept when it fits about as well)", None,
                    low=0.0, high=10.0, label="node", nullable=True),
                Arg("edge_th", "float", "edge_th: edge importance threshold", 3e-2, low=0.0, high=10.0, label="edge"))),
    Command("refine", "change", False, "re-fit every spline on a finer grid", label="Refine",
            tooltip="Re-fit every spline on a finer grid", progress_unit="layers", args=(
                Arg("grid", "int", "new number of grid intervals (more than the current grid)", 10, required=True,
                    low=1, high=MAX_GRID, above="grid", label="grid"),)),
    Command("auto_symbolic", "change", True, "replace every spline edge by its best-fitting library function",
            label="Auto-symbolic", tooltip="Replace every spline edge by its best-fitting formula",
            progress_unit="edges", args=(
                Arg("lib", "functions", "library functions to try (null: all)", None, nullable=True, label="functions"),
                Arg("weight_simple", "float", "weight_simple: 0 = accuracy only, 1 = simplicity only", 0.8,
                    low=0.0, high=1.0, label="simple"))),
    Command("discover", "change", True, "the whole workflow with checks (sparse fit, prune, fit, refine, fit, "
            "symbolic, fit, snap), ending in a report: recovered, or why not", label="Discover",
            tooltip="Run the whole discovery workflow and say whether a formula was recovered",
            progress_unit="steps", args=(
                Arg("lib", "functions", "library functions to try (null: all)", None, nullable=True,
                    label="functions"),)),
    Command("inspect", "read", False, "open the inspector on an edge (candidates need a dataset)",
            progress_unit="functions", args=_edge()),
    Command("fix_symbolic", "change", True, "replace an edge by a library function", label="Fix",
            tooltip="Replace this edge by the function",
            args=_edge() + (Arg("name", "function", "library function name", required=True),)),
    Command("unfix_symbolic", "change", False, "turn a symbolic edge back into a trainable spline", label="Unfix",
            tooltip="Turn this edge back into a trainable spline", args=_edge()),
    Command("undo", "change", False, "go back to the previous version", label="Undo",
            tooltip="Go back to the previous version"),
    Command("checkout", "change", False, "make a recorded version current",
            tooltip="click to check out", args=(Arg("id", "version", "version id", required=True),)),
    Command("close_inspector", "read", False, "close the inspector", label="Close", tooltip="Close inspector"),
    Command("dataview", "read", False, "data view settings: the inputs on the axes, the output shown, the values "
            "every input is held at off the axes (null: the data's medians) and the cells per axis", args=(
                Arg("x_axis", "int", "input on the horizontal axis", 0, low=0, high=10_000, label="x axis"),
                Arg("y_axis", "int", "input on the vertical axis (models with 2 or more inputs)", 1, low=0,
                    high=10_000, label="y axis"),
                Arg("output", "int", "output shown", 0, low=0, high=10_000, label="output"),
                Arg("held", "floats", "one value per input: where the inputs off the axes are held (null: the "
                    "data's medians)", None, nullable=True, label="held"),
                Arg("resolution", "int", "cells per axis", 100, low=8, high=256, label="cells"))),  # dataview
    # network editing (widget/net_edit.py, core/operations/reshape.py): each a new version; Undo goes back
    Command("add_node", "change", False, "add a node to a hidden layer (its outgoing edges start at zero: the "
            "outputs are unchanged)", label="+ node", tooltip="Add a node to this hidden layer", args=(
                Arg("layer", "int", "hidden layer (1 .. depth-1; 0 holds the inputs)", 1, required=True, low=1,
                    high=1000, label="layer"),)),
    Command("delete_node", "change", False, "remove node i of a hidden layer (its mean effect is kept in the "
            "next layer's bias)", label="− node", tooltip="Remove a node of this hidden layer", args=(
                Arg("layer", "int", "hidden layer (1 .. depth-1)", 1, required=True, low=1, high=1000, label="layer"),
                Arg("i", "int", "node index in that layer", 0, required=True, low=0, high=100_000, label="node"))),
    Command("add_layer", "change", False, "insert a hidden layer at position index of the width: a copy of the "
            "layer before it through identity splines (the outputs are unchanged on the data)", label="+ layer",
            tooltip="Insert a hidden layer (starts as an identity)", args=(
                Arg("index", "int", "position in the width (1 .. depth)", 1, required=True, low=1, high=1000,
                    label="at"),)),
    Command("delete_layer", "change", False, "remove hidden layer index: its two layers become one, fitted to "
            "the old map on the data", label="− layer", tooltip="Remove this hidden layer", args=(
                Arg("index", "int", "hidden layer (1 .. depth-1)", 1, required=True, low=1, high=1000,
                    label="layer"),)),
    Command("regrid", "change", False, "change the grid size and/or the spline order k, refitting every spline "
            "to its current curve", label="Apply grid", tooltip="Refit every spline on this grid and order",
            args=(Arg("grid", "int", "grid intervals (null: keep)", None, low=1, high=MAX_GRID, nullable=True,
                      label="grid"),
                  Arg("k", "int", "spline order k (null: keep)", None, low=1, high=20, nullable=True, label="k"))),
    Command("reinit", "change", False, "fresh parameters with the same width, grid and k (null seed: the next "
            "seed after the model's)", label="Re-initialise", tooltip="Start again from fresh random parameters",
            args=(Arg("seed", "int", "random seed (null: the model's seed + 1)", None, low=0, high=2**31 - 1,
                      nullable=True, label="seed"),)),
    # data panel (widget/data_panel.py): a preset or a typed formula as the model's data, one version each
    Command("set_data", "change", False, "load a dataset: a preset or a formula in x_1..x_n (exactly one), sampled "
            "in [-1, 1]", label="Load data", tooltip="Sample this dataset and make it the model's data", args=(
                Arg("preset", "choice", "a named dataset (null when a formula is given)", None, nullable=True,
                    choices=tuple(PRESETS), label="preset"),
                Arg("formula", "text", "a formula in x_1..x_n, e.g. exp(sin(pi*x_1) + x_2^2) (null with a preset)",
                    None, nullable=True, max_length=FORMULA_MAX_LENGTH, label="formula"),
                Arg("noise", "float", "noise: std of Gaussian noise on the labels (classification: on the points)",
                    0.0, low=0.0, high=1.0, label="noise"),
                Arg("n_train", "int", "number of training points", 500, low=10, high=10_000, label="points"),
                Arg("test_fraction", "float", "share of all points kept for testing", 0.2, low=0.0, low_open=True,
                    high=0.9, label="test share"),
                Arg("seed", "int", "random seed of the sample", 0, low=0, high=2 ** 31 - 1, label="seed"))),
    Command("regenerate", "change", False, "sample the loaded preset or formula again with the next seed",
            label="Regenerate", tooltip="Sample the same dataset again with a new seed"),
    # -- feature commands (data panel, data view, network editing, ...): add new entries above this line --
)
COMMANDS: dict[str, Command] = {c.name: c for c in _TABLE}


def names_of_kind(kind: str) -> frozenset[str]:
    """Names of the commands of one kind (stop | read | train | change)."""
    assert kind in KINDS, kind
    return frozenset(c.name for c in _TABLE if c.kind == kind)


#: commands that never touch the model
READ_ONLY = names_of_kind("read")
#: commands that stop a running fit / long command
STOPPERS = names_of_kind("stop")
#: commands that train (refused while a fit is running)
TRAINERS = names_of_kind("train")
#: commands that change the model (a running fit is paused first)
STRUCTURAL = names_of_kind("change")
#: commands that need a dataset
NEEDS_DATA = frozenset(c.name for c in _TABLE if c.needs_data)


def defaults(name: str) -> dict[str, Any]:
    """The Python defaults of command `name`'s arguments (required args are left out)."""
    return {a.name: a.default for a in COMMANDS[name].args if not a.required}


# ------------------------------------------------------------------ page
def _arg_json(a: Arg) -> dict[str, Any]:
    out: dict[str, Any] = {"name": a.name, "type": a.type, "help": a.help, "default": a.default,
                           "required": a.required, "label": a.label}
    if a.type in ("int", "float"):
        out.update(low=a.low, high=a.high, low_open=a.low_open, high_open=a.high_open, above=a.above)
    if a.type == "choice":
        out["choices"] = list(a.choices)
    if a.max_length is not None:
        out["max_length"] = a.max_length
    if a.nullable:
        out["nullable"] = True
    if a.role is not None:
        out["role"] = a.role
    if a.default_by is not None:
        out["default_by"] = {"arg": a.default_by[0], "values": dict(a.default_by[1])}
    return out


def page_table() -> dict[str, Any]:
    """The table as JSON for the page (the widget's `protocol` trait)."""
    return {
        "version": PROTOCOL_VERSION,
        "commands": {c.name: {"kind": c.kind, "needs_data": c.needs_data, "help": c.help, "label": c.label,
                              "tooltip": c.tooltip, "progress_unit": c.progress_unit,
                              "args": [_arg_json(a) for a in c.args]} for c in _TABLE},
        "optimisers": list(OPTIMISERS),
        "events": list(EVENTS),
    }
