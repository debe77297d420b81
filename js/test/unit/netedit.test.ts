import { afterEach, describe, expect, it } from "vitest";
import { mountState, unmountAll } from "./mount";
import { checkMessage } from "../../src/protocol";
import { leastImportant } from "../../src/netedit";
import type { CommandMessage, Graph } from "../../src/types";
import { FIXTURES, PROTOCOL, fixtureState } from "./fixtures";

afterEach(unmountAll);
const mount = (overrides: Record<string, unknown> = {}) => mountState(fixtureState(overrides));
const graph = FIXTURES.graph as unknown as Graph;

describe("network editing controls", () => {
  it("one node row per hidden layer at the layer's height, grid and k from the graph", () => {
    const { view, $, $$ } = mount();
    const rows = $$(".kw-netedit-row");
    expect(rows.map((r) => r.dataset.level)).toEqual(["1"]);                  // [2, 3, 1]: one hidden layer
    const y = view.network.layout!.levels[1][0].y;
    expect(rows[0].style.top).toBe(`${Math.round(y - 12)}px`);
    expect(rows[0].textContent).toContain("3");
    expect($<HTMLInputElement>("[data-kw=netedit-grid]").value).toBe(String(graph.grid));
    expect($<HTMLInputElement>("[data-kw=netedit-k]").value).toBe(String(graph.k));
    for (const b of $$<HTMLButtonElement>(".kw-netedit button, .kw-netedit-row button")) {
      expect(b.getAttribute("aria-label") || b.textContent).toBeTruthy();
      expect(b.title).toBeTruthy();
    }
    expect($<HTMLButtonElement>("[data-kw=netedit-regrid]").disabled).toBe(true);   // nothing changed yet
  });

  it("each control sends a command the table accepts", () => {
    const { model, $ } = mount();
    $("[data-kw=add-node]").click();
    $("[data-kw=delete-node]").click();
    $("[data-kw=netedit-add-layer]").click();
    $("[data-kw=netedit-delete-layer]").click();
    const grid = $<HTMLInputElement>("[data-kw=netedit-grid]");
    grid.value = "7";
    grid.dispatchEvent(new Event("input"));
    $("[data-kw=netedit-regrid]").click();
    $("[data-kw=netedit-reinit]").click();
    const sent = model.commands() as CommandMessage[];
    for (const m of sent) expect(checkMessage(PROTOCOL, m), JSON.stringify(m)).toBeNull();
    const least = leastImportant(graph, 1);
    expect(sent.map((m) => [m.name, m.args])).toEqual([
      ["add_node", { layer: 1 }], ["delete_node", { layer: 1, i: least }], ["add_layer", { index: 2 }],
      ["delete_layer", { index: 1 }], ["regrid", { grid: 7, k: graph.k }], ["reinit", { seed: sent[5].args.seed }],
    ]);
  });

  it("the least important node is the one with the lowest importance", () => {
    const g = { ...graph, nodes: [[], [{ importance: 0.5 }, { importance: 0.1 }, { importance: 0.1 }], []] } as Graph;
    expect(leastImportant(g, 1)).toBe(1);
    expect(leastImportant(g, 0)).toBe(-1);
  });

  it("everything is disabled while training; one-node layers cannot lose their node", () => {
    const { model, $$ } = mount();
    model.set("status", { state: "training", text: "", step: 1, steps: 5 });
    expect($$<HTMLButtonElement>(".kw-netedit button, .kw-netedit-row button").every((b) => b.disabled)).toBe(true);
    model.set("status", { state: "idle", text: "", step: 0, steps: 0 });
    const one = { ...graph, width: [2, 1, 1], nodes: [[{ importance: 1 }, { importance: 1 }], [{ importance: 1 }], [{ importance: 1 }]] };
    model.set("graph", one);
    expect($$<HTMLButtonElement>("[data-kw=delete-node]")[0].disabled).toBe(true);
    expect($$<HTMLButtonElement>("[data-kw=add-node]")[0].disabled).toBe(false);
  });

  it("models with multiplication nodes: node and layer edits disabled with the reason, regrid kept", () => {
    const { model, $: q } = mount();
    const mult = { ...graph, nodes: graph.nodes.map((l, level) => l.map((n, i) => (level === 1 && i === 2 ? { ...n, mult: 2 } : n))) };
    model.set("graph", mult);
    const add = q<HTMLButtonElement>("[data-kw=add-node]");
    expect(add.disabled).toBe(true);
    expect(add.title).toContain("multiplication nodes");
    expect(q<HTMLButtonElement>("[data-kw=netedit-add-layer]").disabled).toBe(true);
    expect(q<HTMLButtonElement>("[data-kw=netedit-reinit]").disabled).toBe(false);
  });
});
