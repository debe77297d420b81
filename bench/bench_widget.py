"""KANWidget overhead: training with the view attached vs headless, pause latency, payload size.

    .venv/bin/python bench/bench_widget.py            # full run (a few minutes on a quiet machine)
    .venv/bin/python bench/bench_widget.py --quick    # fewer repeats and steps

What is measured (all in one process, interleaved so both sides see the same machine load):
  1. Adam training (float32, 1000 train + 1000 test samples, grid=5, k=3, update_grid=False) for
     [2,5,1] and [8,64,64,1] (steps chosen so one run lasts ~6 s, 2 s with --quick): wall time of `KANWidget(model, data).train(..., block=True)` (the view
     attached and updating, throttled) vs `model.fit(...)` of an identical fresh model, headless.
     The widget's comm is replaced by one that JSON-serialises every message (as the kernel's
     session does, allow_nan=False) so serialisation is paid for. Medians; target ratio <= 1.10.
     Also the share of the widget run spent in view work (payload computation + sending), which
     is the overhead itself and much less sensitive to machine noise than the ratio.
  2. Pause latency at [8,64,64,1] with LBFGS: `w.pause()` called while a background fit is inside an
     LBFGS step, until it returns (the fit has stopped and restored its last completed step).
     Median of several; target <= 0.3 s.
  3. Payload bytes of one view update (graph JSON as serialised + curves buffer) for [2,5,1] and
     [8,64,64,1] with data. Target: a few KB and <= ~1.5 MB.
  4. The data view (100 x 100 cells + 24 x 24 node thumbnails, target known): training wall time with
     the widget attached, the data view on vs off (interleaved), the share of the run spent computing
     it, and the cost and bytes of one data-view payload. Target: the data view adds <= 10 %.
     `--dataview` runs only this part.
Not part of the test suite. Timings on a shared 2-core machine are noisy: run it on a quiet machine.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kanwidget import KAN, KANWidget  # noqa: E402
from kanwidget.widget import snapshot  # noqa: E402


def target_fn(n_var: int):
    def f(x: torch.Tensor) -> torch.Tensor:
        return torch.exp(torch.sin(torch.pi * x[:, :1]) + (x[:, 1:] ** 2).sum(1, keepdim=True) / max(n_var - 1, 1))
    return f


def make_dataset(n_var: int, seed: int = 0) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    x_train = torch.rand(1000, n_var, generator=gen) * 2 - 1
    x_test = torch.rand(1000, n_var, generator=gen) * 2 - 1
    f = target_fn(n_var)
    return {"train_input": x_train, "train_label": f(x_train), "test_input": x_test, "test_label": f(x_test)}


class JsonComm:
    """Stands in for the kernel comm: serialises each message like jupyter_client's session."""

    def __init__(self) -> None:
        self.messages = 0
        self.bytes = 0
        self.largest = 0
        self.custom = 0     # streamed metric rows: one per throttled update

    def __call__(self, msg: dict, buffers: list | None = None) -> None:
        size = len(json.dumps(msg, allow_nan=False).encode()) + sum(len(memoryview(b).cast("B")) for b in buffers or [])
        self.messages += 1
        self.custom += msg.get("method") == "custom"
        self.bytes += size
        self.largest = max(self.largest, size)


def attach(model: KAN, data: dict) -> tuple[KANWidget, JsonComm]:
    w = KANWidget(model, data)
    comm = JsonComm()
    w._send = comm
    w.view_seconds = 0.0
    publisher = w._session.publisher
    for name in ("compute", "apply"):            # all view work goes through these two
        inner = getattr(publisher, name)

        def timed(*args, _inner=inner, **kwargs):
            t0 = time.perf_counter()
            try:
                return _inner(*args, **kwargs)
            finally:
                w.view_seconds += time.perf_counter() - t0
        setattr(publisher, name, timed)
    return w, comm


