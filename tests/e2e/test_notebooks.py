"""Runs the notebooks headless (nbclient) and checks their key results.

Each notebook runs from a temp copy (cwd = temp dir), so the repo's notebooks are never modified;
executed copies are kept under artifacts/e2e/notebooks/ for inspection.
"""
from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import nbformat
import pytest
import sympy

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
ARTIFACTS = REPO / "artifacts" / "e2e"

pytestmark = [pytest.mark.e2e, pytest.mark.notebooks]

NAMES = ["quickstart.ipynb", "teaching.ipynb", "discovery.ipynb", "lesson.ipynb"]
CELL_TIMEOUT = 600


def _text(output) -> str:
    if output.get("output_type") == "stream":
        return output.get("text", "")
    data = output.get("data", {})
    return data.get("text/plain", "")


def _outputs(cell) -> str:
    return "\n".join(_text(o) for o in cell.get("outputs", []))


@pytest.mark.parametrize("name", NAMES)
def test_saved_without_outputs(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    assert nb.nbformat == 4
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{name}: a cell was saved with outputs"
            assert cell.execution_count is None, f"{name}: a cell was saved with an execution count"
    assert "widgets" not in nb.metadata, f"{name}: saved with widget state"


def run_notebook(name: str, tmp_path: Path):
    from nbclient import NotebookClient
    work = tmp_path / "run"
    work.mkdir()
    shutil.copy(NOTEBOOKS / name, work / name)
    nb = nbformat.read(work / name, as_version=4)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(work)}})
    # the kernel gets matplotlib's inline backend as in Jupyter (tests/conftest.py sets MPLBACKEND=Agg)
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    t0 = time.perf_counter()
    try:
        client.execute(env=env)
    finally:
        out = ARTIFACTS / "notebooks"
        out.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, out / name)
    elapsed = time.perf_counter() - t0
    print(f"{name}: {elapsed:.1f} s")
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors
    return nb, elapsed


def _cell_with(nb, needle: str):
    cells = [c for c in nb.cells if c.cell_type == "code" and needle in c.source]
    assert cells, f"no cell contains {needle!r}"
    return cells[-1]


def _widget_outputs(nb) -> int:
    return sum(1 for c in nb.cells for o in c.get("outputs", [])
               if "application/vnd.jupyter.widget-view+json" in o.get("data", {}))


def test_quickstart(tmp_path):
    nb, _ = run_notebook("quickstart.ipynb", tmp_path)
    assert _widget_outputs(nb) == 1
    widths = _outputs(_cell_with(nb, "model = model.prune()"))
    assert re.fullmatch(r"\[2, \d, 1\]", widths.strip()), widths
    text = _outputs(_cell_with(nb, "formula = ex_round(")).strip()
    x_1, x_2 = sympy.symbols("x_1 x_2")
    found = sympy.sympify(text, locals={"x_1": x_1, "x_2": x_2}).subs(sympy.pi, sympy.Float("3.1416"))  # pi: exact
    target = sympy.exp(x_2 ** 2 + sympy.sin(sympy.Float("3.1416") * x_1))
    assert sympy.simplify(found - target) == 0, f"quickstart formula is {text}, expected {target}"


def test_teaching(tmp_path):
    """The lesson around the data view: data from a formula, training, editing with Undo, two circles, a formula."""
    nb, _ = run_notebook("teaching.ipynb", tmp_path)
    assert _widget_outputs(nb) == 2                      # the class's widget and the seed example's
    data = _outputs(_cell_with(nb, "w.set_data(formula="))
    assert "sin(pi*x_1) * x_2 · 300 train / 75 test points" in data, data
    trained = _outputs(_cell_with(nb, "w.train(steps=20"))
    assert trained.startswith("trained 20 steps"), trained
    nodes = _outputs(_cell_with(nb, 'w.dataview["nodes"]'))
    assert "[[1, 0], [1, 1], [1, 2], [1, 3], [1, 4], [2, 0]]" in nodes, nodes
    edit = _outputs(_cell_with(nb, "w.add_node(1)"))
    assert "after +: [2, 6, 1]" in edit and "after Undo: [2, 5, 1]" in edit and "grid 10 ·" in edit, edit
    circles = _outputs(_cell_with(nb, 'preset="two_circles"'))
    m = re.search(r"accuracy train (\d+)% / test (\d+)%", circles)
    assert m and int(m.group(2)) >= 85, circles
    pruned = _outputs(_cell_with(nb, "seed.prune()"))
    assert "after pruning: [2, 1, 1]" in pruned, pruned
    text = _outputs(_cell_with(nb, "formula = ex_round(")).strip()
    x_1, x_2 = sympy.symbols("x_1 x_2")
    found = sympy.sympify(text, locals={"x_1": x_1, "x_2": x_2}).subs(sympy.pi, sympy.Float("3.1416"))
    assert sympy.simplify(found - sympy.exp(x_2 ** 2 + sympy.sin(sympy.Float("3.1416") * x_1))) == 0, text


def test_discovery(tmp_path):
    nb, _ = run_notebook("discovery.ipynb", tmp_path)
    assert _widget_outputs(nb) == 2          # the widget that follows the step-by-step run, and the product model's
    assert "pruned to [3, 1, 1]" in _outputs(_cell_with(nb, "model = model.prune()"))
    check = _outputs(_cell_with(nb, "symbolically equal"))
    assert "symbolically equal: True" in check, check
    rel = float(re.search(r"unsnapped formula on the test points: (\S+)", check).group(1))
    assert rel < 1e-2, check


def test_lesson(tmp_path):
    """The Voila lesson: code hidden, one widget in presentation mode, Next starts with a sparse training."""
    nb, _ = run_notebook("lesson.ipynb", tmp_path)
    assert _widget_outputs(nb) == 1
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.metadata.get("jupyter", {}).get("source_hidden") for c in code)
    assert all("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for c in code for o in c.outputs), \
        "only the widget is shown"
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    kan = [s["state"] for s in state.values() if "presenting" in s.get("state", {})]
    assert kan and kan[0]["presenting"] is True, kan
    assert kan[0]["next_step"]["command"] == "train" and kan[0]["next_step"]["args"]["lamb"] > 0
