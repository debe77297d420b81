"""Bounded soak of the widget: repeated train / pause / prune / undo cycles; memory and history growth.

    .venv/bin/python bench/bench_soak.py                 # 75 s (15 s warm-up)
    .venv/bin/python bench/bench_soak.py --seconds 30 --warmup 5

A KANWidget on a [4,16,16,1] model (the comm replaced by one that JSON-serialises every message, as
the kernel does) runs cycles of: a blocking Adam fit, a background fit paused after a moment, a
prune (thresholds 0: the structure stays, a version is recorded), an undo. After the warm-up it
reports RSS growth per 1000 steps and per recorded version (target < 5 MiB per 1000 steps), the
loss-history length, the rows held for all versions, and the size of the `metrics` trait.
Not part of the test suite; machine load changes the step rate, not the per-step figures much.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kanwidget import KAN, KANWidget  # noqa: E402


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


class JsonComm:
    def __init__(self) -> None:
        self.messages = 0
        self.bytes = 0

    def __call__(self, msg: dict, buffers: list | None = None) -> None:
        self.messages += 1
        self.bytes += len(json.dumps(msg, allow_nan=False)) + sum(len(memoryview(b).cast("B")) for b in buffers or [])


def make_dataset(n_var: int, n: int = 500) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(2 * n, n_var, generator=gen) * 2 - 1
    y = torch.exp(torch.sin(torch.pi * x[:, :1]) + (x[:, 1:] ** 2).sum(1, keepdim=True) / max(n_var - 1, 1))
    return {"train_input": x[:n], "train_label": y[:n], "test_input": x[n:], "test_label": y[n:]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=75.0)
    ap.add_argument("--warmup", type=float, default=15.0)
    ap.add_argument("--width", default="4,16,16,1")
    args = ap.parse_args()
    width = [int(v) for v in args.width.split(",")]
    torch.manual_seed(0)
    w = KANWidget(KAN(width, grid=5, k=3, seed=0), make_dataset(width[0]))
    comm = JsonComm()
    w._send = comm
    lineage = w.model.lineage
    versions = [0]

    def count(_v):
        versions[0] += 1
    lineage.on("version", count)
    t0 = time.monotonic()
    warm = None
    cycles = 0
    while time.monotonic() - t0 < args.seconds:
        w.train(steps=40, opt="Adam", lr=0.01, update_grid=False, block=True)
        w.train(steps=100_000, opt="Adam", lr=0.01, update_grid=False)
        time.sleep(0.3)
        w.pause()
        w.wait(30)
        w.prune(node_th=0.0, edge_th=0.0)
        w.undo()
        cycles += 1
        if warm is None and time.monotonic() - t0 >= args.warmup:
            warm = (rss_mib(), w.model.steps_trained, versions[0], time.monotonic())
    rss, steps, nver, end = rss_mib(), w.model.steps_trained, versions[0], time.monotonic()
    rows = w.model.lineage.losses        # the model keeps its loss history
    assert warm is not None, "the run was shorter than the warm-up"
    d_steps, d_ver = steps - warm[1], nver - warm[2]
    growth = rss - warm[0]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, width {width}, "
          f"{end - t0:.0f} s, {cycles} cycles, load {os.getloadavg()[0]:.2f}")
    print(f"  after warm-up ({end - warm[3]:.0f} s): {d_steps} steps, {d_ver} versions recorded, "
          f"RSS {warm[0]:.1f} -> {rss:.1f} MiB")
    print(f"  RSS growth: {1000 * growth / max(d_steps, 1):+.2f} MiB per 1000 steps (target < 5), "
          f"{growth / max(d_ver, 1):+.3f} MiB per version")
    print(f"  loss history: {len(rows)} rows for {steps} steps (bounded: {rows.recent} exact + "
          f"{rows.old_cap} summary + {rows.slack} slack); rows held for {rows.versions_remembered} versions: "
          f"{rows.stored_rows()}")
    print(f"  metrics trait: {len(w.metrics)} bytes; versions kept: {len(lineage.versions)} "
          f"(cap {lineage.max_versions}); {comm.messages} messages, {comm.bytes / 1e6:.1f} MB sent")
    w.close()


if __name__ == "__main__":
    main()