def calibrated_steps(width: list[int], data: dict, seconds: float, kw: dict) -> int:
    """Steps for a headless run of about `seconds` (after a warm-up fit), between 20 and 20,000."""
    KAN(width, grid=5, k=3, seed=0).fit(data, steps=3, verbose=False, **kw)           # warm up
    t0 = time.perf_counter()
    KAN(width, grid=5, k=3, seed=0).fit(data, steps=10, verbose=False, **kw)
    per_step = (time.perf_counter() - t0) / 10
    return int(min(20_000, max(20, seconds / per_step)))


def bench_overhead(width: list[int], seconds: float, repeats: int) -> None:
    data = make_dataset(width[0])
    kw = dict(opt="Adam", lr=1e-3, update_grid=False)
    steps = calibrated_steps(width, data, seconds, kw)   # runs of about `seconds` each
    headless, attached, stats = [], [], []
    for _ in range(repeats):
        m = KAN(width, grid=5, k=3, seed=0)
        t0 = time.perf_counter()
        m.fit(data, steps=steps, verbose=False, **kw)
        headless.append(time.perf_counter() - t0)

        w, comm = attach(KAN(width, grid=5, k=3, seed=0), data)
        comm.messages = comm.bytes = comm.custom = 0
        w.view_seconds = 0.0
        t0 = time.perf_counter()
        w.train(steps=steps, block=True, lamb=0.0, **kw)
        attached.append(time.perf_counter() - t0)
        stats.append((comm.messages, comm.bytes, w.view_seconds / attached[-1], comm.custom))
        w.close()
    h, a = statistics.median(headless), statistics.median(attached)
    msgs = statistics.median(s[0] for s in stats)
    sent = statistics.median(s[1] for s in stats)
    share = statistics.median(s[2] for s in stats)
    ticks = statistics.median(s[3] for s in stats)
    best = min(attached) / min(headless)
    print(f"  {str(width):<14} Adam x{steps:<4} headless {h:7.2f} s   widget {a:7.2f} s   ratio {a / h:5.3f}"
          f" (of best runs {best:5.3f})   target <= 1.10\n  {'':<14} view work {share:6.1%} of the widget run (time in payload compute +"
          f" send); {msgs:.0f} messages, {sent / 1e6:.2f} MB; {ticks / a:.1f} throttled updates/s")


def bench_pause(repeats: int) -> None:
    data = make_dataset(8)
    w, _ = attach(KAN([8, 64, 64, 1], grid=5, k=3, seed=0), data)
    latencies = []
    for _ in range(repeats):
        w.train(steps=100_000, opt="LBFGS", lr=1.0, update_grid=False)
        n = len(w._session.rows)
        deadline = time.monotonic() + 120
        while len(w._session.rows) <= n and time.monotonic() < deadline:   # one LBFGS step done: now inside the next
            time.sleep(0.01)
        time.sleep(0.3)
        t0 = time.perf_counter()
        assert w.pause(60)
        latencies.append(time.perf_counter() - t0)
        w.wait(120)
    w.close()
    med = statistics.median(latencies)
    print(f"  [8, 64, 64, 1] LBFGS pause latency: median {med:.3f} s  (all: "
          f"{', '.join(f'{x:.3f}' for x in latencies)})   target <= 0.3 s")


def bench_payload() -> None:
    for width in ([2, 5, 1], [8, 64, 64, 1]):
        model = KAN(width, grid=5, k=3, seed=0)
        model.data = make_dataset(width[0])
        t0 = time.perf_counter()
        graph, curves = snapshot.graph_payload(model)
        dt = time.perf_counter() - t0
        js = len(json.dumps(graph, allow_nan=False).encode())
        edges = sum(len(layer["edges"]) for layer in graph["layers"])
        print(f"  {str(width):<14} {edges:5d} edges, {graph['num_points']} points: graph JSON {js / 1e3:8.1f} KB"
              f" + curves {len(curves) / 1e3:8.1f} KB = {(js + len(curves)) / 1e3:8.1f} KB"
              f"   (computed in {dt * 1e3:.0f} ms)")


