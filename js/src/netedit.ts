/**
 * Editing the network from the page: per hidden layer "−" / "+" node buttons placed at the layer's row of
 * the picture (positions from the network's layout), and a bar under it to insert / remove a hidden layer,
 * change the grid and k (Apply) and re-initialise. Every button sends one command of the protocol table
 * (add_node, delete_node, add_layer, delete_layer, regrid, reinit); each makes a new version (Undo goes
 * back). "−" removes the least important node of its layer (the one the picture draws faintest).
 */
import "./netedit.css";
import { h } from "./dom";
import type { Layout } from "./layout";
import { changesModel } from "./protocol";
import type { Graph, ProtocolTable, SendCommand } from "./types";

export const EDIT_COMMANDS = ["add_node", "delete_node", "add_layer", "delete_layer", "regrid", "reinit"] as const;

/** The least important node of a level by the graph's node importance (the first among equals), or -1. */
export function leastImportant(graph: Graph, level: number): number {
  const nodes = graph.nodes?.[level] ?? [];
  let best = -1;
  for (let i = 0; i < nodes.length; i++) {
    if (best < 0 || nodes[i].importance < nodes[best].importance) best = i;
  }
  return best;
}

/** Whether a graph has multiplication nodes (node and layer edits are refused for those). */
function hasMult(graph: Graph): boolean {
  return (graph.nodes ?? []).some((level) => level.some((n) => (n.mult ?? 0) > 0));
}

export class NetEditPanel {
  /** The bar under the picture: layers, grid, k, re-initialise. */
  readonly el: HTMLDivElement;
  /** Node buttons over the picture, one row per hidden layer (append it into the network's element). */
  readonly overlay: HTMLDivElement;
  private graph: Graph | null = null;
  private table: ProtocolTable | null = null;
  private running = false;
  private send: SendCommand;
  private readonly grid: HTMLInputElement;
  private readonly k: HTMLInputElement;
  private readonly buttons = new Map<string, HTMLButtonElement>();

  constructor(send: SendCommand) {
    this.send = send;
    this.overlay = h("div", { class: "kw-netedit-nodes" });
    this.grid = h("input", { type: "number", class: "kw-num", "data-kw": "netedit-grid", min: 1, max: 1000, step: "1",
      "aria-label": "grid intervals", title: "grid intervals per edge (Apply refits every spline)" });
    this.k = h("input", { type: "number", class: "kw-num", "data-kw": "netedit-k", min: 1, max: 20, step: "1",
      "aria-label": "spline order k", title: "spline order k (Apply refits every spline)" });
    for (const input of [this.grid, this.k]) {
      input.addEventListener("input", () => this.refresh());
      input.addEventListener("keydown", (ev) => {
        if (ev.key === "Enter") this.regrid();
      });
    }
    const bar = (name: string, text: string, onClick: () => void) => {
      const b = h("button", { type: "button", class: "kw-btn kw-small", "data-kw": `netedit-${name}`, text });
      b.addEventListener("click", onClick);
      this.buttons.set(name, b);
      return b;
    };
    this.el = h("div", { class: "kw-netedit", role: "group", "aria-label": "Edit the network" },
      h("span", { class: "kw-muted", text: "Edit:" }),
      bar("add-layer", "+ layer", () => this.layer(true)),
      bar("delete-layer", "− layer", () => this.layer(false)),
      h("label", { class: "kw-field" }, h("span", { text: "grid" }), this.grid),
      h("label", { class: "kw-field" }, h("span", { text: "k" }), this.k),
      bar("regrid", "Apply", () => this.regrid()),
      bar("reinit", "Re-initialise", () => this.send("reinit", { seed: Math.floor(Math.random() * 2 ** 31) })));
    this.buttons.get("reinit")!.title = "Start again from fresh random parameters (same width, grid and k)";
    this.buttons.get("regrid")!.title = "Refit every spline on this grid and spline order";
  }

  /** The command table and whether the model is training or busy (then every edit is disabled). */
  lock(running: boolean, table: ProtocolTable | null): void {
    this.running = running;
    this.table = table;
    this.refresh();
  }

  /** A new graph: node buttons per hidden layer, grid and k inputs at the model's values. */
  update(graph: Graph | null): void {
    const before = this.graph;
    this.graph = graph && Array.isArray(graph.width) ? graph : null;
    const g = this.graph;
    if (g && (typeof g.grid === "number") && (!before || before.grid !== g.grid || before.k !== g.k
        || document.activeElement !== this.grid)) this.grid.value = String(g.grid);
    if (g && typeof g.k === "number" && (!before || before.k !== g.k || document.activeElement !== this.k)) {
      this.k.value = String(g.k);
    }
    this.buildNodes();
    this.refresh();
  }

