import { afterEach, describe, expect, it } from "vitest";
import dataview from "../fixtures/dataview.json";
import dataviewData from "../fixtures/dataview_data.json";
import dataviewSlice from "../fixtures/dataview_slice.json";
import dataviewSliceData from "../fixtures/dataview_slice_data.json";
// @ts-ignore plain JS fixture
import { bytesOf } from "../fixtures.mjs";
import { decodeDataView, divergingMap, parseColor, sequentialMap } from "../../src/heatmap";
import { checkMessage } from "../../src/protocol";
import { nodeAt, Thumbnails } from "../../src/thumbnails";
import { computeLayout } from "../../src/layout";
import { LIGHT } from "../../src/theme";
import type { CommandMessage, Graph } from "../../src/types";
import { fixtureState, FIXTURES, PROTOCOL } from "./fixtures";
import { mountState, unmountAll } from "./mount";

afterEach(unmountAll);

/** The float32 values of a fixture blob, decoded independently of the code under test. */
function floats(blob: { base64: string }): number[] {
  const bin = atob(blob.base64);
  const dv = new DataView(new ArrayBuffer(bin.length));
  for (let k = 0; k < bin.length; k++) dv.setUint8(k, bin.charCodeAt(k));
  return Array.from({ length: bin.length / 4 }, (_, k) => dv.getFloat32(k * 4, true));
}

describe("decoding the data view payload", () => {
  it("names every array at its offset, with the sizes of the meta", () => {
    const v = decodeDataView(dataview, bytesOf(dataviewData))!;
    const all = floats(dataviewData);
    const m = dataview as unknown as { resolution: number; thumb_size: number; nodes: unknown[]; arrays: Record<string, number[]> };
    expect(v.meta.kind).toBe("2d");
    expect(v.pred!.length).toBe(m.resolution ** 2);
    expect(v.target!.length).toBe(m.resolution ** 2);
    expect(Array.from(v.residual!)).toEqual(all.slice(m.arrays.residual[0], m.arrays.residual[0] + m.resolution ** 2));
    // residual = prediction - target (float32 rounding)
    for (let k = 0; k < v.pred!.length; k += 97) expect(v.residual![k]).toBeCloseTo(v.pred![k] - v.target![k], 4);
    expect(v.thumbs.length).toBe(m.nodes.length * m.thumb_size ** 2);
    expect(v.train.length % 3).toBe(0);
  });

  it("refuses a buffer that does not match the meta (one trait updated before the other)", () => {
    expect(decodeDataView(dataview, bytesOf(dataviewSliceData))).toBeNull();
    expect(decodeDataView({}, null)).toBeNull();
    expect(decodeDataView({ kind: "none", error: "x" }, null)).toBeNull();
  });
});

describe("colour maps follow the palette", () => {
  it("sequential ends at the curve colour, diverging passes through the background", () => {
    const seq = sequentialMap(LIGHT);
    expect(seq(1)).toEqual(parseColor(LIGHT.curve));
    const div = divergingMap(LIGHT);
    expect(div(0.5)).toEqual(parseColor(LIGHT.background));
    expect(div(0)).toEqual(parseColor(LIGHT.symbolic));
    expect(div(1)).toEqual(parseColor(LIGHT.train));
    expect(parseColor("rgb(1, 2, 3)")).toEqual([1, 2, 3]);
  });
});

