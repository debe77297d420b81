import { afterEach, describe, expect, it } from "vitest";
import { decodeCurves } from "../../src/curves";
import { computeLayout, liveNodes } from "../../src/layout";
import { bucketOf, layerImportanceScale, LINE_FLOOR, lineAlpha, paint } from "../../src/paint";
import { FULLSCREEN_REFUSED, nextLabel } from "../../src/present";
import { SvgContext, SvgPath } from "../../src/svgcontext";
import { mountState, unmountAll } from "./mount";
// @ts-ignore plain JS fixture
import { makeNetwork, smallState } from "../fake.mjs";
import { PROTOCOL } from "./fixtures";

afterEach(unmountAll);

const PRUNE_STEP = { command: "prune", args: { node_th: 0.01, edge_th: 0.03 }, label: "Prune", reason: "remove the faded edges and nodes" };

describe("presentation mode", () => {
  it("the header button toggles the presenting trait and the root class", () => {
    const { model, el, $ } = mountState(smallState({ protocol: PROTOCOL, presenting: false, next_step: PRUNE_STEP }));
    const root = el.querySelector(".kanwidget") as HTMLElement;
    const toggle = $<HTMLButtonElement>("[data-kw=present]");
    expect(toggle.getAttribute("aria-label")).toBe("Presentation mode");
    expect(toggle.title).toContain("Alt+Shift+P");
    expect(root.classList.contains("kw-presenting")).toBe(false);
    const saved = model.saved;
    toggle.click();
    expect(model.get("presenting")).toBe(true);
    expect(model.saved).toBe(saved + 1);
    expect(root.classList.contains("kw-presenting")).toBe(true);
    expect(toggle.getAttribute("aria-pressed")).toBe("true");
    model.set("presenting", false);                      // Python turns it off
    expect(root.classList.contains("kw-presenting")).toBe(false);
    root.dispatchEvent(new KeyboardEvent("keydown", { key: "P", code: "KeyP", altKey: true, shiftKey: true, bubbles: true }));
    expect(model.get("presenting")).toBe(true);
  });

  it("starts in presentation mode when the trait is set", () => {
    const { el } = mountState(smallState({ protocol: PROTOCOL, presenting: true }));
    expect(el.querySelector(".kanwidget")!.classList.contains("kw-presenting")).toBe(true);
  });

  it("Next sends the workflow's next command with its args; disabled when done or while busy", () => {
    const { model, $ } = mountState(smallState({ protocol: PROTOCOL, next_step: PRUNE_STEP }));
    const next = $<HTMLButtonElement>("[data-kw=next]");
    expect(next.textContent).toBe("Next: Prune");
    expect(next.title).toBe(PRUNE_STEP.reason);
    expect(next.disabled).toBe(false);
    next.click();
    expect(model.sent.at(-1)).toEqual({ type: "command", name: "prune", args: PRUNE_STEP.args });
    expect(next.disabled).toBe(true);                    // until Python answers
    model.set("next_step", { ...PRUNE_STEP, command: "train", label: "Train", args: { steps: 50 } });
    expect(next.disabled).toBe(false);
    model.set("status", { state: "training", text: "", step: 1, steps: 50 });
    expect(next.disabled).toBe(true);
    model.set("status", { state: "idle", text: "", step: 50, steps: 50 });
    model.set("next_step", {});
    expect(next.textContent).toBe("Next: done");
    expect(next.disabled).toBe(true);
    expect(nextLabel(undefined)).toBe("Next: done");
  });

  it("full screen refused (no Fullscreen API here) says so in the tooltip and a note", async () => {
    const { $ } = mountState(smallState({ protocol: PROTOCOL }));
    const full = $<HTMLButtonElement>("[data-kw=fullscreen]");
    expect(full.getAttribute("aria-label")).toBe("Full screen");
    full.click();
    await new Promise((r) => setTimeout(r, 0));
    expect(full.title).toContain(FULLSCREEN_REFUSED);
    const note = $<HTMLElement>(".kw-present-note");
    expect(note.hidden).toBe(false);
    expect(note.textContent).toBe(FULLSCREEN_REFUSED);
  });
});

