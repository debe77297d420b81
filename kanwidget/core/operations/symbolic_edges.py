"""Symbolic edges on a KAN: suggest, fix, unfix, auto_symbolic (methods of KAN)."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

import torch
from torch import Tensor

from kanwidget.core.checks import check_bool, check_float, check_int
from kanwidget.core.operations.simplify import require_inputs
from kanwidget.core.operations.symbolic_log import EdgeLog
from kanwidget.core.network.history import Activity
from kanwidget.core.numerics.symbolic import SymbolicFunction, fit_affine_batched, get_functions, rank_candidates

if TYPE_CHECKING:
    from kanwidget.core.network.model import KAN

DEFAULT_RANGE = (-10.0, 10.0)
EDGE_CHUNK = 64       # edges per batched fit in auto_symbolic (progress and cancel between chunks)
FUNCTION_CHUNK = 8    # library functions per batched fit in suggest_symbolic


@dataclass(frozen=True)
class Candidate:
    """A symbolic fit of one edge: phi(x) ~ c*f(a*x+b)+d."""
    name: str
    r2: float
    complexity: int
    score: float
    params: tuple[float, float, float, float]


@dataclass(frozen=True)
class SymbolicChoice:
    """What auto_symbolic did with one edge (name None: kept as a spline)."""
    l: int
    i: int
    j: int
    name: str | None
    r2: float


def check_edge(model: "KAN", l: int, i: int, j: int) -> None:
    """Raise a clear error unless (l, i, j) names an edge of the model."""
    for name, v in (("l", l), ("i", i), ("j", j)):
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"edge index {name} must be an integer, got {v!r}")
    if not 0 <= l < model.depth:
        raise ValueError(f"layer l={l} out of range: the model has {model.depth} layers (0..{model.depth - 1})")
    layer = model.layers[l]
    if not 0 <= i < layer.in_dim or not 0 <= j < layer.out_dim:
        raise ValueError(f"edge (l={l}, i={i}, j={j}) out of range: layer {l} has {layer.in_dim} inputs "
                         f"and {layer.out_dim} outputs")


def edge_samples(model: "KAN", l: int, x: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Layer l's inputs (N, I) on the data and every edge's current phi there (N, I, O)."""
    xs = require_inputs(model, x, "symbolic fitting")
    inputs = model.layer_inputs(xs)
    with torch.no_grad():
        return inputs[l], model.layers[l].edge_activations(inputs[l])


def suggest_symbolic(model: "KAN", l: int, i: int, j: int, a_range: tuple[float, float] = DEFAULT_RANGE,
                     b_range: tuple[float, float] = DEFAULT_RANGE, lib: Sequence[str] | None = None, topk: int = 5,
                     verbose: bool = True, weight_simple: float = 0.8, x: Tensor | None = None,
                     stop: threading.Event | None = None) -> tuple[str, Callable[[Tensor], Tensor], float, int]:
    """pykan's return: `(best_name, best_fun, best_r2, best_c)` for edge (l, i, j); prints the top-k table
    (function, fitting r2, complexity, total loss) when verbose. best_fun is the torch function.

    The ranking is `symbolic_candidates` (the full list of Candidate records, best first).
    """
    cands = symbolic_candidates(model, l, i, j, lib=lib, topk=topk, weight_simple=weight_simple, a_range=a_range,
                                b_range=b_range, x=x, stop=stop)
    if verbose:
        print(f"{'':>3} {'function':>10} {'fitting r2':>12} {'complexity':>10} {'total loss':>11}")
        for rank, c in enumerate(cands):
            print(f"{rank:>3} {c.name:>10} {c.r2:>12.6f} {c.complexity:>10} {c.score:>11.3f}")
    best = cands[0]
    return best.name, get_functions([best.name])[0].torch_fn, best.r2, best.complexity


