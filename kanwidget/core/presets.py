"""Teaching datasets: named presets and typed formulas, sampled deterministically per seed.

Regression presets are formulas in the safe parser's language (`kanwidget.core.expression`); the
classification presets (labels 0/1, for a KAN with one logit output trained with `loss_fn="logistic"`)
have their own samplers and a label function over the whole box (the "target" a data view can draw).

    make_dataset(preset="two_circles", n_train=400, test_fraction=0.25, noise=0.05, seed=1)
    make_dataset(formula="sin(pi*x_1) * x_2", n_train=500)
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import Tensor

from kanwidget.core.checks import check_float, check_int
from kanwidget.core.data import DATASET_KEYS
from kanwidget.core.expression import Formula, parse_formula

__all__ = ["Preset", "PRESETS", "DataSource", "resolve_source", "make_dataset", "MAX_POINTS", "MAX_NOISE",
           "MAX_TEST_FRACTION"]

MAX_POINTS = 100_000
MAX_NOISE = 10.0
MAX_TEST_FRACTION = 0.9
MAX_INPUTS = 100
Sampler = Callable[[int, torch.Generator, torch.dtype], Tensor]


@dataclass(frozen=True)
class Preset:
    """A named dataset: inputs sampled in `box` (or by `sampler`), labelled by `label` ((N, n) -> (N,))."""
    name: str
    title: str
    n_var: int
    task: str                 # "regression" | "classification"
    formula: str              # for display (regression: the parser's text; classification: the rule)
    label: Callable[[Tensor], Tensor]
    box: tuple[float, float] = (-1.0, 1.0)
    sampler: Sampler | None = None     # None: uniform in the box


def _uniform(n_var: int, n: int, gen: torch.Generator, dtype: torch.dtype, low: float = -1.0,
             high: float = 1.0) -> Tensor:
    return torch.rand(n, n_var, generator=gen, dtype=dtype) * (high - low) + low


def _polar(r: Tensor, theta: Tensor) -> Tensor:
    return torch.stack([r * torch.cos(theta), r * torch.sin(theta)], dim=1)


# ---------------------------------------------------------- classification
CIRCLE_SPLIT = 0.6          # label 1 inside this radius


def _circles_sample(n: int, gen: torch.Generator, dtype: torch.dtype) -> Tensor:
    inner = torch.arange(n) % 2 == 0
    u = torch.rand(n, generator=gen, dtype=dtype)
    r = torch.where(inner, 0.5 * torch.sqrt(u), 0.7 + 0.3 * u)
    theta = torch.rand(n, generator=gen, dtype=dtype) * 2 * math.pi
    return _polar(r, theta)


def _circles_label(x: Tensor) -> Tensor:
    return (x[:, 0] ** 2 + x[:, 1] ** 2 < CIRCLE_SPLIT ** 2).to(x.dtype)


def _xor_sample(n: int, gen: torch.Generator, dtype: torch.dtype) -> Tensor:
    x = _uniform(2, n, gen, dtype, 0.1, 1.0)                  # away from the axes, as in TF Playground
    signs = torch.randint(0, 2, (n, 2), generator=gen).to(dtype) * 2 - 1
    return x * signs


def _xor_label(x: Tensor) -> Tensor:
    return (x[:, 0] * x[:, 1] > 0).to(x.dtype)


SPIRAL_TURNS = 1.25
SPIRAL_R0 = 0.1


def _spiral_phase(r: Tensor) -> Tensor:
    return 2 * math.pi * SPIRAL_TURNS * (r - SPIRAL_R0) / (1 - SPIRAL_R0)


def _spirals_sample(n: int, gen: torch.Generator, dtype: torch.dtype) -> Tensor:
    second = (torch.arange(n) % 2 == 1).to(dtype)
    r = SPIRAL_R0 + (1 - SPIRAL_R0) * torch.rand(n, generator=gen, dtype=dtype)
    return _polar(r, _spiral_phase(r) + math.pi * (1 - second))


def _spirals_label(x: Tensor) -> Tensor:
    """1 on the arm through angle phase(r) (the one the sampler labels 1), 0 on the opposite arm."""
    r = torch.sqrt(x[:, 0] ** 2 + x[:, 1] ** 2)
    offset = torch.atan2(x[:, 1], x[:, 0]) - _spiral_phase(r)
    return (torch.cos(offset) > 0).to(x.dtype)


BLOB_CENTRE, BLOB_STD = 0.45, 0.22


def _blobs_sample(n: int, gen: torch.Generator, dtype: torch.dtype) -> Tensor:
    sign = (torch.arange(n) % 2 == 0).to(dtype) * 2 - 1       # +1: the blob of label 1
    return sign[:, None] * BLOB_CENTRE + BLOB_STD * torch.randn(n, 2, generator=gen, dtype=dtype)


def _blobs_label(x: Tensor) -> Tensor:
    """The Bayes rule of two equal round Gaussians: the side of the bisector x_1 + x_2 = 0."""
    return (x[:, 0] + x[:, 1] > 0).to(x.dtype)


def _formula_preset(name: str, title: str, n_var: int, text: str) -> Preset:
    return Preset(name, title, n_var, "regression", text, parse_formula(text, n_var=n_var))


PRESETS: dict[str, Preset] = {p.name: p for p in (
    _formula_preset("exp_sin", "exp(sin(πx₁) + x₂²) (the KAN paper's example)", 2, "exp(sin(pi*x_1) + x_2^2)"),
    _formula_preset("product", "product x₁·x₂", 2, "x_1*x_2"),
    _formula_preset("gaussian", "Gaussian bump", 2, "exp(-2*(x_1^2 + x_2^2))"),
    _formula_preset("sine_1d", "sin(πx) in one input", 1, "sin(pi*x_1)"),
    Preset("two_circles", "two circles (classification)", 2, "classification",
           f"1 if x_1^2 + x_2^2 < {CIRCLE_SPLIT}^2 else 0", _circles_label, sampler=_circles_sample),
    Preset("xor", "XOR (classification)", 2, "classification", "1 if x_1*x_2 > 0 else 0", _xor_label,
           sampler=_xor_sample),
    Preset("two_spirals", "two spirals (classification)", 2, "classification",
           "1 on one spiral arm, 0 on the other", _spirals_label, sampler=_spirals_sample),
    Preset("two_blobs", "two Gaussian blobs (classification)", 2, "classification",
           "1 if x_1 + x_2 > 0 else 0 (the Bayes rule)", _blobs_label, sampler=_blobs_sample),
)}


@dataclass(frozen=True)
class DataSource:
    """What a dataset is made from: a preset or a parsed formula, its inputs, task and target function."""
    kind: str                 # "preset" | "formula"
    name: str                 # the preset's name, or "formula"
    n_var: int
    task: str
    text: str                 # the formula as typed (or the preset's rule)
    preset: Preset | None = None
    parsed: Formula | None = None

    def target(self, x: Tensor) -> Tensor:
        """The function behind the data on x (N, n_var) -> (N, 1): the label without noise."""
        fn = self.preset.label if self.preset is not None else self.parsed
        return fn(x)[:, None]  # type: ignore[misc]

    def latex(self) -> str:
        """LaTeX of a formula (typed or a regression preset's); '' for classification rules."""
        if self.parsed is not None:
            return self.parsed.latex()
        if self.preset is not None and isinstance(self.preset.label, Formula):
            return self.preset.label.latex()
        return ""


def resolve_source(preset: str | None = None, formula: str | None = None, n_var: int | None = None) -> DataSource:
    """The DataSource of exactly one of `preset` (a name in PRESETS) or `formula` (text in x_1..x_n).

    n_var: inputs of the data (default: the preset's, or the formula's highest x_k); a formula may use
    fewer variables than n_var (the others are sampled and ignored), a preset needs exactly its own.
    """
    if (preset is None) == (formula is None):
        raise ValueError("give exactly one of preset (a name) or formula (text in x_1, x_2, ...), "
                         f"got preset={preset!r}, formula={'None' if formula is None else repr(formula[:40])}")
    if n_var is not None:
        n_var = check_int("n_var", n_var, 1, MAX_INPUTS)
    if preset is not None:
        if not isinstance(preset, str) or preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; presets: {', '.join(PRESETS)}")
        p = PRESETS[preset]
        if n_var is not None and n_var != p.n_var:
            raise ValueError(f"preset {preset!r} has {p.n_var} input{'s' if p.n_var != 1 else ''}, "
                             f"but n_var is {n_var}")
        return DataSource("preset", p.name, p.n_var, p.task, p.formula, preset=p)
    parsed = parse_formula(formula, n_var=n_var)
    return DataSource("formula", "formula", n_var or max(parsed.n_var, 1), "regression", formula, parsed=parsed)


def _n_test(n_train: int, n_test: int | None, test_fraction: float) -> int:
    if n_test is not None:
        return check_int("n_test", n_test, 1, MAX_POINTS)
    test_fraction = check_float("test_fraction", test_fraction, 0.0, MAX_TEST_FRACTION, low_open=True)
    return max(1, round(n_train * test_fraction / (1 - test_fraction)))


def make_dataset(preset: str | None = None, formula: str | None = None, n_var: int | None = None,
                 n_train: int = 1000, n_test: int | None = None, test_fraction: float = 0.2, noise: float = 0.0,
                 seed: int = 0, dtype: torch.dtype | None = None) -> dict[str, Tensor]:
    """A dataset dict (train_input, train_label, test_input, test_label) from a preset or a formula.

    n_train training points; n_test test points, or by default test_fraction of all points
    (n_test = n_train * f / (1 - f)). noise: standard deviation of Gaussian noise added to the labels
    (regression) or to the input positions (classification; labels keep their class). The same
    arguments and seed give the same tensors. Errors name the argument.
    """
    source = resolve_source(preset, formula, n_var)
    return sample_dataset(source, n_train=n_train, n_test=n_test, test_fraction=test_fraction, noise=noise,
                          seed=seed, dtype=dtype)


def sample_dataset(source: DataSource, n_train: int = 1000, n_test: int | None = None, test_fraction: float = 0.2,
                   noise: float = 0.0, seed: int = 0, dtype: torch.dtype | None = None) -> dict[str, Tensor]:
    """make_dataset for an already resolved DataSource."""
    n_train = check_int("n_train", n_train, 1, MAX_POINTS)
    count_test = _n_test(n_train, n_test, test_fraction)
    noise = check_float("noise", noise, 0.0, MAX_NOISE)
    seed = check_int("seed", seed, 0, 2 ** 63 - 1)
    if dtype is not None and dtype not in (torch.float32, torch.float64):
        raise TypeError(f"dtype must be torch.float32 or torch.float64, got {dtype!r}")
    dtype = dtype or torch.get_default_dtype()
    gen = torch.Generator().manual_seed(seed)
    parts: list[Tensor] = []
    for n in (n_train, count_test):
        x, y = _sample(source, n, noise, gen, dtype)
        parts += [x, y]
    return dict(zip(DATASET_KEYS, parts))


def _sample(source: DataSource, n: int, noise: float, gen: torch.Generator, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
    p = source.preset
    if p is not None and p.sampler is not None:
        order = torch.randperm(n, generator=gen)
        x = p.sampler(n, gen, dtype)
        y = p.label(x)                                  # classes from the clean positions
        if noise:
            x = x + noise * torch.randn(x.shape, generator=gen, dtype=dtype)
        return x[order], y[order][:, None]
    low, high = p.box if p is not None else (-1.0, 1.0)
    x = _uniform(source.n_var, n, gen, dtype, low, high)
    with torch.no_grad():
        y = source.target(x)
    bad = ~torch.isfinite(y).all(dim=1)
    if bool(bad.any()):
        first = x[bad][0].tolist()
        raise ValueError(f"formula {source.text!r} gives NaN or inf at {int(bad.sum())} of {n} sampled points "
                         f"(e.g. x = {[round(v, 3) for v in first]}); use functions defined on the box [-1, 1]")
    if noise:
        y = y + noise * torch.randn(y.shape, generator=gen, dtype=dtype)
    return x, y


def describe(source: DataSource) -> dict[str, Any]:
    """Name, title, task, inputs and formula text of a source (for a view's label)."""
    title = source.preset.title if source.preset is not None else source.text
    return {"kind": source.kind, "name": source.name, "title": title, "task": source.task, "n_var": source.n_var,
            "formula": source.text}
