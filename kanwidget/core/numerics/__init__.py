"""Numerics: tensors in, tensors out, no model.

spline.py             fast B-spline bases (per-interval polynomial tables) and curve <-> coefficient fits
bspline_reference.py  the plain Cox-de Boor recursion the fast tables must agree with
optim.py              LBFGS / Adam on a flat parameter vector
symbolic/             the symbolic function library, batched affine fitting, ranking, sympy export
"""
