"""L-BFGS (kanwidget.core.numerics.optim): convergence to known minima, the documented tolerances, its search
direction against the textbook two-loop recursion written below, and its iterates against torch.optim.LBFGS."""
from __future__ import annotations

from typing import Callable

import pytest
import torch
from torch import Tensor

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


def textbook_direction(grad: Tensor, ys: list[Tensor], ss: list[Tensor], h_diag: float) -> Tensor:
    """-H g by the two-loop recursion as printed in Nocedal & Wright, Alg. 7.4 (pairs oldest first)."""
    q = -grad.clone()
    rho = [1.0 / float(y @ s) for y, s in zip(ys, ss)]
    alpha = [0.0] * len(ys)
    for i in reversed(range(len(ys))):
        alpha[i] = rho[i] * float(ss[i] @ q)
        q = q - alpha[i] * ys[i]
    r = h_diag * q
    for i in range(len(ys)):
        beta = rho[i] * float(ys[i] @ r)
        r = r + (alpha[i] - beta) * ss[i]
    return r


def _quartic(n: int = 30, seed: int = 2):
    a, b, _ = _quadratic(n=n, seed=seed)
    return lambda v: 0.5 * v @ a @ v - b @ v + 0.1 * (v ** 4).sum(), n   # not quadratic: the pairs vary


@pytest.mark.parametrize("max_iter", [3, 12, 40])  # history not full, full, wrapped around several times
def test_search_direction_is_the_textbook_two_loop_recursion(max_iter):
    fn, n = _quartic()
    x = torch.zeros(n, dtype=torch.float64, requires_grad=True)
    opt = LBFGS([x], max_iter=max_iter, history_size=10)
    for _ in range(2):
        opt.step(_closure_for(x, fn))
    st = opt.state
    assert len(st["old_dirs"]) == (10 if max_iter > 3 else len(st["old_stps"])) and st["old_dirs"]
    want = textbook_direction(st["prev_flat_grad"], st["old_dirs"], st["old_stps"], st["H_diag"])
    torch.testing.assert_close(st["d"], want, rtol=1e-10, atol=1e-14)


def test_iterates_follow_torchs_lbfgs():
    """torch.optim.LBFGS (strong Wolfe) is the same method: three iterations land on the same point with the same
    evaluations; run longer, both reach the same minimiser (they differ only in when they stop)."""
    fn, n = _quartic()
    runs = []
    for make in (lambda p, m: LBFGS(p, max_iter=m, history_size=10),
                 lambda p, m: torch.optim.LBFGS(p, lr=1, max_iter=m, history_size=10, line_search_fn="strong_wolfe",
                                                tolerance_grad=1e-32, tolerance_change=1e-32)):
        for max_iter in (3, 40):
            x = torch.zeros(n, dtype=torch.float64, requires_grad=True)
            count = [0]
            opt = make([x], max_iter)
            for _ in range(2):
                opt.step(_closure_for(x, fn, count))
            runs.append((x.detach().clone(), count[0]))
    (ours3, n3), (ours40, _), (torch3, m3), (torch40, _) = runs
    assert n3 == m3 and torch.allclose(ours3, torch3, rtol=1e-12, atol=1e-14)
    assert torch.allclose(ours40, torch40, rtol=0, atol=1e-6)
    grad = torch.autograd.functional.jacobian(fn, ours40)
    assert float(grad.abs().max()) < 1e-6                  # and that point is (nearly) the minimiser


def test_a_kan_fit_reaches_the_loss_of_torchs_lbfgs(float64, monkeypatch):
    """20 LBFGS steps of a [2,5,1] fit with ours and with torch.optim.LBFGS in its place end within 5 %."""
    import kanwidget.core.operations.training as training
    data = create_dataset(reference_function, n_var=2)
    losses = []
    for make in (LBFGS, lambda params, lr, max_iter, history_size: torch.optim.LBFGS(
            params, lr=lr, max_iter=max_iter, history_size=history_size, line_search_fn="strong_wolfe",
            tolerance_grad=1e-32, tolerance_change=1e-32)):
        monkeypatch.setattr(training, "LBFGS", make)
        model = KAN(width=[2, 5, 1], grid=5, seed=0)
        losses.append(model.fit(data, opt="LBFGS", steps=20, verbose=False)["train_loss"][-1])
    assert losses[0] == pytest.approx(losses[1], rel=0.05)
    assert losses[0] < 0.05


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
