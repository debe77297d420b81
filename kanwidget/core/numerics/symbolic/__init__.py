"""Symbolic functions for KAN edges: the library, batched affine fitting, ranking and sympy export.

Pure torch + sympy, one module per job:

* :mod:`.library`      :class:`SymbolicFunction`, the registry :data:`SYMBOLIC_LIB` (:func:`add_symbolic`,
  :func:`get_functions`) and the parameter symmetries of the built-ins;
* :mod:`.chunking`     :func:`plan_chunks`, the memory bound of the fit;
* :mod:`.affine_fit`   :func:`fit_affine_batched`: ``y ~ c * f(a * x + b) + d`` for many edges and functions;
* :mod:`.ranking`      :func:`score_candidates` / :func:`rank_candidates`: accuracy against simplicity;
* :mod:`.sympy_export` :func:`to_sympy`: a fitted edge as a sympy expression.
"""

from kanwidget.core.numerics.symbolic.affine_fit import FitResult, fit_affine_batched
from kanwidget.core.numerics.symbolic.chunking import DEFAULT_MEMORY_BUDGET, plan_chunks
from kanwidget.core.numerics.symbolic.library import SYMBOLIC_LIB, SymbolicFunction, add_symbolic, get_functions
from kanwidget.core.numerics.symbolic.ranking import NEGATIVE_R2_PENALTY, rank_candidates, score_candidates
from kanwidget.core.numerics.symbolic.sympy_export import to_sympy

__all__ = [
    "SymbolicFunction",
    "SYMBOLIC_LIB",
    "add_symbolic",
    "get_functions",
    "FitResult",
    "fit_affine_batched",
    "score_candidates",
    "rank_candidates",
    "to_sympy",
    "plan_chunks",
    "DEFAULT_MEMORY_BUDGET",
]
