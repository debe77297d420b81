"""auto_symbolic's printing: pykan's line per edge on small models, head + one summary line on big ones."""
import re
from collections import Counter

import torch

from kanwidget import KAN, create_dataset
from kanwidget.core.operations import symbolic_log
from kanwidget.core.operations.symbolic_log import EdgeLog

LIB = ["x", "x^2", "sin", "exp", "tanh"]


def _data(n_var):
    return create_dataset(lambda x: torch.sin(x.sum(1, keepdim=True)), n_var=n_var, train_num=200, test_num=50,
                          seed=0, dtype=torch.float64)


def test_small_model_prints_one_pykan_line_per_edge(capsys):
    model = KAN(width=[2, 3, 1], grid=3, seed=0, dtype=torch.float64)   # 9 edges, under the threshold
    model.fit(_data(2), steps=3, verbose=False)
    choices = model.auto_symbolic(lib=LIB)
    lines = capsys.readouterr().out.splitlines()
    assert len(choices) == 9 and len(lines) == 9
    for c, line in zip(choices, lines):
        assert line.startswith(f"fixing ({c.l},{c.i},{c.j}) with {c.name}, r2={c.r2:.6f}, c=")
    assert not any(line.startswith("fixed ") for line in lines)


def test_big_model_prints_a_head_and_a_summary(capsys):
    model = KAN(width=[4, 8, 1], grid=3, seed=0, dtype=torch.float64)   # 40 edges
    model.fit(_data(4), steps=2, verbose=False)
    choices = model.auto_symbolic(lib=LIB, r2_threshold=0.5)
    lines = capsys.readouterr().out.splitlines()
    assert len(choices) == 40
    assert len(lines) == symbolic_log.HEAD + 2
    assert lines[symbolic_log.HEAD] == f"... ({40 - symbolic_log.HEAD} more edges; a summary follows)"
    fixed = [c for c in choices if c.name is not None]
    counts = Counter(c.name for c in fixed)
    summary = lines[-1]
    assert summary.startswith(f"fixed {len(fixed)} edges: ")
    named = dict((name, int(n)) for name, n in re.findall(r"([\w^]+) (\d+)", summary.split(": ", 1)[1].split(";")[0]))
    assert named == dict(counts)
    kept = 40 - len(fixed)
    assert (f"; kept {kept} as spline" in summary) == (kept > 0)
    mean = sum(c.r2 for c in fixed) / len(fixed)
    assert summary.endswith(f"; mean r2 {mean:.4f}")


def test_iterative_mode_summarises_too(capsys, monkeypatch):
    monkeypatch.setattr(symbolic_log, "SUMMARY_ABOVE", 4)
    monkeypatch.setattr(symbolic_log, "HEAD", 2)
    model = KAN(width=[2, 3, 1], grid=3, seed=0, dtype=torch.float64)   # 9 edges, over the patched threshold
    model.fit(_data(2), steps=3, verbose=False)
    choices = model.auto_symbolic(lib=LIB, iterative=True, refit_steps=1)
    lines = capsys.readouterr().out.splitlines()
    assert len(choices) == 9
    assert lines[0].startswith("fixing (") and lines[1].startswith("fixing (") and len(lines) == 4
    assert lines[2] == "... (7 more edges; a summary follows)"
    assert lines[3].startswith("fixed 9 edges: ")


def test_summary_counts_functions_keeps_and_caps_the_names():
    log = EdgeLog(total=30, verbose=False)
    names = [f"f{k}" for k in range(10)]
    for k in range(27):
        log.edge("", names[k % 10] if k < 20 else "f0", 0.5)
    for _ in range(3):
        log.edge("", None, 0.1)
    # f0: 2 + 7 = 9, f1..f9: 2 each; top 8 named (f0 first), the last two (f8, f9) as "others 4"
    assert log.summary() == ("fixed 27 edges: f0 9, f1 2, f2 2, f3 2, f4 2, f5 2, f6 2, f7 2, others 4; "
                             "kept 3 as splines; mean r2 0.5000")
    assert EdgeLog(total=1, verbose=False).summary() == "fixed 0 edges"
