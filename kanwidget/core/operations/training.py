"""Training: KAN.fit with LBFGS or Adam, grid updates, sparsity regularisation, callbacks and events."""
from __future__ import annotations

import math
import sys
import time
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

import torch
from torch import Tensor

from kanwidget.core.data import validate_dataset
from kanwidget.core.numerics.optim import LBFGS, Adam

if TYPE_CHECKING:
    from kanwidget.core.network.model import KAN

OPTIMISERS = ("LBFGS", "Adam")
PRINT_INTERVAL = 0.1  # seconds between progress-line updates (notebooks keep every write as output)


@dataclass(frozen=True)
class FitStep:
    """What a callback receives after every optimiser step (losses are RMSE)."""
    step: int           # 1-based step within this fit
    steps: int          # steps requested for this fit
    total_step: int     # optimiser steps of the model so far, all fits together
    train_loss: float
    test_loss: float
    reg: float
    model: "KAN"


class _Interrupted(Exception):
    """Raised inside an LBFGS closure when stop_training() was called."""


class _SparsityPenalty(torch.autograd.Function):
    """lamb_l1 * sum(v) + lamb_entropy * (entropy over inputs + entropy over outputs) of magnitudes v (I, O).

    Entropies as in the KAN paper: p = v / (column or row sum + 1), H = -mean(sum(p * log2(p + 1e-4))).
    One fused node with an analytic gradient instead of ~30 small autograd nodes per layer.
    """

    @staticmethod
    def forward(ctx, v: Tensor, lamb_l1: float, lamb_entropy: float) -> Tensor:  # type: ignore[override]
        a = v.sum(0, keepdim=True) + 1                     # per output
        b = v.sum(1, keepdim=True) + 1                     # per input
        p, q = v / a, v / b
        lp, lq = torch.log2(p + 1e-4), torch.log2(q + 1e-4)
        ent = -(p * lp).sum(0).mean() - (q * lq).sum(1).mean()
        ctx.save_for_backward(v, a, b, p, q, lp, lq)
        ctx.lambs = (lamb_l1, lamb_entropy)
        return lamb_l1 * v.sum() + lamb_entropy * ent

    @staticmethod
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        v, a, b, p, q, lp, lq = ctx.saved_tensors
        lamb_l1, lamb_entropy = ctx.lambs
        n_in, n_out = v.shape
        inv_ln2 = 1.0 / math.log(2.0)
        gp = -(lp + p / (p + 1e-4) * inv_ln2) / n_out      # d H_in / d p
        gq = -(lq + q / (q + 1e-4) * inv_ln2) / n_in       # d H_out / d q
        dv = (gp - (gp * p).sum(0, keepdim=True)) / a + (gq - (gq * q).sum(1, keepdim=True)) / b
        return grad * (lamb_l1 + lamb_entropy * dv), None, None


def regularization(model: "KAN", stds: list[tuple[Tensor, Tensor]], lamb_l1: float, lamb_entropy: float,
                   lamb_coef: float, lamb_coefdiff: float) -> Tensor:
    """Sparsity penalty: L1 + row/column entropy of edge magnitudes, plus optional coefficient terms.

    An edge's magnitude is std(phi(x)) / (std(x) + 0.1) over the batch, as in the KAN paper.
    """
    reg = stds[0][0].new_zeros(())
    for edge_std, in_std in stds:
        vec = edge_std / (in_std[:, None] + 0.1)                     # (I, O)
        reg = reg + _SparsityPenalty.apply(vec, float(lamb_l1), float(lamb_entropy))
    for layer in model.layers:
        if lamb_coef:
            reg = reg + lamb_coef * layer.coef.abs().mean(1).sum()
        if lamb_coefdiff:
            reg = reg + lamb_coefdiff * torch.diff(layer.coef, dim=-1).abs().mean(1).sum()
    return reg


def forward_with_stats(model: "KAN", x: Tensor) -> tuple[Tensor, list[tuple[Tensor, Tensor]]]:
    """Forward pass that also returns each layer's (edge std, input std) for the regulariser."""
    stds = []
    for layer in model.layers:
        y, edge_std = layer.forward_with_edge_std(x)
        stds.append((edge_std, x.std(0)))
        x = y
    return x, stds


def _flat_parameters(params: list[Tensor]) -> Tensor:
    """Put every parameter (and its gradient) into one contiguous vector, as views; return that vector.

    The model's Parameters stay the same objects (their .data and .grad become views), so the model
    is unchanged for its users, while the optimiser updates one tensor with one op instead of a
    Python loop over a dozen small ones. Autograd accumulates into the existing .grad views in place.
    """
    if not params:
        raise ValueError("the model has no trainable parameters (all have requires_grad=False)")
    with torch.no_grad():
        data = torch.cat([p.detach().reshape(-1) for p in params])
    grad = torch.zeros_like(data)
    offset = 0
    for p in params:
        n = p.numel()
        p.data = data[offset:offset + n].view_as(p)
        p.grad = grad[offset:offset + n].view_as(p)
        offset += n
    flat = torch.nn.Parameter(data)
    flat.grad = grad
    return flat


