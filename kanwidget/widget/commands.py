"""Validation of the commands the page (or the Python API) sends to the widget.

Every field is checked: the command name against a fixed set, the args against the keys that
command takes, numbers for type and range, edges against the current model, function names
against the symbolic library, version ids against the history. Strings are compared, never
evaluated. `validate` returns clean keyword arguments or raises `CommandError` with a message
meant for the user.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

OPTIMISERS = ("LBFGS", "Adam")
MAX_STEPS = 100_000
MAX_LR = 100.0
MAX_LAMB = 10.0
MAX_THRESHOLD = 10.0
MAX_GRID = 1000

#: commands that never touch the model
READ_ONLY = frozenset({"inspect", "close_inspector"})
#: commands that stop a running fit
STOPPERS = frozenset({"pause", "stop"})
#: commands that train (refused while a fit is running)
TRAINERS = frozenset({"train", "step"})
#: commands that change the model (a running fit is paused first)
STRUCTURAL = frozenset({"prune", "refine", "auto_symbolic", "fix_symbolic", "unfix_symbolic", "undo", "checkout"})
COMMANDS = READ_ONLY | STOPPERS | TRAINERS | STRUCTURAL


class CommandError(ValueError):
    """A command from the page (or the Python API) that cannot be run as given."""


@dataclass(frozen=True)
class ModelInfo:
    """What validation needs to know about the current model."""
    width: Sequence[int]
    grid: int
    library: Sequence[str]
    version_ids: Sequence[int]


# ------------------------------------------------------------------ fields
def _number(name: str, value: Any, low: float, high: float, low_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CommandError(f"{name} must be a number, got {_show(value)}")
    value = float(value)
    if not math.isfinite(value):
        raise CommandError(f"{name} must be a finite number, got {value}")
    if (value <= low if low_open else value < low) or value > high:
        bracket = "(" if low_open else "["
        raise CommandError(f"{name} must be in {bracket}{_fmt(low)}, {_fmt(high)}], got {_fmt(value)}")
    return value


def _integer(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        value = int(value)  # JSON from the page may carry 50.0 for 50
    if isinstance(value, bool) or not isinstance(value, int):
        raise CommandError(f"{name} must be an integer, got {_show(value)}")
    if not low <= value <= high:
        raise CommandError(f"{name} must be an integer in [{low}, {high}], got {value}")
    return value


def _boolean(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise CommandError(f"{name} must be true or false, got {_show(value)}")
    return value


def _choice(name: str, value: Any, choices: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise CommandError(f"{name} must be one of {', '.join(choices)}; got {_show(value)}")
    return value


def _function_name(name: str, value: Any, library: Sequence[str]) -> str:
    if not isinstance(value, str):
        raise CommandError(f"{name} must be a function name (a string), got {_show(value)}")
    if value not in library:
        raise CommandError(f"unknown function {_show(value)}; the library has: {', '.join(library)}")
    return value


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _fmt(x: float) -> str:
    return f"{x:g}"


# ------------------------------------------------------------- per command
def _edge(args: Mapping[str, Any], info: ModelInfo) -> dict[str, int]:
    depth = len(info.width) - 1
    l = _integer("l", args["l"], 0, depth - 1)
    i = _integer("i", args["i"], 0, info.width[l] - 1)
    j = _integer("j", args["j"], 0, info.width[l + 1] - 1)
    return {"l": l, "i": i, "j": j}


def _train(args: Mapping[str, Any], info: ModelInfo) -> dict[str, Any]:
    return {"steps": _integer("steps", args["steps"], 1, MAX_STEPS),
            "opt": _choice("opt", args["opt"], OPTIMISERS),
            "lr": _number("lr", args["lr"], 0.0, MAX_LR, low_open=True),
            "lamb": _number("lamb", args["lamb"], 0.0, MAX_LAMB),
            "update_grid": _boolean("update_grid", args["update_grid"])}


def _prune(args: Mapping[str, Any], info: ModelInfo) -> dict[str, Any]:
    return {"node_th": _number("node_th", args["node_th"], 0.0, MAX_THRESHOLD),
            "edge_th": _number("edge_th", args["edge_th"], 0.0, MAX_THRESHOLD)}


def _refine(args: Mapping[str, Any], info: ModelInfo) -> dict[str, Any]:
    grid = args["grid"]
    if info.grid >= MAX_GRID:
        raise CommandError(f"the grid already has {info.grid} intervals, the most refine allows ({MAX_GRID})")
    return {"grid": _integer("grid", grid, info.grid + 1, MAX_GRID)}


def _auto_symbolic(args: Mapping[str, Any], info: ModelInfo) -> dict[str, Any]:
    lib = args["lib"]
    if lib is not None:
        if not isinstance(lib, (list, tuple)):
            raise CommandError(f"lib must be a list of function names, got {_show(lib)}")
        if not lib:
            raise CommandError("lib is empty: choose at least one function for auto-symbolic")
        names: list[str] = []
        for name in lib:
            name = _function_name("lib entry", name, info.library)
            if name not in names:
                names.append(name)
        lib = names
    return {"lib": lib, "weight_simple": _number("weight_simple", args["weight_simple"], 0.0, 1.0)}


def _fix(args: Mapping[str, Any], info: ModelInfo) -> dict[str, Any]:
    out = _edge(args, info)
    out["name"] = _function_name("name", args["name"], info.library)
    return out


def _checkout(args: Mapping[str, Any], info: ModelInfo) -> dict[str, Any]:
    vid = args["id"]
    if isinstance(vid, float) and math.isfinite(vid) and vid == int(vid):
        vid = int(vid)
    if isinstance(vid, bool) or not isinstance(vid, int):
        raise CommandError(f"id must be an integer version id, got {_show(vid)}")
    if vid not in info.version_ids:
        known = ", ".join(str(v) for v in info.version_ids) or "none"
        raise CommandError(f"unknown version {vid}; recorded versions: {known}")
    return {"id": vid}


def _none(args: Mapping[str, Any], info: ModelInfo) -> dict[str, Any]:
    return {}


# name -> (keys it takes, validator)
SPECS: dict[str, tuple[tuple[str, ...], Callable[[Mapping[str, Any], ModelInfo], dict[str, Any]]]] = {
    "train": (("steps", "opt", "lr", "lamb", "update_grid"), _train),
    "pause": ((), _none),
    "stop": ((), _none),
    "step": ((), _none),
    "prune": (("node_th", "edge_th"), _prune),
    "refine": (("grid",), _refine),
    "auto_symbolic": (("lib", "weight_simple"), _auto_symbolic),
    "inspect": (("l", "i", "j"), _edge),
    "fix_symbolic": (("l", "i", "j", "name"), _fix),
    "unfix_symbolic": (("l", "i", "j"), _edge),
    "undo": ((), _none),
    "checkout": (("id",), _checkout),
    "close_inspector": ((), _none),
}
assert set(SPECS) == COMMANDS


def parse_message(content: Any) -> tuple[str, dict[str, Any]]:
    """(name, raw args) of a command message; raises CommandError for anything else."""
    if not isinstance(content, Mapping):
        raise CommandError(f"message must be an object, got {_show(content)}")
    kind = content.get("type")
    if kind != "command":
        raise CommandError(f"unknown message type {_show(kind)}; the widget accepts type 'command'")
    name = content.get("name")
    if not isinstance(name, str) or name not in COMMANDS:
        raise CommandError(f"unknown command {_show(name)}; valid: {', '.join(sorted(COMMANDS))}")
    args = content.get("args", {})
    if args is None:
        args = {}
    if not isinstance(args, Mapping):
        raise CommandError(f"{name}: args must be an object, got {_show(args)}")
    unknown = set(content) - {"type", "name", "args"}
    if unknown:
        raise CommandError(f"{name}: unexpected message field(s) {', '.join(sorted(map(str, unknown)))}")
    return name, dict(args)


def validate(name: str, args: Mapping[str, Any], info: ModelInfo) -> dict[str, Any]:
    """Check a command's args against its spec and the model; return clean keyword arguments."""
    if name not in SPECS:
        raise CommandError(f"unknown command {_show(name)}; valid: {', '.join(sorted(COMMANDS))}")
    if not isinstance(args, Mapping):
        raise CommandError(f"{name}: args must be an object, got {_show(args)}")
    keys, check = SPECS[name]
    unknown = [str(k) for k in args if k not in keys]
    if unknown:
        takes = ", ".join(keys) if keys else "no arguments"
        raise CommandError(f"{name}: unknown argument(s) {', '.join(sorted(unknown))}; it takes {takes}")
    missing = [k for k in keys if k not in args]
    if missing:
        raise CommandError(f"{name}: missing argument(s) {', '.join(missing)}")
    try:
        return check(args, info)
    except CommandError as exc:
        raise CommandError(f"{name}: {exc}") from None
