"""Helpers for the widget tests (a message recorder, page commands, waiting)."""
from __future__ import annotations

import time

import torch

from kanwidget import KAN, KANWidget


def target(x: torch.Tensor) -> torch.Tensor:
    """The pykan tutorial's function exp(sin(pi*x1) + x2^2)."""
    return torch.exp(torch.sin(torch.pi * x[:, [0]]) + x[:, [1]] ** 2)


class Recorder:
    """Captures everything the widget sends (state updates and custom messages)."""

    def __init__(self, w: KANWidget) -> None:
        self.messages: list[tuple[float, dict, list]] = []
        self.w = w
        w._send = self._send   # the lowest level: Widget.send and send_state both go through it

    def _send(self, msg, buffers=None):
        self.messages.append((time.monotonic(), msg, list(buffers or [])))

    def clear(self) -> None:
        self.messages.clear()

    def custom(self) -> list[dict]:
        return [m["content"] for _, m, _ in self.messages if m.get("method") == "custom"]

    def updates(self) -> list[dict]:
        """State updates, with their binary buffers put back in place (e.g. `curves`)."""
        out = []
        for _, m, buffers in self.messages:
            if m.get("method") != "update":
                continue
            state = dict(m["state"])
            for path, buf in zip(m.get("buffer_paths", []), buffers):
                assert len(path) == 1, path
                state[path[0]] = bytes(buf)
            out.append(state)
        return out


def command(w: KANWidget, command_name: str, wait: bool = True, **args) -> None:
    """Send a command the way the page does (through the custom-message handler).

    wait=True waits for the background work it started (a long command, inspector candidates),
    except a fit, so the test sees the outcome as the page eventually does.
    """
    w._session.runner.handle_message({"type": "command", "name": command_name, "args": args})
    if wait:
        assert w._session.wait(60, fits=False), f"{command_name} did not finish"


def steps_seen(w: KANWidget) -> int:
    """Loss rows the view holds (one per step until the history is compacted)."""
    return len(w._session.rows)


def wait_until(cond, timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


def state_dict(model: KAN) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def same_state(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