def _check_number(name: str, value: Any, low: float | None = None, integer: bool = False,
                  allow_minus_one: bool = False) -> None:
    kind = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind):
        raise TypeError(f"{name} must be {'an integer' if integer else 'a number'}, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if allow_minus_one and value == -1:
        return
    if low is not None and value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")


def fit(model: "KAN", dataset: dict[str, Tensor], opt: str = "LBFGS", steps: int = 100, log: int = 1,
        lamb: float = 0.0, lamb_l1: float = 1.0, lamb_entropy: float = 2.0, lamb_coef: float = 0.0,
        lamb_coefdiff: float = 0.0, update_grid: bool = True, grid_update_num: int = 10,
        loss_fn: Callable[[Tensor, Tensor], Tensor] | None = None, lr: float = 1.0,
        start_grid_update_step: int = -1, stop_grid_update_step: int = 50, batch: int = -1,
        verbose: bool = True, callbacks: Sequence[Callable[[FitStep], Any]] | None = None,
        max_iter: int = 20, record: bool = True) -> dict[str, list[float]]:
    """Train the model; returns {"train_loss", "test_loss", "reg"} per step (RMSE for the default loss).

    opt: "LBFGS" (strong-Wolfe line search, `max_iter` inner iterations per step) or "Adam".
    lamb > 0 turns on sparsity regularisation (lamb_l1, lamb_entropy, lamb_coef, lamb_coefdiff).
    update_grid: move grids to the data every (stop_grid_update_step // grid_update_num) steps
    until stop_grid_update_step. batch=-1 uses all samples, else a random mini-batch per step.
    callbacks receive a FitStep after every step; the lineage emits fit_start/step/fit_end events.
    stop_training() (from any thread) ends the fit after restoring the last completed step.
    If the loss turns NaN/inf, the last finite weights are restored and a warning is issued.
    """
    # ----- validate everything before touching the model
    if not isinstance(opt, str) or opt not in OPTIMISERS:
        raise ValueError(f"unknown optimiser {opt!r}; valid: {', '.join(OPTIMISERS)}")
    _check_number("steps", steps, 1, integer=True)
    _check_number("log", log, 1, integer=True)
    _check_number("lr", lr, 0.0)
    if lr <= 0:
        raise ValueError(f"lr must be > 0, got {lr}")
    for name, value in (("lamb", lamb), ("lamb_l1", lamb_l1), ("lamb_entropy", lamb_entropy),
                        ("lamb_coef", lamb_coef), ("lamb_coefdiff", lamb_coefdiff)):
        _check_number(name, value, 0.0)
    _check_number("grid_update_num", grid_update_num, 1, integer=True)
    _check_number("stop_grid_update_step", stop_grid_update_step, integer=True)
    _check_number("start_grid_update_step", start_grid_update_step, integer=True)
    _check_number("batch", batch, 1, integer=True, allow_minus_one=True)
    _check_number("max_iter", max_iter, 1, integer=True)
    if loss_fn is not None and not callable(loss_fn):
        raise TypeError("loss_fn must be callable(pred, target) -> scalar tensor")
    callbacks = list(callbacks or [])
    if not all(callable(cb) for cb in callbacks):
        raise TypeError("callbacks must be callables taking a FitStep")
    data = validate_dataset(dataset, model.width[0], model.width[-1], dtype=model.dtype, device=model.device)

    lineage = model.lineage
    with lineage.lock:
        lineage.stop_event.clear()
        model.data = dataset
        if not lineage.versions and record:
            model.record_version("init")
        return _run(model, data, opt, steps, log, lamb, lamb_l1, lamb_entropy, lamb_coef, lamb_coefdiff,
                    update_grid, grid_update_num, loss_fn, lr, start_grid_update_step, stop_grid_update_step,
                    batch, verbose, callbacks, max_iter, record)


def _run(model: "KAN", data: dict[str, Tensor], opt: str, steps: int, log: int, lamb: float, lamb_l1: float,
         lamb_entropy: float, lamb_coef: float, lamb_coefdiff: float, update_grid: bool, grid_update_num: int,
         loss_fn: Callable[[Tensor, Tensor], Tensor] | None, lr: float, start_grid_update_step: int,
         stop_grid_update_step: int, batch: int, verbose: bool, callbacks: list[Callable[[FitStep], Any]],
         max_iter: int, record: bool) -> dict[str, list[float]]:
    lineage = model.lineage
    mse = loss_fn is None
    loss_fn = loss_fn or (lambda pred, target: torch.mean((pred - target) ** 2))
    x_train, y_train = data["train_input"], data["train_label"]
    x_test, y_test = data["test_input"], data["test_label"]
    n_train, n_test = x_train.shape[0], x_test.shape[0]
    use_batch = batch != -1 and batch < n_train
    grid_freq = max(1, int(stop_grid_update_step / grid_update_num))
    trainable = [p for p in model.parameters() if p.requires_grad]
    flat = _flat_parameters(trainable)
    grad_views = [p.grad for p in trainable]
    params = [flat]
    if opt == "LBFGS":
        optimizer: LBFGS | Adam = LBFGS(params, lr=lr, max_iter=max_iter, history_size=10)
    else:
        optimizer = Adam(params, lr=lr)
    results: dict[str, list[float]] = {"train_loss": [], "test_loss": [], "reg": []}
    to_value = math.sqrt if mse else (lambda v: v)
    last: dict[str, Tensor] = {}

    def evaluate(x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        if lamb > 0:
            pred, stds = forward_with_stats(model, x)
            reg = regularization(model, stds, lamb_l1, lamb_entropy, lamb_coef, lamb_coefdiff)
        else:
            pred, reg = model(x), x.new_zeros(())
        return loss_fn(pred, y), reg

    live = list(model.state_dict().values())       # every tensor of the model, updated in place by training
    saved = [t.detach().clone() for t in live]      # the last completed step, restored on stop or NaN

    def restore() -> None:
        with torch.no_grad():
            torch._foreach_copy_(live, saved)

    lineage.emit("fit_start", model, steps)
    started = time.perf_counter()
    last_print = -math.inf
    stop_reason = ""
    for step in range(steps):
        if lineage.stop_event.is_set():
            stop_reason = "stopped"
            break
        with torch.no_grad():
            torch._foreach_copy_(saved, live)
        if use_batch:
            train_id = torch.randperm(n_train, generator=model.fit_generator)[:batch].to(x_train.device)
            test_id = torch.randperm(n_test, generator=model.fit_generator)[:batch].to(x_test.device)
            xb, yb, xt, yt = x_train[train_id], y_train[train_id], x_test[test_id], y_test[test_id]
        else:
            xb, yb, xt, yt = x_train, y_train, x_test, y_test
        for p, g in zip(trainable, grad_views):  # a callback may have reset .grad (model.zero_grad())
            if p.grad is not g:
                p.grad = g
        if update_grid and step % grid_freq == 0 and start_grid_update_step <= step < stop_grid_update_step:
            model.update_grid_from_samples(xb)

        def closure() -> Tensor:
            if lineage.stop_event.is_set():
                raise _Interrupted
            flat.grad.zero_()
            train_loss, reg = evaluate(xb, yb)
            objective = train_loss + lamb * reg
            objective.backward()
            last["train"], last["reg"] = train_loss.detach(), reg.detach()
            return objective

        try:
            if opt == "LBFGS":
                optimizer.step(closure)
            else:
                closure()
                optimizer.step()
        except _Interrupted:
            restore()
            stop_reason = "stopped"
            break
        with torch.no_grad():
            test_loss = loss_fn(model(xt), yt)
        values = (float(last["train"]), float(test_loss), float(last["reg"]))
        if not all(math.isfinite(v) for v in values):
            restore()
            warnings.warn(f"kanwidget: loss became {values[0]} at step {step + 1}; stopped and restored the "
                          "weights of the last finite step", RuntimeWarning, stacklevel=3)
            stop_reason = "non-finite loss"
            break
        model.steps_trained += 1
        train_v, test_v, reg_v = to_value(values[0]), to_value(max(values[1], 0.0)), values[2]
        results["train_loss"].append(train_v)
        results["test_loss"].append(test_v)
        results["reg"].append(reg_v)
        info = FitStep(step + 1, steps, model.steps_trained, train_v, test_v, reg_v, model)
        for cb in callbacks:
            cb(info)
        lineage.emit("step", info)
        now = time.perf_counter()
        if verbose and ((step % log == 0 and now - last_print >= PRINT_INTERVAL) or step == steps - 1):
            last_print = now
            elapsed = now - started
            sys.stdout.write(f"\r| train_loss: {train_v:.2e} | test_loss: {test_v:.2e} | reg: {reg_v:.2e} | "
                             f"{step + 1}/{steps} [{elapsed:.1f}s]")
            sys.stdout.flush()
    if verbose:
        sys.stdout.write(f" ({stop_reason})\n" if stop_reason else "\n")
        sys.stdout.flush()
    lineage.stop_event.clear()
    if record and results["train_loss"]:
        model.record_version(f"fit {opt} x{len(results['train_loss'])}",
                             {"train_loss": results["train_loss"][-1], "test_loss": results["test_loss"][-1]})
    lineage.emit("fit_end", model, results)
    return results
