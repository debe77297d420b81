"""Bad input over the core API: each case raises the right exception, names the argument in its
message, and leaves the model (weights, buffers, history, data, structure) exactly as it was."""
from contextlib import contextmanager

import numpy as np
import pytest
import sympy
import torch

from kanwidget import KAN, create_dataset, ex_round

NAN, INF, HUGE = float("nan"), float("inf"), 10 ** 400   # HUGE: an int beyond the float range


# ------------------------------------------------------------------ helpers
def model_fingerprint(model: KAN) -> dict:
    """Everything a failed call must not change, as comparable values."""
    return {
        "state": {k: v.detach().clone() for k, v in model.state_dict().items()},
        "history": [(v.id, v.label, v.parent) for v in model.history],
        "current": model.lineage.current,
        "width": model.width, "grid": model.grid, "config": dict(model.config),
        "sym_names": [list(layer.sym_names) for layer in model.layers],
        "data": None if model.data is None else {k: v.clone() for k, v in model.data.items()},
        "steps_trained": model.steps_trained, "in_vars": model.in_vars,
    }


def assert_same(before: dict, after: dict) -> None:
    assert before["state"].keys() == after["state"].keys()
    for key in before["state"]:
        assert torch.equal(before["state"][key], after["state"][key]), f"{key} changed"
    assert (before["data"] is None) == (after["data"] is None)
    if before["data"] is not None:
        assert all(torch.equal(before["data"][k], after["data"][k]) for k in before["data"])
    rest = ("history", "current", "width", "grid", "config", "sym_names", "steps_trained", "in_vars")
    assert {k: before[k] for k in rest} == {k: after[k] for k in rest}


@contextmanager
def refused(model: KAN | None, exc: type[Exception], name: str):
    """Expect `exc` with `name` in its message and the model untouched."""
    before = model_fingerprint(model) if model is not None else None
    with pytest.raises(exc) as info:
        yield
    assert name in str(info.value), f"message does not name {name!r}: {info.value}"
    if model is not None:
        assert_same(before, model_fingerprint(model))


@pytest.fixture(scope="module")
def dataset():
    return create_dataset(lambda x: torch.sin(torch.pi * x[:, [0]]) + x[:, [1]] ** 2, n_var=2, train_num=64,
                          test_num=32, seed=1, dtype=torch.float64)


@pytest.fixture
def model(dataset):
    """A fitted [2, 3, 1] model with data and one recorded version."""
    m = KAN(width=[2, 3, 1], grid=3, seed=0, dtype=torch.float64)
    m.fit(dataset, steps=2, verbose=False)
    return m


# ------------------------------------------------------------------ constructor
CONSTRUCTOR_CASES = [
    (dict(width="25"), TypeError, "width"),
    (dict(width=[2, 3.5, 1]), TypeError, "width"),
    (dict(width=[2, 0, 1]), ValueError, "width"),
    (dict(grid=0), ValueError, "grid"),
    (dict(grid=2.5), TypeError, "grid"),
    (dict(grid=10 ** 9), ValueError, "grid"),
    (dict(grid=5000), ValueError, "grid=5000"),                 # within MAX_GRID, beyond the memory limit
    (dict(k=10 ** 6), ValueError, "k"),
    (dict(k=300), ValueError, "k"),
    (dict(k=0), ValueError, "k"),
    (dict(seed="a"), TypeError, "seed"),
    (dict(seed=1.5), TypeError, "seed"),
    (dict(dtype=torch.int64), TypeError, "dtype"),
    (dict(dtype="float32"), TypeError, "dtype"),
    (dict(noise_scale=NAN), ValueError, "noise_scale"),
    (dict(noise_scale=-1.0), ValueError, "noise_scale"),
    (dict(noise_scale=HUGE), ValueError, "noise_scale"),
    (dict(scale_base_sigma=INF), ValueError, "scale_base_sigma"),
    (dict(scale_base_mu=NAN), ValueError, "scale_base_mu"),
    (dict(grid_eps=2.0), ValueError, "grid_eps"),
    (dict(grid_range=(1, -1)), ValueError, "grid_range"),
    (dict(grid_range=(0, INF)), ValueError, "grid_range"),
    (dict(grid_range="ab"), TypeError, "grid_range"),
    (dict(base_fun="relu6"), ValueError, "base_fun"),
    (dict(base_fun=["silu"]), ValueError, "base_fun"),
    (dict(in_vars="ab"), TypeError, "in_vars"),
    (dict(in_vars=["a"]), ValueError, "in_vars"),
]


