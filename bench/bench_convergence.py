"""Convergence benchmark: does training depend on the seed, and does grid extension reach the paper?

    python bench/bench_convergence.py [--steps 200] [--skip-workflow] [--only workflow --seeds 0,1,42]

Prints three tables on f = exp(sin(pi*x1) + x2^2) (create_dataset(f, n_var=2), float64):
1. width [2,1,1], G=3, LBFGS `steps`, model seeds 0-9: test RMSE and the stall escapes (target < 0.05 for 10/10);
2. the [2,5,1] reference workflow (fit 50 lamb=0.001 / prune / fit 50 / refine 10 / fit 50 /
   auto_symbolic 10 functions / fit 50 / ex_round 4), seeds 0-9: the formula, and whether it is
   exp(x_2**2 + sin(3.1416*x_1)) (sympy-equal, pi read as 3.1416) (target 10/10);
3. grid extension [2,1,1], seeds 0-4, `steps` per grid: test RMSE at G = 3/10/20/50 against the KAN
   paper's example notebook (1.53e-2 / 3.29e-4 / 4.04e-5 / 1.24e-5).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import sympy
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from kanwidget import KAN, create_dataset, ex_round  # noqa: E402

LIB = ["x", "x^2", "x^3", "x^4", "exp", "log", "sqrt", "tanh", "sin", "abs"]
GRIDS = (3, 10, 20, 50)
PAPER = (1.53e-2, 3.29e-4, 4.04e-5, 1.24e-5)
X1, X2 = sympy.symbols("x_1 x_2")
WANTED = sympy.exp(X2 ** 2 + sympy.sin(sympy.Float("3.1416") * X1))


def target(x: torch.Tensor) -> torch.Tensor:
    return torch.exp(torch.sin(torch.pi * x[:, [0]]) + x[:, [1]] ** 2)


def rmse(model: KAN, ds: dict) -> float:
    with torch.no_grad():
        return float(torch.sqrt(torch.mean((model(ds["test_input"]) - ds["test_label"]) ** 2)))


def fit(model: KAN, ds: dict, steps: int, escapes: list | None = None, **kw) -> None:
    notes = [] if escapes is None else escapes
    model.fit(ds, opt="LBFGS", steps=steps, verbose=False, record=False,
              callbacks=[lambda info: info.stall and notes.append(info.step)], **kw)


def seed_table(ds: dict, steps: int) -> None:
    print(f"\n1. [2,1,1] G=3, {steps} LBFGS steps (target: test RMSE < 0.05 for every seed)")
    print(f"{'seed':>4} {'test RMSE':>10} {'escapes at step':>16} {'s':>6}")
    good = 0
    for seed in range(10):
        t0 = time.perf_counter()
        model = KAN(width=[2, 1, 1], grid=3, k=3, seed=seed)
        escapes: list[int] = []
        fit(model, ds, steps, escapes)
        loss = rmse(model, ds)
        good += loss < 0.05
        print(f"{seed:>4} {loss:>10.3e} {str(escapes or '-'):>16} {time.perf_counter() - t0:>6.1f}")
    print(f"converged: {good}/10")


def is_wanted(expr) -> bool:
    expr = expr[0] if isinstance(expr, (list, tuple)) else expr
    expr = sympy.sympify(expr).subs(sympy.pi, sympy.Float("3.1416"))
    return sympy.simplify(expr - WANTED) == 0 or str(expr) == str(WANTED)


def workflow_table(ds: dict, seeds: list[int]) -> None:
    print(f"\n2. [2,5,1] reference workflow, model seeds {seeds} (target: exp(x_2**2 + sin(3.1416*x_1)) for every seed)")
    hits = 0
    for seed in seeds:
        t0 = time.perf_counter()
        model = KAN(width=[2, 5, 1], grid=5, k=3, seed=seed)
        fit(model, ds, 50, lamb=0.001)
        model = model.prune()
        width = model.width
        trial = model.history[-1].label.partition("; ")[2] if model.history else ""
        fit(model, ds, 50)
        model = model.refine(10)
        fit(model, ds, 50)
        refined = rmse(model, ds)
        model.auto_symbolic(lib=LIB, verbose=0)
        fit(model, ds, 50)
        formula = ex_round(model.symbolic_formula()[0], 4)
        ok = is_wanted(formula)
        hits += ok
        text = str(formula[0] if isinstance(formula, (list, tuple)) else formula)
        print(f"{seed:>4} {str(width):<10} refine {refined:.2e} final {rmse(model, ds):.2e} "
              f"{'OK  ' if ok else 'MISS'} {text[:90]}{'...' if len(text) > 90 else ''} "
              f"({time.perf_counter() - t0:.1f} s){'  [' + trial + ']' if trial else ''}", flush=True)
    print(f"recovered: {hits}/{len(seeds)}")


def extension_table(ds: dict, steps: int, seeds: list[int]) -> None:
    print(f"\n3. grid extension [2,1,1], {steps} LBFGS steps per grid (target: <= the paper at every G)")
    print(f"{'seed':>4} " + " ".join(f"{'G=' + str(g):>10}" for g in GRIDS))
    print(f"{'paper':>4} " + " ".join(f"{v:>10.2e}" for v in PAPER))
    passed = 0
    for seed in seeds:
        model = KAN(width=[2, 1, 1], grid=GRIDS[0], k=3, seed=seed)
        row = []
        for g in GRIDS:
            if g != GRIDS[0]:
                model = model.refine(g)
            fit(model, ds, steps)
            row.append(rmse(model, ds))
        ok = all(v <= p for v, p in zip(row, PAPER))
        passed += ok
        print(f"{seed:>4} " + " ".join(f"{v:>10.3e}" for v in row) + ("  ok" if ok else "  ABOVE"), flush=True)
    print(f"at or below the paper at every step: {passed}/{len(seeds)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--skip-workflow", action="store_true")
    parser.add_argument("--only", choices=("seeds", "workflow", "extension"), help="run one table only")
    parser.add_argument("--seeds", type=str, default=None,
                        help="comma-separated model seeds for the chosen table (default: 0-9, extension 0-4)")
    args = parser.parse_args()
    torch.set_default_dtype(torch.float64)
    ds = create_dataset(target, n_var=2)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, float64; load {os.getloadavg()[0]:.2f}")
    chosen = [int(v) for v in args.seeds.split(",")] if args.seeds else None
    if args.only in (None, "seeds"):
        seed_table(ds, args.steps)
    if args.only == "workflow" or (args.only is None and not args.skip_workflow):
        workflow_table(ds, chosen or list(range(10)))
    if args.only in (None, "extension"):
        extension_table(ds, args.steps, chosen or list(range(5)))


if __name__ == "__main__":
    main()
