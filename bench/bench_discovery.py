"""Discovery benchmark: the reference pipeline on Feynman / KAN-paper targets, kanwidget vs pykan 0.2.8.

    python bench/bench_discovery.py [--targets N] [--no-pykan] [--seed S] [--steps 50] [--train-num 1000]

Both libraries get the same data (create_dataset, same seed), the same width ([n, 5, 1] unless the
target says otherwise), grid 5, the same library and the same pipeline: fit(LBFGS, lamb=0.001) ->
prune -> fit -> refine(10) -> fit -> auto_symbolic(lib) -> fit -> formula. kanwidget runs it as
`model.discover(...)` (which also snaps constants and tidies when those exist); pykan as its tutorial
does, ending in symbolic_formula + ex_round(4). Each formula is then judged here, the same way for both:
- recovered: the printed formula, evaluated with sympy (lambdify) on 2000 fresh points in the target's
  ranges, has RMSE < 1e-3 of the target's std there;
- exact: equal to the target -- "sympy" when sympy.simplify(formula - target) == 0 (10 s guard),
  "numeric" when only the numeric proxy holds (|formula - target| <= 1e-9 * max(1, |target|) at every
  fresh point), "no" otherwise;
- seconds: wall time of the whole pipeline.
The summary compares the counts and the total time with the issue's targets (kanwidget recovers >= 2x
pykan's count, at least half of them exact, in <= 1/10 of pykan's time).
"""
from __future__ import annotations

import argparse
import contextlib
import io
import math
import os
import signal
import sys
import tempfile
import time
from dataclasses import dataclass

import numpy as np
import sympy
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))
from discovery_targets import TARGETS, Target

from kanwidget import KAN, create_dataset

LIB = ["x", "x^2", "x^3", "x^4", "1/x", "1/x^2", "sqrt", "exp", "log", "sin", "tanh", "abs"]
FRESH = 2000
RECOVERED = 1e-3
EXACT = 1e-9
SIMPLIFY_SECONDS = 10


@dataclass
class Outcome:
    formula: object = None
    seconds: float = math.nan
    recovered: bool = False
    exact: str = "no"
    relative: float = math.inf
    note: str = ""


# ------------------------------------------------------------------------------ judging
def fresh_inputs(target: Target, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed + 1000)
    lo = np.array([r[0] for r in target.ranges])
    hi = np.array([r[1] for r in target.ranges])
    return lo + rng.random((FRESH, target.n_var)) * (hi - lo)


def evaluate(expr, n_var: int, x: np.ndarray) -> np.ndarray:
    """expr at the rows of x; its symbols are matched to x_1 .. x_n by name (pykan's and ours)."""
    expr = sympy.sympify(expr)
    by_name = {s.name: s for s in expr.free_symbols}
    syms = [by_name.get(f"x_{k + 1}", sympy.Symbol(f"x_{k + 1}")) for k in range(n_var)]
    with np.errstate(all="ignore"):
        y = np.asarray(sympy.lambdify(syms, expr, "numpy")(*x.T))
    y = np.broadcast_to(y, (x.shape[0],))
    if np.iscomplexobj(y):
        y = np.where(np.abs(y.imag) < 1e-12, y.real, np.nan)
    return np.asarray(y, dtype=np.float64)


@contextlib.contextmanager
def time_limit(seconds: int):
    def raise_timeout(signum, frame):
        raise TimeoutError
    old = signal.signal(signal.SIGALRM, raise_timeout)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def judge(out: Outcome, target: Target, seed: int) -> Outcome:
    if out.formula is None:
        return out
    x = fresh_inputs(target, seed)
    truth = target.numpy_fn()(*x.T) * np.ones(FRESH)
    try:
        pred = evaluate(out.formula, target.n_var, x)
    except Exception as exc:  # noqa: BLE001 - spline edges left, unknown functions: judged not recovered
        out.note = out.note or f"cannot evaluate: {type(exc).__name__}: {str(exc)[:80]}"
        return out
    if not np.isfinite(pred).all():
        out.note = out.note or f"not finite on {int((~np.isfinite(pred)).sum())} fresh points"
        return out
    out.relative = float(np.sqrt(np.mean((pred - truth) ** 2)) / max(np.std(truth), 1e-300))
    out.recovered = out.relative < RECOVERED
    if out.recovered and np.all(np.abs(pred - truth) <= EXACT * np.maximum(1.0, np.abs(truth))):
        out.exact = "numeric"
        syms = sympy.symbols([f"x_{k + 1}" for k in range(target.n_var)])
        by_name = {s.name: s for s in sympy.sympify(out.formula).free_symbols}
        formula = sympy.sympify(out.formula).xreplace({by_name[s.name]: s for s in syms if s.name in by_name})
        try:
            with time_limit(SIMPLIFY_SECONDS):
                if sympy.simplify(formula - target.expr(list(syms))) == 0:
                    out.exact = "sympy"
        except TimeoutError:
            pass
    return out


