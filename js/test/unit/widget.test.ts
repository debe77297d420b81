import { afterEach, describe, expect, it } from "vitest";
import widget, { createView } from "../../src/index";
import { mountState, unmountAll } from "./mount";
// @ts-ignore plain JS fixture
import { FakeModel } from "../fake-model.mjs";
// @ts-ignore plain JS fixture
import { smallState, makeNetwork, makeInspector, makeMetricsRows, metricsBytes, makeVersions } from "../fake.mjs";
import { PROTOCOL } from "./fixtures";

function mount(overrides: Record<string, unknown> = {}) {
  const m = mountState(smallState({ protocol: PROTOCOL, ...overrides }));
  const click = (sel: string) => (m.$<HTMLElement>(sel)).click();
  return { ...m, click };
}
afterEach(unmountAll);

describe("render", () => {
  it("is an anywidget module whose render returns a cleanup that removes listeners", () => {
    const model = new FakeModel(smallState());
    const el = document.createElement("div");
    const cleanup = widget.render({ model, el });
    expect(el.querySelector(".kanwidget")).not.toBeNull();
    expect(model.listenerCount()).toBeGreaterThan(5);
    cleanup();
    expect(model.listenerCount()).toBe(0);
    expect(el.querySelector(".kanwidget")).toBeNull();
  });

  it("reports what the network drew and lists symbolic edge labels", () => {
    const { el, $$ } = mount();
    const root = el.querySelector(".kanwidget") as HTMLElement;
    expect(root.dataset.nodes).toBe("8");
    expect(root.dataset.edges).toBe("14"); // 15 edges, one inactive
    expect(root.dataset.symbolicEdges).toBe("3");
    expect($$(".kw-edge-labels li").map((li) => li.textContent).sort()).toEqual(["exp", "sin", "x^2"]);
    expect(el.querySelector(".kw-network canvas")).not.toBeNull();
  });

  it("redraws (coalesced) when graph or curves change", async () => {
    const { model, el } = mount();
    const big = makeNetwork([3, 4, 2], { P: 16 });
    model.set("graph", big.graph);
    model.set("curves", big.curves);
    await new Promise((r) => setTimeout(r, 40));
    const root = el.querySelector(".kanwidget") as HTMLElement;
    expect(root.dataset.nodes).toBe("9");
    expect(root.dataset.edges).toBe(String(12 + 8));
    expect(root.dataset.symbolicEdges).toBe("0");
  });

  it("sends inspect with l,i,j when an edge is clicked", () => {
    const { model, view } = mount();
    const layout = view.network.layout!;
    const g = layout.edges.find((g) => g.l === 0 && g.i === 1 && g.j === 2)!;
    const canvas = view.network.canvas;
    canvas.getBoundingClientRect = () => ({ left: 10, top: 20, right: 0, bottom: 0, width: 0, height: 0, x: 10, y: 20, toJSON() {} });
    canvas.dispatchEvent(new MouseEvent("click", { clientX: 10 + g.bx + g.bw / 2, clientY: 20 + g.by + g.bh / 2, bubbles: true }));
    expect(model.commands("inspect")).toEqual([{ type: "command", name: "inspect", args: { l: 0, i: 1, j: 2 } }]);
    canvas.dispatchEvent(new MouseEvent("click", { clientX: 10 + 2, clientY: 20 + 2, bubbles: true }));
    expect(model.commands("inspect").length).toBe(1);
  });
});

