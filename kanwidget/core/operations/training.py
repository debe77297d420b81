"""Training: KAN.fit with LBFGS or Adam, grid updates, sparsity regularisation, callbacks and events."""
from __future__ import annotations

import math
import threading
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

import torch
from torch import Tensor

from kanwidget.core.data import validate_dataset
from kanwidget.core.network.history import Activity
from kanwidget.core.network.scratch import release_scratch
from kanwidget.core.numerics.optim import LBFGS, Adam
from kanwidget.core.numerics.threads import fewer_threads
from kanwidget.core.operations.fit_config import OPTIMISERS, FitConfig  # noqa: F401 - OPTIMISERS re-exported
from kanwidget.core.operations.fit_progress import PRINT_INTERVAL, FitProgress  # noqa: F401 - re-exported
from kanwidget.core.operations.fit_results import FitResults
from kanwidget.core.operations.plateau import StallWatch, escape_generator, redraw_edges
from kanwidget.core.operations import network_objective
from kanwidget.core.operations.metrics import fit_extras

if TYPE_CHECKING:
    from kanwidget.core.network.model import KAN

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
    stall: str = ""     # non-empty at the step where a stall was detected and escaped: what was done


class _Interrupted(Exception):
    """Raised inside an LBFGS closure when the fit's stop token is set."""


class _NetworkSparsity(torch.autograd.Function):
    """Sum over layers of the penalty on v = edge_std / (in_std + 0.1), as ONE autograd node (the value and
    gradients of network_objective.network_penalty).

    Inputs: lamb_l1, lamb_entropy, then edge_std (I, O) and in_std (I,) of every layer.
    """

    @staticmethod
    def forward(ctx, lamb_l1: float, lamb_entropy: float, *stats: Tensor) -> Tensor:  # type: ignore[override]
        total, grads = network_objective.network_penalty(list(zip(stats[::2], stats[1::2])), lamb_l1, lamb_entropy)
        ctx.save_for_backward(*(g for pair in grads for g in pair))
        return stats[0].new_tensor(total)

    @staticmethod
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        return (None, None, *(grad * g for g in ctx.saved_tensors))


def regularization(model: "KAN", stds: list[tuple[Tensor, Tensor]], lamb_l1: float, lamb_entropy: float,
                   lamb_coef: float, lamb_coefdiff: float) -> Tensor:
    """Sparsity penalty: L1 + row/column entropy of edge magnitudes, plus optional coefficient terms.

    An edge's magnitude is std(phi(x)) / (std(x) + 0.1) over the batch, as in the KAN paper.
    """
    reg = _NetworkSparsity.apply(float(lamb_l1), float(lamb_entropy), *(t for pair in stds for t in pair))
    for layer in model.layers:
        if lamb_coef:
            reg = reg + lamb_coef * layer.coef.abs().mean(1).sum()
        if lamb_coefdiff:
            reg = reg + lamb_coefdiff * torch.diff(layer.coef, dim=-1).abs().mean(1).sum()
    return reg


def forward_with_stats(model: "KAN", x: Tensor) -> tuple[Tensor, list[tuple[Tensor, Tensor]]]:
    """Forward pass that also returns each layer's (edge std, input std) for the regulariser."""
    stds = []
    for l, layer in enumerate(model.layers):
        y, edge_std = layer.forward_with_edge_std(x)
        stds.append((edge_std, x.std(0)))
        x = model.combine_level(l + 1, y)   # products for multiplication nodes (mult_nodes.py); else y itself
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


class FitError(RuntimeError):
    """A fit step failed; the model keeps the steps completed before it (recorded as a version)."""


