/**
 * Command buttons and their parameter inputs, built from the `protocol` table: which args a
 * command takes, their input type, default, min/max and help, which commands need data and which
 * change the model all come from the table. Only the layout (groups, order) is written here.
 */
import { h } from "./dom";
import { changesModel, dataKw, outOfRange } from "./protocol";
import type { ArgSpec, CommandSpec, ProtocolTable, SendCommand } from "./types";

export const NO_DATA_TEXT = "Needs a dataset: create the widget with KANWidget(model, dataset)";
const NO_PROTOCOL_TEXT = "The widget's command table (protocol trait) is missing; re-run the cell";
const PENDING_TIMEOUT_MS = 20000;

/** Sends the train command with steps 0: train until paused (the table's steps arg must accept 0). */
export const PLAY_TEXT = "Play";
export const PLAY_NAME = "Play: train until paused";
export const PLAY_TIP = "Train until paused (steps = 0); Pause stops it";
export const PLAY_RUNNING_TIP = "Training is running: press Pause to stop it";

/** The controls bar: one group per command with its inputs; `extra` buttons follow in the same group;
 * `play` adds a Play button after the command's button (train with steps 0, run until paused). While a fit
 * runs, Play is disabled and the table's Pause button is the one control that stops it (never two Pause
 * buttons); a keyboard user who pressed Play is moved to Pause, and back to Play when the fit ends. */
const LAYOUT: { command: string; primary?: boolean; play?: boolean; extra?: string[] }[] = [
  { command: "train", primary: true, play: true, extra: ["pause", "step"] },
  { command: "prune" },
  { command: "refine" },
  { command: "auto_symbolic", extra: ["discover"] },
  { command: "undo" },
];

type Input = HTMLInputElement | HTMLSelectElement;

export interface ControlsState {
  state: string;
  hasData: boolean;
  library: string[];
}

export class Controls {
  readonly el: HTMLDivElement;
  /** Buttons by command name (auto_symbolic, not auto-symbolic). */
  readonly buttons = new Map<string, HTMLButtonElement>();
  /** Inputs by "command.arg". */
  readonly inputs = new Map<string, Input>();
  private table: ProtocolTable | null = null;
  private tableKey = "";
  private libBox: HTMLDivElement | null = null;
  private libSummary: HTMLElement | null = null;
  private noData: HTMLDivElement;
  private library: string[] = [];
  private unchecked = new Set<string>();
  private pending = new Map<string, ReturnType<typeof setTimeout>>();
  private state: ControlsState = { state: "idle", hasData: true, library: [] };
  /** The Play button (null when the table's train cannot run until paused). */
  play: HTMLButtonElement | null = null;
  /** Focus went from Play to Pause when the run started (it goes back when the run ends). */
  private focusFromPlay = false;
  private send: SendCommand;

  constructor(send: SendCommand) {
    this.send = send;
    this.el = h("div", { class: "kw-controls" });
    this.noData = h("div", { class: "kw-nodata", hidden: true, text: `${NO_DATA_TEXT}.` });
    this.build();
  }

  /** Rebuilds the bar when the table changes (inputs return to their defaults). */
  setProtocol(table: ProtocolTable | null): void {
    const key = table ? JSON.stringify(table) : "";
    if (key === this.tableKey) return;
    this.table = table;
    this.tableKey = key;
    this.build();
  }

  private spec(name: string): CommandSpec | undefined {
    return this.table?.commands[name];
  }

  private build(): void {
    this.buttons.clear();
    this.inputs.clear();
    this.libBox = this.libSummary = null;
    this.play = null;
    const groups = LAYOUT.map(({ command, primary, play, extra }) => {
      const children: HTMLElement[] = [this.button(command, primary ? "kw-primary" : "")];
      const steps = this.spec(command)?.args.find((a) => a.name === "steps");
      if (play && steps && (steps.low ?? 1) <= 0) children.push(this.playButton(command));
      for (const arg of this.spec(command)?.args ?? []) {
        const f = this.field(command, arg);
        if (f) children.push(f);
      }
      for (const e of extra ?? []) children.push(this.button(e));
      return h("div", { class: `kw-group kw-group-${dataKw(command)}` }, ...children);
    });
    this.el.replaceChildren(...groups, this.noData);
    if (this.libBox) {
      const lib = this.library;
      this.library = [];
      this.setLibrary(lib);
    }
    this.refresh();
  }

  private button(name: string, cls = ""): HTMLButtonElement {
    const spec = this.spec(name);
    const text = spec?.label ?? name;
    const title = spec?.tooltip ?? spec?.help ?? "";
    const b = h("button", { type: "button", "data-kw": dataKw(name), class: `kw-btn ${cls}`.trim(), title, text });
    b.dataset.label = text;
    b.dataset.tip = title;
    b.addEventListener("click", () => this.click(name));
    this.buttons.set(name, b);
    return b;
  }

