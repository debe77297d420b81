import { afterEach, describe, expect, it } from "vitest";
import { mountState, unmountAll } from "./mount";
import { checkMessage, dataKw } from "../../src/protocol";
import { formatEta, progressText, normaliseStatus } from "../../src/status";
import type { CommandMessage, ProtocolTable } from "../../src/types";
import { FIXTURES, PROTOCOL, fixtureState } from "./fixtures";
import dataviewSlice from "../fixtures/dataview_slice.json";               // dataview
import dataviewSliceData from "../fixtures/dataview_slice_data.json";     // dataview
// @ts-ignore plain JS fixture
import { bytesOf } from "../fixtures.mjs";

function mount(overrides: Record<string, unknown> = {}) {
  return mountState(fixtureState(overrides));
}
afterEach(unmountAll);

const idle = { state: "idle", text: "", step: 0, steps: 0 };
/** Commands only the Python API sends (no page control). */
const PYTHON_ONLY = ["stop"];
const MODEL_BUTTONS = ["train", "step", "prune", "refine", "auto-symbolic", "undo"];

describe("fixtures from a real widget", () => {
  it("render: network, curves, loss chart, formula, versions, inspector, library", () => {
    const { el, $, $$ } = mount();
    const root = el.querySelector(".kanwidget") as HTMLElement;
    expect(root.dataset.nodes).toBe("6");                     // [2, 3, 1]
    expect(root.dataset.edges).toBe("9");                     // all active
    expect(root.dataset.symbolicEdges).toBe("1");
    expect($$(".kw-edge-labels li").map((li) => li.textContent)).toEqual(["sin"]);
    expect($(".kw-shape").textContent).toBe("[2, 3, 1]");
    expect($(".kw-losschart").dataset.points).toBe("5");     // 5 LBFGS steps
    expect($$(".kw-formula-row math").length).toBe(1);
    expect($(".kw-formula annotation")!.textContent).toContain("\\sin");
    const chips = $$(".kw-version");
    expect(chips.map((c) => c.dataset.id)).toEqual(["0", "1", "2"]);
    expect(chips.filter((c) => c.classList.contains("current")).map((c) => c.dataset.id)).toEqual(["2"]);
    expect($(".kw-inspector").hidden).toBe(false);
    expect($(".kw-inspector").dataset.edge).toBe("0,1,0");
    expect($$(".kw-candidate").length).toBe((FIXTURES.inspector as { candidates: unknown[] }).candidates.length);
    expect($$(".kw-inspector .kw-sample").length).toBe(200);
    expect($$("[data-kw=lib] input").length).toBe((FIXTURES.library as string[]).length);
    expect($(".kw-status").dataset.state).toBe("idle");
    expect($(".kw-status-text").textContent).toContain("fixed (0,0,0) to sin");
  });
});

describe("controls come from the protocol table", () => {
  it("every bar input has the table's default, bounds and help", () => {
    const { $ } = mount();
    for (const name of ["train", "prune", "refine", "auto_symbolic"]) {
      for (const arg of PROTOCOL.commands[name].args) {
        if (arg.type === "functions") continue;
        const input = $<HTMLInputElement>(`[data-kw=${dataKw(arg.name)}]`);
        expect(input, arg.name).not.toBeNull();
        if (arg.type === "bool") expect(input.checked).toBe(arg.default);
        else expect(input.value).toBe(String(arg.default ?? ""));   // a nullable number with no default starts empty ("auto")
        if (arg.type === "int" || arg.type === "float") {
          expect(input.getAttribute("min")).toBe(arg.low === null ? null : String(arg.low));
          expect(input.getAttribute("max")).toBe(arg.high === null ? null : String(arg.high));
        }
        expect(input.closest("label")!.title).toBe(arg.help);
      }
    }
  });

  it("a different table changes defaults, bounds, labels and the needs-data rule", () => {
    const table = structuredClone(PROTOCOL) as ProtocolTable;
    const steps = table.commands.train.args.find((a) => a.name === "steps")!;
    steps.default = 7;
    steps.high = 9;
    table.commands.refine.needs_data = true;
    table.commands.undo.label = "Back";
    const { model, $ } = mount({ protocol: table, has_data: false });
    expect($<HTMLInputElement>("[data-kw=steps]").value).toBe("7");
    expect($<HTMLButtonElement>("[data-kw=refine]").disabled).toBe(true);
    expect($("[data-kw=undo]").textContent).toBe("Back");
    model.set("has_data", true);
    $<HTMLInputElement>("[data-kw=steps]").value = "10";      // above the table's high
    $("[data-kw=train]").click();
    expect(model.commands("train").length).toBe(0);
    $<HTMLInputElement>("[data-kw=steps]").value = "9";
    $("[data-kw=train]").click();
    expect(model.commands("train")[0].args.steps).toBe(9);
  });

  it("without a protocol table no command button is enabled", () => {
    const { $$ } = mount({ protocol: {} });
    const buttons = $$<HTMLButtonElement>(".kw-controls button.kw-btn");
    expect(buttons.length).toBe(8);
    expect(buttons.every((b) => b.disabled)).toBe(true);
  });
});

