"""pykan checkpoints: `model.saveckpt(path)` and `KAN.loadckpt(path)` in pykan 0.2.x's file format.

A checkpoint is three files next to each other, named by a prefix: `{path}_config.yml` (the options and
the symbolic function names), `{path}_state` (pykan's state_dict, torch.save) and `{path}_cache_data`
(pykan's last forward input; written as None, never read). Loading parses the YAML as data only
(`yaml.safe_load` when PyYAML is installed, else a small parser for the block lists pykan writes), checks
the config and the tensors' names, shapes and dtypes before building anything, and reads the state with
`torch.load(weights_only=True)`: nothing in a checkpoint is executed. The conversion to kanwidget is the
one `KAN.from_pykan` uses (`pykan_import.py`). `enable_auto_save` writes one checkpoint per recorded
version, the way pykan's `auto_save=True` does -- only when called.
"""
from __future__ import annotations

import json
import math
import os
import re
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from kanwidget.core.network import limits
from kanwidget.core.network.state import ModelState
from kanwidget.core.operations.pykan_import import BASE_FUNS, PykanParts, kan_from_parts, layer_sizes

if TYPE_CHECKING:
    from kanwidget.core.network.model import KAN

CONFIG_SUFFIX, STATE_SUFFIX, CACHE_SUFFIX = "_config.yml", "_state", "_cache_data"
MAX_CONFIG_BYTES = 64 * 2 ** 20
FUNS_KEY = re.compile(r"symbolic\.funs_name\.(\d+)$")
CONFIG_KEYS = {"width", "grid", "k", "mult_arity", "base_fun_name", "symbolic_enabled", "affine_trainable",
               "grid_eps", "grid_range", "sp_trainable", "sb_trainable", "state_id", "auto_save", "ckpt_path",
               "round", "device"}


# ------------------------------------------------------------------------- save
def saveckpt(model: "KAN", path: str | os.PathLike[str] = "model") -> None:
    """Write the model as a pykan checkpoint: `{path}_config.yml`, `{path}_state`, `{path}_cache_data`.

    pykan's `KAN.loadckpt(path)` reads it back (no multiplication nodes, node scales 1, subnode biases 0).
    """
    with model.lineage.guard("save a checkpoint"):
        state = model.snapshot()
    write_checkpoint(state, path)


def write_checkpoint(state: ModelState, path: str | os.PathLike[str]) -> None:
    """Write a ModelState in pykan's checkpoint format under the prefix `path`."""
    prefix = os.fspath(path)
    config, tensors = pykan_form(state)
    with open(prefix + CONFIG_SUFFIX, "w", encoding="utf-8") as out:
        out.write(dump_config(config))
    torch.save(tensors, prefix + STATE_SUFFIX)
    torch.save(None, prefix + CACHE_SUFFIX)