@pytest.mark.parametrize("kwargs,exc,name", CONSTRUCTOR_CASES, ids=[f"KAN-{c[2]}-{i}" for i, c in
                                                                    enumerate(CONSTRUCTOR_CASES)])
def test_constructor_refuses(kwargs, exc, name):
    kwargs = {"width": [2, 5, 1], **kwargs}
    with refused(None, exc, name):
        KAN(**kwargs)


def test_constructor_accepts_numpy_integers_like_python_ones():
    a = KAN(width=[np.int64(2), 3, np.int32(1)], grid=np.int64(4), k=np.int64(2), seed=np.int64(7))
    b = KAN(width=[2, 3, 1], grid=4, k=2, seed=7)
    assert a.width == [2, 3, 1] and type(a.config["grid"]) is int and type(a.config["seed"]) is int
    assert all(torch.equal(a.state_dict()[k], b.state_dict()[k]) for k in b.state_dict())


def test_memory_estimate_follows_the_spline_tables():
    """The dense tables grow as I * (G + 2k + 2) * (k + 1) * (G + k): doubling G about quadruples them."""
    from kanwidget.core.network import limits
    small, big = (limits.model_bytes([4, 1], g, 3, torch.float32) for g in (500, 1000))
    assert 3.8 < big / small < 4.2
    # and the bound is what construction uses: the largest accepted grid is within a few % of the limit
    assert limits.model_bytes([2, 5, 1], 1000, 3, torch.float32) < limits.MEMORY_LIMIT_BYTES
    assert limits.model_bytes([2, 5, 1], 5000, 3, torch.float32) > limits.MEMORY_LIMIT_BYTES


# ------------------------------------------------------------------ forward
FORWARD_CASES = [
    ("abc", TypeError, "x"),
    (b"\x00\x01", TypeError, "x"),
    (object(), TypeError, "x"),
    ([["a", "b"]], TypeError, "x"),
    ({"a": 1}, TypeError, "x"),
    (torch.tensor([[True, False]]), TypeError, "x"),
    (torch.ones(3, 2, dtype=torch.complex64), TypeError, "x"),
    (torch.rand(4, 3), ValueError, "shape (N, 2)"),
    ([[0.1, INF]], ValueError, "row 0"),
    (torch.tensor([[0.0, 0.0], [0.1, -INF], [0.2, 0.2], [NAN, 0.0]]), ValueError, "2 rows (1, 3)"),
    (np.array([[0.5, NAN]]), ValueError, "non-finite"),
]


@pytest.mark.parametrize("x,exc,name", FORWARD_CASES, ids=[f"forward-{i}" for i in range(len(FORWARD_CASES))])
def test_forward_refuses(model, x, exc, name):
    with refused(model, exc, name):
        model(x)


@pytest.mark.parametrize("x", [[[0.25, -0.5]], np.array([[0.25, -0.5]], dtype=np.float32),
                               np.array([[0.25, -0.5]]), ((0.25, -0.5),)])
def test_forward_accepts_array_likes(model, x):
    expected = model(torch.tensor([[0.25, -0.5]], dtype=torch.float64))
    assert torch.equal(model(x), expected)


def test_forward_accepts_integer_arrays(model):
    assert torch.equal(model(np.array([[1, 0]])), model(torch.tensor([[1.0, 0.0]], dtype=torch.float64)))