describe("every command the page can send validates against the shipped table", () => {
  it("clicks every control with its defaults", () => {
    const { model, view, $, $$ } = mount();
    const answer = () => model.set("status", { ...idle, text: String(Math.random()) });
    for (const k of ["train", "pause", "step", "prune", "refine", "auto-symbolic", "discover", "undo"]) {
      $(`[data-kw=${k}]`).click();
      answer();
    }
    $$(".kw-version")[0].click();                                       // checkout
    $(".kw-candidate [data-kw=fix]").click();                            // fix_symbolic
    $("[data-kw=close-inspector]").click();
    model.set("inspector", { ...(FIXTURES.inspector as object), l: 0, i: 0, j: 0, symbolic: "sin" });
    $("[data-kw=unfix]").click();
    for (const k of ["add-node", "delete-node", "netedit-add-layer", "netedit-delete-layer", "netedit-reinit"]) $(`[data-kw=${k}]`).click();
    const grid = $<HTMLInputElement>("[data-kw=netedit-grid]");                      // netedit: regrid
    grid.value = "9";
    grid.dispatchEvent(new Event("input"));
    $("[data-kw=netedit-regrid]").click();
    model.set("dataview", dataviewSlice);                                             // dataview: a slice's x axis
    model.set("dataview_data", bytesOf(dataviewSliceData));
    $("[data-kw=dataview-axis-0]").dispatchEvent(new Event("change"));
    for (const k of ["data-load", "data-regenerate"]) { $(`[data-kw=${k}]`).click(); answer(); }   // data panel
    const g = view.network.layout!.edges.find((e) => e.l === 1 && e.i === 2 && e.j === 0)!;
    const canvas = view.network.canvas;
    canvas.getBoundingClientRect = () => ({ left: 0, top: 0, right: 0, bottom: 0, width: 0, height: 0, x: 0, y: 0, toJSON() {} });
    canvas.dispatchEvent(new MouseEvent("click", { clientX: g.bx + g.bw / 2, clientY: g.by + g.bh / 2, bubbles: true }));
    model.set("status", { state: "busy", text: "", step: 0, steps: 0, command: "auto_symbolic", done: 1, total: 9, eta_s: 3, cancellable: true });
    $("[data-kw=cancel]").click();

    const sent = model.commands() as CommandMessage[];
    for (const m of sent) expect(checkMessage(PROTOCOL, m), JSON.stringify(m)).toBeNull();
    const names = new Set(sent.map((m) => m.name));
    expect([...names, ...PYTHON_ONLY].sort()).toEqual(Object.keys(PROTOCOL.commands).sort());
    expect(sent.find((m) => m.name === "inspect")!.args).toEqual({ l: 1, i: 2, j: 0 });
  });

  it("checkMessage refuses what the table does not allow", () => {
    const bad: CommandMessage[] = [
      { type: "command", name: "explode", args: {} },
      { type: "command", name: "train", args: { steps: 5 } },
      { type: "command", name: "train", args: { steps: -1, opt: "LBFGS", lr: 1, lamb: 0, update_grid: true } },
      { type: "command", name: "train", args: { steps: 5, opt: "SGD", lr: 1, lamb: 0, update_grid: true } },
      { type: "command", name: "train", args: { steps: 5, opt: "Adam", lr: 0, lamb: 0, update_grid: true } },
      { type: "command", name: "train", args: { steps: 2.5, opt: "Adam", lr: 1, lamb: 0, update_grid: true } },
      { type: "command", name: "prune", args: { node_th: 0.1, edge_th: Infinity } },
      { type: "command", name: "auto_symbolic", args: { lib: [], weight_simple: 0.5 } },
      { type: "command", name: "undo", args: { x: 1 } },
      { type: "command", name: "checkout", args: { id: -1 } },
    ];
    for (const m of bad) expect(checkMessage(PROTOCOL, m), JSON.stringify(m)).not.toBeNull();
  });
});