def symbolic_candidates(model: "KAN", l: int, i: int, j: int, lib: Sequence[str] | None = None, topk: int = 5,
                        weight_simple: float = 0.8, a_range: tuple[float, float] = DEFAULT_RANGE,
                        b_range: tuple[float, float] = DEFAULT_RANGE, verbose: bool = False,
                        x: Tensor | None = None, stop: threading.Event | None = None) -> list[Candidate]:
    """Rank library functions for edge (l, i, j) by R² and complexity: top-k Candidate records, best first.

    Functions are fitted in chunks with a "progress" event after each; setting `stop` (or
    model.stop_training()) cancels with OperationCancelled.
    """
    check_edge(model, l, i, j)
    weight_simple = _check_weight(weight_simple)
    topk = check_int("topk", topk, 1)
    fns = get_functions(lib)
    lineage = model.lineage
    with lineage.begin("suggest_symbolic", total=len(fns), stop=stop, unit="function") as activity:
        lineage.emit("progress", activity)
        xl, acts = edge_samples(model, l, x)
        xe, ye = xl[:, i][None, :], acts[:, i, j][None, :]
        r2_parts, param_parts = [], []
        for start in range(0, len(fns), FUNCTION_CHUNK):
            activity.check()
            chunk = fns[start:start + FUNCTION_CHUNK]
            fit = fit_affine_batched(xe, ye, chunk, a_range=a_range, b_range=b_range)
            r2_parts.append(fit.r2)
            param_parts.append(fit.params)
            lineage.advance(activity, len(chunk))
        r2, params = torch.cat(r2_parts, dim=1), torch.cat(param_parts, dim=1)
    complexity = torch.tensor([f.complexity for f in fns], dtype=torch.float64)
    order, scores = rank_candidates(r2, complexity, weight_simple, topk=topk)
    out = []
    for rank, f_idx in enumerate(order[0].tolist()):
        p = params[0, f_idx].tolist()
        out.append(Candidate(fns[f_idx].name, float(r2[0, f_idx]), fns[f_idx].complexity,
                             float(scores[0, rank]), (p[0], p[1], p[2], p[3])))
    if verbose:
        for c in out:
            print(f"{c.name:>10}  r2={c.r2:.6f}  complexity={c.complexity}  score={c.score:.3f}")
    return out


def fix_symbolic(model: "KAN", l: int, i: int, j: int, name: str, fit_params: bool = True,
                 a_range: tuple[float, float] = DEFAULT_RANGE, b_range: tuple[float, float] = DEFAULT_RANGE,
                 verbose: bool = False, x: Tensor | None = None) -> float:
    """Replace edge (l, i, j) by c*f(a*x+b)+d with f = library function `name`; returns the fit's R².

    With fit_params=False the edge becomes f(x) exactly (a=c=1, b=d=0) and R² is still reported.
    """
    check_edge(model, l, i, j)
    (fn,) = get_functions([name])
    with model.lineage.change(model, f"fix ({l},{i},{j}) {fn.name}", kind="symbolic") as ch:
        xl, acts = edge_samples(model, l, x)
        xe, ye = xl[:, i][None, :], acts[:, i, j][None, :]
        if fit_params:
            fit = fit_affine_batched(xe, ye, [fn], a_range=a_range, b_range=b_range)
            params, r2 = fit.params[0, 0], float(fit.r2[0, 0])
        else:
            params = torch.tensor([1.0, 0.0, 1.0, 0.0], dtype=model.dtype)
            pred = fn.torch_fn(xe)
            sst = ((ye - ye.mean()) ** 2).sum()
            r2 = float(1 - ((ye - pred) ** 2).sum() / sst) if sst > 0 else 0.0
        model.layers[l].set_symbolic(i, j, fn.name, params)
        ch.metrics = {"r2": r2}
        if verbose:
            print(f"fixed ({l},{i},{j}) with {fn.name}, r2={r2:.6f}")
    return r2


def unfix_symbolic(model: "KAN", l: int, i: int, j: int) -> None:
    """Turn edge (l, i, j) back into its spline."""
    check_edge(model, l, i, j)
    with model.lineage.change(model, f"unfix ({l},{i},{j})", kind="symbolic"):
        model.layers[l].set_symbolic(i, j, None)