# ----------------------------------------------------------------------------- pipelines
def run_kanwidget(target: Target, ds: dict, steps: int, seed: int, iterative: bool = True) -> Outcome:
    t0 = time.perf_counter()
    try:
        model = KAN(width=target.width, grid=5, k=3, seed=seed)
        report = model.discover(ds, lib=LIB, steps=steps, lamb=0.001, grid=10, target=target.torch_fn(),
                                seed=seed, iterative=iterative, verbose=False)
    except Exception as exc:  # noqa: BLE001 - a crash is a row of the table, as pykan's are
        return Outcome(None, time.perf_counter() - t0, note=f"kanwidget failed: {type(exc).__name__}: {exc}"[:160])
    return Outcome(report.formula, time.perf_counter() - t0, note=f"[{report.shape}] {report.message}")


def run_pykan(target: Target, ds: dict, steps: int, seed: int) -> Outcome:
    from kan import KAN as PyKAN
    from kan.utils import ex_round as pykan_round
    sink = io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        try:
            model = PyKAN(width=target.width, grid=5, k=3, seed=seed, auto_save=False)
            model.fit(ds, opt="LBFGS", steps=steps, lamb=0.001)
            model = model.prune()
            model.auto_save = False
            model.fit(ds, opt="LBFGS", steps=steps)
            model = model.refine(10)
            model.auto_save = False
            model.fit(ds, opt="LBFGS", steps=steps)
            model.auto_symbolic(lib=LIB)
            model.fit(ds, opt="LBFGS", steps=steps)
            expr = model.symbolic_formula()[0][0]
        except Exception as exc:  # noqa: BLE001 - pykan's own failure is a row of the table
            return Outcome(None, time.perf_counter() - t0, note=f"pykan failed: {type(exc).__name__}: {exc}"[:120])
        try:
            expr = pykan_round(expr, 4)
        except Exception as exc:  # noqa: BLE001 - pykan's ex_round fails on some formulas
            note = f"ex_round failed ({type(exc).__name__}); unrounded formula judged"
            return Outcome(expr, time.perf_counter() - t0, note=note)
    return Outcome(expr, time.perf_counter() - t0)


def pykan_available() -> bool:
    try:
        import kan  # noqa: F401
    except ImportError:
        print("pykan not installed (pip install -e '.[bench]'); comparator skipped")
        return False
    return True


# ------------------------------------------------------------------------------- output
def cell(out: Outcome | None) -> str:
    if out is None:
        return f"{'-':>5}{'-':>9}{'-':>9}"
    if out.formula is None:
        return f"{'error':>5}{'-':>9}{out.seconds:>9.1f}"
    return f"{'yes' if out.recovered else 'no':>5}{out.exact:>9}{out.seconds:>9.1f}"


def summary(name: str, outs: list[Outcome]) -> tuple[int, int, float]:
    rec = sum(o.recovered for o in outs)
    exact = sum(o.exact != "no" for o in outs)
    exact_sympy = sum(o.exact == "sympy" for o in outs)
    total = sum(o.seconds for o in outs)
    print(f"{name:<10} recovered {rec}/{len(outs)}, exact {exact} ({exact_sympy} by sympy), total {total:.1f} s")
    return rec, exact, total


def save_row(path: str, name: str, a: Outcome | None, b: Outcome | None) -> None:
    import json
    row = {"target": name}
    for side, out in (("kanwidget", a), ("pykan", b)):
        if out is not None:
            row[side] = {"formula": None if out.formula is None else str(out.formula), "seconds": out.seconds,
                         "recovered": out.recovered, "exact": out.exact, "relative": out.relative, "note": out.note}
    with open(path, "a") as fh:
        fh.write(json.dumps(row) + "\n")