  /** Play: send `command` with the bar's args and steps 0 (disabled while training: Pause stops the run). */
  private playButton(command: string): HTMLButtonElement {
    const b = h("button", { type: "button", "data-kw": "play", class: "kw-btn kw-play", title: PLAY_TIP,
      "aria-label": PLAY_NAME, text: PLAY_TEXT });
    b.addEventListener("click", () => {
      if (b.disabled || this.state.state === "training") return;
      const args = this.argsFor(command);
      if (args === null) return;
      this.send(command, { ...args, steps: 0 });
      this.setPending(command);
    });
    this.play = b;
    return b;
  }

  /** The input of one argument (null for args the bar cannot supply, e.g. edge indices). */
  private field(command: string, arg: ArgSpec): HTMLElement | null {
    const kw = dataKw(arg.name);
    const label = arg.label ?? arg.name;
    // A label of a symbol ("λ") is named for assistive technology with the argument's name too.
    const name = /[A-Za-z]{2}/.test(label) ? null : `${label} (${arg.name})`;
    const key = `${command}.${arg.name}`;
    const wrap = (input: HTMLElement, cls = "kw-field") =>
      h("label", { class: cls, title: arg.help }, input, h("span", { text: label }));
    switch (arg.type) {
      case "int":
      case "float": {
        const input = h("input", {
          type: "number", "data-kw": kw, class: "kw-num", value: String(arg.default ?? ""), "aria-label": name,
          min: arg.low ?? undefined, max: arg.high ?? undefined, step: arg.type === "int" ? "1" : "any",
          // a nullable number left empty sends null: the Python side chooses (e.g. prune's node_th "auto")
          placeholder: arg.nullable ? "auto" : undefined,
        });
        this.inputs.set(key, input);
        return h("label", { class: "kw-field", title: arg.help }, h("span", { text: label }), input);
      }
      case "bool": {
        const input = h("input", { type: "checkbox", "data-kw": kw, checked: arg.default === true, "aria-label": name });
        this.inputs.set(key, input);
        return wrap(input, "kw-field kw-check");
      }
      case "choice": {
        const select = h("select", { "data-kw": kw, class: "kw-select", "aria-label": name },
          ...(arg.choices ?? []).map((c) => h("option", { value: c, text: c, selected: c === arg.default })));
        select.dataset.prev = select.value;
        select.addEventListener("change", () => this.choiceChanged(command, arg.name, select));
        this.inputs.set(key, select);
        return h("label", { class: "kw-field", title: arg.help }, h("span", { text: label }), select);
      }
      case "functions":
        return this.libraryField(label);
      default:
        return null;
    }
  }

  /** Another arg's default may follow this choice (lr by opt): switch it when the user has not edited it. */
  private choiceChanged(command: string, name: string, select: HTMLSelectElement): void {
    const prev = select.dataset.prev ?? "";
    for (const arg of this.spec(command)?.args ?? []) {
      const by = arg.default_by;
      const input = this.inputs.get(`${command}.${arg.name}`);
      if (!by || by.arg !== name || !(input instanceof HTMLInputElement)) continue;
      if (prev in by.values && input.value === String(by.values[prev]) && select.value in by.values) {
        input.value = String(by.values[select.value]);
      }
    }
    select.dataset.prev = select.value;
  }

  private libraryField(label: string): HTMLElement {
    this.libSummary = h("summary", { text: label });
    this.libBox = h("div", { class: "kw-lib-list", "data-kw": "lib" });
    const libAll = h("button", { type: "button", class: "kw-link", text: "all", "aria-label": "Select all functions" });
    const libNone = h("button", { type: "button", class: "kw-link", text: "none", "aria-label": "Select no functions" });
    libAll.addEventListener("click", () => this.setAllLib(true));
    libNone.addEventListener("click", () => this.setAllLib(false));
    return h("details", { class: "kw-lib" }, this.libSummary, h("div", { class: "kw-lib-tools" }, libAll, libNone), this.libBox);
  }

  /** Names of the checked library functions. */
  selectedLibrary(): string[] {
    return this.library.filter((n) => !this.unchecked.has(n));
  }

  private setAllLib(on: boolean): void {
    for (const n of this.library) {
      if (on) this.unchecked.delete(n); else this.unchecked.add(n);
    }
    for (const cb of this.libBox?.querySelectorAll<HTMLInputElement>("input[type=checkbox]") ?? []) cb.checked = on;
    this.updateLibSummary();
  }

  private updateLibSummary(): void {
    if (this.libSummary) this.libSummary.textContent = `functions (${this.selectedLibrary().length}/${this.library.length})`;
  }

