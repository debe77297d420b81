/** Command buttons and their parameter inputs. */
import { h } from "./dom";
import type { SendCommand } from "./types";

export const DATA_COMMANDS = ["train", "step", "prune", "refine", "auto-symbolic"] as const;
/** Buttons that change the model; disabled while training or busy. */
export const MODEL_COMMANDS = ["train", "step", "prune", "refine", "auto-symbolic", "undo"] as const;
export const NO_DATA_TEXT = "Needs a dataset: create the widget with KANWidget(model, dataset)";
const PENDING_TIMEOUT_MS = 20000;

type ButtonName = "train" | "pause" | "step" | "prune" | "refine" | "auto-symbolic" | "undo";

export interface ControlsState {
  state: string;
  hasData: boolean;
  library: string[];
}

function numInput(kw: string, value: string, attrs: Record<string, string> = {}): HTMLInputElement {
  return h("input", { type: "number", "data-kw": kw, value, ...attrs, class: "kw-num" });
}

function field(label: string, input: HTMLElement, title?: string): HTMLLabelElement {
  return h("label", { class: "kw-field", title }, h("span", { text: label }), input);
}

export class Controls {
  readonly el: HTMLDivElement;
  readonly buttons = {} as Record<ButtonName, HTMLButtonElement>;
  readonly inputs: {
    steps: HTMLInputElement; opt: HTMLSelectElement; lr: HTMLInputElement; lamb: HTMLInputElement;
    updateGrid: HTMLInputElement; nodeTh: HTMLInputElement; edgeTh: HTMLInputElement;
    grid: HTMLInputElement; weightSimple: HTMLInputElement;
  };
  private libBox: HTMLDivElement;
  private libSummary: HTMLElement;
  private noData: HTMLDivElement;
  private library: string[] = [];
  private unchecked = new Set<string>();
  private pending = new Map<ButtonName, ReturnType<typeof setTimeout>>();
  private state: ControlsState = { state: "idle", hasData: true, library: [] };
  private send: SendCommand;

  constructor(send: SendCommand) {
    this.send = send;
    const opt = h("select", { "data-kw": "opt", class: "kw-select" },
      h("option", { value: "LBFGS", text: "LBFGS", selected: true }),
      h("option", { value: "Adam", text: "Adam" }));
    this.inputs = {
      steps: numInput("steps", "50", { min: "1", step: "1" }),
      opt,
      lr: numInput("lr", "1", { min: "0", step: "any" }),
      lamb: numInput("lamb", "0", { min: "0", step: "any" }),
      updateGrid: h("input", { type: "checkbox", "data-kw": "update-grid", checked: true }),
      nodeTh: numInput("node-th", "0.01", { min: "0", step: "any" }),
      edgeTh: numInput("edge-th", "0.03", { min: "0", step: "any" }),
      grid: numInput("grid", "10", { min: "1", step: "1" }),
      weightSimple: numInput("weight-simple", "0.8", { min: "0", max: "1", step: "0.05" }),
    };
    opt.addEventListener("change", () => {
      // LBFGS likes lr=1, Adam a small one: switch the default when the user has not edited it.
      const lr = this.inputs.lr;
      if (opt.value === "Adam" && lr.value === "1") lr.value = "0.01";
      else if (opt.value === "LBFGS" && lr.value === "0.01") lr.value = "1";
    });
    const mk = (name: ButtonName, text: string, title: string, cls = "") => {
      const b = h("button", { type: "button", "data-kw": name, class: `kw-btn ${cls}`.trim(), title, text });
      b.dataset.label = text;
      b.dataset.tip = title;
      b.addEventListener("click", () => this.click(name));
      this.buttons[name] = b;
      return b;
    };
    const i = this.inputs;
    this.libSummary = h("summary", { text: "functions" });
    this.libBox = h("div", { class: "kw-lib-list", "data-kw": "lib" });
    const libAll = h("button", { type: "button", class: "kw-link", text: "all" });
    const libNone = h("button", { type: "button", class: "kw-link", text: "none" });
    libAll.addEventListener("click", () => this.setAllLib(true));
    libNone.addEventListener("click", () => this.setAllLib(false));
    const lib = h("details", { class: "kw-lib" }, this.libSummary,
      h("div", { class: "kw-lib-tools" }, libAll, libNone), this.libBox);
    this.noData = h("div", { class: "kw-nodata", hidden: true, text: `${NO_DATA_TEXT}.` });

    this.el = h("div", { class: "kw-controls" },
      h("div", { class: "kw-group kw-group-train" },
        mk("train", "Train", "Train the model", "kw-primary"),
        field("steps", i.steps), field("opt", i.opt), field("lr", i.lr), field("λ", i.lamb, "lamb: regularisation strength"),
        h("label", { class: "kw-field kw-check", title: "update the spline grids from the data while training" }, i.updateGrid, h("span", { text: "grid update" })),
        mk("pause", "Pause", "Stop training after the current step"),
        mk("step", "Step", "Run one optimiser step"),
      ),
      h("div", { class: "kw-group" },
        mk("prune", "Prune", "Remove unimportant nodes and edges"),
        field("node", i.nodeTh, "node_th: node importance threshold"), field("edge", i.edgeTh, "edge_th: edge importance threshold"),
      ),
      h("div", { class: "kw-group" },
        mk("refine", "Refine", "Re-fit every spline on a finer grid"),
        field("grid", i.grid, "new number of grid intervals"),
      ),
      h("div", { class: "kw-group" },
        mk("auto-symbolic", "Auto-symbolic", "Replace every spline edge by its best-fitting formula"),
        lib, field("simple", i.weightSimple, "weight_simple: 0 = accuracy only, 1 = simplicity only"),
      ),
      h("div", { class: "kw-group" }, mk("undo", "Undo", "Go back to the previous version")),
      this.noData,
    );
  }

