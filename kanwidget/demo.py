"""Terminal demo: the reference KAN workflow (fit sparse, prune, refine, auto-symbolic, formula).

Run with `python -m kanwidget.demo`. Prints each phase's losses and time, then the formula.
"""
from __future__ import annotations

import argparse
import time

import torch

from kanwidget import KAN, create_dataset, ex_round

LIB = ["x", "x^2", "x^3", "x^4", "exp", "log", "sqrt", "tanh", "sin", "abs"]


def reference_function(x: torch.Tensor) -> torch.Tensor:
    return torch.exp(torch.sin(torch.pi * x[:, [0]]) + x[:, [1]] ** 2)


def run(steps: int = 50, seed: int = 42, verbose: bool = True) -> dict[str, object]:
    """Run the workflow; returns the final model, formula and per-phase test losses."""
    torch.set_default_dtype(torch.float64)
    dataset = create_dataset(reference_function, n_var=2)
    model = KAN(width=[2, 5, 1], grid=5, k=3, seed=seed)
    phases: dict[str, float] = {}
    started = time.perf_counter()

    def phase(name: str, fn):
        t0 = time.perf_counter()
        out = fn()
        if verbose:
            print(f"[{name}] {time.perf_counter() - t0:.2f} s")
        return out

    def fit(name: str, **kw) -> None:
        res = phase(name, lambda: model.fit(dataset, opt="LBFGS", steps=steps, verbose=verbose, **kw))
        phases[name] = res["test_loss"][-1]

    fit("fit sparse (lamb=0.001)", lamb=0.001)
    model = phase("prune", model.prune)
    if verbose:
        print(f"    pruned width: {model.width}")
    fit("fit after prune")
    model = phase("refine 5 -> 10", lambda: model.refine(10))
    fit("fit after refine")
    choices = phase("auto_symbolic", lambda: model.auto_symbolic(lib=LIB, verbose=verbose))
    fit("fit symbolic")
    formula = ex_round(model.symbolic_formula()[0][0], 4)
    total = time.perf_counter() - started
    if verbose:
        print("\ntest RMSE per phase:")
        for name, loss in phases.items():
            print(f"  {name:<26} {loss:.3e}")
        print(f"\nformula: {formula}")
        print(f"total time: {total:.1f} s")
    return {"model": model, "formula": formula, "test_loss": phases, "choices": choices, "seconds": total}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50, help="LBFGS steps per fit (default 50)")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    run(steps=args.steps, seed=args.seed)


if __name__ == "__main__":
    main()