# ------------------------------------------------------------------ fit
def _with(dataset, key, value):
    data = {k: v.clone() for k, v in dataset.items()}
    data[key] = value
    return data


def _with_nan(dataset, key, row):
    data = {k: v.clone() for k, v in dataset.items()}
    data[key][row, 0] = NAN
    return data


FIT_CASES = [
    (lambda d: ("abc",), {}, TypeError, "dataset"),
    (lambda d: ({k: v for k, v in d.items() if k != "test_label"},), {}, ValueError, "test_label"),
    (lambda d: ({**d, "train_input": d["train_input"][:, :1]},), {}, ValueError, "train_input"),
    (lambda d: (_with_nan(d, "train_input", 7),), {}, ValueError, "train_input"),
    (lambda d: (_with_nan(d, "test_label", 3),), {}, ValueError, "row(s): 3"),
    (lambda d: (_with(d, "train_label", torch.full((64, 1), 1e300, dtype=torch.float64)),),
     {"_dtype": torch.float32}, ValueError, "beyond the range"),
    (lambda d: (d,), {"steps": HUGE}, ValueError, "steps"),
    (lambda d: (d,), {"steps": 0}, ValueError, "steps"),
    (lambda d: (d,), {"lr": HUGE}, ValueError, "lr"),
    (lambda d: (d,), {"lr": NAN}, ValueError, "lr"),
    (lambda d: (d,), {"lamb": HUGE}, ValueError, "lamb"),
    (lambda d: (d,), {"lamb": -0.1}, ValueError, "lamb"),
    (lambda d: (d,), {"batch": "all"}, TypeError, "batch"),
    (lambda d: (d,), {"opt": "SGD"}, ValueError, "optimiser"),
]


@pytest.mark.parametrize("make,kwargs,exc,name", FIT_CASES, ids=[f"fit-{c[3]}-{i}" for i, c in enumerate(FIT_CASES)])
def test_fit_refuses(dataset, make, kwargs, exc, name):
    kwargs = dict(kwargs)
    m = KAN(width=[2, 3, 1], grid=3, seed=0, dtype=kwargs.pop("_dtype", torch.float64))
    m.fit(dataset, steps=1, verbose=False)
    with refused(m, exc, name):
        m.fit(*make(dataset), verbose=False, **kwargs)


# ------------------------------------------------------------------ prune, refine
SIMPLIFY_CASES = [
    ("prune", (), {"node_th": HUGE}, ValueError, "node_th"),
    ("prune", (), {"edge_th": "x"}, TypeError, "edge_th"),
    ("prune", (), {"node_th": NAN}, ValueError, "node_th"),
    ("prune_node", ("x",), {}, TypeError, "threshold"),
    ("prune_node", (-0.5,), {}, ValueError, "threshold"),
    ("prune_edge", ("x",), {}, TypeError, "threshold"),
    ("prune_edge", (-1,), {}, ValueError, "threshold"),
    ("prune_edge", (INF,), {}, ValueError, "threshold"),
    ("prune_input", (), {"active_inputs": ["a"]}, TypeError, "active_inputs"),
    ("prune_input", (), {"active_inputs": [5]}, ValueError, "active_inputs"),
    ("prune_input", (), {"active_inputs": 3}, TypeError, "active_inputs"),
    ("refine", (HUGE,), {}, ValueError, "new_grid"),
    ("refine", (2.5,), {}, TypeError, "new_grid"),
    ("refine", (10 ** 6,), {}, ValueError, "new_grid"),
    ("refine", (4000,), {}, ValueError, "grid=4000"),          # the memory estimate
    ("refine", (2,), {}, ValueError, "finer grid"),
]


@pytest.mark.parametrize("method,args,kwargs,exc,name", SIMPLIFY_CASES,
                         ids=[f"{c[0]}-{c[4]}-{i}" for i, c in enumerate(SIMPLIFY_CASES)])
def test_simplify_refuses(model, method, args, kwargs, exc, name):
    with refused(model, exc, name):
        getattr(model, method)(*args, **kwargs)


