/**
 * Presentation mode and full screen (issue 11, "Present it").
 *
 * - The synced Bool trait `presenting` (Python: `w.present()`, `w.presenting = True`) puts the class
 *   `kw-presenting` on the widget root: larger type and thicker lines (CSS variables, see widget.css
 *   "present"), the formula big, controls reduced to Train (play), Pause, Step and Next.
 * - Next runs the next step of the reference workflow (train → prune → refine → auto-symbolic): the
 *   rule lives in Python (`kanwidget/widget/present.py`, trait `next_step`); the page sends that command.
 * - Full screen: the Fullscreen API on the widget root; where the page may not (an iframe without
 *   `allowfullscreen`, an old browser) the button says so in its tooltip and in a note.
 * Shortcuts (focus inside the widget): Alt+Shift+P presentation mode, Alt+Shift+F full screen.
 */
import "./present.css";
import { h } from "./dom";
import type { NextStep, SendCommand } from "./types";

export const PRESENT_KEY = "P";
export const FULLSCREEN_KEY = "F";
export const PRESENT_TITLE = "Presentation mode: larger type and lines, the formula big, only Train, Pause, Step and Next (Alt+Shift+P)";
export const FULLSCREEN_TITLE = "Full screen (Alt+Shift+F; Escape leaves it)";
export const FULLSCREEN_REFUSED = "Full screen is not allowed here (e.g. inside a frame without allowfullscreen): use the browser's own full screen (F11)";

export interface PresentHost {
  root: HTMLElement;
  send: SendCommand;
  /** writes the `presenting` trait (and saves it) */
  setPresenting(on: boolean): void;
  /** called after the mode changed (canvases re-read their line scale) */
  redraw(): void;
}

/** Label of the Next button for a `next_step` value ({} or missing: the workflow is done). */
export function nextLabel(step: NextStep | Record<string, never> | null | undefined): string {
  const s = step as NextStep | undefined;
  return s && typeof s.command === "string" && s.command ? `Next: ${s.label || s.command}` : "Next: done";
}

export class PresentMode {
  /** header buttons: presentation mode, full screen */
  readonly el: HTMLDivElement;
  /** the Next button (first of the header tools) */
  readonly next: HTMLButtonElement;
  readonly note: HTMLDivElement;
  private readonly toggle: HTMLButtonElement;
  private readonly full: HTMLButtonElement;
  private step: NextStep | null = null;
  private presenting = false;
  private locked = false;

  constructor(private readonly host: PresentHost) {
    this.toggle = h("button", {
      type: "button", class: "kw-btn kw-small kw-present-toggle", "data-kw": "present",
      "aria-pressed": "false", "aria-label": "Presentation mode", "aria-keyshortcuts": "Alt+Shift+P",
      title: PRESENT_TITLE, text: "Present",
    }) as HTMLButtonElement;
    this.full = h("button", {
      type: "button", class: "kw-btn kw-small kw-fullscreen-toggle", "data-kw": "fullscreen",
      "aria-pressed": "false", "aria-label": "Full screen", "aria-keyshortcuts": "Alt+Shift+F",
      title: FULLSCREEN_TITLE, text: "Full screen",
    }) as HTMLButtonElement;
    this.next = h("button", {
      type: "button", class: "kw-btn kw-primary kw-next", "data-kw": "next",
      title: "Run the next step of the workflow (train, prune, refine, auto-symbolic)", text: "Next: done",
    }) as HTMLButtonElement;
    this.note = h("div", { class: "kw-present-note", role: "status", hidden: true }) as HTMLDivElement;
    this.el = h("div", { class: "kw-present-tools" }, this.next, this.toggle, this.full) as HTMLDivElement;
    if (!fullscreenAllowed()) this.full.title = `${FULLSCREEN_TITLE}. ${FULLSCREEN_REFUSED}`;
    this.toggle.addEventListener("click", this.onToggle);
    this.full.addEventListener("click", this.onFull);
    this.next.addEventListener("click", this.onNext);
    host.root.addEventListener("keydown", this.onKey);
    document.addEventListener("fullscreenchange", this.onFullChange);
    this.update(null);
  }

