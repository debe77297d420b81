"""Threads: page commands while a fit runs, a cell fit during a widget fit, two threads sending commands,
pause / cancel / interrupt during a long command (model and history left exactly as before)."""
from __future__ import annotations

import threading
import time

import pytest

from kanwidget import KAN, KANWidget
from kanwidget.core import ModelBusyError, OperationCancelled
from kanwidget.widget import KANWidgetWarning, inspector as inspector_module
from widget_helpers import command, same_state, state_dict, steps_seen, wait_until

LONG = {"steps": 100_000, "opt": "Adam", "lr": 0.01, "lamb": 0.0, "update_grid": False}


def block_at_first_progress(w: KANWidget) -> threading.Event:
    """Make the next long command wait at its first "progress" event until its stop token is set."""
    reached = threading.Event()

    def hold(activity):
        if not reached.is_set():
            reached.set()
            activity.stop.wait(20)
    w.model.on("progress", hold)
    return reached


# ---------------------------------------------------------------- cell fit
def test_cell_fit_during_widget_fit_is_refused_at_once_or_runs_fully(widget, data):
    command(widget, "train", **LONG)
    wait_until(lambda: steps_seen(widget) >= 2, what="widget training")
    model = widget.model
    outcome: dict = {}

    def cell():
        t0 = time.monotonic()
        try:
            outcome["results"] = model.fit(data, steps=5, opt="Adam", lr=0.01, verbose=False)
        except ModelBusyError as exc:
            outcome["error"] = exc
        outcome["seconds"] = time.monotonic() - t0

    thread = threading.Thread(target=cell)
    thread.start()
    thread.join(5)
    if thread.is_alive():          # it waits for the widget's fit: then it must run all its steps
        assert widget.pause()
        thread.join(30)
    assert not thread.is_alive()
    if "error" in outcome:         # refused at once, with a message that says what runs
        assert "busy" in str(outcome["error"]) and "fit" in str(outcome["error"])
        assert widget.training                       # the widget's fit was not disturbed
        assert widget.pause() and widget.wait(10)
    else:
        assert len(outcome["results"]["train_loss"]) == 5
    assert widget.wait(10) and not widget.training
    assert widget.status["state"] == "idle" and widget.error == ""
    assert steps_seen(widget) == widget.model.steps_trained
    assert widget.versions[-1]["current"] and widget.versions[-1]["label"].startswith("fit Adam x")


def test_page_commands_while_a_fit_runs(widget):
    command(widget, "train", **LONG)
    wait_until(lambda: steps_seen(widget) >= 2, what="widget training")
    command(widget, "inspect", l=0, i=0, j=0)                  # alongside the fit
    assert widget.training and widget.inspector["l"] == 0 and widget.inspector["candidates"]
    with pytest.warns(KANWidgetWarning, match="already running"):
        command(widget, "step")
    command(widget, "fix_symbolic", l=0, i=1, j=0, name="x")     # pauses the fit first
    assert widget.error == "" and not widget.training
    assert widget.status["text"].startswith("paused training at step")
    assert widget.graph["layers"][0]["edges"][3]["symbolic"] == "x"
    assert steps_seen(widget) == widget.model.steps_trained


# ------------------------------------------------------- serialised commands
def test_commands_from_two_threads_run_one_after_the_other(widget, monkeypatch):
    widget.train(steps=3, opt="Adam", lr=0.05, block=True)
    model = widget.model
    real_prune = model.prune
    in_prune = threading.Event()

    def slow_prune(**kwargs):
        in_prune.set()
        time.sleep(0.3)                  # a train sent meanwhile must wait, then train the pruned model
        return real_prune(**kwargs)

    monkeypatch.setattr(model, "prune", slow_prune)
    a = threading.Thread(target=command, args=(widget, "prune"), kwargs={"node_th": 0.0, "edge_th": 0.0})
    a.start()
    assert in_prune.wait(10)
    b = threading.Thread(target=command, args=(widget, "train"),
                         kwargs={"steps": 4, "opt": "Adam", "lr": 0.01, "lamb": 0.0, "update_grid": False})
    b.start()
    a.join(30)
    b.join(30)
    assert widget.wait(30) and widget.error == ""
    pruned = widget.model
    assert pruned is not model                        # prune made a new model ...
    assert pruned.steps_trained == 3 + 4               # ... and the train trained it, not the one before
    assert model.steps_trained == 3
    labels = [v["label"] for v in widget.versions]
    assert labels[-2].startswith("prune") and labels[-1] == "fit Adam x4"


# ------------------------------------------------------------ long commands
def test_pause_during_auto_symbolic_cancels_it_and_leaves_the_model(widget):
    widget.train(steps=3, opt="Adam", lr=0.05, block=True)
    before, versions = state_dict(widget.model), list(widget.versions)
    reached = block_at_first_progress(widget)
    command(widget, "auto_symbolic", wait=False, lib=["x", "sin"], weight_simple=0.8)
    assert reached.wait(20)
    st = widget.status
    assert st["state"] == "busy" and st["command"] == "auto_symbolic" and st["cancellable"] is True
    assert st["total"] == 9 and st["done"] == 0 and "auto-symbolic" in st["text"]
    # a version chip clicked meanwhile is refused, not queued
    with pytest.warns(KANWidgetWarning, match=r"busy: auto-symbolic 0/9 edges; press Cancel first"):
        command(widget, "checkout", wait=False, id=versions[0]["id"])
    with pytest.raises(Exception, match="busy"):
        widget.prune()
    command(widget, "pause")
    assert widget.wait(20)
    assert same_state(before, state_dict(widget.model)) and widget.versions == versions
    assert widget.status["state"] == "idle" and "cancelled" in widget.status["text"]
    assert "error" not in widget.status and "checkout: busy: auto-symbolic" in widget.error
    assert all(e["symbolic"] is None for layer in widget.graph["layers"] for e in layer["edges"])


