/** Status line (state, text, progress) and the error box. */
import { h } from "./dom";
import type { Status } from "./types";

export function normaliseStatus(s: unknown): Status {
  const o = (s && typeof s === "object" ? s : {}) as Partial<Status>;
  return {
    state: typeof o.state === "string" && o.state ? o.state : "idle",
    text: typeof o.text === "string" ? o.text : "",
    step: Number.isFinite(Number(o.step)) ? Number(o.step) : 0,
    steps: Number.isFinite(Number(o.steps)) ? Number(o.steps) : 0,
  };
}

export class StatusLine {
  readonly el: HTMLDivElement;
  private dot: HTMLSpanElement;
  private label: HTMLSpanElement;
  private text: HTMLSpanElement;
  private bar: HTMLDivElement;
  private fill: HTMLDivElement;

  constructor() {
    this.dot = h("span", { class: "kw-dot" });
    this.label = h("span", { class: "kw-state" });
    this.text = h("span", { class: "kw-status-text" });
    this.fill = h("div", { class: "kw-progress-fill" });
    this.bar = h("div", { class: "kw-progress", role: "progressbar", "aria-valuemin": 0 }, this.fill);
    this.el = h("div", { class: "kw-status", role: "status", "aria-live": "polite" }, this.dot, this.label, this.text, this.bar);
    this.update(normaliseStatus({}));
  }

  update(s: Status): void {
    this.el.dataset.state = s.state;
    this.el.dataset.step = String(s.step);
    this.el.dataset.steps = String(s.steps);
    this.label.textContent = s.state === "idle" ? "Idle" : s.state === "training" ? "Training" : s.state === "busy" ? "Working" : s.state;
    const parts: string[] = [];
    if (s.steps > 0 && s.state === "training") parts.push(`step ${s.step}/${s.steps}`);
    if (s.text) parts.push(s.text);
    this.text.textContent = parts.join(" · ");
    const show = s.steps > 0 && s.state === "training";
    this.bar.hidden = !show;
    const frac = s.steps > 0 ? Math.max(0, Math.min(1, s.step / s.steps)) : 0;
    this.fill.style.width = `${(frac * 100).toFixed(1)}%`;
    this.bar.setAttribute("aria-valuemax", String(s.steps));
    this.bar.setAttribute("aria-valuenow", String(s.step));
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