def fit(model: "KAN", dataset: dict[str, Tensor], opt: str = "LBFGS", steps: int = 100, log: int = 1,
        lamb: float = 0.0, lamb_l1: float = 1.0, lamb_entropy: float = 2.0, lamb_coef: float = 0.0,
        lamb_coefdiff: float = 0.0, update_grid: bool = True, grid_update_num: int = 10,
        loss_fn: Callable[[Tensor, Tensor], Tensor] | None = None, lr: float = 1.0,
        start_grid_update_step: int = -1, stop_grid_update_step: int = 50, batch: int = -1,
        verbose: bool = True, callbacks: Sequence[Callable[[FitStep], Any]] | None = None,
        max_iter: int = 20, record: bool = True, stop: threading.Event | None = None,
        metrics: Sequence[Callable[[], Any]] | None = None, reg_metric: str = "edge_forward_spline_n",
        save_fig: bool = False, save_fig_freq: int = 1, img_folder: str | None = None,
        in_vars: Sequence[str] | None = None, out_vars: Sequence[str] | None = None, beta: float = 3.0,
        display_metrics: Sequence[str] | None = None, singularity_avoiding: bool = False,
        y_th: float = 1000.0) -> FitResults:
    """Train the model; returns {"train_loss", "test_loss", "reg"} per step (RMSE for the default loss),
    a dict (FitResults: a plain dict with a one-line repr).

    verbose: show pykan's progress bar (tqdm.auto: losses, rate, estimate); hidden while a view
    (KANWidget) is attached to the lineage (`lineage.viewers`), which shows progress itself.

    opt: "LBFGS" (strong-Wolfe line search, `max_iter` inner iterations per step) or "Adam".
    lamb > 0 turns on sparsity regularisation (lamb_l1, lamb_entropy, lamb_coef, lamb_coefdiff).
    update_grid: move grids to the data every (stop_grid_update_step // grid_update_num) steps
    until stop_grid_update_step. batch=-1 uses all samples, else a random mini-batch per step.
    callbacks receive a FitStep after every step; the lineage emits fit_start/step/fit_end events.
    stop: this fit's stop token (default: a new one); setting it, or model.stop_training() from any
    thread, ends the fit after restoring the last completed step. record=False records no version.
    loss_fn: callable(pred, target) -> scalar, or a name (operations/losses.py): "logistic"/"bce" for one logit
    output and labels 0/1 (classification), "mse" the default.
    If the loss turns NaN/inf, the last finite weights are restored and a warning is issued.
    If a step raises (a callback, the optimiser), that step is undone, a version is recorded for the
    completed steps, "fit_end" is emitted and FitError is raised from the cause.
    Called from another thread while this lineage runs a fit or long operation: ModelBusyError.
    pykan's extras (operations/metrics.py): metrics, functions of no arguments evaluated after every step
    (results[f.__name__]); reg_metric (only pykan's default); save_fig=True writes plot() figures every
    save_fig_freq steps into img_folder (required: nothing is written elsewhere); display_metrics and
    singularity_avoiding / y_th are accepted and ignored.
    """
    extras = fit_extras(metrics, reg_metric, save_fig, save_fig_freq, img_folder, in_vars, out_vars, beta,
                        display_metrics, singularity_avoiding, y_th)
    config = FitConfig(opt=opt, steps=steps, log=log, lamb=lamb, lamb_l1=lamb_l1, lamb_entropy=lamb_entropy,
                       lamb_coef=lamb_coef, lamb_coefdiff=lamb_coefdiff, update_grid=update_grid,
                       grid_update_num=grid_update_num, loss_fn=loss_fn, lr=lr,
                       start_grid_update_step=start_grid_update_step, stop_grid_update_step=stop_grid_update_step,
                       batch=batch, verbose=verbose, callbacks=tuple(callbacks or ()) + extras.callbacks,
                       max_iter=max_iter, record=record)
    data = validate_dataset(dataset, model.width[0], model.width[-1], dtype=model.dtype, device=model.device,
                            class_labels=loss_fn is not None)
    lineage = model.lineage
    rows = data["train_input"].shape[0] if config.batch == -1 else min(config.batch, data["train_input"].shape[0])
    with lineage.begin("fit", total=config.steps, stop=stop) as activity, fewer_threads(_largest_tensor(model, rows)):
        if not lineage.versions and config.record:
            with lineage.change(model, "init"):
                pass
        model.data = dataset
        try:
            return FitResults(extras.finish(_run(model, data, config, activity)))
        finally:
            release_scratch()      # the symbolic node's reusable buffers live as long as the fit


def _largest_tensor(model: "KAN", rows: int) -> int:
    """Numbers in the largest per-layer tensor a training step builds (features (N, I, M+1), activations (I, N, O))."""
    return rows * max(layer.in_dim * max(layer.coef.shape[-1] + 1, layer.out_dim) for layer in model.layers)