def auto_symbolic(model: "KAN", lib: Sequence[str] | None = None, weight_simple: float = 0.8,
                  r2_threshold: float = 0.0, a_range: tuple[float, float] = DEFAULT_RANGE,
                  b_range: tuple[float, float] = DEFAULT_RANGE, verbose: int = 1,
                  x: Tensor | None = None, stop: threading.Event | None = None, iterative: bool = False,
                  refit_steps: int = 20) -> list[SymbolicChoice]:
    """Fix every active spline edge to its best library function (by R² and complexity).

    Edges are fitted against all functions in batched calls of up to EDGE_CHUNK edges, with a
    "progress" event (activity.done/total in edges) after each. Edges whose best R² is below
    r2_threshold stay splines. Returns one SymbolicChoice per edge considered. Setting `stop`
    (or model.stop_training()) cancels with OperationCancelled and leaves the model as before.
    iterative=True fixes one edge at a time, most certain first (highest R², then lowest complexity),
    refitting the model (`refit_steps` L-BFGS steps on model.data) after each; still one version.
    """
    weight_simple = _check_weight(weight_simple)
    r2_threshold = check_float("r2_threshold", r2_threshold, finite=False)
    iterative = check_bool("iterative", iterative)
    refit_steps = check_int("refit_steps", refit_steps, 1, 10_000)
    fns = get_functions(lib)
    choices: list[SymbolicChoice] = []
    lineage = model.lineage
    with lineage.begin("auto_symbolic", stop=stop, unit="edge") as activity, \
            lineage.change(model, "auto_symbolic", kind="symbolic") as ch:
        xs = require_inputs(model, x, "auto_symbolic")
        if iterative:
            from kanwidget.core.operations.iterative_symbolic import fix_most_certain_first
            choices = fix_most_certain_first(model, xs, fns, weight_simple, r2_threshold, a_range, b_range,
                                             verbose, refit_steps, activity)
            ch.label = f"auto_symbolic iterative ({sum(c.name is not None for c in choices)} edges)"
            return choices
        activity.total = sum(int((layer.numeric_mask > 0).sum()) for layer in model.layers)
        lineage.emit("progress", activity)
        log = EdgeLog(activity.total, bool(verbose))
        for chunk in best_fits(model, xs, fns, weight_simple, a_range, b_range, activity):
            for b in chunk:
                keep = b.r2 < r2_threshold
                if not keep:
                    model.layers[b.l].set_symbolic(b.i, b.j, b.fn.name, b.params)
                choices.append(SymbolicChoice(b.l, b.i, b.j, None if keep else b.fn.name, b.r2))
                what = f"keeping ({b.l},{b.i},{b.j}) as spline: best {b.fn.name}" if keep else \
                    f"fixing ({b.l},{b.i},{b.j}) with {b.fn.name}"
                log.edge(f"{what}, r2={b.r2:.6f}, c={b.fn.complexity}", None if keep else b.fn.name, b.r2)
            lineage.advance(activity, len(chunk))
        activity.check()
        log.finish()
        ch.label = f"auto_symbolic ({sum(c.name is not None for c in choices)} edges)"
    return choices


@dataclass(frozen=True)
class EdgeFit:
    """The best library function for one spline edge: phi ~ c*fn(a*x+b)+d with params (a, b, c, d)."""
    l: int
    i: int
    j: int
    fn: SymbolicFunction
    r2: float
    params: Tensor


def best_fits(model: "KAN", xs: Tensor, fns: list[SymbolicFunction], weight_simple: float,
              a_range: tuple[float, float], b_range: tuple[float, float],
              activity: Activity) -> Iterator[list[EdgeFit]]:
    """Every active spline edge's best function (by rank_candidates), in chunks of up to EDGE_CHUNK edges
    fitted in one batched call; the activity's stop token is checked before each chunk. Layer inputs are
    taken once, before the first chunk, so fixing a chunk's edges does not change the later fits."""
    complexity = torch.tensor([f.complexity for f in fns], dtype=torch.float64)
    inputs = model.layer_inputs(xs)
    for l, layer in enumerate(model.layers):
        ii_all, jj_all = torch.nonzero(layer.numeric_mask > 0, as_tuple=True)
        if ii_all.numel() == 0:
            continue
        with torch.no_grad():
            acts = layer.edge_activations(inputs[l])
        for start in range(0, ii_all.numel(), EDGE_CHUNK):
            activity.check()
            ii, jj = ii_all[start:start + EDGE_CHUNK], jj_all[start:start + EDGE_CHUNK]
            fit = fit_affine_batched(inputs[l][:, ii].T, acts[:, ii, jj].T, fns, a_range=a_range, b_range=b_range)
            best = rank_candidates(fit.r2, complexity, weight_simple, topk=1)[0][:, 0].tolist()
            yield [EdgeFit(l, i, j, fns[f], float(fit.r2[e, f]), fit.params[e, f])
                   for e, (i, j, f) in enumerate(zip(ii.tolist(), jj.tolist(), best))]


def _check_weight(weight_simple: float) -> float:
    return check_float("weight_simple", weight_simple, 0.0, 1.0)
