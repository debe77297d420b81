"""Reference-workflow benchmark: kanwidget vs pykan 0.2.8 side by side in one process.

    python bench/bench_workflow.py [--no-pykan] [--steps 50]

Prints per-phase wall time and test RMSE for both libraries (fit 50 LBFGS with lamb=0.001 /
prune / fit / refine 10 / fit / auto_symbolic / fit), the rounded formulas, the auto_symbolic
choices, and ratios against the targets (workflow >= 10x, auto_symbolic >= 30x, after-refine test
RMSE <= 5e-4, final test RMSE <= 1e-9), then where kanwidget's time goes per phase and part
(workflow_breakdown.py: forward + regularisation, backward, LBFGS's own work, per-step work, affine
fits; one more instrumented run, --no-breakdown skips it). Also: forward of [8,64,64,1] with half of its edges
symbolic vs all-spline (target <= 3x).
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import statistics
import sys
import tempfile
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kanwidget import KAN, create_dataset, ex_round  # noqa: E402
from workflow_breakdown import breakdown, print_breakdown  # noqa: E402

LIB = ["x", "x^2", "x^3", "x^4", "exp", "log", "sqrt", "tanh", "sin", "abs"]


def target(x: torch.Tensor) -> torch.Tensor:
    return torch.exp(torch.sin(torch.pi * x[:, [0]]) + x[:, [1]] ** 2)


def rmse(model, ds) -> float:
    with torch.no_grad():
        return float(torch.sqrt(torch.mean((model(ds["test_input"]) - ds["test_label"]) ** 2)))


def run_workflow(make, fit, prune, refine, auto, formula, ds, steps: int, timer=None) -> dict:
    times, losses = {}, {}

    def timed(name, fn):
        t0 = time.perf_counter()
        out = timer(name, fn) if timer else fn()
        times[name] = time.perf_counter() - t0
        return out

    model = timed("construct", make)
    timed("fit1", lambda: fit(model, lamb=0.001))
    losses["fit1"] = rmse(model, ds)
    model = timed("prune", lambda: prune(model))
    width = list(getattr(model, "width", []))
    timed("fit2", lambda: fit(model))
    losses["fit2"] = rmse(model, ds)
    model = timed("refine", lambda: refine(model))
    timed("fit3", lambda: fit(model))
    losses["fit3"] = rmse(model, ds)
    choices = timed("auto_symbolic", lambda: auto(model))
    timed("fit4", lambda: fit(model))
    losses["fit4"] = rmse(model, ds)
    return {"times": times, "losses": losses, "formula": formula(model), "choices": choices, "width": width,
            "total": sum(times.values())}


def kanwidget_workflow(ds, steps: int, seed: int, timer=None) -> dict:
    def auto(m):
        return [(c.l, c.i, c.j, c.name, round(c.r2, 6)) for c in m.auto_symbolic(lib=LIB, verbose=0)]
    return run_workflow(
        lambda: KAN(width=[2, 5, 1], grid=5, k=3, seed=seed),
        lambda m, lamb=0.0: m.fit(ds, opt="LBFGS", steps=steps, lamb=lamb, verbose=False),
        lambda m: m.prune(), lambda m: m.refine(10), auto,
        lambda m: ex_round(m.symbolic_formula()[0][0], 4), ds, steps, timer)


def pykan_workflow(ds, steps: int, seed: int) -> dict:
    from kan import KAN as PyKAN
    from kan.utils import ex_round as pykan_round
    sink = io.StringIO()

    def quiet(fn):
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            return fn()

    def auto(m):
        before = len(sink.getvalue())
        quiet(lambda: m.auto_symbolic(lib=LIB))
        text = sink.getvalue()[before:]
        return re.findall(r"fixing \((\d+),(\d+),(\d+)\) with (\S+), r2=([0-9.e+-]+)", text)

    def formula(m):
        expr = quiet(lambda: m.symbolic_formula())[0][0]
        try:
            return pykan_round(expr, 4)
        except Exception as exc:  # pykan's ex_round crashes on some formulas
            return f"{expr}  (pykan ex_round failed: {type(exc).__name__})"

    def prune(m):
        new = quiet(m.prune)
        new.auto_save = False
        return new

    def refine(m):
        new = quiet(lambda: m.refine(10))
        new.auto_save = False
        return new

    return run_workflow(
        lambda: PyKAN(width=[2, 5, 1], grid=5, k=3, seed=seed, auto_save=False),
        lambda m, lamb=0.0: quiet(lambda: m.fit(ds, opt="LBFGS", steps=steps, lamb=lamb)),
        prune, refine, auto, formula, ds, steps)


def half_symbolic_forward_ratio(repeats: int = 7) -> tuple[float, float, float]:
    torch.manual_seed(0)
    model = KAN(width=[8, 64, 64, 1], grid=5, seed=0, dtype=torch.float32)
    x = torch.rand(1000, 8) * 2 - 1
    names = ["sin", "x^2", "exp", "tanh", "x"]

    def timed() -> float:
        ts = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            model(x).sum().backward()
            ts.append(time.perf_counter() - t0)
        return statistics.median(ts)

    timed()
    spline_only = timed()
    gen = torch.Generator().manual_seed(1)
    for layer in model.layers:
        pick = torch.rand(layer.in_dim, layer.out_dim, generator=gen) < 0.5
        for i, j in torch.nonzero(pick).tolist():
            layer.set_symbolic(i, j, names[(i + j) % len(names)], torch.tensor([1.0, 0.0, 0.5, 0.0]))
    timed()
    half = timed()
    return spline_only, half, half / spline_only


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-pykan", action="store_true")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--no-breakdown", action="store_true", help="skip the instrumented per-part run")
    args = parser.parse_args()
    torch.set_default_dtype(torch.float64)
    # the first torch.optim optimiser in a process imports torch._dynamo (~0.9 s); pay it before timing
    # so neither library is charged for it (kanwidget's own optimisers never trigger it)
    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    ds = create_dataset(target, n_var=2)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, float64, seed {args.seed}")
    ours = kanwidget_workflow(ds, args.steps, args.seed)
    theirs = None
    if not args.no_pykan:
        try:
            import kan  # noqa: F401
        except ImportError:
            print("pykan not installed (pip install -e '.[bench]'); comparator skipped")
        else:
            with tempfile.TemporaryDirectory() as tmp:
                cwd = os.getcwd()
                os.chdir(tmp)
                os.makedirs("model", exist_ok=True)
                try:
                    theirs = pykan_workflow(ds, args.steps, args.seed)
                finally:
                    os.chdir(cwd)
    print(f"\n{'phase':<14}{'kanwidget s':>12}{'pykan s':>10}{'ratio':>8}   {'kanwidget rmse':>14}{'pykan rmse':>12}")
    for phase in ours["times"]:
        t_ours = ours["times"][phase]
        t_theirs = theirs["times"][phase] if theirs else float("nan")
        l_ours = ours["losses"].get(phase)
        l_theirs = theirs["losses"].get(phase) if theirs else None
        print(f"{phase:<14}{t_ours:>12.3f}{t_theirs:>10.3f}{t_theirs / t_ours:>8.1f}   "
              f"{'' if l_ours is None else format(l_ours, '.3e'):>14}"
              f"{'' if l_theirs is None else format(l_theirs, '.3e'):>12}")
    print(f"{'total':<14}{ours['total']:>12.3f}{theirs['total'] if theirs else float('nan'):>10.3f}"
          f"{(theirs['total'] / ours['total']) if theirs else float('nan'):>8.1f}")
    print(f"\nkanwidget: pruned width {ours['width']}, choices {ours['choices']}\n  formula {ours['formula']}")
    if theirs:
        print(f"pykan:     pruned width {theirs['width']}, choices {theirs['choices']}\n  formula {theirs['formula']}")
    if not args.no_breakdown:
        print_breakdown(breakdown(lambda timer: kanwidget_workflow(ds, args.steps, args.seed, timer)))
    sp, half, ratio = half_symbolic_forward_ratio()
    print(f"\n[8,64,64,1] forward+backward, float32, batch 1000: all-spline {sp * 1e3:.1f} ms, "
          f"half symbolic {half * 1e3:.1f} ms, ratio {ratio:.2f} (target <= 3)")
    print("\nsummary")
    rows = [("after-refine test RMSE <= 5e-4", ours["losses"]["fit3"], ours["losses"]["fit3"] <= 5e-4),
            ("final test RMSE <= 1e-9", ours["losses"]["fit4"], ours["losses"]["fit4"] <= 1e-9),
            ("half-symbolic forward <= 3x", ratio, ratio <= 3)]
    if theirs:
        w = theirs["total"] / ours["total"]
        a = theirs["times"]["auto_symbolic"] / ours["times"]["auto_symbolic"]
        rows += [("workflow >= 10x faster than pykan", w, w >= 10), ("auto_symbolic >= 30x faster", a, a >= 30)]
    for name, value, ok in rows:
        print(f"  {name:<36} {value:>10.3g}  {'PASS' if ok else 'FAIL'}")


if __name__ == "__main__":
    main()