describe("controls", () => {
  it("sends train with the default arguments and shows busy feedback", () => {
    const { model, $, click } = mount();
    click("[data-kw=train]");
    expect(model.commands()).toEqual([{ type: "command", name: "train", args: { steps: 50, opt: "LBFGS", lr: 1, lamb: 0, update_grid: true } }]);
    const b = $<HTMLButtonElement>("[data-kw=train]");
    expect(b.disabled).toBe(true);
    expect(b.textContent).toBe("Train…");
    // a second click while pending sends nothing
    click("[data-kw=train]");
    expect(model.commands("train").length).toBe(1);
    model.set("status", { state: "training", text: "", step: 3, steps: 50 });
    expect(b.disabled).toBe(true);
    expect($<HTMLButtonElement>("[data-kw=pause]").disabled).toBe(false);
    for (const k of ["step", "prune", "refine", "auto-symbolic", "undo"]) expect($<HTMLButtonElement>(`[data-kw=${k}]`).disabled).toBe(true);
    model.set("status", { state: "idle", text: "done", step: 50, steps: 50 });
    expect(b.disabled).toBe(false);
    expect(b.textContent).toBe("Train");
  });

  it("sends the edited train parameters", () => {
    const { model, $, click } = mount();
    $<HTMLInputElement>("[data-kw=steps]").value = "20";
    const opt = $<HTMLSelectElement>("[data-kw=opt]");
    opt.value = "Adam";
    opt.dispatchEvent(new Event("change"));
    expect($<HTMLInputElement>("[data-kw=lr]").value).toBe("0.01");
    $<HTMLInputElement>("[data-kw=lamb]").value = "0.001";
    $<HTMLInputElement>("[data-kw=update-grid]").checked = false;
    click("[data-kw=train]");
    expect(model.commands("train")[0].args).toEqual({ steps: 20, opt: "Adam", lr: 0.01, lamb: 0.001, update_grid: false });
  });

  it("refuses invalid numbers without sending", () => {
    const { model, $, click } = mount();
    $<HTMLInputElement>("[data-kw=steps]").value = "-3";
    click("[data-kw=train]");
    expect(model.commands().length).toBe(0);
    expect($("[data-kw=steps]").classList.contains("kw-invalid")).toBe(true);
  });

  it("prune's node threshold: empty sends null (auto), a typed number is sent, a bad one blocks", () => {
    const { model, $, click } = mount();
    const node = $<HTMLInputElement>("[data-kw=node-th]");
    expect(node.value).toBe("");
    expect(node.placeholder).toBe("auto");
    node.value = "0.02";
    click("[data-kw=prune]");
    model.set("graph", makeNetwork([2, 5, 1]).graph);
    node.value = "-1";
    click("[data-kw=prune]");
    expect(node.classList.contains("kw-invalid")).toBe(true);
    const sent = model.commands().filter((m: any) => m.name === "prune").map((m: any) => m.args.node_th);
    expect(sent).toEqual([0.02]);
  });

  it("sends pause, step, prune, refine, auto_symbolic and undo with their args", () => {
    const { model, $, $$, click } = mount();
    click("[data-kw=pause]");
    click("[data-kw=step]");
    model.set("status", { state: "idle", text: "", step: 1, steps: 1 });
    $<HTMLInputElement>("[data-kw=edge-th]").value = "0.05";
    click("[data-kw=prune]");
    model.set("status", { state: "busy", text: "", step: 0, steps: 0 });
    model.set("status", { state: "idle", text: "", step: 0, steps: 0 });
    click("[data-kw=refine]");
    model.set("status", { state: "idle", text: "x", step: 0, steps: 0 });
    // untick two library functions
    for (const cb of $$("[data-kw=lib] input") as HTMLInputElement[]) {
      if (cb.value === "exp" || cb.value === "log") {
        cb.checked = false;
        cb.dispatchEvent(new Event("change"));
      }
    }
    click("[data-kw=auto-symbolic]");
    model.set("graph", makeNetwork([2, 5, 1]).graph); // an answer clears pending too
    click("[data-kw=undo]");
    const byName = Object.fromEntries(model.commands().map((m: any) => [m.name, m.args]));
    expect(Object.keys(byName)).toEqual(["pause", "step", "prune", "refine", "auto_symbolic", "undo"]);
    expect(byName.pause).toEqual({});
    expect(byName.step).toEqual({});
    expect(byName.prune).toEqual({ node_th: null, edge_th: 0.05 });   // node empty: "auto" (Python chooses)
    expect(byName.refine).toEqual({ grid: 10 });
    expect(byName.auto_symbolic.weight_simple).toBe(0.8);
    expect(byName.auto_symbolic.lib).not.toContain("exp");
    expect(byName.auto_symbolic.lib).not.toContain("log");
    expect(byName.auto_symbolic.lib).toContain("sin");
    expect(byName.auto_symbolic.lib.length).toBe(14);
    expect(byName.undo).toEqual({});
  });

  it("disables the data-needing buttons when has_data is false (refine needs no data)", () => {
    const { model, $ } = mount({ has_data: false });
    for (const k of ["train", "step", "prune", "auto-symbolic"]) {
      const b = $<HTMLButtonElement>(`[data-kw=${k}]`);
      expect(b.disabled).toBe(true);
      expect(b.title).toMatch(/dataset/);
    }
    expect($<HTMLButtonElement>("[data-kw=refine]").disabled).toBe(false);
    expect($<HTMLButtonElement>("[data-kw=undo]").disabled).toBe(false);
    expect($(".kw-nodata").hidden).toBe(false);
    model.set("has_data", true);
    expect($<HTMLButtonElement>("[data-kw=train]").disabled).toBe(false);
    expect($(".kw-nodata").hidden).toBe(true);
  });

  it("clears busy feedback when an error comes back", () => {
    const { model, $, click } = mount();
    click("[data-kw=refine]");
    expect($<HTMLButtonElement>("[data-kw=refine]").disabled).toBe(true);
    model.set("error", "refine: grid must be > 0");
    expect($<HTMLButtonElement>("[data-kw=refine]").disabled).toBe(false);
  });
});

