"""fit's progress display: tqdm's notebook-aware bar (`tqdm.auto`), as pykan shows it.

The bar's description carries pykan's text ("| train_loss: 1.23e-02 | test_loss: ... | reg: ... | "),
tqdm adds the step count, rate and estimate. Nothing is shown when `verbose=False` or when a view is
attached to the model's lineage (`lineage.viewers > 0`: a KANWidget shows the progress itself).
Notes (a stall escaped) are written to stdout above the bar with `tqdm.write` when verbose, also
when a viewer hides the bar (they are rare and say what was done to the model). The bar itself
goes to stderr, as pykan's (tqdm's default), or is a notebook widget under Jupyter.
"""
from __future__ import annotations

import sys
from typing import Any

#: seconds between two redraws of the bar (a notebook keeps every write as output)
PRINT_INTERVAL = 0.1
#: pykan's description, a short bar, then steps, elapsed < remaining and the rate (never cut off)
BAR_FORMAT = "{desc}{percentage:3.0f}%|{bar:10}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}]"


def bar_description(train: float, test: float, reg: float) -> str:
    """pykan's progress text for one step."""
    return f"| train_loss: {train:.2e} | test_loss: {test:.2e} | reg: {reg:.2e} | "


class FitProgress:
    """The bar of one fit (a no-op when not shown)."""

    def __init__(self, steps: int, verbose: bool, viewers: int, log: int = 1) -> None:
        self.verbose = bool(verbose)
        self.log = max(1, int(log))
        self.bar: Any = None
        if self.verbose and viewers <= 0 and steps > 0:
            from tqdm.auto import tqdm
            self.bar = tqdm(total=steps, mininterval=PRINT_INTERVAL, file=sys.stderr, desc="| fit | ",
                            bar_format=BAR_FORMAT)

    @property
    def shown(self) -> bool:
        return self.bar is not None

    def step(self, step: int, steps: int, train: float, test: float, reg: float) -> None:
        """Step `step` (1-based) of `steps` completed."""
        if self.bar is None:
            return
        if (step - 1) % self.log == 0 or step == steps:
            self.bar.set_description_str(bar_description(train, test, reg), refresh=False)
        self.bar.update(1)

    def note(self, text: str) -> None:
        """A line above the bar (or alone when the bar is hidden by a viewer)."""
        if not self.verbose:
            return
        from tqdm.auto import tqdm
        tqdm.write(text, file=sys.stdout)     # tqdm lifts a bar on stderr out of the way too

    def close(self, stop_reason: str = "") -> None:
        if self.bar is None:
            return
        if stop_reason:
            self.bar.set_postfix_str(stop_reason, refresh=False)
        self.bar.close()
        self.bar = None
