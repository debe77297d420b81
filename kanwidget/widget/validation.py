"""Checking command messages against the protocol table (kanwidget.widget.protocol): `parse_message` reads a
message from the page, `validate` checks a command's arguments against the table and the current model and
returns clean keyword arguments. Every error is a CommandError that names the argument; strings are compared or
length-checked, never evaluated."""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

from kanwidget.widget.protocol import COMMANDS, Arg, CommandError, ModelInfo


def _show(value: Any) -> str:
    try:
        text = repr(value)
    except ValueError:             # an int too long to print (sys.set_int_max_str_digits)
        return f"an integer of about {int(value.bit_length() * 0.30103)} digits"
    return text if len(text) <= 60 else text[:57] + "..."


def _fmt(x: float) -> str:
    return f"{x:g}"


def _range_text(a: Arg, low: float | None) -> str:
    lo = "-inf" if low is None else _fmt(low)
    hi = "inf" if a.high is None else _fmt(a.high)
    return f"{'(' if a.low_open else '['}{lo}, {hi}{')' if a.high_open else ']'}"


def _out_of_range(value: float, low: float | None, a: Arg) -> bool:
    if low is not None and (value <= low if a.low_open else value < low):
        return True
    return a.high is not None and (value >= a.high if a.high_open else value > a.high)


def _as_int(value: Any) -> Any:
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        return int(value)  # JSON from the page may carry 50.0 for 50
    return value


def _check_int(a: Arg, value: Any, low: float | None, high: float | None) -> int:
    value = _as_int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise CommandError(f"{a.name} must be an integer, got {_show(value)}")
    if (low is not None and value < low) or (high is not None and value > high):
        lo = "-inf" if low is None else int(low)
        hi = "inf" if high is None else int(high)
        raise CommandError(f"{a.name} must be an integer in [{lo}, {hi}], got {_show(value)}")
    return value


def _check_float(a: Arg, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CommandError(f"{a.name} must be a number, got {_show(value)}")
    try:
        number = float(value)
    except OverflowError:
        raise CommandError(f"{a.name} is beyond the float range, got {_show(value)}") from None
    if not math.isfinite(number):
        raise CommandError(f"{a.name} must be a finite number, got {number}")
    if _out_of_range(number, a.low, a):
        raise CommandError(f"{a.name} must be in {_range_text(a, a.low)}, got {_fmt(number)}")
    return number


def _check_function(what: str, value: Any, library: Sequence[str]) -> str:
    if not isinstance(value, str):
        raise CommandError(f"{what} must be a function name (a string), got {_show(value)}")
    if value not in library:
        raise CommandError(f"unknown function {_show(value)}; the library has: {', '.join(library)}")
    return value


def _check_functions(a: Arg, value: Any, library: Sequence[str]) -> list[str] | None:
    if value is None and a.nullable:
        return None
    if not isinstance(value, (list, tuple)):
        raise CommandError(f"{a.name} must be a list of function names, got {_show(value)}")
    if not value:
        raise CommandError(f"{a.name} is empty: choose at least one function")
    names: list[str] = []
    for item in value:
        item = _check_function(f"{a.name} entry", item, library)
        if item not in names:
            names.append(item)
    return names


def _check_floats(a: Arg, value: Any) -> list[float] | None:
    if value is None and a.nullable:
        return None
    if not isinstance(value, (list, tuple)):
        raise CommandError(f"{a.name} must be a list of numbers, got {_show(value)}")
    return [_check_float(Arg(f"{a.name} entry", "float", a.help), v) for v in value]


def _check_version(a: Arg, value: Any, info: ModelInfo) -> int:
    value = _as_int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise CommandError(f"{a.name} must be an integer version id, got {_show(value)}")
    if value not in info.version_ids:
        known = ", ".join(str(v) for v in info.version_ids) or "none"
        raise CommandError(f"unknown version {_show(value)}; recorded versions: {known}")
    return value


def _edge_high(a: Arg, clean: Mapping[str, Any], info: ModelInfo) -> int:
    if a.role == "layer":
        return len(info.width) - 2
    layer = clean.get("l", 0)
    return info.width[layer if a.role == "in" else layer + 1] - 1


def _check_text(a: Arg, value: Any) -> str:
    if not isinstance(value, str):
        raise CommandError(f"{a.name} must be text, got {_show(value)}")
    if len(value) > (a.max_length or 0):
        raise CommandError(f"{a.name} is too long: {len(value)} characters (the limit is {a.max_length})")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise CommandError(f"{a.name} contains a control character (newlines and tabs are not accepted)")
    return value


def _check_arg(a: Arg, value: Any, clean: Mapping[str, Any], info: ModelInfo) -> Any:
    if value is None and a.nullable:
        return None
    if a.type == "text":
        return _check_text(a, value)
    if a.type == "int":
        low = a.low
        if a.above is not None:
            current = getattr(info, a.above)
            if a.high is not None and current >= a.high:
                raise CommandError(f"the {a.above} already has {current} intervals, the most allowed ({_fmt(a.high)})")
            low = current + 1 if low is None else max(low, current + 1)
        return _check_int(a, value, low, a.high)
    if a.type == "float":
        return _check_float(a, value)
    if a.type == "bool":
        if not isinstance(value, bool):
            raise CommandError(f"{a.name} must be true or false, got {_show(value)}")
        return value
    if a.type == "choice":
        if not isinstance(value, str) or value not in a.choices:
            raise CommandError(f"{a.name} must be one of {', '.join(a.choices)}; got {_show(value)}")
        return value
    if a.type == "function":
        return _check_function(a.name, value, info.library)
    if a.type == "functions":
        return _check_functions(a, value, info.library)
    if a.type == "edge_index":
        return _check_int(a, value, 0, _edge_high(a, clean, info))
    if a.type == "floats":
        return _check_floats(a, value)
    return _check_version(a, value, info)


def parse_message(content: Any) -> tuple[str, dict[str, Any]]:
    """(name, raw args) of a command message; raises CommandError for anything else."""
    if not isinstance(content, Mapping):
        raise CommandError(f"message must be an object, got {_show(content)}")
    kind = content.get("type")
    if not isinstance(kind, str) or kind != "command":
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
        raise CommandError(f"{name}: unexpected message field(s) {', '.join(sorted(map(_show, unknown)))}")
    return name, dict(args)


def validate(name: str, args: Mapping[str, Any], info: ModelInfo) -> dict[str, Any]:
    """Check a command's args against the table and the model; return clean keyword arguments."""
    if not isinstance(name, str) or name not in COMMANDS:
        raise CommandError(f"unknown command {_show(name)}; valid: {', '.join(sorted(COMMANDS))}")
    if not isinstance(args, Mapping):
        raise CommandError(f"{name}: args must be an object, got {_show(args)}")
    command = COMMANDS[name]
    unknown = [_show(k) if not isinstance(k, str) else k for k in args if k not in command.arg_names]
    if unknown:
        takes = ", ".join(command.arg_names) if command.args else "no arguments"
        raise CommandError(f"{name}: unknown argument(s) {', '.join(sorted(unknown))}; it takes {takes}")
    missing = [k for k in command.arg_names if k not in args]
    if missing:
        raise CommandError(f"{name}: missing argument(s) {', '.join(missing)}")
    clean: dict[str, Any] = {}
    try:
        for a in command.args:
            clean[a.name] = _check_arg(a, args[a.name], clean, info)
    except CommandError as exc:
        raise CommandError(f"{name}: {exc}") from None
    return clean
