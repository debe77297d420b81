"""Benchmark fit_affine_batched (the core of suggest_symbolic / auto_symbolic).

Usage:  python bench/bench_symbolic.py [--large-edges 4672] [--n 1000] [--threads T] [--skip-large]

Prints the wall time to fit 3 edges x 10 functions and ``large-edges`` edges x 10
functions (N samples per edge), with the default settings (101x101 coarse grid,
3 zooms, LM polish).
"""

from __future__ import annotations

import argparse
import time

import torch

from kanwidget.core.numerics import symbolic


LIB = ["x", "x^2", "x^3", "exp", "sin", "tanh", "gaussian", "log", "1/x", "sqrt"]


def make_data(E: int, N: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(E, N, generator=g) * 2 - 1
    kinds = [
        lambda x: torch.sin(3 * x + 1), lambda x: x**2, lambda x: torch.exp(x),
        lambda x: torch.tanh(2 * x), lambda x: torch.exp(-4 * x**2),
    ]
    y = torch.stack([kinds[e % len(kinds)](x[e]) for e in range(E)])
    y = y + 0.01 * torch.randn(E, N, generator=g)
    return x, y


def bench(S, E: int, N: int, repeat: int = 1) -> float:
    x, y = make_data(E, N)
    fns = S.get_functions(LIB)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = S.fit_affine_batched(x, y, fns)
        best = min(best, time.perf_counter() - t0)
    assert res.params.shape == (E, len(fns), 4)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--large-edges", type=int, default=4672)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--skip-large", action="store_true")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    S = symbolic
    print(f"torch {torch.__version__}, threads={torch.get_num_threads()}, functions={LIB}")
    bench(S, 1, 100)  # warm-up
    t = bench(S, 3, args.n, repeat=5)
    print(f"3 edges x {len(LIB)} functions, N={args.n}: {t:.3f} s (best of 5)")
    if not args.skip_large:
        t = bench(S, args.large_edges, args.n)
        print(f"{args.large_edges} edges x {len(LIB)} functions, N={args.n}: {t:.1f} s"
              f" ({1e3 * t / args.large_edges:.1f} ms/edge)")


if __name__ == "__main__":
    main()