describe("the data view panel", () => {
  const withView = (meta: unknown, data: { base64: string }) =>
    mountState(fixtureState({ dataview: meta, dataview_data: bytesOf(data) }));

  it("shows target, prediction and residual with names, and an export button", () => {
    const { $, $$, el } = withView(dataview, dataviewData);
    expect($(".kw-dataview").dataset.kind).toBe("2d");
    const panels = $$<HTMLCanvasElement>(".kw-dv-figures canvas");
    expect(panels.map((c) => c.dataset.panel)).toEqual(["target", "pred", "residual"]);
    for (const c of panels) expect(c.getAttribute("aria-label")).toMatch(/over x_1 \(horizontal\) and x_2 \(vertical\)/);
    expect($(".kw-dv-controls").hidden).toBe(true);          // two inputs, one output: nothing to choose
    const exportBtn = $("[data-kw=dataview-export]");
    expect(exportBtn.getAttribute("aria-label")).toMatch(/Export the data view/);
    expect(el.querySelector(".kw-dv-node")!.querySelectorAll("option").length).toBe(1 + 4);   // none + 3 hidden + 1 output
  });

  it("slice controls send the dataview command with every argument", () => {
    const { model, $, $$ } = withView(dataviewSlice, dataviewSliceData);
    expect($(".kw-dataview").dataset.kind).toBe("slice");
    expect($$(".kw-dv-figures canvas").map((c) => c.dataset.panel)).toEqual(["pred"]);   // no target known
    const slider = $<HTMLInputElement>("[data-kw=held-2]");
    expect(slider.getAttribute("aria-label")).toBe("held value of x_3");
    slider.value = String(Number(slider.min) + (Number(slider.max) - Number(slider.min)) * 0.25);
    slider.dispatchEvent(new Event("change"));
    const held = model.commands("dataview").at(-1) as CommandMessage;
    expect(checkMessage(PROTOCOL, held)).toBeNull();
    expect((held.args.held as number[])[2]).toBeCloseTo(Number(slider.value), 6);
    expect((held.args.held as number[]).slice(0, 2)).toEqual((dataviewSlice as { held: number[] }).held.slice(0, 2));
    const xAxis = $<HTMLSelectElement>("[data-kw=dataview-axis-0]");
    xAxis.value = "2";
    xAxis.dispatchEvent(new Event("change"));
    const axes = model.commands("dataview").at(-1) as CommandMessage;
    expect(checkMessage(PROTOCOL, axes)).toBeNull();
    expect([axes.args.x_axis, axes.args.y_axis]).toEqual([2, 1]);
    const out = $<HTMLSelectElement>("[data-kw=dataview-output]");
    out.value = "1";
    out.dispatchEvent(new Event("change"));
    expect((model.commands("dataview").at(-1) as CommandMessage).args.output).toBe(1);
  });

  it("a node chosen (by the select or a click on its thumbnail) is shown enlarged", () => {
    const { $, view } = withView(dataview, dataviewData);
    const select = $<HTMLSelectElement>(".kw-dv-node");
    select.value = "1,2";
    select.dispatchEvent(new Event("change"));
    expect($(".kw-dv-nodefig").hidden).toBe(false);
    expect($(".kw-dv-nodefig canvas").getAttribute("aria-label")).toMatch(/^node 3 of layer 1/);
    $<HTMLButtonElement>(".kw-dv-nodefig button").click();
    expect($(".kw-dv-nodefig").hidden).toBe(true);
    expect(view.network.thumbnails?.count).toBe(4);
  });
});

describe("thumbnails", () => {
  it("each hidden / output node's square is found at the node, inputs have none", () => {
    const v = decodeDataView(dataview, bytesOf(dataviewData))!;
    const t = new Thumbnails(v);
    expect(t.values(3).length).toBe(v.meta.thumb_size ** 2);
    expect(t.values(3)[0]).toBe(v.thumbs[3 * v.meta.thumb_size ** 2]);
    const layout = computeLayout(FIXTURES.graph as unknown as Graph, 600, 400);
    const n = layout.levels[1][2];
    expect(nodeAt(layout, n.x + 3, n.y - 3, t)).toEqual([1, 2]);
    const out = layout.levels[2][0];
    expect(nodeAt(layout, out.x, out.y, t)).toEqual([2, 0]);
    const input = layout.levels[0][0];
    expect(nodeAt(layout, input.x, input.y, t)).toBeNull();
    expect(nodeAt(layout, n.x, n.y, null)).toBeNull();
  });
});