def bench_dataview(width: list[int], seconds: float, repeats: int) -> None:
    """Training with the widget attached: data view on (target known) vs off, interleaved."""
    data = make_dataset(width[0])
    kw = dict(opt="Adam", lr=1e-3, update_grid=False)
    steps = calibrated_steps(width, data, seconds, kw)
    on, off, shares, updates = [], [], [], []
    for _ in range(repeats):
        for with_view in (False, True):
            w, _comm = attach(KAN(width, grid=5, k=3, seed=0), data)
            view = w._session.publisher.dataview
            spent = [0.0, 0]
            if with_view:
                w.target = target_fn(width[0])
                inner = view.payload

                def counted(*args, _inner=inner, _view=view, _spent=spent, **kwargs):
                    out = _inner(*args, **kwargs)
                    _spent[0] += _view.cost
                    _spent[1] += 1
                    return out
                view.payload = counted
            else:
                view.due = lambda now: False          # no data-view updates during the fit
            t0 = time.perf_counter()
            w.train(steps=steps, block=True, lamb=0.0, **kw)
            wall = time.perf_counter() - t0
            (on if with_view else off).append(wall)
            if with_view:
                shares.append(spent[0] / wall)
                updates.append(spent[1] / wall)
            w.close()
    a, b = statistics.median(on), statistics.median(off)
    print(f"  {str(width):<14} Adam x{steps:<5} data view off {b:6.2f} s   on {a:6.2f} s   ratio {a / b:5.3f}"
          f" (of best runs {min(on) / min(off):5.3f})   target <= 1.10\n  {'':<14} data view compute "
          f"{statistics.median(shares):6.2%} of the run, {statistics.median(updates):.1f} updates/s")


def bench_dataview_payload() -> None:
    for width in ([2, 5, 1], [8, 64, 64, 1]):
        model = KAN(width, grid=5, k=3, seed=0)
        model.data = make_dataset(width[0])
        from kanwidget.widget.dataview import DataView
        view = DataView()
        view.payload(model, target_fn(width[0]))            # the target is computed once, then cached
        costs = []
        for _ in range(5):
            meta, data = view.payload(model, None)
            costs.append(view.cost)
        meta, data = view.payload(model, None)
        js = len(json.dumps(meta, allow_nan=False).encode())
        print(f"  {str(width):<14} {meta['kind']:<5} {meta['resolution']}x{meta['resolution']} cells, "
              f"{len(meta['nodes'])} thumbnails: meta {js / 1e3:6.1f} KB + arrays {len(data) / 1e3:7.1f} KB,"
              f" computed in {statistics.median(costs) * 1e3:6.1f} ms (median of 5)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repeats and steps")
    parser.add_argument("--dataview", action="store_true", help="only part 4 (the data view)")
    args = parser.parse_args()
    torch.set_default_dtype(torch.float32)
    repeats = 2 if args.quick else 3
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    if args.dataview:
        return dataview_part(args.quick, repeats)
    print("1. training wall time, widget attached vs headless (same run, interleaved)")
    seconds = 2.0 if args.quick else 6.0
    bench_overhead([2, 5, 1], seconds, repeats)
    bench_overhead([8, 64, 64, 1], seconds, repeats)
    print("2. pause latency")
    bench_pause(3 if args.quick else 5)
    print("3. payload of one view update")
    bench_payload()
    dataview_part(args.quick, repeats)


def dataview_part(quick: bool, repeats: int) -> None:
    print("4. the data view (100x100 cells + node thumbnails, target known)")
    seconds = 2.0 if quick else 6.0
    bench_dataview([2, 5, 1], seconds, repeats)
    bench_dataview([8, 64, 64, 1], seconds, repeats)
    bench_dataview_payload()


if __name__ == "__main__":
    main()
