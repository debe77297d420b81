"""Optimisers for one flat parameter vector: L-BFGS (strong-Wolfe) and Adam.

They are plain classes, not torch.optim.Optimizer subclasses: creating the first torch optimiser in
a process imports torch._dynamo (~0.9 s here), which a user's first fit should not pay.

L-BFGS keeps learning curvature at tiny loss scales:

torch.optim.LBFGS only stores a curvature pair when y.s > 1e-10. Once a KAN's loss is ~1e-12
(symbolic fine-tuning reaches 1e-15), every pair is below that and the method degrades to scaled
gradient descent and stalls. This optimiser takes the threshold as `tolerance_ys` (default 1e-32),
and otherwise follows the textbook two-loop recursion (Nocedal & Wright, Alg. 7.4).
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor
from torch.optim.lbfgs import _strong_wolfe  # the line search itself is torch's

from kanwidget.core.checks import check_int


class Adam:
    """Adam (Kingma & Ba) on a list of tensors whose .grad is filled by the caller's backward."""

    def __init__(self, params: list[Tensor], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8) -> None:
        self._params = list(params)
        self.lr, self.betas, self.eps = lr, betas, eps
        self._m = [torch.zeros_like(p) for p in self._params]
        self._v = [torch.zeros_like(p) for p in self._params]
        self._t = 0

    @torch.no_grad()
    def step(self) -> None:
        self._t += 1
        b1, b2 = self.betas
        bc1, bc2 = 1 - b1 ** self._t, 1 - b2 ** self._t
        for p, m, v in zip(self._params, self._m, self._v):
            g = p.grad
            m.lerp_(g, 1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            denom = (v / bc2).sqrt_().add_(self.eps)
            p.addcdiv_(m, denom, value=-self.lr / bc1)


class LBFGS:
    """L-BFGS; `step(closure)` runs up to `max_iter` iterations, each with a strong-Wolfe line search."""

    def __init__(self, params: list[Tensor], lr: float = 1.0, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: float = 1e-32, tolerance_change: float = 1e-32, tolerance_ys: float = 1e-32,
                 history_size: int = 10) -> None:
        check_int("history_size", history_size, low=1)
        self.group = dict(lr=lr, max_iter=max_iter, max_eval=max_eval or max_iter * 5 // 4,
                          tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                          tolerance_ys=tolerance_ys, history_size=history_size)
        self._params: list[Tensor] = list(params)
        self._single = self._params[0] if len(self._params) == 1 else None  # training passes one flat vector
        self.state: dict = {}
        self._at_step: float | None = None   # the parameters are at x + _at_step * d during a line search

    # --------------------------------------------------------- flat vectors
    def _flat_grad(self) -> Tensor:
        """A copy of the gradient as one vector (closures reset .grad in place, so never a view)."""
        p = self._single
        if p is not None and p.grad is not None:
            return p.grad.clone(memory_format=torch.contiguous_format).view(-1)
        return torch.cat([p.grad.reshape(-1) if p.grad is not None else p.new_zeros(p.numel()) for p in self._params])

    def _add_to_params(self, t: float, direction: Tensor) -> None:
        offset = 0
        with torch.no_grad():
            if self._single is not None:
                self._single.add_(direction.view_as(self._single), alpha=t)
                return
            for p in self._params:
                n = p.numel()
                p.add_(direction[offset:offset + n].view_as(p), alpha=t)
                offset += n

    def _set_params(self, values: list[Tensor]) -> None:
        with torch.no_grad():
            for p, v in zip(self._params, values):
                p.copy_(v)

    def _directional_evaluate(self, closure: Callable[[], Tensor], x: list[Tensor], t: float,
                              d: Tensor) -> tuple[float, Tensor]:
        """Loss and gradient at x + t d. The parameters stay there (`_at_step` = t) until the next call or
        `_move_to` needs them elsewhere: a line search that accepts its last trial costs no copy back."""
        if self._at_step is not None:
            self._set_params(x)
        self._add_to_params(t, d)
        self._at_step = t
        loss = float(closure())
        return loss, self._flat_grad()

    def _move_to(self, x: list[Tensor], t: float, d: Tensor) -> None:
        """Put the parameters at x + t d, computed as x.add_(d, alpha=t) (the trial's own arithmetic)."""
        if self._at_step != t:
            if self._at_step is not None:
                self._set_params(x)
            self._add_to_params(t, d)
        self._at_step = None

    # ------------------------------------------------------------------ step
    @torch.no_grad()
    def step(self, closure: Callable[[], Tensor]) -> Tensor:  # type: ignore[override]
        closure = torch.enable_grad()(closure)
        group = self.group
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tol_grad, tol_change, tol_ys = group["tolerance_grad"], group["tolerance_change"], group["tolerance_ys"]
        history_size = group["history_size"]
        state = self.state
        state.setdefault("n_iter", 0)

        orig_loss = closure()
        loss = float(orig_loss)
        evals = 1
        flat_grad = self._flat_grad()
        if flat_grad.abs().max() <= tol_grad:
            return orig_loss
        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs", []), state.get("old_stps", []), state.get("ro", [])
        h_diag, prev_flat_grad = state.get("H_diag", 1.0), state.get("prev_flat_grad")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro, h_diag = [], [], [], 1.0
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = float(y.dot(s))
                if ys > tol_ys:  # keep the curvature pair
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0), old_stps.pop(0), ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    h_diag = ys / float(y.dot(y))
                q = -flat_grad
                alphas = [0.0] * len(old_dirs)
                for i in range(len(old_dirs) - 1, -1, -1):
                    alphas[i] = float(old_stps[i].dot(q)) * ro[i]
                    q = q.add(old_dirs[i], alpha=-alphas[i])
                d = q * h_diag
                for i in range(len(old_dirs)):
                    beta = float(old_dirs[i].dot(d)) * ro[i]
                    d = d.add(old_stps[i], alpha=alphas[i] - beta)
            prev_flat_grad = flat_grad  # never changed in place: the line search returns new tensors
            prev_loss = loss
            # the first step length stays a 0-dim tensor, as torch.optim.LBFGS has it: the line search's arithmetic
            # (float / tensor divides by a rounded reciprocal) then matches torch's to the last bit
            t = min(1.0, 1.0 / flat_grad.abs().sum()) * lr if state["n_iter"] == 1 else lr
            gtd = float(flat_grad.dot(d))
            if gtd > -tol_change:
                break
            x_init = [p.detach().clone() for p in self._params]
            self._at_step = None
            loss, flat_grad, t, ls_evals = _strong_wolfe(
                lambda x, step, direction: self._directional_evaluate(closure, x, step, direction),
                x_init, t, d, loss, flat_grad, gtd)
            self._move_to(x_init, t, d)
            evals += ls_evals
            if n_iter == max_iter or evals >= max_eval:
                break
            if flat_grad.abs().max() <= tol_grad:
                break
            if float(d.abs().max()) * abs(t) <= tol_change or abs(loss - prev_loss) < tol_change:
                break

        state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=h_diag,
                     prev_flat_grad=prev_flat_grad)
        return orig_loss
