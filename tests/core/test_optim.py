"""L-BFGS (kanwidget.core.numerics.optim): convergence to known minima, the documented tolerances, and
the same iterates as the reference implementation (the class as it was before its fast paths, kept below)."""
from __future__ import annotations

from typing import Callable

import pytest
import torch
from torch import Tensor
from torch.optim.lbfgs import _strong_wolfe

from kanwidget import KAN, create_dataset
from kanwidget.core.numerics.optim import LBFGS
from tests.conftest import reference_function


def _quadratic(n: int = 12, seed: int = 0, scale: float = 1.0):
    """f(x) = scale (x^T A x / 2 - b^T x), minimum at A^-1 b, with A SPD (condition ~100)."""
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=torch.float64))
    a = q @ torch.diag(torch.logspace(0, 2, n, dtype=torch.float64)) @ q.T
    b = torch.randn(n, generator=g, dtype=torch.float64)
    return a, b, torch.linalg.solve(a, b)


def _closure_for(x: Tensor, fn: Callable[[Tensor], Tensor], counter: list[int] | None = None):
    def closure() -> Tensor:
        if counter is not None:
            counter[0] += 1
        x.grad = None
        loss = fn(x)
        loss.backward()
        return loss
    return closure


def test_converges_to_the_minimiser_of_a_convex_quadratic():
    a, b, x_star = _quadratic()
    x = torch.zeros(len(b), dtype=torch.float64, requires_grad=True)
    opt = LBFGS([x], max_iter=100)
    opt.step(_closure_for(x, lambda v: 0.5 * v @ a @ v - b @ v))
    assert float((x.detach() - x_star).abs().max()) < 1e-6


def test_converges_on_rosenbrock():
    x = torch.tensor([-1.2, 1.0], dtype=torch.float64, requires_grad=True)
    opt = LBFGS([x], max_iter=200)
    for _ in range(3):
        opt.step(_closure_for(x, lambda v: (1 - v[0]) ** 2 + 100 * (v[1] - v[0] ** 2) ** 2))
    assert torch.allclose(x.detach(), torch.ones(2, dtype=torch.float64), rtol=0, atol=1e-8)


def test_one_flat_tensor_and_several_tensors_take_the_same_iterates():
    a, b, _ = _quadratic(seed=1)
    fn = lambda v: 0.5 * v @ a @ v - b @ v  # noqa: E731
    flat = torch.zeros(len(b), dtype=torch.float64, requires_grad=True)
    LBFGS([flat], max_iter=7).step(_closure_for(flat, fn))
    parts = [torch.zeros(5, dtype=torch.float64, requires_grad=True),
             torch.zeros(len(b) - 5, dtype=torch.float64, requires_grad=True)]

    def closure() -> Tensor:
        for p in parts:
            p.grad = None
        loss = fn(torch.cat(parts))
        loss.backward()
        return loss
    LBFGS(parts, max_iter=7).step(closure)
    assert torch.equal(torch.cat(parts).detach(), flat.detach())


@pytest.mark.parametrize("max_iter", [3, 12, 40])  # history not full, full, wrapped around several times
def test_same_iterates_and_evaluations_as_the_reference(max_iter):
    a, b, _ = _quadratic(n=30, seed=2)
    fn = lambda v: 0.5 * v @ a @ v - b @ v + 0.1 * (v ** 4).sum()  # noqa: E731  (not quadratic: pairs vary)
    results = []
    for cls in (LBFGS, ReferenceLBFGS):
        x = torch.zeros(len(b), dtype=torch.float64, requires_grad=True)
        count = [0]
        opt = cls([x], max_iter=max_iter, history_size=10)
        for _ in range(2):
            opt.step(_closure_for(x, fn, count))
        results.append((x.detach().clone(), count[0]))
    (x_new, n_new), (x_ref, n_ref) = results
    assert n_new == n_ref
    assert torch.allclose(x_new, x_ref, rtol=1e-12, atol=1e-14)


def test_kan_fit_matches_the_reference_optimiser(float64, monkeypatch):
    import kanwidget.core.operations.training as training
    data = create_dataset(reference_function, n_var=2)
    losses = []
    for cls in (LBFGS, ReferenceLBFGS):
        monkeypatch.setattr(training, "LBFGS", cls)
        model = KAN(width=[2, 5, 1], grid=5, seed=0)
        losses.append(model.fit(data, opt="LBFGS", steps=20, verbose=False)["train_loss"][-1])
    assert losses[0] == pytest.approx(losses[1], rel=1e-9)