def test_cancel_refine_from_the_page_and_auto_symbolic_from_python(widget):
    widget.train(steps=3, opt="Adam", lr=0.05, block=True)
    before, versions, grid = state_dict(widget.model), list(widget.versions), widget.model.grid
    reached = block_at_first_progress(widget)
    command(widget, "refine", wait=False, grid=6)
    assert reached.wait(20)
    command(widget, "cancel")
    assert widget.wait(20)
    assert widget.model.grid == grid and same_state(before, state_dict(widget.model))
    assert widget.versions == versions and widget.error == "" and "cancelled" in widget.status["text"]
    # from Python: the call runs in the caller; w.cancel() from another thread stops it
    reached = block_at_first_progress(widget)
    canceller = threading.Thread(target=lambda: (reached.wait(20), widget.cancel()))
    canceller.start()

    with pytest.raises(OperationCancelled):
        widget.auto_symbolic(lib=["x", "sin"])
    canceller.join(20)
    assert same_state(before, state_dict(widget.model)) and widget.versions == versions
    assert widget.status["state"] == "idle"


def test_keyboard_interrupt_during_a_long_command_is_reported(widget):
    widget.train(steps=3, opt="Adam", lr=0.05, block=True)
    before, versions = state_dict(widget.model), list(widget.versions)

    def interrupt(activity):
        raise KeyboardInterrupt
    widget.model.on("progress", interrupt)
    with pytest.warns(KANWidgetWarning, match="interrupted"), pytest.raises(KeyboardInterrupt):
        widget.auto_symbolic(lib=["x"])
    widget.model.off("progress", interrupt)
    assert widget.error == "auto-symbolic interrupted"
    assert widget.status["state"] == "idle" and "interrupted" in widget.status["text"]
    assert same_state(before, state_dict(widget.model)) and widget.versions == versions
    widget.auto_symbolic(lib=["x"])                    # the widget still works
    assert widget.versions[-1]["label"].startswith("auto_symbolic")


# ----------------------------------------------------------------- inspector
def test_inspect_publishes_the_curve_at_once_and_candidates_later(widget, monkeypatch):
    widget.train(steps=3, opt="Adam", lr=0.05, block=True)
    release, calls = threading.Event(), []
    real = inspector_module.edge_candidates

    def slow(*args, **kwargs):
        calls.append(1)
        release.wait(20)
        return real(*args, **kwargs)

    monkeypatch.setattr(inspector_module, "edge_candidates", slow)
    command(widget, "inspect", wait=False, l=0, i=1, j=2)
    ins = widget.inspector
    assert (ins["l"], ins["i"], ins["j"]) == (0, 1, 2) and len(ins["x"]) > 10 and ins["candidates"] == []
    assert widget.pause() is True                       # pause does not wait behind the search
    release.set()
    assert widget.wait(20)
    cands = widget.inspector["candidates"]
    assert 1 <= len(cands) <= 5 and len(calls) == 1
    command(widget, "close_inspector")
    command(widget, "inspect", l=0, i=1, j=2)           # cached per (version, edge): no second search
    assert widget.inspector["candidates"] == cands and len(calls) == 1


def test_a_new_inspect_cancels_the_running_search(widget, monkeypatch):
    started, seen_stop = threading.Event(), []
    real = inspector_module.edge_candidates

    def watch(x, y, lib=None, stop=None, **kw):
        started.set()
        if stop is not None and stop.wait(20):
            seen_stop.append(True)
            raise inspector_module.Cancelled
        return real(x, y, lib, stop=stop, **kw)

    monkeypatch.setattr(inspector_module, "edge_candidates", watch)
    command(widget, "inspect", wait=False, l=0, i=0, j=0)
    assert started.wait(20)
    command(widget, "close_inspector")
    assert widget._session.inspector.join(20) and seen_stop == [True] and widget.inspector == {}


def test_model_busy_elsewhere_refuses_widget_commands_clearly(data):
    model = KAN([2, 3, 1], grid=3, k=3, seed=1)
    w = KANWidget(model, data)
    try:
        release = threading.Event()
        stop_holder = {}

        def cell():
            with model.lineage.begin("fit", total=10) as activity:   # a fit running in a cell's thread
                stop_holder["stop"] = activity.stop
                release.wait(20)
        t = threading.Thread(target=cell)
        t.start()
        wait_until(lambda: model.lineage.activity is not None, what="the cell's activity")
        with pytest.warns(KANWidgetWarning, match="busy"), pytest.raises(ModelBusyError, match="busy"):
            w.fix_symbolic(0, 0, 0, "x")
        assert w.status["state"] == "idle" and model.history == []
        release.set()
        t.join(10)
    finally:
        w.close()
