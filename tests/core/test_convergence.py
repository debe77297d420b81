"""Seed-independent training: stall detection and escape (operations/plateau.py) on the KAN paper's example."""
from __future__ import annotations

import pytest
import torch

from kanwidget import KAN, create_dataset
from kanwidget.core.operations import plateau
from kanwidget.core.operations.plateau import MAX_ESCAPES, WARMUP, StallWatch, redraw_edges
from tests.core.model_helpers import clone_state, state_equal


def target(x: torch.Tensor) -> torch.Tensor:
    return torch.exp(torch.sin(torch.pi * x[:, [0]]) + x[:, [1]] ** 2)


@pytest.fixture(scope="module")
def dataset() -> dict[str, torch.Tensor]:
    return create_dataset(target, n_var=2, dtype=torch.float64)


def rmse(model: KAN, ds: dict[str, torch.Tensor]) -> float:
    with torch.no_grad():
        return float(torch.sqrt(torch.mean((model(ds["test_input"]) - ds["test_label"]) ** 2)))


def fit_with_notes(model: KAN, ds: dict[str, torch.Tensor], steps: int) -> list[tuple[int, str]]:
    notes: list[tuple[int, str]] = []
    model.fit(ds, steps=steps, verbose=False, record=False,
              callbacks=[lambda info: info.stall and notes.append((info.step, info.stall))])
    return notes


# ------------------------------------------------------------------ the watch alone
def test_flat_and_far_from_the_data_is_a_stall_at_the_first_check():
    watch = StallWatch(label_std=1.0)
    flags = [watch.stalled(step, 0.6) for step in range(1, WARMUP + 1)]
    assert flags == [False] * (WARMUP - 1) + [True]


def test_falling_loss_or_a_loss_near_the_data_is_no_stall():
    falling, close = StallWatch(label_std=1.0), StallWatch(label_std=1.0)
    assert not any(falling.stalled(step, 0.6 * 0.98 ** step) for step in range(1, 101))
    assert not any(close.stalled(step, 0.05) for step in range(1, 101))   # 5 % of the labels' std: converged


def test_at_most_max_escapes_per_fit_and_checks_restart_after_an_escape():
    watch = StallWatch(label_std=1.0)
    stalls = []
    for step in range(1, 201):
        if watch.stalled(step, 0.6):
            stalls.append(step)
            watch.keep(step, 0.6, [torch.zeros(1)])
    assert stalls == [WARMUP * (k + 1) for k in range(MAX_ESCAPES)]   # checks resume WARMUP steps after an escape


def test_the_state_before_the_escape_is_kept_when_the_escape_ends_worse():
    watch = StallWatch(label_std=1.0)
    watch.keep(20, 0.6, [torch.ones(2)])
    assert watch.worse_than_before(0.7) and not watch.worse_than_before(0.01)


def test_redraw_keeps_masks_symbolic_edges_and_biases():
    model = KAN(width=[2, 3, 1], grid=3, seed=0, dtype=torch.float64)
    layer = model.layers[0]
    layer.mask[1, 2] = 0.0
    layer.set_symbolic(0, 1, "sin", torch.tensor([2.0, 0.5, 1.5, -0.5]))
    layer.bias.fill_(0.25)
    before = clone_state(model)
    redraw_edges(model, torch.rand(50, 2, dtype=torch.float64) * 2 - 1, torch.Generator().manual_seed(3))
    assert torch.equal(layer.mask, before["layers.0.mask"])
    assert torch.equal(layer.sym_affine[0, 1], before["layers.0.sym_affine"][0, 1])
    assert torch.equal(layer.coef[0, 1], before["layers.0.coef"][0, 1])       # symbolic edge untouched
    assert torch.equal(layer.bias, before["layers.0.bias"])
    assert torch.allclose(layer.scale_base[0, 0], torch.tensor(2 ** -0.5, dtype=torch.float64))
    assert not torch.equal(layer.coef[1, 0], before["layers.0.coef"][1, 0])


# ------------------------------------------------------------------ fits
def test_a_stalling_start_is_detected_escaped_and_converges(dataset):
    # this initialisation (seed 0, random-sign base scales) folds the outer function and stalls at
    # test RMSE ~0.6 without the escape (measured before plateau.py existed)
    model = KAN(width=[2, 1, 1], grid=3, k=3, seed=0, dtype=torch.float64)
    notes = fit_with_notes(model, dataset, steps=60)
    assert len(notes) == 1 and notes[0][0] == WARMUP and "stalled at train RMSE" in notes[0][1]
    assert rmse(model, dataset) < 0.05


def test_the_escape_is_deterministic(dataset):
    runs = []
    for _ in range(2):
        model = KAN(width=[2, 1, 1], grid=3, k=3, seed=0, dtype=torch.float64)
        notes = fit_with_notes(model, dataset, steps=WARMUP + 5)
        runs.append((notes, clone_state(model)))
    assert runs[0][0] and runs[0][0] == runs[1][0]
    assert state_equal(runs[0][1], runs[1][1])


def test_a_good_seed_is_unchanged_by_the_watch(dataset, monkeypatch):
    states = []
    for level in (plateau.STALL_LEVEL, float("inf")):    # inf: the watch can never fire
        monkeypatch.setattr(plateau, "STALL_LEVEL", level)
        model = KAN(width=[2, 1, 1], grid=3, k=3, seed=3, dtype=torch.float64)   # seed 3: no stall (bench table 1)
        assert fit_with_notes(model, dataset, steps=40) == []
        states.append(clone_state(model))
    assert state_equal(states[0], states[1])
    assert rmse(model, dataset) < 0.05


def test_the_stall_is_printed_in_the_progress_line(dataset, capsys):
    model = KAN(width=[2, 1, 1], grid=3, k=3, seed=0, dtype=torch.float64)
    model.fit(dataset, steps=WARMUP + 1, verbose=True, record=False)
    assert f"step {WARMUP}: stalled at train RMSE" in capsys.readouterr().out


# ------------------------------------------------------------------ grid extension (KAN paper's example)
def test_grid_extension_reaches_the_papers_figures_with_default_grids(dataset):
    """[2,1,1] G=3 -> 10 with the default grids (uniform, 3 % margin): test RMSE at or below the KAN paper's
    example notebook (1.53e-2 at G=3, 3.29e-4 at G=10), here with 100 LBFGS steps per grid instead of 200.

    After 50 steps both figures depend on rounding. At G=3 seeds 0-9 land at 1.45-1.48e-2, but a change of the
    last bits of the bases once gave 1.56e-2 for seed 1. At G=10 seeds 0-5 land at 3.20-3.53e-4 (3.20-3.49e-4
    before the samples-last objective: seed 3 was over the bound then, seed 1 is now). After 100
    steps every seed is at 1.451-1.457e-2 and 3.20-3.22e-4."""
    model = KAN(width=[2, 1, 1], grid=3, k=3, seed=1, dtype=torch.float64)
    model.fit(dataset, steps=100, verbose=False, record=False)
    at_3 = rmse(model, dataset)
    model = model.refine(10)
    model.fit(dataset, steps=100, verbose=False, record=False)
    assert at_3 <= 1.53e-2 and rmse(model, dataset) <= 3.29e-4, (at_3, rmse(model, dataset))