def test_tolerance_ys_keeps_learning_curvature_at_tiny_loss_scales():
    """At a loss scale of 1e-12 every y.s is far below torch's 1e-10 threshold; with the default
    tolerance_ys the pairs are kept and the quadratic is solved; with tolerance_ys=1e-10 none is kept."""
    a, b, x_star = _quadratic(seed=3)
    fn = lambda v: 1e-12 * (0.5 * v @ a @ v - b @ v)  # noqa: E731
    x = torch.zeros(len(b), dtype=torch.float64, requires_grad=True)
    opt = LBFGS([x], max_iter=60)
    opt.step(_closure_for(x, fn))
    assert len(opt.state["old_dirs"]) == 10
    assert float((x.detach() - x_star).abs().max()) < 1e-6
    x2 = torch.zeros(len(b), dtype=torch.float64, requires_grad=True)
    strict = LBFGS([x2], max_iter=60, tolerance_ys=1e-10)
    strict.step(_closure_for(x2, fn))
    assert strict.state["old_dirs"] == []
    assert (x2.detach() - x_star).norm() > 100 * (x.detach() - x_star).norm()


def test_tolerance_grad_stops_before_any_iteration():
    a, b, x_star = _quadratic(seed=4)
    x = x_star.clone().requires_grad_(True)   # gradient ~1e-15 at the minimiser
    count = [0]
    LBFGS([x], max_iter=20, tolerance_grad=1e-6).step(
        _closure_for(x, lambda v: 0.5 * v @ a @ v - b @ v, count))
    assert count[0] == 1
    assert torch.equal(x.detach(), x_star)


def test_tolerance_change_stops_once_the_loss_stops_moving():
    a, b, _ = _quadratic(seed=5)
    fn = lambda v: 0.5 * v @ a @ v - b @ v  # noqa: E731
    counts = []
    for tol in (1e-32, 1e-3):
        x = torch.zeros(len(b), dtype=torch.float64, requires_grad=True)
        count = [0]
        LBFGS([x], max_iter=100, tolerance_change=tol).step(_closure_for(x, fn, count))
        counts.append(count[0])
    assert counts[1] < counts[0]


def test_history_size_below_one_is_refused():
    with pytest.raises(ValueError, match="history_size"):
        LBFGS([torch.zeros(2, requires_grad=True)], history_size=0)


# ------------------------------------------------------------------------------------------------
# the reference: LBFGS as it was before its fast paths (our own code, kept verbatim for comparison)
class ReferenceLBFGS:
    """The optimiser as it was before its fast paths (kept here as the reference). `step(closure)` runs up to `max_iter` iterations, each with a strong-Wolfe line search."""

    def __init__(self, params: list[Tensor], lr: float = 1.0, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: float = 1e-32, tolerance_change: float = 1e-32, tolerance_ys: float = 1e-32,
                 history_size: int = 10) -> None:
        self.group = dict(lr=lr, max_iter=max_iter, max_eval=max_eval or max_iter * 5 // 4,
                          tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                          tolerance_ys=tolerance_ys, history_size=history_size)
        self._params: list[Tensor] = list(params)
        self.state: dict = {}

    # --------------------------------------------------------- flat vectors
    def _flat_grad(self) -> Tensor:
        return torch.cat([p.grad.reshape(-1) if p.grad is not None else p.new_zeros(p.numel()) for p in self._params])

    def _add_to_params(self, t: float, direction: Tensor) -> None:
        offset = 0
        with torch.no_grad():
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
        self._add_to_params(t, d)
        loss = float(closure())
        flat_grad = self._flat_grad()
        self._set_params(x)
        return loss, flat_grad

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
            prev_flat_grad = flat_grad.clone()
            prev_loss = loss
            t = min(1.0, 1.0 / float(flat_grad.abs().sum())) * lr if state["n_iter"] == 1 else lr
            gtd = float(flat_grad.dot(d))
            if gtd > -tol_change:
                break
            x_init = [p.detach().clone() for p in self._params]
            loss, flat_grad, t, ls_evals = _strong_wolfe(
                lambda x, step, direction: self._directional_evaluate(closure, x, step, direction),
                x_init, t, d, loss, flat_grad, gtd)
            self._add_to_params(t, d)
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