describe("status and error", () => {
  it("mirrors status into data attributes and text", () => {
    const { model, $ } = mount();
    model.set("status", { state: "training", text: "LBFGS", step: 12, steps: 50 });
    const s = $(".kw-status");
    expect(s.dataset.state).toBe("training");
    expect(s.dataset.step).toBe("12");
    expect(s.textContent).toContain("step 12/50");
    expect(s.textContent).toContain("LBFGS");
  });
  it("shows the error box and dismisses it (resetting the trait)", () => {
    const { model, $, click } = mount();
    expect($(".kw-error").hidden).toBe(true);
    model.set("error", "bad things");
    expect($(".kw-error").hidden).toBe(false);
    expect($(".kw-error").textContent).toContain("bad things");
    click("[data-kw=dismiss-error]");
    expect($(".kw-error").hidden).toBe(true);
    expect(model.get("error")).toBe("");
    expect(model.saved).toBe(1);
  });
});

describe("loss chart", () => {
  it("names the loss: RMSE, or the logistic loss once the data are a classification set", () => {
    const { model, $ } = mount();
    const title = () => $(".kw-losschart .kw-panel-title").firstChild?.textContent;
    expect(title()).toBe("Loss (RMSE, log scale)");
    model.set("data_source", { kind: "preset", name: "xor", task: "classification" });
    expect(title()).toBe("Loss (logistic loss, log scale)");
    model.set("data_source", { kind: "python", task: "regression" });
    expect(title()).toBe("Loss (RMSE, log scale)");
  });

  it("starts from the metrics trait, appends streamed rows, replaces on trait change", () => {
    const { model, $, view } = mount();
    const chart = $(".kw-losschart");
    expect(chart.dataset.points).toBe("50");
    model.custom({ type: "metrics", rows: makeMetricsRows(50, 55) });
    expect(chart.dataset.points).toBe("55");
    // overlapping rows (already known steps) are not duplicated
    model.custom({ type: "metrics", rows: makeMetricsRows(53, 58) });
    expect(chart.dataset.points).toBe("58");
    expect(view.chart.getRows().map((r) => r[0])).toEqual(Array.from({ length: 58 }, (_, k) => k));
    // other custom messages are ignored
    model.custom({ type: "other", rows: makeMetricsRows(60, 70) });
    expect(chart.dataset.points).toBe("58");
    model.set("metrics", metricsBytes(makeMetricsRows(0, 7)));
    expect(chart.dataset.points).toBe("7");
    model.set("metrics", new ArrayBuffer(0));
    expect(chart.dataset.points).toBe("0");
  });
});

describe("inspector", () => {
  it("is hidden when {} and renders curve, samples, knots, candidates", () => {
    const { model, $, $$ } = mount();
    expect($(".kw-inspector").hidden).toBe(true);
    model.set("inspector", makeInspector(0, 1, 2));
    expect($(".kw-inspector").hidden).toBe(false);
    expect($(".kw-inspector").textContent).toContain("φ(0, 1, 2)");
    expect($(".kw-inspector path.kw-curve").getAttribute("d")!.split("L").length).toBe(64);
    expect($$(".kw-inspector .kw-sample").length).toBe(200);
    expect($$(".kw-inspector .kw-knot").length).toBe(6);
    const rows = $$(".kw-candidate");
    expect(rows.map((r) => r.dataset.name)).toEqual(["sin", "tanh", "x^3", "x"]);
    expect(rows[0].textContent).toContain("0.9991");
    expect($("[data-kw=unfix]")).toBeNull();
    (rows[1].querySelector("[data-kw=fix]") as HTMLElement).click();
    expect(model.commands("fix_symbolic")).toEqual([{ type: "command", name: "fix_symbolic", args: { l: 0, i: 1, j: 2, name: "tanh" } }]);
    (el$("[data-kw=close-inspector]", $)).click();
    expect(model.commands("close_inspector").length).toBe(1);
    model.set("inspector", {});
    expect($(".kw-inspector").hidden).toBe(true);
  });
  it("offers Unfix when the edge is symbolic", () => {
    const { model, $ } = mount();
    model.set("inspector", makeInspector(1, 3, 0, "sin"));
    $<HTMLButtonElement>("[data-kw=unfix]").click();
    expect(model.commands("unfix_symbolic")).toEqual([{ type: "command", name: "unfix_symbolic", args: { l: 1, i: 3, j: 0 } }]);
    expect($(".kw-candidate.kw-fixed")!.dataset.name).toBe("sin");
  });
});
function el$(sel: string, $: (s: string) => HTMLElement) {
  return $(sel);
}

