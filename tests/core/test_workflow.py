"""The reference workflow end to end: fit sparse, prune, fit, refine, fit, auto_symbolic, fit, formula."""
import sympy

from kanwidget.demo import run


def test_reference_workflow_recovers_the_formula(float64):
    out = run(steps=50, seed=42, verbose=False)
    model, losses = out["model"], out["test_loss"]
    assert model.width == [2, 1, 1]
    chosen = sorted(c.name for c in out["choices"])
    assert chosen == ["exp", "sin", "x^2"]
    assert all(c.r2 > 0.9999 for c in out["choices"])
    assert losses["fit after refine"] <= 5e-4
    assert losses["fit symbolic"] <= 1e-9
    x1, x2 = sympy.symbols("x_1 x_2")
    expected = sympy.exp(x2 ** 2 + sympy.sin(sympy.Float(3.1416) * x1))
    # ex_round prints pi when the fitted a holds pi to 1e-12 (honest), else 3.1416
    assert sympy.simplify(out["formula"].subs(sympy.pi, sympy.Float(3.1416)) - expected) == 0, out["formula"]
    assert str(out["formula"]) in ("exp(x_2**2 + sin(pi*x_1))", "exp(x_2**2 + sin(3.1416*x_1))")