  /** Names of the checked library functions. */
  selectedLibrary(): string[] {
    return this.library.filter((n) => !this.unchecked.has(n));
  }

  private setAllLib(on: boolean): void {
    for (const n of this.library) {
      if (on) this.unchecked.delete(n); else this.unchecked.add(n);
    }
    for (const cb of this.libBox.querySelectorAll<HTMLInputElement>("input[type=checkbox]")) cb.checked = on;
    this.updateLibSummary();
  }

  private updateLibSummary(): void {
    this.libSummary.textContent = `functions (${this.selectedLibrary().length}/${this.library.length})`;
  }

  private setLibrary(names: string[]): void {
    if (names.length === this.library.length && names.every((n, k) => n === this.library[k])) return;
    this.library = names.slice();
    const items = names.map((name) => {
      const cb = h("input", { type: "checkbox", value: name, checked: !this.unchecked.has(name) });
      cb.addEventListener("change", () => {
        if (cb.checked) this.unchecked.delete(name); else this.unchecked.add(name);
        this.updateLibSummary();
      });
      return h("label", { class: "kw-lib-item" }, cb, h("span", { text: name }));
    });
    this.libBox.replaceChildren(...items);
    this.updateLibSummary();
  }

  private readNumber(input: HTMLInputElement, opts: { int?: boolean; min?: number; max?: number; minExclusive?: boolean }): number | null {
    const v = Number(input.value);
    let ok = input.value.trim() !== "" && Number.isFinite(v);
    if (ok && opts.int && !Number.isInteger(v)) ok = false;
    if (ok && opts.min !== undefined && (opts.minExclusive ? v <= opts.min : v < opts.min)) ok = false;
    if (ok && opts.max !== undefined && v > opts.max) ok = false;
    input.classList.toggle("kw-invalid", !ok);
    return ok ? v : null;
  }

  /** Arguments of the command a button sends, or null when an input is invalid. */
  argsFor(name: ButtonName): Record<string, unknown> | null {
    const i = this.inputs;
    switch (name) {
      case "train": {
        const steps = this.readNumber(i.steps, { int: true, min: 1 });
        const lr = this.readNumber(i.lr, { min: 0, minExclusive: true });
        const lamb = this.readNumber(i.lamb, { min: 0 });
        if (steps === null || lr === null || lamb === null) return null;
        return { steps, opt: i.opt.value, lr, lamb, update_grid: i.updateGrid.checked };
      }
      case "prune": {
        const node_th = this.readNumber(i.nodeTh, { min: 0 });
        const edge_th = this.readNumber(i.edgeTh, { min: 0 });
        if (node_th === null || edge_th === null) return null;
        return { node_th, edge_th };
      }
      case "refine": {
        const grid = this.readNumber(i.grid, { int: true, min: 1 });
        return grid === null ? null : { grid };
      }
      case "auto-symbolic": {
        const weight_simple = this.readNumber(i.weightSimple, { min: 0, max: 1 });
        const lib = this.selectedLibrary();
        this.libSummary.classList.toggle("kw-invalid", lib.length === 0 && this.library.length > 0);
        if (weight_simple === null || (lib.length === 0 && this.library.length > 0)) return null;
        return { lib, weight_simple };
      }
      default:
        return {};
    }
  }

  click(name: ButtonName): void {
    const b = this.buttons[name];
    if (b.disabled) return;
    const args = this.argsFor(name);
    if (args === null) return;
    this.send(name === "auto-symbolic" ? "auto_symbolic" : name, args);
    this.setPending(name);
  }

  private setPending(name: ButtonName): void {
    const old = this.pending.get(name);
    if (old) clearTimeout(old);
    this.pending.set(name, setTimeout(() => {
      this.pending.delete(name);
      this.refresh();
    }, PENDING_TIMEOUT_MS));
    this.refresh();
  }

  isPending(name: ButtonName): boolean {
    return this.pending.has(name);
  }

  /** Called when the Python side answered (status back to idle, an error, a new graph or version). */
  clearPending(): void {
    for (const t of this.pending.values()) clearTimeout(t);
    this.pending.clear();
    this.refresh();
  }

  update(state: Partial<ControlsState>): void {
    this.state = { ...this.state, ...state };
    if (state.library) this.setLibrary(state.library);
    this.refresh();
  }

  private refresh(): void {
    const { state, hasData } = this.state;
    const running = state === "training" || state === "busy";
    for (const [name, b] of Object.entries(this.buttons) as [ButtonName, HTMLButtonElement][]) {
      const pending = this.pending.has(name);
      const needsData = (DATA_COMMANDS as readonly string[]).includes(name) && !hasData;
      const blocked = (MODEL_COMMANDS as readonly string[]).includes(name) && running;
      b.disabled = pending || needsData || blocked;
      b.classList.toggle("kw-pending", pending);
      b.setAttribute("aria-busy", pending ? "true" : "false");
      b.textContent = pending ? `${b.dataset.label}…` : (b.dataset.label ?? name);
      b.title = needsData ? NO_DATA_TEXT : (b.dataset.tip ?? "");
    }
    this.noData.hidden = hasData;
    this.el.dataset.state = state;
  }

  destroy(): void {
    for (const t of this.pending.values()) clearTimeout(t);
    this.pending.clear();
  }
}