  /** Follows the `presenting` trait. */
  setPresenting(on: boolean): void {
    this.presenting = !!on;
    this.host.root.classList.toggle("kw-presenting", this.presenting);
    this.toggle.setAttribute("aria-pressed", String(this.presenting));
    this.toggle.textContent = this.presenting ? "Exit presentation" : "Present";
    this.host.redraw();
  }

  /** Follows the `next_step` trait. */
  update(step: NextStep | Record<string, never> | null | undefined): void {
    const s = step as NextStep | undefined;
    this.step = s && typeof s.command === "string" && s.command ? s : null;
    this.next.textContent = nextLabel(step);
    this.next.title = this.step ? `${this.step.reason || "Run the next step of the workflow"}` : "The workflow is done: read the formula";
    this.next.setAttribute("aria-label", this.step ? `Next step: ${this.step.label || this.step.command}` : "Next step: none, the workflow is done");
    this.applyLock();
  }

  /** Disabled while a fit or a long command runs (as the other model-changing buttons). */
  lock(locked: boolean): void {
    this.locked = locked;
    this.applyLock();
  }

  private applyLock(): void {
    this.next.disabled = this.locked || !this.step;
  }

  private onToggle = (): void => this.host.setPresenting(!this.presenting);

  private onNext = (): void => {
    if (!this.step || this.next.disabled) return;
    this.host.send(this.step.command, { ...(this.step.args ?? {}) });
    this.next.disabled = true;   // until the answer (a new next_step or status) arrives
  };

  private onFull = async (): Promise<void> => {
    const root = this.host.root;
    try {
      if (document.fullscreenElement === root) {
        await document.exitFullscreen();
        return;
      }
      if (!fullscreenAllowed() || typeof root.requestFullscreen !== "function") throw new Error("not allowed");
      await root.requestFullscreen();
    } catch {
      this.refused();
    }
  };

  private refused(): void {
    this.full.title = `${FULLSCREEN_TITLE}. ${FULLSCREEN_REFUSED}`;
    this.note.textContent = FULLSCREEN_REFUSED;
    this.note.hidden = false;
  }

  private onFullChange = (): void => {
    const on = document.fullscreenElement === this.host.root;
    this.host.root.classList.toggle("kw-fullscreen", on);
    this.full.setAttribute("aria-pressed", String(on));
    this.full.textContent = on ? "Exit full screen" : "Full screen";
    this.host.redraw();
  };

  private onKey = (ev: KeyboardEvent): void => {
    if (!ev.altKey || !ev.shiftKey || ev.ctrlKey || ev.metaKey) return;
    const key = ev.key.toUpperCase();
    const code = ev.code;
    if (key === PRESENT_KEY || code === "KeyP") {
      ev.preventDefault();
      ev.stopPropagation();
      this.onToggle();
    } else if (key === FULLSCREEN_KEY || code === "KeyF") {
      ev.preventDefault();
      ev.stopPropagation();
      void this.onFull();
    }
  };

  destroy(): void {
    this.toggle.removeEventListener("click", this.onToggle);
    this.full.removeEventListener("click", this.onFull);
    this.next.removeEventListener("click", this.onNext);
    this.host.root.removeEventListener("keydown", this.onKey);
    document.removeEventListener("fullscreenchange", this.onFullChange);
    if (typeof document !== "undefined" && document.fullscreenElement === this.host.root) void document.exitFullscreen?.().catch(() => {});
  }
}

/** Whether this document may go full screen (false in a frame without allowfullscreen). */
export function fullscreenAllowed(): boolean {
  return typeof document !== "undefined" && document.fullscreenEnabled === true;
}