def pykan_form(state: ModelState) -> tuple[dict[str, Any], dict[str, Tensor]]:
    """(pykan config dict, pykan state_dict) of a kanwidget ModelState."""
    config = state.config_dict()
    if config.get("mult_arity"):   # the layout of multiplication nodes is not written in pykan's form yet
        raise ValueError("saveckpt: models with multiplication nodes have no pykan checkpoint form yet; "
                         "use model.save(path)")
    width = list(state.width)
    t = state.tensors
    tensors: dict[str, Tensor] = {}
    funs = {}
    for l in range(len(width) - 1):
        n_out = width[l + 1]
        mask, sym = t[f"layers.{l}.mask"], t[f"layers.{l}.sym_mask"] > 0
        symbolic = sym & (mask != 0)
        ones, zeros = torch.ones(n_out, dtype=mask.dtype), torch.zeros(n_out, dtype=mask.dtype)
        tensors.update({f"node_bias_{l}": t[f"layers.{l}.bias"].clone(), f"node_scale_{l}": ones,
                        f"subnode_bias_{l}": zeros, f"subnode_scale_{l}": ones.clone()})
        names, ids = state.sym_names[l], t[f"layers.{l}.sym_fun_ids"].tolist()
        funs[f"symbolic.funs_name.{l}"] = [[names[ids[i][j]] if symbolic[i, j] else "0" for i in range(width[l])]
                                           for j in range(n_out)]
        for name in ("grid", "coef", "scale_base", "scale_sp"):
            tensors[f"act_fun.{l}.{name}"] = t[f"layers.{l}.{name}"].clone()
        tensors[f"act_fun.{l}.mask"] = torch.where(sym, torch.zeros_like(mask), mask)
        tensors[f"symbolic_fun.{l}.mask"] = torch.where(symbolic, mask, torch.zeros_like(mask)).t().contiguous()
        affine = torch.where(symbolic[..., None], t[f"layers.{l}.sym_affine"], torch.zeros(4, dtype=mask.dtype))
        tensors[f"symbolic_fun.{l}.affine"] = affine.permute(1, 0, 2).contiguous()
    grids = [t[f"layers.{l}.coef"].shape[-1] - int(config["k"]) for l in range(len(width) - 1)]
    pykan_config = dict(width=[[w, 0] for w in width], grid=grids[0] if len(set(grids)) == 1 else grids,
                        k=int(config["k"]), mult_arity=2, base_fun_name=config.get("base_fun", "silu"),
                        symbolic_enabled=True, affine_trainable=False, grid_eps=float(config.get("grid_eps", 0.02)),
                        grid_range=[float(v) for v in config.get("grid_range", (-1.0, 1.0))], sp_trainable=True,
                        sb_trainable=True, state_id=0, auto_save=False, ckpt_path="./model", round=0, device="cpu")
    pykan_config.update(funs)
    return pykan_config, tensors


# ------------------------------------------------------------------------- load
def loadckpt(cls: type["KAN"], path: str | os.PathLike[str] = "model") -> "KAN":
    """Read a pykan checkpoint (the prefix `path` of `{path}_config.yml` and `{path}_state`) as a KAN.

    Only data is read (YAML parsed as data, tensors with weights_only=True); config and tensors are checked
    before anything is built. Errors: FileNotFoundError (missing files), ValueError (bad or foreign content).
    """
    prefix = os.fspath(path)
    config_path, state_path = prefix + CONFIG_SUFFIX, prefix + STATE_SUFFIX
    for needed in (config_path, state_path):
        if not os.path.isfile(needed):
            raise FileNotFoundError(f"no pykan checkpoint at {prefix!r}: {needed} is missing{_hint(prefix)}")
    if os.path.getsize(config_path) > MAX_CONFIG_BYTES:
        raise ValueError(f"{config_path} is larger than {MAX_CONFIG_BYTES} bytes; not a pykan config")
    with open(config_path, encoding="utf-8") as stream:
        try:
            config = parse_config(stream.read())
        except ValueError as exc:
            raise ValueError(f"{config_path} is not a readable pykan config: {exc}") from None
    parts = _parts_of_config(config, config_path)
    try:
        state: Any = torch.load(state_path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means "not a plain state_dict"
        raise ValueError(f"{state_path} is not a readable pykan state ({type(exc).__name__}: {exc})") from None
    if not isinstance(state, dict) or not all(isinstance(key, str) for key in state):
        raise ValueError(f"{state_path} is not a pykan state_dict (a mapping of names to tensors)")
    parts.state = state
    return kan_from_parts(cls, parts)


def _hint(prefix: str) -> str:
    """Which checkpoint prefixes a folder holds, when `prefix` is a folder (pykan's ckpt_path)."""
    if not os.path.isdir(prefix):
        return ""
    found = sorted(name[:-len(CONFIG_SUFFIX)] for name in os.listdir(prefix) if name.endswith(CONFIG_SUFFIX))
    shown = ", ".join(os.path.join(prefix, name) for name in found[:5])
    return f"; {prefix} is a folder: pass a checkpoint prefix inside it, e.g. {shown}" if found else ""


def _parts_of_config(config: Any, where: str) -> PykanParts:
    """The config's options, checked (sizes before anything is allocated)."""
    if not isinstance(config, dict):
        raise ValueError(f"{where} must hold a mapping of options, got {type(config).__name__}")
    unknown = sorted(str(key) for key in config if key not in CONFIG_KEYS and not FUNS_KEY.match(str(key)))
    if unknown:
        raise ValueError(f"{where} has unknown key(s) {', '.join(unknown[:5])} (this reader knows pykan 0.2.x)")
    for key in ("width", "k", "grid"):
        if key not in config:
            raise ValueError(f"{where} has no {key!r}")
    sizes = layer_sizes(config["width"], f"{where}: width")
    depth = len(sizes) - 1
    grids = config["grid"] if isinstance(config["grid"], list) else [config["grid"]]
    ks = config["k"] if isinstance(config["k"], list) else [config["k"]]
    for name, values in (("grid", grids), ("k", ks)):
        if not values or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in values):
            raise ValueError(f"{where}: {name} must be a positive integer (or one per layer), got {config[name]!r:.60}")
    if max(ks) > limits.MAX_K or max(grids) > limits.MAX_GRID:
        raise ValueError(f"{where}: grid {config['grid']!r:.40} / k {config['k']!r:.40} beyond the limits "
                         f"(grid <= {limits.MAX_GRID}, k <= {limits.MAX_K})")
    limits.check_model_size(sizes, max(grids), max(ks), torch.float32)
    base_fun = config.get("base_fun_name", "silu")
    if base_fun not in BASE_FUNS:
        raise ValueError(f"{where}: base_fun_name {base_fun!r:.60} is not one of {', '.join(BASE_FUNS)}")
    funs_name = []
    for l in range(depth):
        table = config.get(f"symbolic.funs_name.{l}")
        if not (isinstance(table, list) and len(table) == sizes[l + 1]
                and all(isinstance(row, list) and len(row) == sizes[l] and all(isinstance(n, str) for n in row)
                        for row in table)):
            raise ValueError(f"{where}: symbolic.funs_name.{l} must be {sizes[l + 1]} lists of {sizes[l]} names")
        funs_name.append(table)
    extra = sorted(int(m.group(1)) for key in config if (m := FUNS_KEY.match(str(key))) and int(m.group(1)) >= depth)
    if extra:
        raise ValueError(f"{where}: symbolic.funs_name.{extra[0]} given but width {sizes} has {depth} layers")
    if not isinstance(config.get("symbolic_enabled", True), bool):
        raise ValueError(f"{where}: symbolic_enabled must be true or false")
    return PykanParts(width=config["width"], k=config["k"], base_fun=base_fun, funs_name=funs_name, state={},
                      symbolic_enabled=config.get("symbolic_enabled", True), grid_eps=config.get("grid_eps", 0.02),
                      grid_range=config.get("grid_range", [-1.0, 1.0]), source=f"the checkpoint {where}")


