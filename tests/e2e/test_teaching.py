"""The teaching loop in a real JupyterLab (issue 11): data view, node thumbnails, data panel, classification,
a refused formula, network editing with Undo, the dark theme and presentation mode.

One notebook and one kernel for the whole loop (it is a story: each step starts from the previous one), so
the test stays short. Every step is checked three ways: a click on the page, the DOM (and the canvases'
pixels), and Python's state read back from the kernel. Screenshots go to artifacts/e2e/teaching-*.png
(docs/dataview.png, docs/dark.png and docs/present.png are picked from them).
"""
from __future__ import annotations

import time

import pytest

from test_lab import assert_no_console_errors, py, wait_idle

pytestmark = [pytest.mark.e2e, pytest.mark.lab]

SETUP = """\
import torch
from kanwidget import KAN, KANWidget, create_dataset
from kanwidget.core.operations.losses import accuracy
torch.set_default_dtype(torch.float64)
f = lambda x: torch.exp(torch.sin(torch.pi*x[:,[0]]) + x[:,[1]]**2)
dataset = create_dataset(f, n_var=2, train_num=300, test_num=300)
model = KAN(width=[2,5,1], grid=5, k=3, seed=42)
model.fit(dataset, steps=5, verbose=False)"""
SHOW = "w = KANWidget(model, dataset, target=f); w"
OUT = ".jp-OutputArea-output .kanwidget"
PANELS = ("target", "pred", "residual")


def panel_stats(pg, panel: str) -> dict:
    """Ink (non-transparent pixels), distinct colours (4 bits per channel) and a checksum of a data-view canvas."""
    return pg.page.evaluate("""([sel, panel]) => {
        const c = document.querySelector(`${sel} .kw-dataview canvas[data-panel=${panel}]`);
        if (!c || !c.width) return {ink: 0, colors: 0, sum: 0, share: 0};
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let ink = 0, sum = 0; const colors = new Set();
        for (let k = 0; k < d.length; k += 4) {
            if (d[k + 3] > 16) { ink++; colors.add((d[k] >> 4) + ',' + (d[k + 1] >> 4) + ',' + (d[k + 2] >> 4)); }
            sum = (sum + d[k] * 3 + d[k + 1] * 5 + d[k + 2] * 7 + k) % 1000000007;
        }
        return {ink, colors: colors.size, sum, share: ink / (d.length / 4)};
    }""", [OUT, panel])


def node_centre(pg, level: int, index: int, count: int, levels: int) -> tuple[float, float]:
    """Page coordinates of node (level, index), as js/src/layout.ts places it (PAD_X 16, PAD_Y 30) in the
    drawn width (the canvas less the strip kept for the network-editing rows, `data-draw-width`)."""
    r = pg.page.evaluate("(s) => { const c = document.querySelector(s + ' .kw-network canvas');"
                         " const b = c.getBoundingClientRect();"
                         " return [b.left, b.top, Number(c.dataset.drawWidth || b.width), b.height]; }", OUT)
    x = 16 + (index + 0.5) * (r[2] - 32) / count
    y = r[3] - 30 - level * (r[3] - 60) / (levels - 1)
    return r[0] + x, r[1] + y


def shape(pg) -> str:
    return pg.page.locator(f"{OUT} .kw-shape").text_content()


