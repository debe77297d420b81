"""The data view: prediction / target / residual over the input box, points, node thumbnails, slices,
the `dataview` command, `target=` and `save_dataview` -- checked against values computed by hand."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from kanwidget import KAN, KANWidget, create_dataset
from kanwidget.widget.dataview_export import arrays
from kanwidget.widget.protocol import CommandError
from widget_helpers import Recorder, command, wait_until


def centres(lo: float, hi: float, n: int) -> np.ndarray:
    return lo + (np.arange(n) + 0.5) * (hi - lo) / n


def view(w: KANWidget) -> dict[str, np.ndarray]:
    return arrays(w.dataview, w.dataview_data)


def exact_sum_model(data) -> KAN:
    """KAN [2,1] computing x1 + x2**2 exactly (symbolic edges without affine fitting)."""
    m = KAN(width=[2, 1], grid=3, k=3, seed=0)
    m.data = data
    m.fix_symbolic(0, 0, 0, "x", fit_params=False)
    m.fix_symbolic(0, 1, 0, "x^2", fit_params=False)
    return m


@pytest.fixture
def box_data():
    return create_dataset(lambda x: x[:, [0]] + x[:, [1]] ** 2, n_var=2, train_num=300, test_num=100, seed=0)


def test_prediction_target_and_residual_on_the_grid_are_known_analytically(box_data):
    m = exact_sum_model(box_data)
    assert torch.allclose(m(torch.tensor([[0.3, -0.5]])), torch.tensor([[0.3 + 0.25]]), atol=1e-6)
    w = KANWidget(m, box_data, target=lambda x: x[:, [0]])         # the target misses the x2**2 term
    try:
        w.configure_dataview(resolution=20)
        meta, a = w.dataview, view(w)
        assert meta["kind"] == "2d" and meta["has_target"] and meta["resolution"] == 20
        x = torch.cat([box_data["train_input"], box_data["test_input"]])
        (x0, x1), (y0, y1) = meta["box"]
        assert np.allclose([x0, x1, y0, y1], [x[:, 0].min(), x[:, 0].max(), x[:, 1].min(), x[:, 1].max()])
        xs, ys = centres(x0, x1, 20), centres(y0, y1, 20)
        gx, gy = np.meshgrid(xs, ys)                    # row r = r-th value of x2, column c = c-th of x1
        assert np.allclose(a["pred"].reshape(20, 20), gx + gy ** 2, atol=1e-5)
        assert np.allclose(a["target"].reshape(20, 20), gx, atol=1e-6)
        assert np.allclose(a["residual"].reshape(20, 20), gy ** 2, atol=1e-5)
        assert meta["residual_range"][1] == pytest.approx(np.abs(gy ** 2).max(), rel=1e-5)
    finally:
        w.close()


def test_without_a_target_there_is_no_target_nor_residual(box_data):
    w = KANWidget(exact_sum_model(box_data), box_data)
    try:
        assert not w.dataview["has_target"]
        assert set(w.dataview["arrays"]) == {"pred", "thumbs", "train", "test"}
    finally:
        w.close()


def test_points_are_the_data_columns_evenly_subsampled(box_data):
    w = KANWidget(exact_sum_model(box_data), box_data)
    try:
        meta, a = w.dataview, view(w)
        assert meta["n_train"] + meta["n_test"] <= 500 and meta["n_train"] == 300 and meta["n_test"] == 100
        train = a["train"].reshape(-1, 3)
        want = torch.cat([box_data["train_input"], box_data["train_label"]], dim=1).numpy()
        assert np.allclose(train, want, atol=1e-6)
    finally:
        w.close()


def test_thumbnails_equal_a_per_node_forward(data):
    m = KAN(width=[2, 3, 2], grid=4, k=3, seed=3)
    w = KANWidget(m, data if m.width[-1] == 1 else None)
    try:
        meta, a = w.dataview, view(w)
        t = meta["thumb_size"]
        (x0, x1), (y0, y1) = meta["box"]
        gx, gy = np.meshgrid(centres(x0, x1, t), centres(y0, y1, t))
        x = torch.tensor(np.stack([gx.ravel(), gy.ravel()], axis=1), dtype=m.dtype)
        truth, level_in = [], x
        with torch.no_grad():
            for layer in m.layers:            # node j = bias_j + sum_i phi_ij(x_i), one node at a time
                nodes = [layer.edge_activations(level_in)[:, :, j].sum(1) + layer.bias[j] for j in range(layer.out_dim)]
                truth += nodes
                level_in = torch.stack(nodes, dim=1)
        assert meta["nodes"] == [[1, 0], [1, 1], [1, 2], [2, 0], [2, 1]]
        thumbs = a["thumbs"].reshape(len(meta["nodes"]), t * t)
        for k, node in enumerate(truth):
            assert np.allclose(thumbs[k], node.numpy(), atol=1e-5), meta["nodes"][k]
            assert meta["thumb_ranges"][k] == pytest.approx([node.min().item(), node.max().item()], rel=1e-5)
        assert np.allclose(thumbs[3], m(x)[:, 0].detach().numpy(), atol=1e-5)
    finally:
        w.close()


def test_a_slice_holds_the_other_inputs_at_the_values_set():
    data = create_dataset(lambda x: x[:, [0]] * x[:, [2]] + x[:, [1]], n_var=3, train_num=200, test_num=50, seed=1)
    m = KAN(width=[3, 2, 1], grid=3, k=3, seed=2)
    w = KANWidget(m, data)
    try:
        assert w.dataview["kind"] == "slice" and w.dataview["axes"] == [0, 1]
        medians = data["train_input"].median(0).values
        assert w.dataview["held"] == pytest.approx(medians.tolist())
        w.configure_dataview(x_axis=2, y_axis=0, held=[0.1, 0.3, -0.2], resolution=10)
        meta, a = w.dataview, view(w)
        assert meta["axes"] == [2, 0] and meta["axis_names"] == ["x_3", "x_1"] and meta["held"] == [0.1, 0.3, -0.2]
        (x0, x1), (y0, y1) = meta["box"]
        g2, g0 = np.meshgrid(centres(x0, x1, 10), centres(y0, y1, 10))
        x = torch.tensor(np.stack([g0.ravel(), np.full(100, 0.3), g2.ravel()], axis=1), dtype=m.dtype)
        assert np.allclose(a["pred"], m(x)[:, 0].detach().numpy(), atol=1e-5)
        train = a["train"].reshape(-1, 3)
        assert np.allclose(train[:, :2], data["train_input"][:, [2, 0]].numpy(), atol=1e-6)
    finally:
        w.close()


def test_one_input_models_get_the_curve_against_the_points():
    data = create_dataset(lambda x: torch.sin(3 * x), n_var=1, train_num=50, test_num=20, seed=0)
    m = KAN(width=[1, 3, 1], grid=3, k=3, seed=0)
    w = KANWidget(m, data, target=lambda x: torch.sin(3 * x))
    try:
        meta, a = w.dataview, view(w)
        assert meta["kind"] == "1d" and meta["axes"] == [0]
        (x0, x1), = meta["box"]
        xs = centres(x0, x1, meta["resolution"])
        assert np.allclose(a["target"], np.sin(3 * xs), atol=1e-6)
        pred = m(torch.tensor(xs[:, None], dtype=m.dtype))[:, 0].detach().numpy()
        assert np.allclose(a["pred"], pred, atol=1e-5) and np.allclose(a["residual"], pred - np.sin(3 * xs), atol=1e-5)
        train = a["train"].reshape(-1, 3)        # (x, label, label)
        assert np.allclose(train[:, 0], data["train_input"][:, 0].numpy()) and np.allclose(train[:, 1], train[:, 2])
        assert len(a["thumbs"]) == 4 * meta["thumb_size"]
    finally:
        w.close()


def test_the_view_is_published_with_the_graph_in_one_message(widget):
    rec = Recorder(widget)
    widget.step()                 # the model changes: graph and view follow in the fit's final update
    both = [u for u in rec.updates() if "graph" in u and "dataview" in u and "dataview_data" in u]
    assert len(both) == 1


@pytest.mark.parametrize("args, name", [
    ({"x_axis": 2}, "x_axis"), ({"y_axis": -1}, "y_axis"), ({"output": 1}, "output"),
    ({"x_axis": 1, "y_axis": 1}, "x_axis and y_axis"), ({"held": [0.1]}, "held"),
    ({"held": [0.1, float("nan")]}, "held"), ({"resolution": 4}, "resolution"), ({"resolution": 1.5}, "resolution"),
])
def test_bad_settings_name_the_argument_and_change_nothing(widget, args, name):
    before = (widget.dataview, widget._session.publisher.dataview.config)
    with pytest.raises(CommandError, match=name):
        widget.configure_dataview(**args)
    assert (widget.dataview, widget._session.publisher.dataview.config) == before


def test_the_page_command_validates_and_reports(widget):
    widget.error = ""
    with pytest.warns(Warning):
        command(widget, "dataview", x_axis=0, y_axis=1, output=0, held=None, resolution=999)
    assert "resolution" in widget.error
    command(widget, "dataview", x_axis=1, y_axis=0, output=0, held=None, resolution=12)
    assert widget.dataview["resolution"] == 12 and widget.dataview["axes"] == [1, 0]


def test_a_view_command_during_a_fit_does_not_pause_it(widget):
    widget.train(steps=100_000, block=False)
    try:
        wait_until(lambda: widget._session.trainer.fit_active, what="the fit to start")
        command(widget, "dataview", wait=False, x_axis=0, y_axis=1, output=0, held=None, resolution=16)
        assert widget.training
        wait_until(lambda: widget.dataview.get("resolution") == 16, what="the view at the fit's next update")
        assert widget.training
    finally:
        assert widget.pause()


@pytest.mark.parametrize("fn, kind, text", [
    (42, TypeError, "target must be a callable"),
    (lambda x: x, ValueError, r"target must map .* shape \(N, 1\)"),
    (lambda x: 1 / 0, ValueError, "target failed on a probe: ZeroDivisionError"),
])
def test_bad_targets_are_refused_naming_target(widget, fn, kind, text):
    with pytest.raises(kind, match=text):
        widget.target = fn
    assert widget.target is None and not widget.dataview["has_target"]


def test_target_keyword_and_property(model, data):
    from widget_helpers import target
    w = KANWidget(model, data, target=target)
    try:
        assert w.target is target and w.dataview["has_target"]
        w.target = None
        assert not w.dataview["has_target"]
    finally:
        w.close()
    with pytest.raises(TypeError, match="target"):
        KANWidget(model, data, target="exp(x)")


def test_save_dataview_writes_the_panels(box_data, tmp_path):
    w = KANWidget(exact_sum_model(box_data), box_data, target=lambda x: x[:, [0]])
    try:
        svg = w.save_dataview(tmp_path / "view.svg").read_text()
        assert svg.count('id="axes_') >= 3                   # target, prediction, residual (+ colour bars)
        for title in ("target", "prediction", "residual"):
            assert title in svg
        png = w.save_dataview(str(tmp_path / "view.png"))
        import matplotlib.image
        image = matplotlib.image.imread(png)
        assert image.shape[1] > 2.5 * image.shape[0]          # three panels side by side
        with pytest.raises(ValueError, match="path must end in .png or .svg"):
            w.save_dataview(tmp_path / "view.jpg")
        with pytest.raises(TypeError, match="path"):
            w.save_dataview(3)
        with pytest.raises(FileNotFoundError, match="path .*missing"):      # checked before anything is drawn
            w.save_dataview(tmp_path / "missing" / "view.png")
        assert not (tmp_path / "missing").exists()
    finally:
        w.close()


def test_classification_shows_the_probability_of_label_1():
    """A classification preset: the output is a logit, the view shows sigmoid(logit) next to the 0/1 labels."""
    w = KANWidget(KAN(width=[2, 3, 1], grid=3, k=3, seed=0))
    try:
        w.set_data(preset="xor", n_train=100)
        w.configure_dataview(resolution=10)
        meta, a = w.dataview, view(w)
        assert meta["task"] == "classification" and meta["has_target"]
        (x0, x1), (y0, y1) = meta["box"]
        gx, gy = np.meshgrid(centres(x0, x1, 10), centres(y0, y1, 10))
        grid = torch.tensor(np.stack([gx.ravel(), gy.ravel()], axis=1), dtype=w.model.dtype)
        with torch.no_grad():
            prob = torch.sigmoid(w.model(grid)[:, 0]).numpy()
        assert np.allclose(a["pred"], prob, atol=1e-5)
        assert set(np.unique(a["target"]).tolist()) <= {0.0, 1.0}
        assert np.allclose(a["residual"], prob - a["target"], atol=1e-5)
        assert 0.0 <= meta["value_range"][0] and meta["value_range"][1] <= 1.0
    finally:
        w.close()
