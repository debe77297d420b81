/**
 * The data panel: choose the dataset from the page (kanwidget/widget/data_panel.py).
 *
 * A card with a preset select (the `set_data` command's choices, plus "typed formula"), a formula input,
 * sliders for noise, training points and test share (bounds and defaults from the protocol table), a seed
 * input, Load and Regenerate buttons. The formula text goes to Python as a string (parsed there by the safe
 * parser, never evaluated); a refusal shows inline under the input. Disabled while training or busy.
 * Data given from Python (`KANWidget(model, dataset)`, `w.dataset = ...`) shows as the selected entry
 * "your data (from Python)": it cannot be chosen or loaded again (Undo brings it back), nor regenerated.
 */
import { h } from "./dom";
import type { ArgSpec, DataSource, ProtocolTable, SendCommand } from "./types";

const FORMULA = "__formula__";
export const PYTHON = "__python__";
export const PYTHON_TEXT = "your data (from Python)";
const SLIDERS = ["noise", "n_train", "test_fraction"] as const;

function argOf(table: ProtocolTable | null, name: string): ArgSpec | undefined {
  return table?.commands?.set_data?.args.find((a) => a.name === name);
}

/** The smallest of 1, 2, 5 × 10^k at least `raw`: slider steps that land on the table's round defaults. */
export function niceStep(raw: number): number {
  if (!(raw > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = [1, 2, 5, 10].find((k) => k * p >= raw * (1 - 1e-9)) ?? 10;
  return Number((m * p).toPrecision(12));
}

export class DataPanel {
  readonly el: HTMLDivElement;
  private readonly preset: HTMLSelectElement;
  private readonly formula: HTMLInputElement;
  private readonly formulaError: HTMLDivElement;
  private readonly seed: HTMLInputElement;
  private readonly sliders = new Map<string, { input: HTMLInputElement; out: HTMLOutputElement }>();
  private readonly load: HTMLButtonElement;
  private readonly regen: HTMLButtonElement;
  private readonly summary: HTMLDivElement;
  private table: ProtocolTable | null = null;
  private busy = false;
  private pending = false;
  /** The loaded data came from Python (not a preset or a formula of the panel). */
  private fromPython = false;
  private readonly pythonOption = h("option", { value: PYTHON, text: PYTHON_TEXT, disabled: true });

  constructor(private readonly send: SendCommand) {
    this.preset = h("select", { class: "kw-select", "data-kw": "data-preset", "aria-label": "dataset preset" });
    this.preset.addEventListener("change", () => this.refresh());
    this.formula = h("input", { type: "text", class: "kw-data-formula", "data-kw": "data-formula", spellcheck: "false",
      placeholder: "exp(sin(pi*x_1) + x_2^2)", "aria-label": "formula in x_1 … x_n",
      "aria-describedby": "", title: "a formula in x_1 … x_n (or x, y, z); functions sin cos exp log sqrt abs tanh …" });
    this.formula.addEventListener("input", () => { this.preset.value = FORMULA; this.showError(""); this.refresh(); });
    this.formula.addEventListener("keydown", (ev) => { if (ev.key === "Enter") this.apply(); });
    this.formulaError = h("div", { class: "kw-data-error", role: "alert", "data-kw": "data-formula-error" });
    this.seed = h("input", { type: "number", class: "kw-num", "data-kw": "data-seed", min: 0, step: "1", value: "0",
      "aria-label": "random seed" });
    this.load = h("button", { type: "button", class: "kw-btn kw-primary", "data-kw": "data-load", text: "Load data" });
    this.load.addEventListener("click", () => this.apply());
    this.regen = h("button", { type: "button", class: "kw-btn", "data-kw": "data-regenerate", text: "Regenerate",
      title: "Sample the same dataset again with a new seed" });
    this.regen.addEventListener("click", () => { this.pending = true; this.send("regenerate", {}); });
    this.summary = h("div", { class: "kw-hint kw-muted", "data-kw": "data-summary" });
    const row = h("div", { class: "kw-data-row" });
    for (const name of SLIDERS) {
      const input = h("input", { type: "range", "data-kw": `data-${name}` });
      const out = h("output", { class: "kw-data-value" });
      input.addEventListener("input", () => { out.textContent = input.value; });
      this.sliders.set(name, { input, out });
      row.append(h("label", { class: "kw-field" }, h("span", { "data-label": name }), input, out));
    }
    this.el = h("div", { class: "kw-card kw-data-panel", "data-kw": "data-panel", role: "group", "aria-label": "data" },
      h("div", { class: "kw-data-row" }, h("span", { class: "kw-data-title", text: "Data" }), this.preset,
        h("label", { class: "kw-field kw-data-formula-field" }, h("span", { text: "f =" }), this.formula)),
      this.formulaError, row,
      h("div", { class: "kw-data-row" }, h("label", { class: "kw-field" }, h("span", { text: "seed" }), this.seed),
        this.load, this.regen),
      this.summary);
  }

  /** The command table: choices, bounds, defaults and help of `set_data`. */
  setProtocol(table: ProtocolTable | null): void {
    this.table = table;
    const presetArg = argOf(table, "preset");
    const chosen = this.preset.value;
    this.preset.replaceChildren(...(this.fromPython ? [this.pythonOption] : []),
      ...(presetArg?.choices ?? []).map((c) => h("option", { value: c, text: c })),
      h("option", { value: FORMULA, text: "typed formula" }));
    if (chosen) this.preset.value = chosen;
    for (const name of SLIDERS) {
      const arg = argOf(table, name);
      const s = this.sliders.get(name);
      if (!arg || !s) continue;
      const low = arg.low ?? 0, high = arg.high ?? 1;
      const step = arg.type === "int" ? "10" : String(niceStep((high - low) / 100));
      s.input.min = String(arg.low_open ? low + Number(step) : low);
      s.input.max = String(high);
      s.input.step = step;
      if (!s.input.dataset.touched) s.input.value = String(arg.default ?? low);
      s.input.dataset.touched = "1";
      s.input.title = arg.help;
      s.input.setAttribute("aria-label", arg.help);
      s.out.textContent = s.input.value;
      const label = s.input.parentElement?.querySelector("span");
      if (label) label.textContent = arg.label ?? arg.name;
    }
    const formula = argOf(table, "formula");
    if (formula?.max_length) this.formula.maxLength = formula.max_length;
    this.refresh();
  }

  /** The `data_source` trait: show what is loaded (and keep the inputs in step with it). */
  setSource(source: DataSource | Record<string, never> | null): void {
    const s = source as (DataSource & { smoothing?: number; loss_floor?: number }) | null;
    this.setFromPython(s?.kind === "python");
    if (!s || !s.kind) { this.summary.textContent = "no data loaded: choose a preset or type a formula"; this.refresh(); return; }
    const smoothed = s.smoothing ? `, labels smoothed ${+(s.smoothing * 100).toFixed(2)} %: its floor is ${Number(s.loss_floor ?? 0).toFixed(3)}, not 0` : "";
    const task = s.task === "classification" ? ` · classification (logistic loss${smoothed})` : "";
    const what = s.kind === "preset" ? `preset ${s.name}` : s.kind === "formula" ? `f = ${s.formula}` : PYTHON_TEXT;
    this.summary.textContent = `${what} · ${s.n_train} train / ${s.n_test} test points${task}`;
    if (s.kind === "formula") { this.preset.value = FORMULA; this.formula.value = s.formula; }
    else if (s.kind === "preset") this.preset.value = s.name;
    else if (s.kind === "python") this.preset.value = PYTHON;
    if (typeof s.seed === "number") this.seed.value = String(s.seed);
    if (this.pending) { this.pending = false; this.showError(""); }
    this.refresh();
  }

  /** The `error` trait: a refusal of set_data / regenerate shows inline under the formula. */
  setError(message: string): void {
    if (!message) return;
    if (/set_data|set-data|regenerate/.test(message)) {
      this.pending = false;
      this.showError(message.replace(/^.*?set_data: /, ""));
    }
  }

  /** Disabled while training or while a command runs. */
  setBusy(busy: boolean): void {
    this.busy = busy;
    this.refresh();
  }

  /** The args of `set_data` from the inputs (what Load sends). */
  args(): Record<string, unknown> {
    const typed = this.preset.value === FORMULA;
    const num = (name: string) => Number(this.sliders.get(name)?.input.value ?? 0);
    return {
      preset: typed ? null : this.preset.value,
      formula: typed ? this.formula.value : null,
      noise: num("noise"),
      n_train: Math.round(num("n_train")),
      test_fraction: num("test_fraction"),
      seed: Math.max(0, Math.round(Number(this.seed.value) || 0)),
    };
  }

  /** The "your data (from Python)" entry is listed (first) only while the data came from Python. */
  private setFromPython(on: boolean): void {
    if (on === this.fromPython) return;
    this.fromPython = on;
    if (on) this.preset.prepend(this.pythonOption);
    else {
      const wasSelected = this.preset.value === PYTHON;
      this.pythonOption.remove();
      if (wasSelected) this.preset.selectedIndex = 0;
    }
  }

  apply(): void {
    if (this.busy || this.preset.value === PYTHON) return;
    const args = this.args();
    if (args.formula !== null && String(args.formula).trim() === "") {
      this.showError("type a formula in x_1 … x_n, such as sin(pi*x_1)");
      return;
    }
    this.pending = true;
    this.send("set_data", args);
  }

  private showError(message: string): void {
    this.formulaError.textContent = message;
    this.formulaError.hidden = message === "";
    this.formula.setAttribute("aria-invalid", message ? "true" : "false");
  }

  private refresh(): void {
    const disabled = this.busy || !this.table?.commands?.set_data;
    for (const el of [this.preset, this.formula, this.seed, this.load, this.regen]) el.disabled = disabled;
    for (const s of this.sliders.values()) s.input.disabled = disabled;
    const own = this.preset.value === PYTHON;          // nothing to load: the data are the user's own
    this.load.disabled ||= own;
    this.load.title = own ? "Your data came from Python: choose a preset or type a formula to load other data" : "";
    this.regen.disabled ||= this.fromPython;
    this.regen.title = this.fromPython ? "Data given from Python cannot be sampled again" : "Sample the same dataset again with a new seed";
    this.formula.classList.toggle("kw-data-dim", this.preset.value !== FORMULA);
  }

  destroy(): void {
    this.el.remove();
  }
}
