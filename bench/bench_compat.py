"""pykan's tutorial notebooks with the import swapped: calls ok per notebook, kanwidget vs pykan.

Runs our own re-creations of the code cells of 13 pykan 0.2.8 tutorials (`bench/compat_cells.py`) like a
notebook (every cell runs, a failing one is counted and the next one runs), once with `kanwidget` and once
with pykan's `kan` when it is importable (the `bench` extra). Each notebook runs in a fresh interpreter in a
temporary folder (pykan writes ./model and ./figures by default), matplotlib on Agg.

    python bench/bench_compat.py [--only NAME ...] [--lib kanwidget|kan] [--verbose] [--timeout S]
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compat_cells import NOTEBOOKS, switch_import  # noqa: E402

# Runs notebooks ({name: cells}) one after the other like Jupyter, each in a fresh namespace (and torch's
# default dtype reset); prints one "CELL <json>" line per cell: notebook, ok, seconds, error, the value shown.
RUNNER = textwrap.dedent('''
    import ast, json, sys, time, traceback, warnings
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch
    warnings.simplefilter("ignore")
    for notebook, cells in json.load(sys.stdin).items():
      torch.set_default_dtype(torch.float32)
      ns = {"__name__": "__main__"}
      for n, src in enumerate(cells):
        start = time.perf_counter()
        error = value = None
        try:
            tree = ast.parse(src)
            last = tree.body[-1] if tree.body and isinstance(tree.body[-1], ast.Expr) else None
            if last is not None:
                tree.body.pop()
            exec(compile(tree, f"<cell {n}>", "exec"), ns)
            if last is not None:
                value = repr(eval(compile(ast.Expression(last.value), f"<cell {n}>", "eval"), ns))[:500]
        except BaseException as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
            if "--trace" in sys.argv:
                traceback.print_exc()
        plt.close("all")
        print("CELL " + json.dumps({"notebook": notebook, "cell": n, "ok": error is None, "error": error,
                                    "seconds": time.perf_counter() - start, "value": value}), flush=True)
''')


def run_notebooks(notebooks: dict[str, list[str]], timeout: float, trace: bool = False) -> dict[str, list[dict]]:
    """Run notebooks' cells in one fresh interpreter in a temporary folder; one result per cell."""
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=os.pathsep.join(
        [str(Path(__file__).resolve().parents[1])] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    with tempfile.TemporaryDirectory(prefix="kanwidget-compat-") as folder:
        try:
            proc = subprocess.run([sys.executable, "-c", RUNNER] + (["--trace"] if trace else []),
                                  input=json.dumps(notebooks), env=env, cwd=folder, capture_output=True, text=True,
                                  timeout=timeout)
            out, err = proc.stdout, proc.stderr
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
            err = f"timed out after {timeout:.0f} s"
    rows = [json.loads(line[5:]) for line in out.splitlines() if line.startswith("CELL ")]
    if trace and err:
        print(err[-4000:], file=sys.stderr)
    results: dict[str, list[dict]] = {}
    for name, cells in notebooks.items():
        results[name] = [r for r in rows if r["notebook"] == name]
        for n in range(len(results[name]), len(cells)):  # the interpreter died or timed out
            last = err.strip().splitlines()[-1:] or ["died"]
            results[name].append({"notebook": name, "cell": n, "ok": False, "seconds": 0.0, "error": last[0],
                                  "value": None})
    return results


def cells_for(library: str, name: str) -> list[str]:
    cells = NOTEBOOKS[name]
    return [switch_import(c) for c in cells] if library == "kanwidget" else list(cells)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=None, help="notebook names (default: all 13)")
    parser.add_argument("--lib", choices=["kanwidget", "kan"], action="append", help="default: both")
    parser.add_argument("--verbose", action="store_true", help="print each failing cell's error")
    parser.add_argument("--trace", action="store_true", help="print tracebacks of failing cells")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per notebook")
    parser.add_argument("--json", type=Path, default=None, help="write the per-cell results here")
    args = parser.parse_args(argv)
    names = args.only or list(NOTEBOOKS)
    unknown = sorted(set(names) - set(NOTEBOOKS))
    if unknown:
        parser.error(f"unknown notebooks {unknown}; valid: {', '.join(NOTEBOOKS)}")
    libraries = args.lib or ["kanwidget", "kan"]
    if "kan" in libraries and importlib.util.find_spec("kan") is None:
        print("pykan is not installed (pip install kanwidget[bench]): running kanwidget only")
        libraries = [lib for lib in libraries if lib != "kan"]
    table: dict[str, dict[str, list[dict]]] = {}
    totals = {lib: [0, 0] for lib in libraries}
    for name in names:
        table[name] = {}
        for lib in libraries:
            start = time.perf_counter()
            results = run_notebooks({name: cells_for(lib, name)}, args.timeout, args.trace)[name]
            table[name][lib] = results
            ok = sum(r["ok"] for r in results)
            totals[lib][0] += ok
            totals[lib][1] += len(results)
            print(f"{name:36s} {lib:10s} calls ok {ok:3d}/{len(results):3d} ({100 * ok / len(results):5.1f} %)"
                  f"  {time.perf_counter() - start:6.1f} s", flush=True)
            if args.verbose:
                for r in results:
                    if not r["ok"]:
                        print(f"    cell {r['cell']}: {r['error']}")
    print()
    for lib, (ok, n) in totals.items():
        print(f"{'all notebooks':36s} {lib:10s} calls ok {ok:3d}/{n:3d} ({100 * ok / max(n, 1):5.1f} %)")
    if "kan" in libraries and "kanwidget" in libraries:
        # the target: >= 95 % of the cells that pass under pykan, in each notebook
        for name, per_lib in table.items():
            passing = [r["cell"] for r in per_lib["kan"] if r["ok"]]
            ours = {r["cell"] for r in per_lib["kanwidget"] if r["ok"]}
            share = 100 * sum(c in ours for c in passing) / max(len(passing), 1)
            print(f"{name:36s} kanwidget passes {share:5.1f} % of the cells pykan passes")
    if args.json:
        args.json.write_text(json.dumps(table, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
