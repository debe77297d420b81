"""FitConfig: every argument of KAN.fit, validated once, frozen."""
from __future__ import annotations

import numbers
from dataclasses import dataclass, fields
from typing import Any, Callable, Sequence

from torch import Tensor

from kanwidget.core.checks import check_bool, check_float, check_int
from kanwidget.core.operations.losses import named_loss

OPTIMISERS = ("LBFGS", "Adam")
MAX_COUNT = 2 ** 31 - 1   # bound of step counts and intervals (beyond it nothing would finish anyway)


def _flag(name: str, value: Any) -> bool:
    """A bool, also from numpy bools and the integers 0/1 (older callers pass verbose=0)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and int(value) in (0, 1):
        return bool(value)
    return check_bool(name, value)


@dataclass(frozen=True)
class FitConfig:
    """The options of one fit (see KAN.fit). Construction validates and normalises every field:
    TypeError/ValueError name the bad argument; numpy scalars are accepted."""
    opt: str = "LBFGS"
    steps: int = 100
    log: int = 1
    lamb: float = 0.0
    lamb_l1: float = 1.0
    lamb_entropy: float = 2.0
    lamb_coef: float = 0.0
    lamb_coefdiff: float = 0.0
    update_grid: bool = True
    grid_update_num: int = 10
    loss_fn: Callable[[Tensor, Tensor], Tensor] | None = None
    lr: float = 1.0
    start_grid_update_step: int = -1
    stop_grid_update_step: int = 50
    batch: int = -1
    verbose: bool = True
    callbacks: tuple[Callable[..., Any], ...] = ()
    max_iter: int = 20
    record: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.opt, str) or self.opt not in OPTIMISERS:
            raise ValueError(f"unknown optimiser {self.opt!r}; valid: {', '.join(OPTIMISERS)}")
        values: dict[str, Any] = {
            "steps": check_int("steps", self.steps, 1, MAX_COUNT),
            "log": check_int("log", self.log, 1, MAX_COUNT),
            "lr": check_float("lr", self.lr, 0.0, low_open=True),
            "grid_update_num": check_int("grid_update_num", self.grid_update_num, 1, MAX_COUNT),
            "start_grid_update_step": check_int("start_grid_update_step", self.start_grid_update_step,
                                                -MAX_COUNT, MAX_COUNT),
            "stop_grid_update_step": check_int("stop_grid_update_step", self.stop_grid_update_step,
                                               -MAX_COUNT, MAX_COUNT),
            "batch": -1 if _is_minus_one(self.batch) else check_int("batch", self.batch, 1, MAX_COUNT),
            "max_iter": check_int("max_iter", self.max_iter, 1, MAX_COUNT),
            "update_grid": _flag("update_grid", self.update_grid),
            "verbose": _flag("verbose", self.verbose),
            "record": _flag("record", self.record),
        }
        for name in ("lamb", "lamb_l1", "lamb_entropy", "lamb_coef", "lamb_coefdiff"):
            values[name] = check_float(name, getattr(self, name), 0.0)
        values["loss_fn"] = named_loss(self.loss_fn)     # "logistic" / "bce" / "mse" (operations/losses.py)
        if values["loss_fn"] is not None and not callable(values["loss_fn"]):
            raise TypeError("loss_fn must be callable(pred, target) -> scalar tensor, or a name such as 'logistic'")
        callbacks = self.callbacks
        if callbacks is None:
            callbacks = ()
        elif callable(callbacks):
            callbacks = (callbacks,)
        elif isinstance(callbacks, (str, bytes)) or not isinstance(callbacks, Sequence):
            raise TypeError(f"callbacks must be a list of callables taking a FitStep, got {type(callbacks).__name__}")
        if not all(callable(cb) for cb in callbacks):
            raise TypeError("callbacks must be callables taking a FitStep")
        values["callbacks"] = tuple(callbacks)
        for name, value in values.items():
            object.__setattr__(self, name, value)

    @property
    def grid_interval(self) -> int:
        """Steps between grid updates."""
        return max(1, self.stop_grid_update_step // self.grid_update_num)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _is_minus_one(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and int(value) == -1
