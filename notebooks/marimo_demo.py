"""kanwidget in marimo: the quickstart's model and data in a live widget.

Open it with  `marimo edit notebooks/marimo_demo.py`  (or serve it as an app: `marimo run notebooks/marimo_demo.py`).
The widget is the same anywidget as in JupyterLab, wrapped by `mo.ui.anywidget`; its buttons train, prune,
refine and make the formula symbolic, and `w.widget.model` is the Python model they change.
"""

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="full")


@app.cell
def _():
    import marimo as mo
    import torch
    from kanwidget import KAN, KANWidget, create_dataset

    torch.set_default_dtype(torch.float64)
    return KAN, KANWidget, create_dataset, mo, torch


@app.cell
def _(mo):
    mo.md(
        r"""
        # kanwidget in marimo

        A KAN of shape `[2, 5, 1]` learns $f(x_1, x_2) = \exp(\sin(\pi x_1) + x_2^2)$ on $[-1, 1]^2$.
        Press **Train**, then **Prune**, **Refine** and **Auto-symbolic**; click an edge to inspect it.
        """
    )
    return


@app.cell
def _(KAN, create_dataset, torch):
    model = KAN(width=[2, 5, 1], grid=5, k=3, seed=42)
    dataset = create_dataset(lambda x: torch.exp(torch.sin(torch.pi * x[:, [0]]) + x[:, [1]] ** 2), n_var=2)
    return dataset, model


@app.cell
def _(KANWidget, dataset, mo, model):
    w = mo.ui.anywidget(KANWidget(model, dataset))
    w
    return (w,)


@app.cell
def _(w):
    # the Python side: `w.widget` is the KANWidget, `w.widget.model` the model the buttons change
    # (run `w.widget.model.width` or `w.widget.versions` in a new cell after pressing a button)
    kan_widget = w.widget
    return (kan_widget,)


if __name__ == "__main__":
    app.run()
