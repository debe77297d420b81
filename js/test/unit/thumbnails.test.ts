// Keyboard access to the node thumbnails (js/src/thumbnails.ts NodeButtons): one button per node with a
// thumbnail, placed over its square, one Tab stop; Enter/Space (a button's click) enlarges, Escape closes.
import { afterEach, describe, expect, it } from "vitest";
import dataview from "../fixtures/dataview.json";
import dataviewData from "../fixtures/dataview_data.json";
// @ts-ignore plain JS fixture
import { bytesOf } from "../fixtures.mjs";
import { decodeDataView } from "../../src/heatmap";
import { computeLayout } from "../../src/layout";
import { NodeButtons, nodeLabel, Thumbnails } from "../../src/thumbnails";
import type { Graph } from "../../src/types";
import { FIXTURES, fixtureState } from "./fixtures";
import { mountState, unmountAll } from "./mount";

afterEach(unmountAll);

const key = (el: Element, k: string) => el.dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true, cancelable: true }));

function buttons() {
  const events: string[] = [];
  const nb = new NodeButtons((l, i) => events.push(`open ${l},${i}`), () => events.push("close"));
  document.body.append(nb.el);
  const t = new Thumbnails(decodeDataView(dataview, bytesOf(dataviewData))!);
  const layout = computeLayout(FIXTURES.graph as unknown as Graph, 600, 400);
  nb.place(layout, t);
  return { nb, events, layout, t };
}

describe("node buttons", () => {
  it("one named button per node with a thumbnail, centred on the node, a single Tab stop", () => {
    const { nb, layout, t } = buttons();
    const bs = nb.buttons;
    expect(bs.map((b) => b.dataset.node)).toEqual((t.view.meta.nodes as [number, number][]).map(([l, i]) => `${l},${i}`));
    expect(bs.filter((b) => b.tabIndex === 0).length).toBe(1);
    const n = layout.levels[1][2];
    const b = bs.find((x) => x.dataset.node === "1,2")!;
    const side = parseFloat(b.style.width);
    expect(parseFloat(b.style.left) + side / 2).toBeCloseTo(n.x, 6);
    expect(parseFloat(b.style.top) + side / 2).toBeCloseTo(n.y, 6);
    expect(b.getAttribute("aria-label")).toBe("node 3 of layer 1: show its picture enlarged");
    expect(nodeLabel(2, 0, 3)).toBe("output y_1");
    expect(nb.el.getAttribute("role")).toBe("group");
  });

  it("arrows move the focus (and the Tab stop); a click (Enter/Space on a button) opens; Escape closes", () => {
    const { nb, events } = buttons();
    const bs = nb.buttons;
    bs[0].focus();
    key(bs[0], "ArrowRight");
    expect(document.activeElement).toBe(bs[1]);
    expect(bs[1].tabIndex).toBe(0);
    expect(bs[0].tabIndex).toBe(-1);
    key(bs[1], "End");
    expect(document.activeElement).toBe(bs.at(-1));
    key(bs.at(-1)!, "Home");
    expect(document.activeElement).toBe(bs[0]);
    bs[0].click();
    expect(key(bs[0], "Escape")).toBe(false);                  // handled (default prevented)
    expect(events).toEqual(["open 1,0", "close"]);
  });

  it("nothing to place without thumbnails; the same places keep the same buttons", () => {
    const { nb, layout, t } = buttons();
    const first = nb.buttons[0];
    nb.place(layout, t);
    expect(nb.buttons[0]).toBe(first);
    nb.place(layout, null);
    expect(nb.buttons.length).toBe(0);
    expect(nb.el.hidden).toBe(true);
  });

  it("in the widget: Enter on a node's button enlarges it in the data view, Escape closes it", async () => {
    const { model, $, view } = mountState(fixtureState());
    model.set("dataview", dataview);
    model.set("dataview_data", bytesOf(dataviewData));
    view.network.draw();
    const b = $<HTMLButtonElement>('.kw-thumb-btn[data-node="1,1"]');
    expect(b).not.toBeNull();
    b.focus();
    b.click();                                                 // what Enter and Space do on a button
    expect($(".kw-dv-nodefig").hidden).toBe(false);
    expect($(".kw-dv-nodefig canvas").getAttribute("aria-label")).toMatch(/^node 2 of layer 1/);
    key(b, "Escape");
    expect($(".kw-dv-nodefig").hidden).toBe(true);
  });
});
