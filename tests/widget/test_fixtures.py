"""Shared page fixtures, produced from a REAL widget and read by the JS unit tests (js/test/fixtures).

A small KAN [2,3,1] (grid 5, fixed seed) is trained a few steps, one edge is made symbolic and one
edge inspected; the traits the widget then holds are exactly the payloads the page receives.

    KANWIDGET_WRITE_FIXTURES=1 pytest tests/widget/test_fixtures.py     # (re)writes js/test/fixtures/*.json

Without the variable the test checks that the committed fixtures still match what the code produces:
the structure (keys, types, list lengths) and the protocol table exactly, numbers loosely (they move
across platforms and with numeric changes of the core), so a payload or protocol change that is not
mirrored in the fixtures (and so in the JS tests) fails here.
"""
from __future__ import annotations

import base64
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from kanwidget import KAN, KANWidget, create_dataset
from kanwidget.widget.protocol import page_table
from widget_helpers import target

FIXTURES = Path(__file__).resolve().parents[2] / "js" / "test" / "fixtures"
WRITE = os.environ.get("KANWIDGET_WRITE_FIXTURES") == "1"
#: traits written as JSON as they are; the Bytes traits go to {"base64", "bytes"} files
JSON_TRAITS = ("graph", "formula", "versions", "inspector", "status", "library", "has_data", "protocol")
BYTES_TRAITS = ("curves", "metrics")
#: strings whose text carries computed numbers (compared by type only)
NUMERIC_TEXT = {"latex", "sympy", "text", "name"}
#: numbers are compared loosely: platforms (and honest numeric changes of the core, e.g. a different
#: line search) move them; what must not drift silently is the shape of the payloads and the table
REL, ABS = 0.5, 0.5


def produce() -> dict[str, Any]:
    """Every synced trait of a real widget after train, fix_symbolic and inspect (JSON-able)."""
    data = create_dataset(target, n_var=2, train_num=200, test_num=100, seed=0)
    model = KAN(width=[2, 3, 1], grid=5, k=3, seed=0)
    w = KANWidget(model, data)
    try:
        w.train(steps=5, opt="LBFGS", lr=1.0, update_grid=True, block=True)
        w.fix_symbolic(0, 0, 0, "sin")
        w.inspect(0, 1, 0)
        out: dict[str, Any] = {name: json.loads(json.dumps(getattr(w, name), allow_nan=False)) for name in JSON_TRAITS}
        for name in BYTES_TRAITS:
            raw = bytes(getattr(w, name))
            out[name] = {"base64": base64.b64encode(raw).decode("ascii"), "bytes": len(raw)}
        w.target = target                                   # dataview: the same model with its target known
        w.configure_dataview(resolution=40)
        out.update(_dataview(w, "dataview"))
        return out
    finally:
        w.close()


def produce_mult() -> dict[str, Any]:
    """graph + curves of a real model with a multiplication node (KAN [2, [1, 1], 1]): the page draws it as x."""
    data = create_dataset(lambda x: x[:, [0]] * x[:, [1]], n_var=2, train_num=200, test_num=100, seed=0)
    w = KANWidget(KAN(width=[2, [1, 1], 1], grid=5, k=3, seed=0), data)
    try:
        raw = bytes(w.curves)
        return {"mult_graph": json.loads(json.dumps(w.graph, allow_nan=False)),
                "mult_curves": {"base64": base64.b64encode(raw).decode("ascii"), "bytes": len(raw)}}
    finally:
        w.close()


def _dataview(w: KANWidget, name: str) -> dict[str, Any]:
    """The data view's meta (without its timing) and bytes as fixtures `name` and `name`_data."""
    meta = {k: v for k, v in w.dataview.items() if k != "cost_ms"}
    raw = bytes(w.dataview_data)
    return {name: json.loads(json.dumps(meta, allow_nan=False)),
            f"{name}_data": {"base64": base64.b64encode(raw).decode("ascii"), "bytes": len(raw)}}


def produce_slice() -> dict[str, Any]:
    """The data view of a 3-input model (a slice: x_1, x_2 on the axes, x_3 held), no target, 2 outputs."""
    data = create_dataset(lambda x: torch.cat([x[:, [0]] * x[:, [2]], x[:, [1]]], dim=1), n_var=3,
                          train_num=120, test_num=40, seed=0)
    w = KANWidget(KAN(width=[3, 2, 2], grid=3, k=3, seed=0), data)
    try:
        w.configure_dataview(resolution=24)
        return _dataview(w, "dataview_slice")
    finally:
        w.close()


def _floats(blob: dict[str, Any]) -> np.ndarray:
    return np.frombuffer(base64.b64decode(blob["base64"]), dtype="<f4")


def _compare(ours: Any, theirs: Any, path: str, problems: list[str], key: str = "") -> None:
    """Structure exactly, ints exactly, floats within REL/ABS, numeric-bearing strings by type only."""
    if isinstance(ours, bool) or isinstance(theirs, bool) or ours is None or theirs is None:
        if ours != theirs:
            problems.append(f"{path}: {theirs!r} (fixture) != {ours!r} (now)")
    elif isinstance(ours, (int, float)) and isinstance(theirs, (int, float)):
        if isinstance(ours, int) and isinstance(theirs, int):
            if ours != theirs:
                problems.append(f"{path}: {theirs} (fixture) != {ours} (now)")
        elif not math.isclose(ours, theirs, rel_tol=REL, abs_tol=ABS):
            problems.append(f"{path}: {theirs} (fixture) vs {ours} (now)")
    elif isinstance(ours, str) and isinstance(theirs, str):
        if key not in NUMERIC_TEXT and ours != theirs:
            problems.append(f"{path}: {theirs!r} (fixture) != {ours!r} (now)")
    elif isinstance(ours, dict) and isinstance(theirs, dict):
        if set(ours) != set(theirs):
            problems.append(f"{path}: keys {sorted(theirs)} (fixture) != {sorted(ours)} (now)")
        for k in set(ours) & set(theirs):
            _compare(ours[k], theirs[k], f"{path}.{k}", problems, k)
    elif isinstance(ours, list) and isinstance(theirs, list):
        if len(ours) != len(theirs):
            problems.append(f"{path}: length {len(theirs)} (fixture) != {len(ours)} (now)")
        for n, (a, b) in enumerate(zip(ours, theirs)):
            _compare(a, b, f"{path}[{n}]", problems, key)
    else:
        problems.append(f"{path}: type {type(theirs).__name__} (fixture) != {type(ours).__name__} (now)")