# ------------------------------------------------------------------ symbolic edges
SYMBOLIC_CASES = [
    ("fix_symbolic", (0, 0, 0, "no_such_function"), {}, ValueError, "no_such_function"),
    ("fix_symbolic", (0, 5, 0, "sin"), {}, ValueError, "i=5"),
    ("fix_symbolic", (0, 0, "j", "sin"), {}, TypeError, "j"),
    ("suggest_symbolic", (0, 0, 0), {"topk": 0}, ValueError, "topk"),
    ("suggest_symbolic", (0, 0, 0), {"weight_simple": HUGE}, ValueError, "weight_simple"),
    ("suggest_symbolic", (7, 0, 0), {}, ValueError, "l=7"),
]


@pytest.mark.parametrize("method,args,kwargs,exc,name", SYMBOLIC_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(SYMBOLIC_CASES)])
def test_symbolic_refuses(model, method, args, kwargs, exc, name):
    with refused(model, exc, name):
        getattr(model, method)(*args, **kwargs)


# ------------------------------------------------------------------ ex_round
X = sympy.Symbol("x")
EX_ROUND_CASES = [
    (("x**2",), TypeError, "expr"),
    ((None,), TypeError, "expr"),
    (([X, "1.5"],), TypeError, "expr"),
    ((X, -1), ValueError, "n_digit"),
    ((X, 2.5), TypeError, "n_digit"),
    ((X, HUGE), ValueError, "n_digit"),
]


@pytest.mark.parametrize("args,exc,name", EX_ROUND_CASES, ids=[f"ex_round-{i}" for i in range(len(EX_ROUND_CASES))])
def test_ex_round_refuses(args, exc, name):
    with refused(None, exc, name):
        ex_round(*args)


# ------------------------------------------------------------------ create_dataset
def _f(x):
    return x[:, [0]]


DATASET_CASES = [
    (dict(f=3), TypeError, "f"),
    (dict(n_var=0), ValueError, "n_var"),
    (dict(n_var="2"), TypeError, "n_var"),
    (dict(train_num=10 ** 12), ValueError, "train_num"),
    (dict(test_num=-5), ValueError, "test_num"),
    (dict(ranges=[0, INF]), ValueError, "ranges"),
    (dict(ranges="ab"), TypeError, "ranges"),
    (dict(ranges=[[0, 1], [0, 1], [0, 1]]), ValueError, "ranges"),
    (dict(seed="x"), TypeError, "seed"),
    (dict(f_mode="diag"), ValueError, "f_mode"),
    (dict(dtype=torch.int32), TypeError, "dtype"),
]


@pytest.mark.parametrize("kwargs,exc,name", DATASET_CASES, ids=[f"create_dataset-{c[2]}-{i}" for i, c in
                                                                 enumerate(DATASET_CASES)])
def test_create_dataset_refuses(kwargs, exc, name):
    kwargs = {"f": _f, "n_var": 2, "train_num": 8, "test_num": 8, **kwargs}
    with refused(None, exc, name):
        create_dataset(**kwargs)



def test_finite_values_whose_sum_overflows_are_accepted():
    """The cheap finiteness test sums the batch; a finite batch whose sum overflows must still pass."""
    model = KAN(width=[2, 3, 1], grid=3, seed=0, dtype=torch.float32)
    x = torch.full((4, 2), 3e38)
    assert not torch.isfinite(x.sum()) and model(x).shape == (4, 1)


def test_a_batch_beyond_the_memory_limit_is_refused_before_evaluating(model, monkeypatch):
    from kanwidget.core.network import limits
    per_row = limits.bytes_per_row(model.width, model.grid, model.k, model.dtype)
    monkeypatch.setattr(limits, "MEMORY_LIMIT_BYTES", 100 * per_row)
    model(torch.zeros(100, 2, dtype=torch.float64))                        # at the limit: evaluated
    with refused(model, ValueError, "x has 101 rows"):
        model(torch.zeros(101, 2, dtype=torch.float64))
