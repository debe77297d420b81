"""FitResults: fit's return value is pykan's dict of lists with a one-line repr."""
import json

from kanwidget import KAN, create_dataset
from kanwidget.core.operations.fit_results import FitResults


def test_fit_returns_a_plain_equal_dict_with_a_short_repr():
    ds = create_dataset(lambda x: x[:, [0]] * x[:, [1]], n_var=2, train_num=100, test_num=50, seed=0)
    model = KAN(width=[2, 2, 1], grid=3, seed=0)
    res = model.fit(ds, steps=12, opt="Adam", lr=1e-2, verbose=False)
    plain = {k: list(v) for k, v in res.items()}
    assert isinstance(res, dict) and res == plain and plain == res
    assert list(res) == ["train_loss", "test_loss", "reg"]
    assert all(type(v) is list and len(v) == 12 for v in res.values())
    assert json.loads(json.dumps(res)) == plain
    text = repr(res)
    assert text == (f"FitResults(steps=12, train_loss {res['train_loss'][0]:.2e} -> {res['train_loss'][-1]:.2e}, "
                    f"test_loss {res['test_loss'][0]:.2e} -> {res['test_loss'][-1]:.2e}, reg 0.0 -> 0.0)")
    assert len(text) < 120 < len(repr(plain))


def test_repr_of_edge_cases():
    assert repr(FitResults({"train_loss": [], "test_loss": [], "reg": []})) == "FitResults(steps=0)"
    one = FitResults({"train_loss": [0.5], "test_loss": [float("nan")], "reg": [2.0], "acc": [1.0]})
    assert repr(one) == "FitResults(steps=1, train_loss 5.00e-01, test_loss nan, reg 2.00e+00, also acc)"
    assert one.steps == 1 and one["acc"] == [1.0]


def test_ipython_pretty_printer_uses_the_short_repr():
    class Printer:
        def __init__(self):
            self.out = ""

        def text(self, s):
            self.out += s
    p = Printer()
    r = FitResults({"train_loss": [1.0, 0.25], "test_loss": [1.0, 0.5], "reg": [0.0, 0.0]})
    r._repr_pretty_(p, False)
    assert p.out == "FitResults(steps=2, train_loss 1.00e+00 -> 2.50e-01, test_loss 1.00e+00 -> 5.00e-01, reg 0.0 -> 0.0)"
