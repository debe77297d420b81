"""Core speed and memory of kanwidget against pykan 0.2.8, side by side in one run.

    .venv/bin/python bench/bench_core.py            # full run (~3-4 minutes with pykan)
    .venv/bin/python bench/bench_core.py --quick    # fewer repeats (~1 minute)
    .venv/bin/python bench/bench_core.py --no-pykan # kanwidget only

What is measured (medians of repeated runs; both libraries in the same process, interleaved, so they
see the same machine load; pykan runs inside a temporary directory because it writes ./model):
  1. Adam training step, float32, 1000 train + 1000 test samples, grid=5, k=3, widths [2,5,1],
     [4,16,16,1], [8,64,64,1]: wall time of fit(opt="Adam", steps=S, lr=1e-3, update_grid=False) / S
     (kanwidget with verbose=False, record=False). Target: pykan / kanwidget >= 10.
  2. One forward + backward of a bare model(x), batch 1000, [8,64,64,1], float32. Target >= 50.
  3. Peak RSS (one fresh subprocess per library) of the tutorial's first fit: float64,
     KAN(width=[2,5,1], grid=5, k=3, seed=42) on exp(sin(pi x1) + x2^2), fit(opt="LBFGS", steps=50,
     lamb=0.001). Also its wall time, and the RSS of an interpreter that only imported torch.
     Target: kanwidget peak <= half of pykan's.
  4. `import kanwidget` vs `import kan` in fresh subprocesses (informational).
Not part of the test suite. Timings on a shared 2-core machine are noisy: run it on a quiet machine.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import kanwidget  # noqa: E402

WIDTHS = ([2, 5, 1], [4, 16, 16, 1], [8, 64, 64, 1])
STEPS = {2: 100, 4: 40, 8: 15}            # Adam steps per timed fit call, by input width
ABSOLUTE_TARGET_MS = (1.2, 3.4, 14.6)     # a tenth of pykan's anchors 12.4 / 34 / 146 ms (docs/DESIGN.md §6)


def have_pykan() -> bool:
    return importlib.util.find_spec("kan") is not None


@contextlib.contextmanager
def quiet():
    """Silence pykan's tqdm bars and prints."""
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        yield


def make_dataset(n_var: int, seed: int = 0) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    x_train = torch.rand(1000, n_var, generator=gen) * 2 - 1
    x_test = torch.rand(1000, n_var, generator=gen) * 2 - 1

    def f(x: torch.Tensor) -> torch.Tensor:
        return torch.sin(torch.pi * x).sum(1, keepdim=True) + (x ** 2).mean(1, keepdim=True)

    return {"train_input": x_train, "train_label": f(x_train), "test_input": x_test, "test_label": f(x_test)}


def interleaved(fns: dict[str, callable], repeats: dict[str, int]) -> dict[str, float]:
    """Median seconds of each function, runs interleaved round-robin (one warm-up each)."""
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for r in range(max(repeats.values())):
        for name, fn in fns.items():
            if r < repeats[name]:
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(v) for name, v in times.items()}


# ------------------------------------------------------------------------------------------ 1. Adam
def bench_adam(use_pykan: bool, quick: bool) -> list[dict]:
    rows = []
    for width in WIDTHS:
        steps = STEPS[width[0]] // (2 if quick else 1)
        data = make_dataset(width[0])
        ours = kanwidget.KAN(width=width, grid=5, k=3, seed=1, dtype=torch.float32)

        def run_ours() -> None:
            ours.fit(data, opt="Adam", steps=steps, lr=1e-3, update_grid=False, verbose=False, record=False)

        fns = {"kanwidget": run_ours}
        reps = {"kanwidget": 5 if quick else 11}
        if use_pykan:
            from kan import KAN as PyKAN
            with quiet():
                theirs = PyKAN(width=list(width), grid=5, k=3, seed=1, auto_save=False, device="cpu")  # pykan edits it

            def run_theirs() -> None:
                with quiet():
                    theirs.fit(data, opt="Adam", steps=steps, lr=1e-3, update_grid=False)

            fns["pykan"] = run_theirs
            reps["pykan"] = 3 if quick else 5
        med = interleaved(fns, reps)
        row = {"what": f"Adam step {width}", "kanwidget_ms": med["kanwidget"] / steps * 1e3}
        if use_pykan:
            row["pykan_ms"] = med["pykan"] / steps * 1e3
        rows.append(row)
    return rows