def compare(ours_path: str, theirs_path: str) -> None:
    """The side-by-side table from two --save files, over the targets both hold."""
    import json

    def load(path: str, side: str) -> dict[str, Outcome]:
        rows = {}
        with open(path) as fh:
            lines = fh.read().splitlines()
        for line in lines:
            row = json.loads(line)
            if side in row:
                o = row[side]
                rows[row["target"]] = Outcome(o["formula"], o["seconds"], o["recovered"], o["exact"], o["relative"],
                                              o["note"])
        return rows
    a_rows, b_rows = load(ours_path, "kanwidget"), load(theirs_path, "pykan")
    names = [n for n in a_rows if n in b_rows]
    print(f"{'target':<46}{'kanwidget: rec':>14}{'exact':>9}{'s':>9}   {'pykan: rec':>10}{'exact':>9}{'s':>9}")
    for n in names:
        print(f"{n[:45]:<46}{cell(a_rows[n])}   {cell(b_rows[n])}")
    rec_a, exact_a, time_a = summary("kanwidget", [a_rows[n] for n in names])
    rec_b, _, time_b = summary("pykan", [b_rows[n] for n in names])
    ratio = rec_a / rec_b if rec_b else math.inf
    print(f"recovered ratio kanwidget/pykan {ratio:.2f} (target >= 2), exact/recovered "
          f"{exact_a}/{rec_a} (target >= 1/2), time ratio pykan/kanwidget {time_b / time_a:.2f} (target >= 10)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=len(TARGETS), help="run the first N targets")
    parser.add_argument("--start", type=int, default=0, help="skip the first S of them (resume a --save run)")
    parser.add_argument("--no-pykan", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--train-num", type=int, default=1000)
    parser.add_argument("--no-kanwidget", action="store_true", help="run pykan's side only (with --save)")
    parser.add_argument("--save", help="write each row (both sides) to this JSON-lines file as it completes")
    parser.add_argument("--compare", nargs=2, metavar=("OURS", "THEIRS"),
                        help="print the side-by-side table from two --save files (kanwidget's, pykan's) and exit")
    parser.add_argument("--one-pass", action="store_true",
                        help="kanwidget: auto_symbolic in one pass (default: its most-certain-first mode)")
    args = parser.parse_args()
    if args.compare:
        compare(*args.compare)
        return
    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(1)   # the same single thread for both libraries (the machine is shared)
    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)  # pay torch._dynamo's import before timing
    with_pykan = not args.no_pykan and pykan_available()
    targets = TARGETS[args.start:args.targets]
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, float64, seed {args.seed}, "
          f"{args.steps} steps per fit, {args.train_num} train points, lib {LIB}")
    print(f"\n{'target':<46}{'kanwidget: rec':>14}{'exact':>9}{'s':>9}   {'pykan: rec':>10}{'exact':>9}{'s':>9}")
    ours: list[Outcome] = []
    theirs: list[Outcome] = []
    notes = []
    for target in targets:
        ds = create_dataset(target.torch_fn(), n_var=target.n_var, ranges=[list(r) for r in target.ranges],
                            train_num=args.train_num, test_num=args.train_num, seed=args.seed)
        a = None
        if not args.no_kanwidget:
            a = judge(run_kanwidget(target, ds, args.steps, args.seed, not args.one_pass), target, args.seed)
            ours.append(a)
        b = None
        if with_pykan:
            with tempfile.TemporaryDirectory() as tmp:
                cwd = os.getcwd()
                os.chdir(tmp)
                os.makedirs("model", exist_ok=True)   # pykan writes its history there even with auto_save=False
                try:
                    b = judge(run_pykan(target, ds, args.steps, args.seed), target, args.seed)
                finally:
                    os.chdir(cwd)
            theirs.append(b)
        print(f"{target.name[:45]:<46}{cell(a)}   {cell(b)}", flush=True)
        notes.append((target.name, a, b))
        if args.save:
            save_row(args.save, target.name, a, b)
    print("\nformulas")
    for name, a, b in notes:
        if a is not None:
            print(f"  {name}\n    kanwidget: {a.formula}   [{a.note[:160]}]")
        else:
            print(f"  {name}")
        if b is not None:
            print(f"    pykan:     {b.formula}" + (f"   [{b.note}]" if b.note else ""))
    print("\nsummary")
    if not ours:
        summary("pykan", theirs)
        return
    rec_a, exact_a, time_a = summary("kanwidget", ours)
    if theirs:
        rec_b, _, time_b = summary("pykan", theirs)
        ratio = rec_a / rec_b if rec_b else math.inf
        print(f"recovered ratio kanwidget/pykan {ratio:.2f} (target >= 2), exact/recovered "
              f"{exact_a}/{rec_a} (target >= 1/2), time ratio pykan/kanwidget {time_b / time_a:.2f} (target >= 10)")


if __name__ == "__main__":
    main()