def test_teaching_loop(lab, lab_page):
    pg = lab_page
    t0 = time.perf_counter()
    nb = lab.notebook_copy("teaching_loop.ipynb", cells=[SETUP, SHOW])
    pg.page.set_viewport_size({"width": 1400, "height": 1700})    # the whole widget on screen: clean screenshots
    pg.open(nb)
    pg.wait_kernel_idle()
    pg.run_all()
    pg.wait_widget()
    pg.wait_kernel_idle()

    # 1. the data view: target, prediction and residual heat maps over the input box, with the points
    pg.page.wait_for_function("(s) => document.querySelector(s + ' .kw-dataview')?.dataset.kind === '2d'", arg=OUT)
    names = pg.page.locator(f"{OUT} .kw-dv-figures canvas").evaluate_all("(cs) => cs.map((c) => c.dataset.panel)")
    assert names == list(PANELS), names
    seed_view = {p: panel_stats(pg, p) for p in PANELS}
    for p, s in seed_view.items():
        assert s["share"] > 0.3 and s["colors"] >= 12, (p, s)      # a heat map, not a blank or flat box
    meta = py(pg, "{k: w.dataview[k] for k in ('kind', 'has_target', 'n_train', 'n_test', 'task')}")
    assert meta["kind"] == "2d" and meta["has_target"] and meta["task"] == "regression", meta
    assert 0 < meta["n_train"] <= 300 and 0 < meta["n_test"] <= 300, meta     # the points drawn (subsampled)

    # 2. node thumbnails: click hidden node 3 in the picture -> shown enlarged
    x, y = node_centre(pg, 1, 2, 5, 3)
    pg.page.mouse.click(x, y)
    fig = pg.page.locator(f"{OUT} .kw-dv-nodefig")
    fig.wait_for(state="visible")
    label = fig.locator("canvas").get_attribute("aria-label")
    assert "node 3 of layer 1" in label, label
    pg.shot("dataview-seed", widget_only=True)
    fig.get_by_role("button", name="Close the enlarged", exact=False).click()
    fig.wait_for(state="hidden")

    # 3. the data panel: a classification preset, trained a little from the page
    acc_before = py(pg, "accuracy(w.model(w.model.data['test_input']), w.model.data['test_label'])")
    target_before = seed_view["target"]["sum"]
    pg.page.locator(f"{OUT} [data-kw=data-preset]").select_option("two_circles")
    pg.page.locator(f"{OUT} [data-kw=data-load]").click()
    pg.page.wait_for_function(
        "(s) => document.querySelector(s + ' [data-kw=data-summary]').textContent.startsWith('preset two_circles')", arg=OUT)
    wait_idle(pg)
    src = py(pg, "w.data_source")
    assert src["kind"] == "preset" and src["name"] == "two_circles" and src["task"] == "classification", src
    shapes = py(pg, "{k: list(v.shape) for k, v in w.model.data.items()}")
    assert shapes["train_input"] == [src["n_train"], 2] and shapes["train_label"] == [src["n_train"], 1], shapes
    assert shapes["test_input"] == [src["n_test"], 2] and src["n_train"] == 500, (shapes, src)
    assert py(pg, "sorted(set(w.model.data['train_label'].flatten().tolist()))") == [0.0, 1.0]
    pg.page.wait_for_function("""([sel, before]) => {
        const c = document.querySelector(sel + ' .kw-dataview canvas[data-panel=target]');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let sum = 0; for (let k = 0; k < d.length; k += 4) sum = (sum + d[k] * 3 + d[k + 1] * 5 + d[k + 2] * 7 + k) % 1000000007;
        return sum !== before; }""", arg=[OUT, target_before])       # the target is now the two circles
    assert py(pg, "w.dataview['task']") == "classification"
    versions_before = py(pg, "len(w.versions)")
    acc_before = py(pg, "accuracy(w.model(w.model.data['test_input']), w.model.data['test_label'])")
    pg.page.locator(f"{OUT} [data-kw=steps]").fill("15")
    pg.page.locator(f"{OUT} [data-kw=train]").click()
    pg.wait_attr(".kw-status", "data-state", "v === 'training'", timeout=30_000)
    wait_idle(pg, timeout=120_000)
    acc_after = py(pg, "accuracy(w.model(w.model.data['test_input']), w.model.data['test_label'])")
    assert acc_after >= 0.85 and acc_after > acc_before, (acc_before, acc_after)
    assert py(pg, "len(w.versions)") == versions_before + 1
    status = pg.page.locator(f"{OUT} .kw-status-text").text_content()
    assert f"test {acc_after:.0%}" in status and "accuracy train" in status, status
    pred = panel_stats(pg, "pred")
    assert pred["share"] > 0.3 and pred["colors"] >= 12, pred
    light_shot = pg.shot("dataview", widget_only=True)

    # 4. JupyterLab Dark: the data view follows the theme
    try:
        pg.set_theme("JupyterLab Dark")
        pg.page.wait_for_function("""(s) => {
            const c = document.querySelector(s + ' .kw-dataview canvas[data-panel=pred]');
            const bg = getComputedStyle(document.querySelector(s + ' .kw-dataview')).backgroundColor;
            const m = bg.match(/\\d+/g).map(Number); return m[0] + m[1] + m[2] < 200; }""", arg=OUT, timeout=30_000)
        pg.shot("dark", widget_only=True)
    finally:
        pg.set_theme("JupyterLab Light")   # the theme is a user setting of the shared server

    # 5. a bad formula: refused inline, nothing changes in Python
    formula = pg.page.locator(f"{OUT} [data-kw=data-formula]")
    formula.fill("x_1 + foo(x_2)")
    formula.press("Enter")
    alert = pg.page.locator(f"{OUT} .kw-data-panel [role=alert]")
    alert.wait_for(state="visible")
    assert "unknown function 'foo'" in alert.text_content()
    assert formula.get_attribute("aria-invalid") == "true"
    assert py(pg, "w.data_source['name']") == "two_circles"
    assert "unknown function 'foo'" in py(pg, "w.error")
    pg.shot("formula-refused", widget_only=True)
    pg.page.locator(f"{OUT} [data-kw=dismiss-error]").click()

    # 6. network editing: + adds a hidden node, Python follows, Undo brings the old width back
    assert shape(pg) == "[2, 5, 1]"
    pg.page.get_by_role("button", name="Add a node to hidden layer 1").click()
    pg.page.wait_for_function("(s) => document.querySelector(s + ' .kw-shape').textContent === '[2, 6, 1]'", arg=OUT)
    wait_idle(pg)
    assert py(pg, "w.model.width") == [2, 6, 1]
    pg.page.locator(f"{OUT} [data-kw=undo]").click()
    pg.page.wait_for_function("(s) => document.querySelector(s + ' .kw-shape').textContent === '[2, 5, 1]'", arg=OUT)
    wait_idle(pg)
    assert py(pg, "[w.model.width, w.data_source['name']]") == [[2, 5, 1], "two_circles"]

    # 7. presentation mode: reduced controls, larger type, the data view stays
    title_px = float(pg.page.locator(f"{OUT} .kw-title").evaluate("(e) => parseFloat(getComputedStyle(e).fontSize)"))
    pg.page.locator(f"{OUT} [data-kw=present]").click()
    pg.page.wait_for_function("(s) => document.querySelector(s).classList.contains('kw-presenting')", arg=OUT)
    assert py(pg, "w.presenting") is True
    visible = pg.page.locator(f"{OUT} :is(button, input, select)").evaluate_all(
        "(es) => es.filter((e) => e.getClientRects().length > 0 && !e.classList.contains('kw-thumb-btn'))"
        ".map((e) => e.dataset.kw || e.textContent)")
    assert set(visible) <= {"train", "pause", "step", "next", "present", "fullscreen", "play"}, visible
    # the nodes' transparent keyboard handles stay (Enter enlarges a node's picture while presenting)
    assert pg.page.locator(f"{OUT} .kw-thumb-btn").evaluate_all(
        "(es) => es.filter((e) => e.getClientRects().length > 0).length") > 0
    assert {"train", "next", "present"} <= set(visible), visible
    big = float(pg.page.locator(f"{OUT} .kw-title").evaluate("(e) => parseFloat(getComputedStyle(e).fontSize)"))
    assert big >= 1.3 * title_px, (title_px, big)
    assert pg.page.locator(f"{OUT} .kw-data-panel").is_hidden() and pg.page.locator(f"{OUT} .kw-netedit").is_hidden()
    assert pg.page.locator(f"{OUT} .kw-dataview").is_visible()
    pg.shot("present", widget_only=True)
    pg.page.locator(f"{OUT} [data-kw=present]").click()
    pg.page.wait_for_function("(s) => !document.querySelector(s).classList.contains('kw-presenting')", arg=OUT)
    assert py(pg, "w.presenting") is False
    assert light_shot.is_file()
    print(f"[e2e] teaching loop: test accuracy {acc_before:.0%} -> {acc_after:.0%}; {time.perf_counter() - t0:.1f} s")
    assert_no_console_errors(pg)