# -------------------------------------------------------------------------------- 2. forward+backward
def bench_forward_backward(use_pykan: bool, quick: bool) -> dict:
    width = [8, 64, 64, 1]
    x = make_dataset(8)["train_input"]
    ours = kanwidget.KAN(width=width, grid=5, k=3, seed=1, dtype=torch.float32)

    def run_ours() -> None:
        ours.zero_grad(set_to_none=True)
        ours(x).sum().backward()

    fns = {"kanwidget": run_ours}
    reps = {"kanwidget": 10 if quick else 30}
    if use_pykan:
        from kan import KAN as PyKAN
        with quiet():
            theirs = PyKAN(width=list(width), grid=5, k=3, seed=1, auto_save=False, device="cpu")  # pykan edits it

        def run_theirs() -> None:
            theirs.zero_grad(set_to_none=True)
            with quiet():
                theirs(x).sum().backward()

        fns["pykan"] = run_theirs
        reps["pykan"] = 2 if quick else 3
    med = interleaved(fns, reps)
    row = {"what": "model(x) fwd+bwd [8,64,64,1]", "kanwidget_ms": med["kanwidget"] * 1e3}
    if use_pykan:
        row["pykan_ms"] = med["pykan"] * 1e3
    return row


# ---------------------------------------------------------------------------------------- 3. memory
_MEMORY_SCRIPT = r"""
import json, os, resource, sys, tempfile, time, contextlib, io
lib = sys.argv[1]
def vmhwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
import torch
torch.set_default_dtype(torch.float64)
base = vmhwm()
f = lambda x: torch.exp(torch.sin(torch.pi * x[:, [0]]) + x[:, [1]] ** 2)
wall = None
if lib == "kanwidget":
    sys.path.insert(0, sys.argv[2])
    import kanwidget
    dataset = kanwidget.create_dataset(f, n_var=2)
    model = kanwidget.KAN(width=[2, 5, 1], grid=5, k=3, seed=42)
    start = time.perf_counter()
    res = model.fit(dataset, opt="LBFGS", steps=50, lamb=0.001, verbose=False)
    wall = time.perf_counter() - start
    loss = res["test_loss"][-1]
elif lib == "kan":
    os.chdir(tempfile.mkdtemp())
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        from kan import KAN
        from kan.utils import create_dataset
        dataset = create_dataset(f, n_var=2)
        model = KAN(width=[2, 5, 1], grid=5, k=3, seed=42, auto_save=False, device="cpu")
        start = time.perf_counter()
        res = model.fit(dataset, opt="LBFGS", steps=50, lamb=0.001)
        wall = time.perf_counter() - start
    loss = float(res["test_loss"][-1])
else:
    loss = None
print(json.dumps({"torch_only_mib": base, "peak_mib": vmhwm(), "fit_s": wall, "test_loss": loss}))
"""


def run_memory(lib: str) -> dict:
    out = subprocess.run([sys.executable, "-c", _MEMORY_SCRIPT, lib, str(ROOT)], capture_output=True, text=True,
                         timeout=900)
    if out.returncode != 0:
        raise RuntimeError(f"memory run for {lib} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------- 4. import
def import_time(module: str, repeats: int) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    times = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp, env=env,
                                 timeout=300)
        if out.returncode != 0:
            raise RuntimeError(f"import {module} failed:\n{out.stderr[-2000:]}")
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


