"""pykan's seed tutorial (hellokan) runs verbatim with `kan` replaced by `kanwidget`.

The cells below are our own copy of the tutorial's code cells (pykan 0.2.8, hellokan.ipynb), unchanged
except for the import. They run in a fresh interpreter (the tutorial sets torch's default dtype), cell by
cell like a notebook: a cell ending in an expression shows its value unless the line ends with ";".
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
import sympy

PYKAN_CELLS = [
    """
from kan import *
torch.set_default_dtype(torch.float64)

device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
print(device)

# create a KAN: 2D inputs, 1D output, and 5 hidden neurons. cubic spline (k=3), 5 grid intervals (grid=5).
model = KAN(width=[2,5,1], grid=3, k=3, seed=42, device=device)
""",
    """
from kan.utils import create_dataset
# create dataset f(x,y) = exp(sin(pi*x)+y^2)
f = lambda x: torch.exp(torch.sin(torch.pi*x[:,[0]]) + x[:,[1]]**2)
dataset = create_dataset(f, n_var=2, device=device)
dataset['train_input'].shape, dataset['train_label'].shape
""",
    """
# plot KAN at initialization
model(dataset['train_input']);
model.plot()
""",
    """
# train the model
model.fit(dataset, opt="LBFGS", steps=50, lamb=0.001);
""",
    "model.plot()",
    """
model = model.prune()
model.plot()
""",
    'model.fit(dataset, opt="LBFGS", steps=50);',
    "model = model.refine(10)",
    'model.fit(dataset, opt="LBFGS", steps=50);',
    """
mode = "auto" # "manual"

if mode == "manual":
    # manual mode
    model.fix_symbolic(0,0,0,'sin');
    model.fix_symbolic(0,1,0,'x^2');
    model.fix_symbolic(1,0,0,'exp');
elif mode == "auto":
    # automatic mode
    lib = ['x','x^2','x^3','x^4','exp','log','sqrt','tanh','sin','abs']
    model.auto_symbolic(lib=lib)
""",
    'model.fit(dataset, opt="LBFGS", steps=50);',
    """
from kan.utils import ex_round

ex_round(model.symbolic_formula()[0][0],4)
""",
]

# Runs cells like a notebook; the value of each cell's last expression is shown as one "OUT <json>" line.
RUNNER = textwrap.dedent('''
    import ast, json, sys, sympy
    cells = json.load(sys.stdin)
    ns = {"__name__": "__main__"}
    for n, src in enumerate(cells):
        tree = ast.parse(src)
        last = tree.body[-1] if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        if last is not None:
            tree.body.pop()
        exec(compile(tree, f"<cell {n}>", "exec"), ns)
        if last is not None:
            value = eval(compile(ast.Expression(last.value), f"<cell {n}>", "eval"), ns)
            if not src.rstrip().endswith(";") and value is not None:
                shown = sympy.srepr(value) if isinstance(value, sympy.Basic) else repr(value)
                print("OUT", json.dumps({"cell": n, "sympy": isinstance(value, sympy.Basic), "value": shown}),
                      flush=True)
''')


def kanwidget_cells() -> list[str]:
    """The tutorial with the one-line switch: the package name `kan` becomes `kanwidget`."""
    return [c.replace("from kan import", "from kanwidget import").replace("from kan.utils import",
                                                                           "from kanwidget.utils import")
            for c in PYKAN_CELLS]


def test_the_switch_only_renames_the_package():
    cells = kanwidget_cells()
    assert sum(c.count("kanwidget") for c in cells) == 3
    assert [c.replace("kanwidget", "kan") for c in cells] == PYKAN_CELLS


@pytest.fixture(scope="module")
def tutorial_run() -> subprocess.CompletedProcess:
    env = dict(os.environ, MPLBACKEND="Agg")
    return subprocess.run([sys.executable, "-c", RUNNER], input=json.dumps(kanwidget_cells()), env=env,
                          capture_output=True, text=True, timeout=600)


def test_seed_tutorial_runs_verbatim_and_finds_the_formula(tutorial_run):
    assert tutorial_run.returncode == 0, tutorial_run.stderr[-3000:]
    outs = [json.loads(line[4:]) for line in tutorial_run.stdout.splitlines() if line.startswith("OUT ")]
    shapes = next(o for o in outs if o["cell"] == 1)
    assert shapes["value"] == "(torch.Size([1000, 2]), torch.Size([1000, 1]))"
    last = outs[-1]
    assert last["cell"] == len(PYKAN_CELLS) - 1 and last["sympy"]
    formula = sympy.sympify(last["value"])  # srepr text the runner printed for our own expression
    x_1, x_2 = sympy.symbols("x_1 x_2")
    expected = sympy.exp(x_2 ** 2 + sympy.sin(sympy.Float(3.1416) * x_1))
    # pykan prints 3.1416; kanwidget's ex_round may print pi when the fitted float holds pi to 1e-12
    as_printed = formula.subs(sympy.pi, sympy.Float(3.1416))
    assert as_printed == expected or sympy.simplify(as_printed - expected) == 0, formula


def test_seed_tutorial_prints_pykan_style_progress(tutorial_run):
    text = tutorial_run.stdout + tutorial_run.stderr
    for line in ("fixing (0,0,0) with sin", "fixing (0,1,0) with x^2", "fixing (1,0,0) with exp"):
        assert line in text
    # one tqdm bar per fit, redrawn in place with "\r" (text mode reads "\r" as a line end): a bar starts
    # with "| fit |"; its last drawing shows pykan's losses, 50/50, the elapsed time, the estimate and the rate
    bars: list[list[str]] = []
    for line in tutorial_run.stderr.splitlines():
        if line.startswith("| fit |"):
            bars.append([])
        elif line.startswith("| train_loss: ") and bars:
            bars[-1].append(line)
    assert len(bars) == 4, bars
    finals = [drawn[-1] for drawn in bars]
    assert all("| test_loss: " in f and "| reg: " in f and "100%" in f and "50/50 [" in f and "<00:00, " in f
               and ("it/s]" in f or "s/it]" in f) for f in finals), finals