# ------------------------------------------------------------------- auto-save
def enable_auto_save(model: "KAN", ckpt_path: str | os.PathLike[str] = "./model") -> None:
    """Write a pykan checkpoint `{ckpt_path}/0.{version id}` for every version this model's lineage records
    from now on (and for the current one), with pykan's `history.txt` log. Only called when the user asks."""
    folder = os.fspath(ckpt_path)
    os.makedirs(folder, exist_ok=True)
    log = os.path.join(folder, "history.txt")

    def write(version: Any) -> None:
        write_checkpoint(version.snapshot, os.path.join(folder, f"0.{version.id}"))
        with open(log, "a", encoding="utf-8") as out:
            out.write(f"{version.label} => 0.{version.id}\n")

    with open(log, "w", encoding="utf-8") as out:
        out.write("### Round 0 ###\n")
    model.on("version", write)
    current = model.lineage.current
    if current is not None:
        write(model.lineage.get(current))


# ------------------------------------------------------------------------ YAML
def dump_config(config: dict[str, Any]) -> str:
    """Block-style YAML of a config (keys sorted, as PyYAML's dump writes it); strings always quoted."""
    lines: list[str] = []
    for key in sorted(config):
        value = config[key]
        if isinstance(value, list) and value:
            lines.append(f"{key}:")
            _dump_list(value, "", lines)
        else:
            lines.append(f"{key}: {_dump_scalar(value)}")
    return "\n".join(lines) + "\n"


def _dump_list(values: list[Any], indent: str, lines: list[str]) -> None:
    for value in values:
        if isinstance(value, list) and value:
            sub: list[str] = []
            _dump_list(value, "", sub)
            lines.append(f"{indent}- {sub[0]}")
            lines.extend(f"{indent}  {line}" for line in sub[1:])
        else:
            lines.append(f"{indent}- {_dump_scalar(value)}")