# -------------------------------------------------------------------------------------------- main
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and steps")
    parser.add_argument("--no-pykan", action="store_true", help="skip the pykan comparator")
    args = parser.parse_args()
    use_pykan = not args.no_pykan and have_pykan()
    if not args.no_pykan and not use_pykan:
        print("pykan not installed: measuring kanwidget only (pip install pykan==0.2.8 to compare)")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, python {sys.version.split()[0]}, "
          f"pykan {'0.2.8' if use_pykan else 'skipped'}")
    if os.getloadavg()[0] > 1.5:
        print(f"warning: load average {os.getloadavg()[0]:.1f}: other processes are running, timings will be noisy")

    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)                        # pykan writes ./model and ./figures
        try:
            rows = bench_adam(use_pykan, args.quick)
            rows.append(bench_forward_backward(use_pykan, args.quick))
        finally:
            os.chdir(cwd)

    print()
    print(f"{'measurement':34s} {'kanwidget':>12s} {'pykan':>12s} {'ratio':>8s}")
    for row in rows:
        theirs = row.get("pykan_ms")
        ratio = f"{theirs / row['kanwidget_ms']:8.1f}" if theirs else f"{'-':>8s}"
        print(f"{row['what']:34s} {row['kanwidget_ms']:9.2f} ms {(f'{theirs:9.2f} ms' if theirs else '-'):>12s} {ratio}")

    mem = {"kanwidget": run_memory("kanwidget"), "torch": run_memory("torch")}
    if use_pykan:
        mem["pykan"] = run_memory("kan")
    print()
    print("tutorial first fit (float64 [2,5,1], LBFGS 50 steps, lamb=0.001), one fresh process each:")
    print(f"  interpreter + torch only: peak RSS {mem['torch']['peak_mib']:.0f} MiB")
    for lib in ("kanwidget", "pykan"):
        if lib in mem:
            m = mem[lib]
            print(f"  {lib:10s} peak RSS {m['peak_mib']:6.0f} MiB ({m['peak_mib'] - mem['torch']['peak_mib']:+.0f} MiB "
                  f"over torch alone), fit {m['fit_s']:.2f} s, test RMSE {m['test_loss']:.2e}")

    reps = 3 if args.quick else 5
    imports = {"torch": import_time("torch", reps), "kanwidget": import_time("kanwidget", reps)}
    if use_pykan:
        imports["kan"] = import_time("kan", reps)
    print()
    print("import time, fresh process, median of", reps, ": " +
          ", ".join(f"{name} {sec:.2f} s" for name, sec in imports.items()))

    print()
    print("summary (ratio = pykan / kanwidget):")
    verdicts = []

    def verdict(name: str, value: float | None, target: float, fmt: str, lower_is_better: bool = False) -> None:
        if value is None:
            print(f"  {name:40s} {'n/a':>8s}   target {fmt.format(target)}")
            return
        ok = value <= target if lower_is_better else value >= target
        verdicts.append(ok)
        sign = "<=" if lower_is_better else ">="
        print(f"  {name:40s} {fmt.format(value):>8s}   target {sign} {fmt.format(target):6s} {'PASS' if ok else 'FAIL'}")

    for row in rows:
        target = 50.0 if "fwd+bwd" in row["what"] else 10.0
        ratio = row["pykan_ms"] / row["kanwidget_ms"] if "pykan_ms" in row else None
        verdict(row["what"] + " speed-up", ratio, target, "{:.1f}x")
    # absolute step times: 10x pykan's step as measured on this kind of machine (docs/DESIGN.md §6)
    for row, limit in zip(rows, ABSOLUTE_TARGET_MS):
        verdict(row["what"] + " time", row["kanwidget_ms"], limit, "{:.2f}ms", lower_is_better=True)
    mem_ratio = mem["kanwidget"]["peak_mib"] / mem["pykan"]["peak_mib"] if "pykan" in mem else None
    verdict("peak RSS kanwidget / pykan", mem_ratio, 0.5, "{:.2f}", lower_is_better=True)
    if "pykan" in mem:
        base = mem["torch"]["peak_mib"]
        over = (mem["kanwidget"]["peak_mib"] - base) / max(mem["pykan"]["peak_mib"] - base, 1e-9)
        verdict("peak RSS over torch alone, kanwidget/pykan", over, 0.5, "{:.2f}", lower_is_better=True)
    if "kan" in imports:
        print(f"  {'import kan / import kanwidget':40s} {imports['kan'] / imports['kanwidget']:7.1f}x   (informational)")
    if not use_pykan:
        print("  (no pykan: ratios not measured)")
    elif verdicts:
        print(f"  {sum(verdicts)}/{len(verdicts)} targets met")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