describe("svg context", () => {
  it("records paths: lines, rects, full circles and arcTo corners", () => {
    const p = new SvgPath();
    p.moveTo(0, 0);
    p.lineTo(10, 0);
    p.rect(1, 2, 3, 4);
    expect(p.data()).toEqual(["M0 0L10 0", "M1 2h3v4h-3Z"]);
    const c = new SvgPath();
    c.arc(5, 5, 2, 0, Math.PI * 2);
    expect(c.data()).toEqual(["M7 5A2 2 0 0 1 3 5A2 2 0 0 1 7 5"]);
    const r = new SvgPath();
    r.moveTo(0, 0);
    r.arcTo(10, 0, 10, 10, 2);                 // a rounded corner: line to (8,0), arc to (10,2)
    expect(r.data()).toEqual(["M0 0L8 0A2 2 0 0 1 10 2"]);
  });

  it("the painter writes one <path> per active edge curve, batched lines, nodes and names", () => {
    const net = makeNetwork([2, 5, 1], { P: 24, seed: 3, inactive: ["0,1,4"], symbolic: { "0,0,1": "sin" } });
    const layout = computeLayout(net.graph, 700, 400);
    const ctx = new SvgContext(700, 400, "#ffffff");
    paint(ctx as unknown as CanvasRenderingContext2D, layout, net.graph, decodeCurves(net.curves, 24));
    const svg = ctx.toSvg();
    const doc = new DOMParser().parseFromString(svg, "image/svg+xml");
    const group = (name: string) => doc.querySelector(`g.kw-svg-${name}`);
    expect(doc.documentElement.getAttribute("viewBox")).toBe("0 0 700 400");
    expect(group("curves")!.querySelectorAll("path").length).toBe(14);          // 15 edges, one inactive
    expect(group("edges")!.querySelectorAll("path").length).toBeLessThan(14);   // batched by importance
    expect(group("nodes")!.querySelectorAll("path").length).toBeGreaterThanOrEqual(8);
    const names = Array.from(doc.querySelectorAll("text")).map((t) => t.textContent);
    expect(names.sort()).toEqual(["sin", "x_1", "x_2", "y"]);   // the graph's variable names and the symbolic label
    for (const path of Array.from(doc.querySelectorAll("g.kw-svg-curves path"))) {
      expect(path.getAttribute("d")).toMatch(/^M[\d.]+ [\d.]+(L[\d.]+ [\d.]+){23}$/);   // 24 samples
    }
  });
});

describe("drawing faults (issue 11, item 7)", () => {
  it("a 64x64 middle layer of small importances spans the opacity buckets, every line above the floor", () => {
    const net = makeNetwork([8, 64, 64, 1], { P: 16, seed: 5 });
    let k = 0;
    for (const e of net.graph.layers[1].edges) e.importance = Math.round(0.09 * ((k++ * 37) % 100) / 99 * 100) / 100;  // 0 .. 0.09 as a trained net
    const layout = computeLayout(net.graph, 1000, 600);
    const scale = layerImportanceScale(layout);
    expect(scale[1]).toBeCloseTo(0.09);
    const alphas = layout.edges.filter((g) => g.l === 1).map((g) => lineAlpha(bucketOf(g.edge.importance / scale[1]), false, 4096));
    const weakest = Math.min(...alphas);
    const strongest = Math.max(...alphas);
    expect(weakest).toBeGreaterThanOrEqual(LINE_FLOOR);
    expect(strongest).toBeGreaterThanOrEqual(2 * LINE_FLOOR - 1e-9);
    expect(strongest).toBeGreaterThan(1.8 * weakest);                // unimportant still fainter
    // before: every one of these lines sat at 0.12+0.11 (bucket 0) x 0.75 x sqrt(60/4096) = 0.021
    expect(weakest).toBeGreaterThan(2 * 0.021);
    // a small layer keeps its old opacities (the floor does not touch them)
    expect(lineAlpha(0, false, 15)).toBeCloseTo((0.12 + 0.88 / 8) * 0.75);
    expect(lineAlpha(7, false, 15)).toBeCloseTo(0.75);
  });

  it("hidden nodes left without active edges are not drawn nor counted; the shape label counts live nodes", () => {
    // node 1 of the hidden level: both its input edges and its output edge pruned
    const inactive = ["0,0,1", "0,1,1", "1,1,0"];
    const net = makeNetwork([2, 3, 1], { P: 16, seed: 2, inactive });
    expect(liveNodes(net.graph)).toEqual([[true, true], [true, false, true], [true]]);
    const layout = computeLayout(net.graph, 600, 400);
    expect(layout.nodeCount).toBe(5);
    expect(layout.liveWidth).toEqual([2, 2, 1]);
    const { el } = mountState(smallState({ protocol: PROTOCOL, graph: net.graph, curves: net.curves }));
    const shape = el.querySelector(".kw-shape") as HTMLElement;
    expect(shape.textContent).toBe("[2, 2, 1]");
    expect(shape.title).toContain("[2, 3, 1]");
    expect((el.querySelector(".kanwidget") as HTMLElement).dataset.nodes).toBe("5");
    // drawn: 5 node circles in the SVG, not 6
    const ctx = new SvgContext(600, 400);
    paint(ctx as unknown as CanvasRenderingContext2D, layout, net.graph, null);
    const doc = new DOMParser().parseFromString(ctx.toSvg(), "image/svg+xml");
    const circles = Array.from(doc.querySelectorAll("g.kw-svg-nodes path")).filter((p) => (p.getAttribute("fill") ?? "none") !== "none");
    expect(circles.length).toBe(2 * 5);      // a background disc and the node disc each
  });
});
