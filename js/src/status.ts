/** Status line (state, text, progress of a long command, Cancel) and the error box. */
import { h } from "./dom";
import type { ProtocolTable, Status } from "./types";

function num(v: unknown): number | undefined {
  return v !== null && v !== undefined && v !== "" && Number.isFinite(Number(v)) ? Number(v) : undefined;
}

export function normaliseStatus(s: unknown): Status {
  const o = (s && typeof s === "object" ? s : {}) as Partial<Status>;
  const out: Status = {
    state: typeof o.state === "string" && o.state ? o.state : "idle",
    text: typeof o.text === "string" ? o.text : "",
    step: num(o.step) ?? 0,
    steps: num(o.steps) ?? 0,
  };
  if (typeof o.command === "string" && o.command) out.command = o.command;
  const done = num(o.done), total = num(o.total), eta = num(o.eta_s);
  if (done !== undefined) out.done = done;
  if (total !== undefined) out.total = total;
  out.eta_s = eta !== undefined && eta >= 0 ? eta : null;
  out.cancellable = o.cancellable === true;
  return out;
}

/** "~8 s left", "~3 min left", "~2 h left". */
export function formatEta(seconds: number): string {
  if (seconds < 90) return `~${Math.max(1, Math.round(seconds))} s left`;
  if (seconds < 90 * 60) return `~${Math.round(seconds / 60)} min left`;
  return `~${Math.round(seconds / 3600)} h left`;
}

/** "auto-symbolic 12/40 edges · ~8 s left" for a long command, else "" ; units come from the table. */
export function progressText(s: Status, table: ProtocolTable | null): string {
  if (!s.command || s.total === undefined || s.total <= 0) return "";
  const unit = table?.commands[s.command]?.progress_unit;
  const parts = [`${s.command.replace(/_/g, "-")} ${s.done ?? 0}/${s.total}${unit ? ` ${unit}` : ""}`];
  if (s.eta_s !== null && s.eta_s !== undefined) parts.push(formatEta(s.eta_s));
  return parts.join(" · ");
}

export class StatusLine {
  readonly el: HTMLDivElement;
  readonly cancel: HTMLButtonElement;
  private dot: HTMLSpanElement;
  private label: HTMLSpanElement;
  private text: HTMLSpanElement;
  private bar: HTMLDivElement;
  private fill: HTMLDivElement;
  private table: ProtocolTable | null = null;
  private last: Status = normaliseStatus({});

  /** `onCancel` sends the `cancel` command. */
  constructor(onCancel: () => void) {
    this.dot = h("span", { class: "kw-dot" });
    this.label = h("span", { class: "kw-state" });
    this.text = h("span", { class: "kw-status-text" });
    this.fill = h("div", { class: "kw-progress-fill" });
    this.bar = h("div", { class: "kw-progress", role: "progressbar", "aria-valuemin": 0, "aria-label": "progress" }, this.fill);
    this.cancel = h("button", { type: "button", class: "kw-btn kw-small kw-cancel", "data-kw": "cancel", hidden: true });
    this.cancel.addEventListener("click", () => {
      this.cancel.disabled = true;      // enabled again by the next status
      onCancel();
    });
    const live = h("span", { class: "kw-status-live", role: "status", "aria-live": "polite" }, this.label, this.text);
    this.el = h("div", { class: "kw-status" }, this.dot, live, this.bar, this.cancel);
    this.setProtocol(null);
    this.update(this.last);
  }

  setProtocol(table: ProtocolTable | null): void {
    this.table = table;
    const spec = table?.commands.cancel;
    const label = spec?.label ?? "Cancel";
    this.cancel.textContent = label;
    this.cancel.title = spec?.tooltip ?? "";
    this.cancel.setAttribute("aria-label", `${label} the running command`);
    this.update(this.last);
  }

  update(s: Status): void {
    this.last = s;
    this.el.dataset.state = s.state;
    this.el.dataset.step = String(s.step);
    this.el.dataset.steps = String(s.steps);
    this.label.textContent = s.state === "idle" ? "Idle" : s.state === "training" ? "Training" : s.state === "busy" ? "Working" : s.state;
    const progress = progressText(s, this.table);
    const running = s.state !== "idle";
    const parts: string[] = [];
    if (progress && running) parts.push(progress);
    else if (s.steps > 0 && s.state === "training") parts.push(`step ${s.step}/${s.steps}`);
    // the text may already say the progress ("…; auto-symbolic 12/40 edges"): keep only what comes before it
    const head = progress && running ? progress.split(" ").slice(0, 2).join(" ") : "";
    const at = head ? s.text.indexOf(head) : -1;
    const text = at >= 0 ? s.text.slice(0, at).replace(/[;·,\s]+$/, "") : s.text;
    if (text) parts.push(text);
    this.text.textContent = parts.join(" · ");
    let done = 0, total = 0;
    if (progress && running) [done, total] = [s.done ?? 0, s.total ?? 0];
    else if (s.steps > 0 && s.state === "training") [done, total] = [s.step, s.steps];
    this.bar.hidden = total <= 0;
    const frac = total > 0 ? Math.max(0, Math.min(1, done / total)) : 0;
    this.fill.style.width = `${(frac * 100).toFixed(1)}%`;
    this.bar.setAttribute("aria-valuemax", String(total));
    this.bar.setAttribute("aria-valuenow", String(done));
    const cancellable = running && s.cancellable === true && !!this.table?.commands.cancel;
    this.cancel.hidden = !cancellable;
    this.cancel.disabled = !cancellable;
    if (s.command) this.cancel.dataset.command = s.command; else delete this.cancel.dataset.command;
  }
}

export class ErrorBox {
  readonly el: HTMLDivElement;
  private text: HTMLPreElement;
  private current = "";

  constructor(onDismiss: () => void) {
    this.text = h("pre", { class: "kw-error-text" });
    const close = h("button", { type: "button", class: "kw-icon-btn", "data-kw": "dismiss-error", title: "Dismiss", "aria-label": "Dismiss error", text: "×" });
    close.addEventListener("click", () => {
      this.update("");
      onDismiss();
    });
    this.el = h("div", { class: "kw-error", role: "alert", hidden: true },
      h("strong", { text: "Error" }), this.text, close);
  }

  update(message: unknown): void {
    const m = typeof message === "string" ? message : "";
    this.current = m;
    this.text.textContent = m;
    this.el.hidden = m === "";
  }

  get message(): string {
    return this.current;
  }
}
