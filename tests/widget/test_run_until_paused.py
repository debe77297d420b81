"""Run until paused (train steps=0, the page's Play button): a live step counter, chunks, one version at pause."""
from __future__ import annotations

import pytest
import torch

from kanwidget.widget import trainer as trainer_module
from widget_helpers import command, wait_until


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(trainer_module, "CHUNK_STEPS", 4)   # several chunks in a short run


def test_play_runs_until_paused_with_a_live_counter_and_one_version(widget, data, small_chunks):
    before_versions, before_steps = len(widget.model.history), widget.model.steps_trained
    seen: list[int] = []

    def counter():
        status = widget.status
        if status.get("state") == "training" and status.get("steps") == 0 and status.get("step", 0) > 0:
            assert "until paused" in status["text"] and f"step {status['step']}" in status["text"]
            seen.append(status["step"])
        return widget.model.steps_trained - before_steps >= 11     # beyond two chunks of 4
    command(widget, "train", wait=False, steps=0, opt="Adam", lr=0.01, lamb=0.0, update_grid=True)
    wait_until(counter, 60, "steps beyond two chunks")
    assert widget.training
    assert widget.pause()
    assert widget.wait(30)
    model = widget.model
    done = model.steps_trained - before_steps
    assert done >= 11 and not widget.training
    assert seen and seen == sorted(seen) and len(set(seen)) > 1         # the counter went up, across chunks
    assert widget.status["state"] == "idle" and widget.status["text"].startswith(f"paused after {done} steps")
    added = [v.label for v in model.history[before_versions:] if v.label != "init"]   # a new model records init
    assert len(added) == 1                                               # one version for the whole run
    version = model.history[-1]
    assert version.label == f"fit Adam x{done} (until paused)" and version.id == model.lineage.current
    # the model is at a completed step: one loss row per step, the last one recorded in the version,
    # and the version holds exactly the model's weights
    rows = model.lineage.losses.array()
    assert rows[:, 0].tolist() == list(range(1, model.steps_trained + 1))
    assert rows[-1, 1] == pytest.approx(version.metrics["train_loss"], rel=1e-6)
    x = data["test_input"]
    with torch.no_grad():
        assert torch.equal(model.checkout(version.id)(x), model(x))


def test_python_train_none_and_a_change_command_pause_the_run(widget, small_chunks):
    before = len(widget.model.history)
    widget.train(steps=None, opt="Adam", lr=0.01)
    wait_until(lambda: widget.model.steps_trained >= 6, 60, "a few steps")
    new = widget.prune(node_th=0.0, edge_th=0.0)              # pauses the run first, then prunes
    labels = [v.label for v in new.history[before:] if v.label != "init"]
    assert len(labels) == 2 and labels[0].endswith("(until paused)") and labels[1].startswith("prune")
    assert not widget.training


def test_until_paused_needs_the_background(widget):
    with pytest.raises(ValueError, match="steps: 0 .until paused. needs block=False"):
        widget.train(steps=0, block=True)
    assert widget.model.steps_trained == 0 and not widget.training


def test_messages_name_the_runs_step_without_an_end(widget, small_chunks):
    from kanwidget.widget import CommandError
    widget.train(steps=0, opt="Adam", lr=0.01)
    wait_until(lambda: widget.model.steps_trained >= 5, 60, "a few steps")
    with pytest.raises(CommandError, match=r"training is already running \(step \d+\); press Pause first"):
        widget.train(steps=0)
    widget.refine(5)                                   # pauses the run first
    assert "/0" not in widget.status["text"] and "paused training at step" in widget.status["text"]