def _dump_scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot write the non-finite number {value} in a checkpoint config")
        text = repr(value)
        if "e" in text and "." not in text.split("e")[0]:       # YAML 1.1 floats need a dot: 1e-05 -> 1.0e-05
            mantissa, exponent = text.split("e")
            text = f"{mantissa}.0e{exponent if exponent[0] in '+-' else '+' + exponent}"
        return text
    if isinstance(value, list):
        return "[]"
    return "'" + str(value).replace("'", "''") + "'"


def parse_config(text: str) -> Any:
    """The config as data: yaml.safe_load when PyYAML is installed, else `parse_simple_yaml`."""
    try:
        import yaml
    except ImportError:
        return parse_simple_yaml(text)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(str(exc).splitlines()[0]) from None
    except RecursionError:
        raise ValueError("lists nested too deeply") from None


_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)$")
_FLOAT = re.compile(r"[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$")
_SPECIAL = {"true": True, "false": False, "null": None, "~": None, ".inf": math.inf, "-.inf": -math.inf,
            ".nan": math.nan}


def parse_simple_yaml(text: str) -> dict[str, Any]:
    """The YAML subset pykan writes: top-level `key: scalar` and `key:` + block lists (`- - 2`), quoted or
    plain scalars, `[]`. Anything else is a ValueError naming the line."""
    lines = [(n + 1, len(raw) - len(raw.lstrip(" ")), raw.strip()) for n, raw in enumerate(text.splitlines())
             if raw.strip() and not raw.lstrip().startswith("#")]
    out: dict[str, Any] = {}
    pos = 0
    while pos < len(lines):
        number, indent, body = lines[pos]
        key, sep, rest = body.partition(":")
        if indent or not sep or not key or (rest and not rest.startswith(" ")):
            raise ValueError(f"line {number}: expected 'key: value', got {body!r:.60}")
        if key in out:
            raise ValueError(f"line {number}: duplicate key {key!r}")
        if rest.strip():
            out[key] = _scalar(rest.strip(), number)
            pos += 1
        else:
            out[key], pos = _block_list(lines, pos + 1, 0, 0)
    return out


def _block_list(lines: list[tuple[int, int, str]], pos: int, indent: int, depth: int) -> tuple[list[Any], int]:
    if depth > 8:
        raise ValueError(f"line {lines[min(pos, len(lines) - 1)][0]}: lists nested too deeply")
    items: list[Any] = []
    while pos < len(lines):
        number, ind, body = lines[pos]
        if ind != indent or not (body == "-" or body.startswith("- ")):
            break
        rest = body[1:].strip()
        if rest == "" or rest == "-" or rest.startswith("- "):
            if rest:                    # "- - x": a nested list starting on this line, two columns in
                lines[pos] = (number, indent + 2, rest)
            else:
                pos += 1
            if pos >= len(lines) or lines[pos][1] <= indent:
                raise ValueError(f"line {number}: empty list item")
            item, pos = _block_list(lines, pos, lines[pos][1], depth + 1)
            items.append(item)
        else:
            items.append(_scalar(rest, number))
            pos += 1
    if pos < len(lines) and lines[pos][1] > indent:
        raise ValueError(f"line {lines[pos][0]}: unexpected indentation")
    return items, pos


def _scalar(text: str, number: int) -> Any:
    if text == "[]":
        return []
    if text.startswith("'"):
        if len(text) < 2 or not text.endswith("'") or "'" in text[1:-1].replace("''", ""):
            raise ValueError(f"line {number}: bad quoted string {text!r:.60}")
        return text[1:-1].replace("''", "'")
    if text.startswith('"'):
        try:
            value = json.loads(text)
        except ValueError:
            raise ValueError(f"line {number}: bad quoted string {text!r:.60}") from None
        if not isinstance(value, str):
            raise ValueError(f"line {number}: bad quoted string {text!r:.60}")
        return value
    if text[0] in "[{&*!|>%@`":
        raise ValueError(f"line {number}: unsupported YAML {text!r:.60}")
    if text.lower() in _SPECIAL:
        return _SPECIAL[text.lower()]
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text)
    return text
