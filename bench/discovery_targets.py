"""Discovery targets for bench/bench_discovery.py: Feynman equations and the KAN paper's examples.

Feynman equations as listed by AI Feynman (Udrescu & Tegmark 2020) and used in SRBench, with 1-4
variables, written here from their published forms (constants such as 4*pi kept, physical constants
set to variables as in the AI Feynman data); sampling ranges follow the AI Feynman tables (mostly
[1, 5]) and are narrowed where a formula has a singularity. The KAN paper's examples (Liu et al. 2024)
use [-1, 1]; its Bessel example J0(20x) is replaced by sin(5x) (no Bessel function in the library).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import sympy
import torch


@dataclass(frozen=True)
class Target:
    """One law: a name, its variables, a sympy builder, sampling ranges and the KAN width to start from."""
    name: str
    variables: tuple[str, ...]
    build: Callable[..., sympy.Expr]
    ranges: tuple[tuple[float, float], ...]
    hidden: tuple[int, ...] = (5,)

    @property
    def n_var(self) -> int:
        return len(self.variables)

    @property
    def width(self) -> list[int]:
        return [self.n_var, *self.hidden, 1]

    def expr(self, symbols: list[sympy.Symbol] | None = None) -> sympy.Expr:
        """The law in the given symbols (default: x_1 .. x_n, the names the models' formulas use)."""
        syms = symbols or sympy.symbols([f"x_{k + 1}" for k in range(self.n_var)])
        return self.build(*syms)

    def numpy_fn(self) -> Callable[..., np.ndarray]:
        syms = sympy.symbols([f"x_{k + 1}" for k in range(self.n_var)])
        return sympy.lambdify(syms, self.expr(syms), "numpy")

    def torch_fn(self) -> Callable[[torch.Tensor], torch.Tensor]:
        """f(x) for create_dataset: (N, n_var) tensor -> (N, 1) tensor."""
        fn = self.numpy_fn()

        def f(x: torch.Tensor) -> torch.Tensor:
            cols = x.detach().cpu().double().numpy()
            y = np.broadcast_to(np.asarray(fn(*cols.T), dtype=np.float64), (cols.shape[0],))
            return torch.as_tensor(np.array(y), dtype=x.dtype)[:, None]
        return f


pi, sqrt, exp, sin = sympy.pi, sympy.sqrt, sympy.exp, sympy.sin
P = (1.0, 5.0)       # the AI Feynman range for most variables
U = (-1.0, 1.0)      # the KAN paper's range

TARGETS: list[Target] = [
    # --- the KAN paper's examples
    Target("KAN exp(sin(pi x)+y^2)", ("x", "y"), lambda x, y: exp(sin(pi * x) + y ** 2), (U, U)),
    Target("KAN x*y", ("x", "y"), lambda x, y: x * y, (U, U)),
    Target("KAN sin(5x) (for J0(20x))", ("x",), lambda x: sin(5 * x), (U,)),
    Target("KAN (x+y)/(1+xy)", ("x", "y"), lambda x, y: (x + y) / (1 + x * y), ((-0.9, 0.9), (-0.9, 0.9))),
    Target("KAN exp(sin(pi(a^2+b^2))+sin(pi(c^2+d^2)))/2)", ("a", "b", "c", "d"),
           lambda a, b, c, d: exp((sin(pi * (a ** 2 + b ** 2)) + sin(pi * (c ** 2 + d ** 2))) / 2), (U, U, U, U),
           hidden=(4, 2)),
    # --- Feynman equations (AI Feynman numbering)
    Target("I.6.20a exp(-t^2/2)/sqrt(2pi)", ("theta",), lambda t: exp(-t ** 2 / 2) / sqrt(2 * pi), ((1.0, 3.0),)),
    Target("I.6.20 exp(-(t/s)^2/2)/(sqrt(2pi)s)", ("sigma", "theta"),
           lambda s, t: exp(-(t / s) ** 2 / 2) / (sqrt(2 * pi) * s), ((1.0, 3.0), (1.0, 3.0))),
    Target("I.10.7 m0/sqrt(1-v^2/c^2)", ("m0", "v", "c"), lambda m, v, c: m / sqrt(1 - v ** 2 / c ** 2),
           (P, (1.0, 2.0), (3.0, 10.0))),
    Target("I.12.1 mu*Nn", ("mu", "Nn"), lambda mu, n: mu * n, (P, P)),
    Target("I.12.4 q1/(4pi eps r^2)", ("q1", "epsilon", "r"), lambda q, e, r: q / (4 * pi * e * r ** 2), (P, P, P)),
    Target("I.12.5 q2*Ef", ("q2", "Ef"), lambda q, e: q * e, (P, P)),
    Target("I.14.3 m*g*z", ("m", "g", "z"), lambda m, g, z: m * g * z, (P, P, P)),
    Target("I.14.4 k x^2/2", ("k", "x"), lambda k, x: k * x ** 2 / 2, (P, P)),
    Target("I.18.12 r*F*sin(theta)", ("r", "F", "theta"), lambda r, f, t: r * f * sin(t), (P, P, (0.0, 3.0))),
    Target("I.25.13 q/C", ("q", "C"), lambda q, c: q / c, (P, P)),
    Target("I.29.4 omega/c", ("omega", "c"), lambda w, c: w / c, ((1.0, 10.0), (1.0, 10.0))),
    Target("I.34.27 h*omega/(2pi)", ("h", "omega"), lambda h, w: h * w / (2 * pi), (P, P)),
    Target("I.39.1 3/2 pr V", ("pr", "V"), lambda p, v: sympy.Rational(3, 2) * p * v, (P, P)),
    Target("I.39.22 n kb T/V", ("n", "kb", "T", "V"), lambda n, k, t, v: n * k * t / v, (P, P, P, P)),
    Target("I.43.31 mob kb T", ("mob", "kb", "T"), lambda m, k, t: m * k * t, (P, P, P)),
    Target("I.47.23 sqrt(gamma pr/rho)", ("gamma", "pr", "rho"), lambda g, p, r: sqrt(g * p / r), (P, P, P)),
    Target("II.3.24 Pwr/(4pi r^2)", ("Pwr", "r"), lambda p, r: p / (4 * pi * r ** 2), (P, P)),
    Target("II.4.23 q/(4pi eps r)", ("q", "epsilon", "r"), lambda q, e, r: q / (4 * pi * e * r), (P, P, P)),
    Target("II.8.31 eps Ef^2/2", ("epsilon", "Ef"), lambda e, f: e * f ** 2 / 2, (P, P)),
    Target("II.11.28 1+n a/(1-n a/3)", ("n", "alpha"), lambda n, a: 1 + n * a / (1 - n * a / 3),
           ((0.0, 1.0), (0.0, 1.0))),
    Target("II.27.18 eps Ef^2", ("epsilon", "Ef"), lambda e, f: e * f ** 2, (P, P)),
    Target("II.38.14 Y/(2(1+sigma))", ("Y", "sigma"), lambda y, s: y / (2 * (1 + s)), (P, P)),
    Target("III.12.43 n h/(2pi)", ("n", "h"), lambda n, h: n * h / (2 * pi), (P, P)),
]

# a mix of the above for short runs (--targets N takes the first N of this order)
ORDER = ["KAN exp(sin(pi x)+y^2)", "I.6.20a exp(-t^2/2)/sqrt(2pi)", "KAN x*y", "I.14.4 k x^2/2",
         "I.25.13 q/C", "KAN sin(5x) (for J0(20x))", "I.12.1 mu*Nn", "I.34.27 h*omega/(2pi)",
         "KAN (x+y)/(1+xy)", "II.3.24 Pwr/(4pi r^2)"]
TARGETS.sort(key=lambda t: ORDER.index(t.name) if t.name in ORDER else len(ORDER))