def _run(model: "KAN", data: dict[str, Tensor], cfg: FitConfig, activity: Activity) -> dict[str, list[float]]:
    lineage = model.lineage
    stop = activity.stop
    mse = cfg.loss_fn is None
    loss_fn = cfg.loss_fn or (lambda pred, target: torch.mean((pred - target) ** 2))
    lamb = cfg.lamb
    x_train, y_train = data["train_input"], data["train_label"]
    x_test, y_test = data["test_input"], data["test_label"]
    n_train, n_test = x_train.shape[0], x_test.shape[0]
    use_batch = cfg.batch != -1 and cfg.batch < n_train
    grid_freq = cfg.grid_interval
    trainable = [p for p in model.parameters() if p.requires_grad]
    flat = _flat_parameters(trainable)
    grad_views = [p.grad for p in trainable]
    params = [flat]

    def new_optimizer() -> LBFGS | Adam:
        if cfg.opt == "LBFGS":
            return LBFGS(params, lr=cfg.lr, max_iter=cfg.max_iter, history_size=10)
        return Adam(params, lr=cfg.lr)

    optimizer = new_optimizer()
    watch = StallWatch(float(y_train.var(0).mean().sqrt())) if mse and n_train > 1 else None
    results: dict[str, list[float]] = {"train_loss": [], "test_loss": [], "reg": []}
    to_value = math.sqrt if mse else (lambda v: v)
    last: dict[str, Tensor] = {}

    fixed_test_loss = network_objective.FixedInputLoss(x_test, y_test)

    def evaluate_fast(x: Tensor, y: Tensor) -> tuple[Tensor, Tensor] | None:
        """Loss and penalty with their gradient written into .grad (network_objective.py), or None when
        that path does not apply (the caller then runs autograd)."""
        if not network_objective.applies(model, x, lamb, cfg.loss_fn, cfg.lamb_coef, cfg.lamb_coefdiff):
            return None
        return network_objective.evaluate_with_gradient(model, x, y, lamb, cfg.lamb_l1, cfg.lamb_entropy)

    def evaluate(x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        if lamb > 0:
            pred, stds = forward_with_stats(model, x)
            reg = regularization(model, stds, cfg.lamb_l1, cfg.lamb_entropy, cfg.lamb_coef, cfg.lamb_coefdiff)
        else:
            pred, reg = model(x), x.new_zeros(())
        return loss_fn(pred, y), reg

    live = list(model.state_dict().values())       # every tensor of the model, updated in place by training
    saved = [t.detach().clone() for t in live]      # the last completed step, restored on stop, NaN or error
    rng_saved = model.fit_generator.get_state()

    def restore() -> None:
        with torch.no_grad():
            torch._foreach_copy_(live, saved)
        model.fit_generator.set_state(rng_saved)

    lineage.emit("fit_start", model, cfg.steps)
    progress = FitProgress(cfg.steps, cfg.verbose, getattr(lineage, "viewers", 0), cfg.log)
    stop_reason = ""
    failure: BaseException | None = None
    failed_step = 0
    for step in range(cfg.steps):
        if stop.is_set():
            stop_reason = "stopped"
            break
        with torch.no_grad():
            torch._foreach_copy_(saved, live)
        if use_batch:
            rng_saved = model.fit_generator.get_state()
        counted = False
        try:
            if use_batch:
                train_id = torch.randperm(n_train, generator=model.fit_generator)[:cfg.batch].to(x_train.device)
                test_id = torch.randperm(n_test, generator=model.fit_generator)[:cfg.batch].to(x_test.device)
                xb, yb, xt, yt = x_train[train_id], y_train[train_id], x_test[test_id], y_test[test_id]
            else:
                xb, yb, xt, yt = x_train, y_train, x_test, y_test
            for p, g in zip(trainable, grad_views):  # a callback may have reset .grad (model.zero_grad())
                if p.grad is not g:
                    p.grad = g
            if cfg.update_grid and step % grid_freq == 0 and \
                    cfg.start_grid_update_step <= step < cfg.stop_grid_update_step:
                model.update_grid_from_samples(xb)

            def closure() -> Tensor:
                if stop.is_set():
                    raise _Interrupted
                flat.grad.zero_()
                fast = evaluate_fast(xb, yb)
                if fast is not None:
                    train_loss, reg = fast
                    objective = train_loss + lamb * reg
                else:
                    train_loss, reg = evaluate(xb, yb)
                    objective = train_loss + lamb * reg
                    objective.backward()
                last["train"], last["reg"] = train_loss.detach(), reg.detach()
                return objective

            if cfg.opt == "LBFGS":
                optimizer.step(closure)
            else:
                closure()
                optimizer.step()
            if not use_batch and network_objective.applies(model, xt, 0.0, cfg.loss_fn, 0.0, 0.0):
                test_loss = fixed_test_loss(model)       # the test set's features are kept between steps
            else:
                with torch.no_grad():
                    test_loss = loss_fn(model(xt), yt)
            values = (float(last["train"]), float(test_loss), float(last["reg"]))
            bad = _first_non_finite(values)
            if bad is not None:
                restore()
                warnings.warn(f"kanwidget: the {bad[0]} became {bad[1]} at step {step + 1}; stopped and restored "
                              "the weights of the last finite step", RuntimeWarning, stacklevel=4)
                stop_reason = "non-finite loss"
                break
            model.steps_trained += 1
            counted = True
            train_v, test_v, reg_v = to_value(values[0]), to_value(max(values[1], 0.0)), values[2]
            results["train_loss"].append(train_v)
            results["test_loss"].append(test_v)
            results["reg"].append(reg_v)
            note = ""
            if watch is not None and watch.stalled(step + 1, train_v) and step + 1 < cfg.steps:
                watch.keep(step + 1, train_v, live)
                note = watch.note(step + 1, train_v)
                redraw_edges(model, x_train, escape_generator(model, watch.escapes))
                optimizer = new_optimizer()
            info = FitStep(step + 1, cfg.steps, model.steps_trained, train_v, test_v, reg_v, model, note)
            for cb in cfg.callbacks:
                cb(info)
        except _Interrupted:
            restore()
            stop_reason = "stopped"
            break
        except BaseException as exc:  # a callback or the optimiser failed: undo this step entirely
            if counted:
                model.steps_trained -= 1
                for values_list in results.values():
                    values_list.pop()
            restore()
            failure, failed_step, stop_reason = exc, step + 1, "failed"
            break
        activity.done = step + 1
        lineage.emit("step", info)
        if info.stall:
            progress.note(f"| step {step + 1}: {info.stall}")
        progress.step(step + 1, cfg.steps, train_v, test_v, reg_v)
    if watch is not None and results["train_loss"] and watch.worse_than_before(results["train_loss"][-1]):
        _restore_before_escape(model, live, watch)
        stop_reason = (stop_reason + "; " if stop_reason else "") + \
            f"the escape ended worse: kept the state from before it (train RMSE {watch.best_before[0]:.2e})"
    progress.close(stop_reason)
    completed = len(results["train_loss"])
    if cfg.record and completed:
        with lineage.change(model, f"fit {cfg.opt} x{completed}",
                            metrics={"train_loss": results["train_loss"][-1], "test_loss": results["test_loss"][-1]}):
            pass
    lineage.emit("fit_end", model, results)
    if failure is not None:
        if not isinstance(failure, Exception):
            raise failure  # KeyboardInterrupt and the like pass through unchanged (after the rollback)
        raise FitError(f"fit failed at step {failed_step} of {cfg.steps} ({type(failure).__name__}: {failure}); "
                       f"that step was undone and the model keeps the {completed} completed step(s)") from failure
    return results


def _restore_before_escape(model: "KAN", live: list[Tensor], watch: StallWatch) -> None:
    """Put back the tensors the fit had before its first stall escape (their train RMSE was lower)."""
    assert watch.best_before is not None
    with torch.no_grad():
        torch._foreach_copy_(live, watch.best_before[1])


def _first_non_finite(values: tuple[float, float, float]) -> tuple[str, float] | None:
    """(which quantity, its value) of the first NaN/inf among (train loss, test loss, regularisation)."""
    for name, value in zip(("train loss", "test loss", "regularisation"), values):
        if not math.isfinite(value):
            return name, value
    return None