  private buildNodes(): void {
    const focused = (document.activeElement as HTMLElement | null)?.dataset?.key;
    const g = this.graph;
    const rows: HTMLElement[] = [];
    const depth = g ? g.width.length - 1 : 0;
    for (let level = 1; g && level < depth; level++) {
      const n = g.width[level];
      const least = leastImportant(g, level);
      const minus = h("button", { type: "button", class: "kw-btn kw-small kw-node-btn", "data-kw": "delete-node",
        "data-key": `delete-${level}`, text: "−",
        "aria-label": `Remove the least important node of hidden layer ${level} (node ${least})`,
        title: n > 1 ? `Remove the least important node of hidden layer ${level} (node ${least}; its mean effect is kept)`
          : `Hidden layer ${level} has one node: remove the layer instead` });
      minus.dataset.layer = String(level);
      minus.dataset.node = String(least);
      minus.addEventListener("click", () => this.send("delete_node", { layer: level, i: least }));
      const plus = h("button", { type: "button", class: "kw-btn kw-small kw-node-btn", "data-kw": "add-node",
        "data-key": `add-${level}`, text: "+", "aria-label": `Add a node to hidden layer ${level}`,
        title: `Add a node to hidden layer ${level} (it starts silent: the outputs do not change)` });
      plus.dataset.layer = String(level);
      plus.addEventListener("click", () => this.send("add_node", { layer: level }));
      const row = h("div", { class: "kw-netedit-row", role: "group", "aria-label": `hidden layer ${level}: ${n} nodes` },
        minus, h("span", { class: "kw-netedit-count", text: String(n), "aria-hidden": "true" }), plus);
      row.dataset.level = String(level);
      rows.push(row);
    }
    this.overlay.replaceChildren(...rows);
    if (focused) (this.overlay.querySelector(`[data-key="${focused}"]`) as HTMLElement | null)?.focus();
  }

  /** Places each hidden layer's row at the right end of its level in the picture (after each draw). */
  place(layout: Layout | null): void {
    for (const row of Array.from(this.overlay.children) as HTMLElement[]) {
      const level = Number(row.dataset.level);
      const nodes = layout?.levels[level] ?? [];
      row.hidden = !nodes.length;
      if (nodes.length) row.style.top = `${Math.round(nodes[0].y - 12)}px`;
    }
  }

  private can(name: string): boolean {
    const spec = this.table?.commands[name];
    return !!spec && !(this.running && changesModel(spec));
  }

  /** Enables what the table offers and the model allows; everything is disabled while running. */
  private refresh(): void {
    const g = this.graph;
    const depth = g ? g.width.length - 1 : 0;
    const mult = g ? hasMult(g) : false;
    const multNote = "The network has multiplication nodes: node and layer edits are not supported";
    for (const b of Array.from(this.overlay.querySelectorAll("button")) as HTMLButtonElement[]) {
      const add = b.dataset.kw === "add-node";
      const n = g?.width[Number(b.dataset.layer)] ?? 0;
      b.disabled = !g || mult || !this.can(add ? "add_node" : "delete_node") || (!add && n < 2);
      if (mult) b.title = multNote;
    }
    const set = (name: string, disabled: boolean) => {
      const b = this.buttons.get(name);
      if (b) b.disabled = disabled;
    };
    set("add-layer", !g || mult || !this.can("add_layer"));
    set("delete-layer", !g || mult || depth < 2 || !this.can("delete_layer"));
    const gridV = Number(this.grid.value), kV = Number(this.k.value);
    const valid = Number.isInteger(gridV) && gridV >= 1 && gridV <= 1000 && Number.isInteger(kV) && kV >= 1 && kV <= 20;
    const changed = !!g && (gridV !== g.grid || kV !== g.k);
    set("regrid", !g || !valid || !changed || !this.can("regrid"));
    set("reinit", !g || !this.can("reinit"));
    this.grid.disabled = this.k.disabled = !g || !this.can("regrid");
    const last = depth - 1;
    const addLayer = this.buttons.get("add-layer");
    if (addLayer) addLayer.setAttribute("aria-label", `Insert a hidden layer before the outputs (it starts as an identity: the outputs do not change)`);
    const del = this.buttons.get("delete-layer");
    if (del) del.setAttribute("aria-label", depth >= 2 ? `Remove hidden layer ${last} (the layers around it merge, fitted to the data)` : "Remove a hidden layer (there is none)");
    if (addLayer) addLayer.title = addLayer.getAttribute("aria-label") ?? "";
    if (del) del.title = del.getAttribute("aria-label") ?? "";
  }

  private layer(add: boolean): void {
    const g = this.graph;
    if (!g) return;
    const depth = g.width.length - 1;
    if (add) this.send("add_layer", { index: depth });
    else if (depth >= 2) this.send("delete_layer", { index: depth - 1 });
  }

  private regrid(): void {
    const b = this.buttons.get("regrid");
    if (!b || b.disabled) return;
    this.send("regrid", { grid: Number(this.grid.value), k: Number(this.k.value) });
  }
}
