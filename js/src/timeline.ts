/** Version timeline: one chip per version (label + loss); click checks a version out. */
import { h, fmtNum } from "./dom";
import type { SendCommand, VersionInfo } from "./types";

export class Timeline {
  readonly el: HTMLDivElement;
  private list: HTMLDivElement;
  private send: SendCommand;
  private locked = false;

  constructor(send: SendCommand) {
    this.send = send;
    this.list = h("div", { class: "kw-versions", role: "list", "aria-label": "Versions" });
    this.el = h("div", { class: "kw-timeline" }, h("span", { class: "kw-timeline-title", text: "Versions" }), this.list);
  }

  update(versions: unknown): void {
    const vs = (Array.isArray(versions) ? versions : []) as VersionInfo[];
    const chips: HTMLElement[] = [];
    vs.forEach((v, k) => {
      if (!v || !Number.isFinite(Number(v.id))) return;
      const loss = v.test_loss ?? v.train_loss;
      const chip = h("button", {
        type: "button",
        class: `kw-version${v.current ? " current" : ""}`,
        "data-id": v.id,
        "aria-current": v.current ? "true" : null,
        "aria-label": `Version ${v.id}: ${v.label || `v${v.id}`}${loss === null || loss === undefined ? "" : `, loss ${fmtNum(loss)}`}${v.current ? " (current)" : ", check out"}`,
        title: `version ${v.id}: ${v.label}\ntrain ${fmtNum(v.train_loss)} · test ${fmtNum(v.test_loss)}${v.current ? "\n(current)" : "\nclick to check out"}`,
      },
        h("span", { class: "kw-version-label", text: v.label || `v${v.id}` }),
        h("span", { class: "kw-version-loss", text: loss === null || loss === undefined ? "" : fmtNum(loss) }));
      chip.addEventListener("click", () => {
        if (!v.current && !this.locked) this.send("checkout", { id: Number(v.id) });
      });
      if (k > 0) chips.push(h("span", { class: "kw-version-sep", "aria-hidden": "true", text: "›" }));
      chips.push(h("span", { role: "listitem", class: "kw-version-item" }, chip));
    });
    if (!chips.length) chips.push(h("span", { class: "kw-muted", text: "no versions yet" }));
    this.list.replaceChildren(...chips);
    this.lock(this.locked);
    const cur = this.list.querySelector<HTMLElement>(".kw-version.current");
    // Keep the current chip in view without scrolling the notebook page itself.
    if (cur && this.list.scrollWidth > this.list.clientWidth) {
      this.list.scrollLeft = Math.max(0, cur.offsetLeft - this.list.clientWidth / 2);
    }
  }

  /** While the model is training or busy, checking out (a model change) is disabled. */
  lock(locked: boolean): void {
    this.locked = locked;
    for (const chip of this.list.querySelectorAll<HTMLButtonElement>(".kw-version")) {
      chip.disabled = locked && !chip.classList.contains("current");
    }
  }
}