describe("progress and cancel", () => {
  const progress = { state: "busy", text: "", step: 0, steps: 0, command: "auto_symbolic", done: 12, total: 40, eta_s: 8, cancellable: true };

  it("shows done/total with the table's unit and an estimate, with the progress bar", () => {
    const { model, $ } = mount();
    model.set("status", progress);
    expect($(".kw-status-text").textContent).toBe("auto-symbolic 12/40 edges · ~8 s left");
    const bar = $(".kw-progress");
    expect(bar.hidden).toBe(false);
    expect(bar.getAttribute("aria-valuenow")).toBe("12");
    expect(bar.getAttribute("aria-valuemax")).toBe("40");
    expect($<HTMLElement>(".kw-progress-fill").style.width).toBe("30.0%");
    model.set("status", { ...progress, eta_s: null, text: "fitting the library" });
    expect($(".kw-status-text").textContent).toBe("auto-symbolic 12/40 edges · fitting the library");
    // a text that repeats the progress (as the widget's own status text does) is not shown twice
    model.set("status", { ...progress, text: "paused training at step 3/50; auto-symbolic 12/40 edges" });
    expect($(".kw-status-text").textContent).toBe("auto-symbolic 12/40 edges · ~8 s left · paused training at step 3/50");
    model.set("status", { ...progress, text: "auto-symbolic 12/40 edges" });
    expect($(".kw-status-text").textContent).toBe("auto-symbolic 12/40 edges · ~8 s left");
  });

  it("Cancel is visible, named and keyboard reachable only while cancellable, and sends cancel", () => {
    const { model, $ } = mount();
    const cancel = $<HTMLButtonElement>("[data-kw=cancel]");
    expect(cancel.hidden).toBe(true);
    model.set("status", progress);
    expect(cancel.hidden).toBe(false);
    expect(cancel.disabled).toBe(false);
    expect(cancel.tagName).toBe("BUTTON");
    expect(cancel.tabIndex).toBeGreaterThanOrEqual(0);
    expect(cancel.getAttribute("aria-label")).toMatch(/^Cancel/);
    expect(cancel.textContent).toBe(PROTOCOL.commands.cancel.label);
    cancel.click();
    expect(model.commands("cancel")).toEqual([{ type: "command", name: "cancel", args: {} }]);
    expect(cancel.disabled).toBe(true);                       // one click until the next status
    model.set("status", { ...progress, cancellable: false });
    expect(cancel.hidden).toBe(true);
    model.set("status", { ...progress, done: 13 });
    expect(cancel.hidden).toBe(false);
    model.set("status", { ...idle, text: "cancelled; the model is as before", cancellable: true });
    expect(cancel.hidden).toBe(true);                          // nothing runs when idle
  });

  it("while busy or training every model-changing button is disabled (bar, version chips, Fix/Unfix)", () => {
    const { model, $, $$ } = mount();
    for (const state of [progress, { state: "training", text: "", step: 3, steps: 50 }]) {
      model.set("status", state);
      for (const k of MODEL_BUTTONS) expect($<HTMLButtonElement>(`[data-kw=${k}]`).disabled, k).toBe(true);
      expect($<HTMLButtonElement>("[data-kw=pause]").disabled).toBe(false);
      const chips = $$<HTMLButtonElement>(".kw-version");
      expect(chips.filter((c) => !c.classList.contains("current")).every((c) => c.disabled)).toBe(true);
      chips[0].click();
      expect(model.commands("checkout").length).toBe(0);
      expect($$<HTMLButtonElement>("[data-kw=fix]").every((b) => b.disabled)).toBe(true);
      model.set("status", idle);
      for (const k of MODEL_BUTTONS) expect($<HTMLButtonElement>(`[data-kw=${k}]`).disabled, k).toBe(false);
      expect($$<HTMLButtonElement>(".kw-version")[0].disabled).toBe(false);
      expect($$<HTMLButtonElement>("[data-kw=fix]").some((b) => !b.disabled)).toBe(true);
    }
    // the inspector re-rendered while busy keeps Fix disabled
    model.set("status", progress);
    model.set("inspector", { ...(FIXTURES.inspector as object), j: 0, i: 0, symbolic: "sin" });
    expect($<HTMLButtonElement>("[data-kw=unfix]").disabled).toBe(true);
  });

  it("formats estimates and ignores malformed progress fields", () => {
    expect(formatEta(8.4)).toBe("~8 s left");
    expect(formatEta(0.2)).toBe("~1 s left");
    expect(formatEta(150)).toBe("~3 min left");
    expect(formatEta(4 * 3600)).toBe("~4 h left");
    const s = normaliseStatus({ state: "busy", command: "refine", done: "x", total: 3, eta_s: -1, cancellable: "yes" });
    expect(s.done).toBeUndefined();
    expect(s.eta_s).toBeNull();
    expect(s.cancellable).toBe(false);
    expect(progressText(s, PROTOCOL)).toBe("refine 0/3 layers");
    expect(progressText(normaliseStatus({ state: "busy", command: "train", done: 2, total: 0 }), PROTOCOL)).toBe("");
  });
});