@pytest.fixture(scope="module")
def produced() -> dict[str, Any]:
    payloads = {**produce(), **produce_mult(), **produce_slice()}
    if WRITE:
        FIXTURES.mkdir(parents=True, exist_ok=True)
        for name, value in payloads.items():
            (FIXTURES / f"{name}.json").write_text(json.dumps(value, indent=1 if name == "protocol" else None) + "\n")
    return payloads


def _committed(name: str) -> Any:
    path = FIXTURES / f"{name}.json"
    assert path.is_file(), f"{path} is missing: run KANWIDGET_WRITE_FIXTURES=1 pytest {__file__}"
    return json.loads(path.read_text())


def test_protocol_fixture_is_the_table_exactly(produced):
    assert produced["protocol"] == page_table()
    assert _committed("protocol") == page_table(), \
        "js/test/fixtures/protocol.json is stale: run KANWIDGET_WRITE_FIXTURES=1 pytest tests/widget/test_fixtures.py"


@pytest.mark.parametrize("name", [n for n in JSON_TRAITS if n != "protocol"] + ["mult_graph", "dataview", "dataview_slice"])
def test_json_fixture_matches_the_widget(produced, name):
    problems: list[str] = []
    _compare(produced[name], _committed(name), name, problems)
    assert not problems, "fixture drift (rewrite with KANWIDGET_WRITE_FIXTURES=1):\n" + "\n".join(problems[:20])


@pytest.mark.parametrize("name", BYTES_TRAITS + ("mult_curves", "dataview_data", "dataview_slice_data"))
def test_bytes_fixture_matches_the_widget(produced, name):
    ours, theirs = produced[name], _committed(name)
    assert set(theirs) == {"base64", "bytes"} and theirs["bytes"] == ours["bytes"]
    assert np.isfinite(_floats(ours)).all()
    np.testing.assert_allclose(_floats(theirs), _floats(ours), rtol=REL, atol=ABS)


def test_fixtures_describe_what_was_done(produced):
    """Independent truth about the scenario: the JS tests rely on these facts."""
    graph, versions, inspector = produced["graph"], produced["versions"], produced["inspector"]
    assert graph["width"] == [2, 3, 1] and [len(layer["edges"]) for layer in graph["layers"]] == [6, 3]
    symbolic = [(e["i"], e["j"], e["symbolic"]) for e in graph["layers"][0]["edges"] if e["symbolic"]]
    assert symbolic == [(0, 0, "sin")]
    p = graph["num_points"]
    assert produced["curves"]["bytes"] == 4 * 2 * p * (6 + 3)                 # float32, x and y per edge
    assert produced["metrics"]["bytes"] == 4 * 4 * 5                           # 5 steps x (step, train, test, reg)
    assert len(versions) == 3 and versions[0]["train_loss"] is None     # init, fit, fix
    assert sum(v["current"] for v in versions) == 1 and versions[-1]["current"]
    assert (inspector["l"], inspector["i"], inspector["j"]) == (0, 1, 0) and inspector["candidates"]
    assert produced["status"]["state"] == "idle" and produced["has_data"] is True
    assert "sin" in produced["formula"]["sympy"][0]


def test_mult_fixture_describes_a_product_node(produced):
    graph = produced["mult_graph"]
    assert graph["width"] == [2, 2, 1] and graph["layers"][0]["owner"] == [0, 1, 1]
    assert [node.get("mult", 0) for node in graph["nodes"][1]] == [0, 2]
    assert produced["mult_curves"]["bytes"] == 4 * 2 * graph["num_points"] * (2 * 3 + 2 * 1)


def test_drift_is_detected():
    """The comparison itself: a renamed key, a new list item, a changed int or choice all show up."""
    base = {"a": [{"x": 1, "y": 0.5, "name": "sin", "kind": "train"}], "n": 3}
    for changed in ({"a": [{"x": 1, "y": 0.5, "name": "sin", "kinds": "train"}], "n": 3},
                    {"a": [{"x": 1, "y": 0.5, "name": "sin", "kind": "train"}] * 2, "n": 3},
                    {"a": [{"x": 2, "y": 0.5, "name": "sin", "kind": "train"}], "n": 3},
                    {"a": [{"x": 1, "y": 0.5, "name": "sin", "kind": "change"}], "n": 3},
                    {"a": [{"x": 1, "y": 9.0, "name": "sin", "kind": "train"}], "n": 3},
                    {"a": [{"x": 1, "y": "0.5", "name": "sin", "kind": "train"}], "n": 3}):
        problems: list[str] = []
        _compare(changed, base, "t", problems)
        assert problems, changed
    problems = []
    _compare({"a": [{"x": 1, "y": 0.501, "name": "cos", "kind": "train"}], "n": 3}, base, "t", problems)
    assert problems == []       # numbers loosely, numeric-bearing text by type
