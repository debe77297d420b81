"""Network editing commands (add / delete hidden nodes and layers, regrid, re-initialise): the handlers
behind the protocol's `add_node`, `delete_node`, `add_layer`, `delete_layer`, `regrid` and `reinit`.

Each runs the core edit (kanwidget/core/operations/reshape.py: one version, the model unchanged on
failure) and makes the new model current, as prune does; the dispatcher pauses a widget fit first.
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kanwidget.core.network.model import KAN
    from kanwidget.widget.session import Session


def _follow(s: "Session", model: "KAN") -> "KAN":
    from kanwidget.widget.dispatch import _follow as follow   # late: dispatch imports this module
    return follow(s, model)


def add_node(s: "Session", stop: threading.Event, layer: int) -> tuple[Any, str]:
    before = s.model.width
    new = _follow(s, s.model.add_node(layer))
    return new, f"added a node to layer {layer}: {before} → {new.width}"


def delete_node(s: "Session", stop: threading.Event, layer: int, i: int) -> tuple[Any, str]:
    before = s.model.width
    new = _follow(s, s.model.delete_node(layer, i))
    return new, f"removed node {i} of layer {layer}: {before} → {new.width}"


def add_layer(s: "Session", stop: threading.Event, index: int) -> tuple[Any, str]:
    before = s.model.width
    new = _follow(s, s.model.add_layer(index))
    return new, f"inserted layer {index}: {before} → {new.width}"


def delete_layer(s: "Session", stop: threading.Event, index: int) -> tuple[Any, str]:
    before = s.model.width
    new = _follow(s, s.model.delete_layer(index))
    return new, f"removed layer {index}: {before} → {new.width}"


def regrid(s: "Session", stop: threading.Event, grid: int | None, k: int | None) -> tuple[Any, str]:
    old = (s.model.grid, s.model.k)
    new = _follow(s, s.model.regrid(grid=grid, k=k))
    return new, f"grid {old[0]} → {new.grid}, k {old[1]} → {new.k}"


def reinit(s: "Session", stop: threading.Event, seed: int | None) -> tuple[Any, str]:
    new = _follow(s, s.model.reinit(seed=seed))
    return new, f"re-initialised with seed {new.config['seed']}"
