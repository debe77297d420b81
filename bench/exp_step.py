"""Experiment: where an Adam step of kanwidget goes, and what training.py / layer.py changes would save.

    .venv/bin/python bench/exp_step.py [--threads N]

Compares, per step (float32, 1000 train + 1000 test samples, G=5, k=3):
  fit          model.fit(opt="Adam", update_grid=False, verbose=False, record=False)
  loop         the same work as a bare loop (forward, backward, Adam, test forward), torch's default Adam
  loop+fused   the bare loop with torch.optim.Adam(..., fused=True)
  loop+fused+addmm   plus a layer forward that folds the base branch into one addmm
Not part of the test suite.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kanwidget  # noqa: E402
from kanwidget.core import spline  # noqa: E402


def layer_forward_addmm(layer, x):
    """Candidate KANLayer.forward (no symbolic edges): one addmm instead of matmul + matmul + add."""
    n = x.shape[0]
    bases = spline.bspline_basis(x, layer.grid, layer.k)
    nm = layer.mask if not layer.sym_names else layer.numeric_mask
    w_sp = (layer.coef * (layer.scale_sp * nm).unsqueeze(-1)).transpose(1, 2).reshape(-1, layer.out_dim)
    return torch.addmm(layer.base_fun(x) @ (layer.scale_base * nm), bases.reshape(n, -1), w_sp)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--steps", type=int, default=30)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"{torch.get_num_threads()} threads")
    for width in ([2, 5, 1], [4, 16, 16, 1], [8, 64, 64, 1]):
        gen = torch.Generator().manual_seed(0)
        xb, xt = torch.rand(1000, width[0], generator=gen) * 2 - 1, torch.rand(1000, width[0], generator=gen) * 2 - 1
        yb, yt = xb.sin().sum(1, keepdim=True), xt.sin().sum(1, keepdim=True)
        data = {"train_input": xb, "train_label": yb, "test_input": xt, "test_label": yt}
        model = kanwidget.KAN(width=width, grid=5, k=3, seed=1, dtype=torch.float32)
        params = [p for p in model.parameters() if p.requires_grad]
        S = args.steps

        def fit() -> None:
            model.fit(data, opt="Adam", steps=S, lr=1e-3, update_grid=False, verbose=False, record=False)

        def make_loop(opt, fwd):
            def loop() -> None:
                for _ in range(S):
                    opt.zero_grad(set_to_none=True)
                    loss = torch.mean((fwd(xb) - yb) ** 2)
                    loss.backward()
                    opt.step()
                    with torch.no_grad():
                        test = torch.mean((fwd(xt) - yt) ** 2)
                    float(loss.detach()), float(test)
            return loop

        def fwd_addmm(x):
            for layer in model.layers:
                x = layer_forward_addmm(layer, x)
            return x

        variants = {
            "fit": fit,
            "loop": make_loop(torch.optim.Adam(params, lr=1e-3), model),
            "loop+fused": make_loop(torch.optim.Adam(params, lr=1e-3, fused=True), model),
            "loop+fused+addmm": make_loop(torch.optim.Adam(params, lr=1e-3, fused=True), fwd_addmm),
        }
        times = {k: [] for k in variants}
        for fn in variants.values():
            fn()
        for _ in range(7):
            for k, fn in variants.items():
                t = time.perf_counter()
                fn()
                times[k].append((time.perf_counter() - t) / S * 1e3)
        print(width, "  ".join(f"{k} {statistics.median(v):.3f} ms (min {min(v):.3f})" for k, v in times.items()))


if __name__ == "__main__":
    main()
