"""Where kanwidget's reference-workflow time goes: per phase, per part (used by bench_workflow.py).

Wraps a few functions with perf_counter timers (about a microsecond per call, so the parts add up to the
phase times) while the workflow runs once more:

- forward + reg   the LBFGS closure minus Tensor.backward: layers, bases, regularisation, loss (and the
                  hand-written backward of the autograd-free objective)
- backward        Tensor.backward inside the closure
- LBFGS own       LBFGS.step minus the closure: line search, two-loop recursion, flat-vector copies
- per step        fit minus LBFGS.step: test loss, grid updates, stall watch, callbacks, recording
- bases           (of which, in the parts above) B-spline bases: spline._bases_and_derivative,
                  bases_samples_last, live_bases_samples_last and bspline_basis
- affine fits     auto_symbolic's batched affine fitting (numerics/symbolic/affine_fit.py); "other" is the rest
"""
from __future__ import annotations

import time
from collections import defaultdict
from contextlib import contextmanager
from typing import Callable, Iterator

import torch

PARTS = ("forward + reg", "backward", "LBFGS own", "per step", "affine fits", "other")


class _Clock:
    def __init__(self) -> None:
        self.totals: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.depth: dict[str, int] = defaultdict(int)

    def wrap(self, name: str, fn: Callable) -> Callable:
        def timed(*args, **kwargs):
            if self.depth[name]:                       # re-entrant call: counted by the outer one
                return fn(*args, **kwargs)
            self.depth[name] += 1
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.totals[name] += time.perf_counter() - t0
                self.calls[name] += 1
                self.depth[name] -= 1
        return timed


@contextmanager
def _instrumented(clock: _Clock) -> Iterator[None]:
    from kanwidget.core.numerics import optim, spline
    from kanwidget.core.operations import symbolic_edges

    originals = [(optim.LBFGS, "step", optim.LBFGS.step), (torch.Tensor, "backward", torch.Tensor.backward),
                 (spline, "_bases_and_derivative", spline._bases_and_derivative),
                 (spline, "bspline_basis", spline.bspline_basis),
                 (spline, "bases_samples_last", spline.bases_samples_last),
                 (spline, "live_bases_samples_last", spline.live_bases_samples_last),
                 (symbolic_edges, "fit_affine_batched", symbolic_edges.fit_affine_batched)]
    step = optim.LBFGS.step

    def lbfgs_step(self, closure):
        return step(self, clock.wrap("closure", closure))

    optim.LBFGS.step = clock.wrap("lbfgs", lbfgs_step)
    torch.Tensor.backward = clock.wrap("backward", torch.Tensor.backward)
    spline._bases_and_derivative = clock.wrap("bases", spline._bases_and_derivative)
    spline.bspline_basis = clock.wrap("bases", spline.bspline_basis)
    spline.bases_samples_last = clock.wrap("bases", spline.bases_samples_last)
    spline.live_bases_samples_last = clock.wrap("bases", spline.live_bases_samples_last)
    symbolic_edges.fit_affine_batched = clock.wrap("affine fits", symbolic_edges.fit_affine_batched)
    try:
        yield
    finally:
        for owner, name, fn in originals:
            setattr(owner, name, fn)


def breakdown(run_workflow: Callable[[Callable[[str, Callable], object]], dict]) -> list[tuple[str, dict]]:
    """Run the workflow once with timers; run_workflow(timed) must call timed(phase, fn) for every phase.

    Returns [(phase, {part: seconds, "total": s, "bases": s, "evals": closure calls})].
    """
    rows: list[tuple[str, dict]] = []
    clock = _Clock()

    def timed(phase: str, fn: Callable):
        before = dict(clock.totals), dict(clock.calls)
        t0 = time.perf_counter()
        out = fn()
        total = time.perf_counter() - t0
        d = {k: clock.totals[k] - before[0].get(k, 0.0) for k in list(clock.totals)}
        evals = clock.calls["closure"] - before[1].get("closure", 0)
        closure, backward, lbfgs = d.get("closure", 0.0), d.get("backward", 0.0), d.get("lbfgs", 0.0)
        affine = d.get("affine fits", 0.0)
        parts = {"forward + reg": closure - backward if lbfgs else 0.0, "backward": backward if lbfgs else 0.0,
                 "LBFGS own": lbfgs - closure, "per step": total - lbfgs if lbfgs else 0.0,
                 "affine fits": affine}
        parts["other"] = total - sum(parts.values())
        parts.update(total=total, bases=d.get("bases", 0.0), evals=evals)
        rows.append((phase, parts))
        return out

    with _instrumented(clock):
        run_workflow(timed)
    return rows


def print_breakdown(rows: list[tuple[str, dict]]) -> None:
    """One line per phase: seconds per part, the closure evaluations and the bases' share; then the totals."""
    head = "".join(f"{p:>14}" for p in PARTS)
    print(f"\nwhere kanwidget's time goes (one instrumented run; seconds)\n{'phase':<14}{'total':>8}{head}"
          f"{'evals':>7}{'ms/eval':>9}{'bases':>8}")
    sums: dict[str, float] = defaultdict(float)
    for phase, parts in rows:
        for key, value in parts.items():
            sums[key] += value
        per_eval = (parts["forward + reg"] + parts["backward"]) / parts["evals"] * 1e3 if parts["evals"] else 0.0
        print(f"{phase:<14}{parts['total']:>8.3f}" + "".join(f"{parts[p]:>14.3f}" for p in PARTS)
              + f"{parts['evals']:>7d}{per_eval:>9.2f}{parts['bases']:>8.3f}")
    total = sums["total"] or 1.0
    print(f"{'all':<14}{sums['total']:>8.3f}" + "".join(f"{sums[p]:>14.3f}" for p in PARTS)
          + f"{int(sums['evals']):>7d}{'':>9}{sums['bases']:>8.3f}")
    print(f"{'share':<14}{'':>8}" + "".join(f"{100 * sums[p] / total:>13.0f}%" for p in PARTS)
          + f"{'':>16}{100 * sums['bases'] / total:>7.0f}%")