describe("formula", () => {
  it("renders MathML with KaTeX and the spline note", () => {
    const { $ } = mount();
    const f = $(".kw-formula");
    expect(f.querySelector("math")).not.toBeNull();
    expect(f.querySelector("annotation")!.textContent).toContain("y = 1.02 e^{");
    expect(f.querySelector(".kw-spline-note")!.textContent).toMatch(/^2 edges are still splines/);
  });
  it("says there is no formula yet when latex is empty", () => {
    const { model, $ } = mount();
    model.set("formula", { latex: [], sympy: [], spline_edges: 15 });
    const f = $(".kw-formula");
    expect(f.querySelector("math")).toBeNull();
    expect(f.textContent).toContain("No symbolic formula yet");
    expect($<HTMLButtonElement>("[data-kw=copy-latex]").disabled).toBe(true);
  });
  it("says how large a formula too large to build would be, and what to do", () => {
    const { model, $ } = mount();
    model.set("formula", { latex: [], sympy: [], spline_edges: 0, terms: 1024, too_large: true });
    const f = $(".kw-formula");
    expect(f.querySelector("math")).toBeNull();
    expect(f.querySelector(".kw-formula-too-large")!.textContent).toContain("1,024 nested terms");
    expect(f.textContent).toContain("prune the network first");
    expect(f.textContent).not.toContain("No symbolic formula yet");
  });
  it("copies LaTeX and sympy text through the clipboard", async () => {
    const { $ } = mount();
    const copied: string[] = [];
    Object.defineProperty(navigator, "clipboard", { value: { writeText: async (t: string) => { copied.push(t); } }, configurable: true });
    $("[data-kw=copy-latex]").click();
    $("[data-kw=copy-sympy]").click();
    await new Promise((r) => setTimeout(r, 0));
    expect(copied).toEqual(["1.02 e^{\\sin{\\left(3.14 x_{1} \\right)} + 0.99 x_{2}^{2}} + 0.01", "1.02*exp(sin(3.14*x_1) + 0.99*x_2**2) + 0.01"]);
  });
});

describe("timeline", () => {
  it("renders chips, highlights the current one and checks out on click", () => {
    const { model, $$ } = mount();
    const chips = $$(".kw-version");
    expect(chips.map((c) => c.dataset.id)).toEqual(["0", "1", "2", "3", "4"]);
    expect(chips.filter((c) => c.classList.contains("current")).map((c) => c.dataset.id)).toEqual(["4"]);
    expect(chips[2].textContent).toContain("prune");
    expect(chips[2].textContent).toContain("0.06");
    chips[2].click();
    chips[4].click(); // the current version: nothing to do
    expect(model.commands("checkout")).toEqual([{ type: "command", name: "checkout", args: { id: 2 } }]);
    model.set("versions", makeVersions(3, 1));
    expect($$(".kw-version.current").map((c) => c.dataset.id)).toEqual(["1"]);
  });
});

describe("saved state", () => {
  it("renders everything from traits alone, without a kernel", () => {
    const { $, $$, el } = mount({ inspector: makeInspector() });
    expect((el.querySelector(".kanwidget") as HTMLElement).dataset.edges).toBe("14");
    expect($(".kw-losschart").dataset.points).toBe("50");
    expect($(".kw-formula math")).not.toBeNull();
    expect($$(".kw-version").length).toBe(5);
    expect($(".kw-inspector").hidden).toBe(false);
  });
  it("survives missing or malformed traits", () => {
    const model = new FakeModel({});
    const el = document.createElement("div");
    const v = createView(model, el);
    v.network.draw();
    expect((el.querySelector(".kanwidget") as HTMLElement).dataset.nodes).toBe("0");
    expect((el.querySelector(".kw-status") as HTMLElement).dataset.state).toBe("idle");
    v.destroy();
  });
});