  private setLibrary(names: string[]): void {
    if (names.length === this.library.length && names.every((n, k) => n === this.library[k])) return;
    this.library = names.slice();
    const items = names.map((name) => {
      const cb = h("input", { type: "checkbox", value: name, checked: !this.unchecked.has(name), "aria-label": `${name} (library function)` });
      cb.addEventListener("change", () => {
        if (cb.checked) this.unchecked.delete(name); else this.unchecked.add(name);
        this.updateLibSummary();
      });
      return h("label", { class: "kw-lib-item" }, cb, h("span", { text: name }));
    });
    this.libBox?.replaceChildren(...items);
    this.updateLibSummary();
  }

  private readNumber(input: HTMLInputElement, arg: ArgSpec): number | null {
    const v = Number(input.value);
    const ok = input.value.trim() !== "" && Number.isFinite(v) && (arg.type !== "int" || Number.isInteger(v)) && !outOfRange(arg, v);
    input.classList.toggle("kw-invalid", !ok);
    return ok ? v : null;
  }

  /** Arguments of the command a button sends, or null when an input is invalid. */
  argsFor(name: string): Record<string, unknown> | null {
    const spec = this.spec(name);
    if (!spec) return null;
    const args: Record<string, unknown> = {};
    let ok = true;
    for (const arg of spec.args) {
      const input = this.inputs.get(`${name}.${arg.name}`);
      if (arg.type === "functions") {
        const lib = this.selectedLibrary();
        const empty = lib.length === 0 && this.library.length > 0;
        this.libSummary?.classList.toggle("kw-invalid", empty);
        if (empty) ok = false;
        args[arg.name] = this.library.length === 0 && arg.nullable ? null : lib;
      } else if ((arg.type === "int" || arg.type === "float") && input instanceof HTMLInputElement) {
        if (arg.nullable && input.value.trim() === "") {
          input.classList.remove("kw-invalid");
          args[arg.name] = null;
          continue;
        }
        const v = this.readNumber(input, arg);
        if (v === null) ok = false;
        args[arg.name] = v;
      } else if (arg.type === "bool" && input instanceof HTMLInputElement) {
        args[arg.name] = input.checked;
      } else if (arg.type === "choice" && input) {
        args[arg.name] = input.value;
      } else {
        return null;     // an argument the bar has no input for
      }
    }
    return ok ? args : null;
  }

  click(name: string): void {
    const b = this.buttons.get(name);
    if (!b || b.disabled) return;
    const args = this.argsFor(name);
    if (args === null) return;
    this.send(name, args);
    this.setPending(name);
  }

  private setPending(name: string): void {
    const old = this.pending.get(name);
    if (old) clearTimeout(old);
    this.pending.set(name, setTimeout(() => {
      this.pending.delete(name);
      this.refresh();
    }, PENDING_TIMEOUT_MS));
    this.refresh();
  }

  isPending(name: string): boolean {
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
    for (const [name, b] of this.buttons) {
      const spec = this.spec(name);
      const pending = this.pending.has(name);
      const needsData = !!spec?.needs_data && !hasData;
      const blocked = changesModel(spec) && running;
      b.disabled = !spec || pending || needsData || blocked;
      b.classList.toggle("kw-pending", pending);
      b.setAttribute("aria-busy", pending ? "true" : "false");
      b.textContent = pending ? `${b.dataset.label}…` : (b.dataset.label ?? name);
      b.title = !spec ? NO_PROTOCOL_TEXT : needsData ? NO_DATA_TEXT : (b.dataset.tip ?? "");
    }
    if (this.play) this.refreshPlay(state, hasData);
    this.noData.hidden = hasData;
    this.el.dataset.state = state;
  }

  /** Play is enabled only while nothing runs; Pause (the table's button) is the stop control meanwhile. */
  private refreshPlay(state: string, hasData: boolean): void {
    const play = this.play as HTMLButtonElement;
    const pause = this.buttons.get("pause");
    const training = state === "training";
    const starting = this.pending.has("train") || this.pending.has("step");
    const hadFocus = play.ownerDocument.activeElement === play;
    play.disabled = !hasData || state === "busy" || training || this.pending.size > 0;
    play.title = !hasData ? NO_DATA_TEXT : training || starting ? PLAY_RUNNING_TIP : PLAY_TIP;
    pause?.classList.toggle("kw-stop-now", training);   // the control to press while a fit runs
    if (hadFocus && play.disabled && pause && !pause.disabled && (training || starting)) {
      pause.focus();                  // a disabled button loses focus: keep the keyboard user on the stop control
      this.focusFromPlay = true;
    } else if (!training && !starting && this.focusFromPlay) {
      this.focusFromPlay = false;
      const at = play.ownerDocument.activeElement;      // still on Pause, or lost when Pause was disabled while pending
      if (!play.disabled && (at === pause || at === null || at === play.ownerDocument.body)) play.focus();
    }
  }

  destroy(): void {
    for (const t of this.pending.values()) clearTimeout(t);
    this.pending.clear();
  }
}
