/**
 * Pin to the side: keeps the widget in view while the notebook scrolls (issue 11, "the widget scrolls out
 * of view as the cells below it run"). Pinning moves the widget's root into a fixed layer at the bottom right
 * of the page (in the same document or shadow root, so the widget's styles and the theme still apply) and
 * leaves a small placeholder with an Unpin button in the output; unpinning puts the root back. Nothing is
 * copied: the same view, its canvases and its model listeners move with the root.
 */
import "./pin.css";
import { h } from "./dom";

export class PinToggle {
  readonly el: HTMLButtonElement;
  private readonly placeholder: HTMLDivElement;
  private readonly layer: HTMLDivElement;
  private pinnedNow = false;

  /** `root`: the widget's root element; `home`: the element the host gave the view (anywidget's `el`). */
  constructor(private readonly root: HTMLElement, private readonly home: HTMLElement) {
    this.el = h("button", {
      class: "kw-btn kw-small kw-pin", type: "button", "data-kw": "pin", "aria-pressed": "false",
      title: "Keep the widget in view while the notebook scrolls (pins it to the bottom right of the page)",
    });
    this.el.addEventListener("click", () => this.toggle());
    const unpin = h("button", { class: "kw-btn kw-small", type: "button", "data-kw": "unpin", text: "Unpin" });
    unpin.addEventListener("click", () => this.toggle(false));
    this.placeholder = h("div", { class: "kw-pin-placeholder" },
      h("span", { class: "kw-muted", text: "KAN widget pinned to the bottom right of the page." }), unpin);
    this.layer = h("div", { class: "kw-pin-layer" });
    this.label();
  }

  get pinned(): boolean {
    return this.pinnedNow;
  }

  /** Pins (true), unpins (false) or flips (no argument). */
  toggle(on: boolean = !this.pinnedNow): void {
    if (on === this.pinnedNow) return;
    if (on) {
      const host = layerHost(this.home);
      if (!host) return;
      this.home.append(this.placeholder);
      host.append(this.layer);
      this.layer.append(this.root);
    } else {
      this.home.append(this.root);
      this.placeholder.remove();
      this.layer.remove();
    }
    this.pinnedNow = on;
    this.root.classList.toggle("kw-pinned", on);
    this.label();
    this.el.focus();
  }

  /** Removes the layer and the placeholder (the view is going away). */
  destroy(): void {
    this.placeholder.remove();
    this.layer.remove();
  }

  private label(): void {
    this.el.textContent = this.pinnedNow ? "Unpin" : "Pin";
    this.el.setAttribute("aria-pressed", String(this.pinnedNow));
  }
}

/** Where the fixed layer goes: the shadow root the view lives in (marimo), else the document's body. */
export function layerHost(home: Node): ParentNode | null {
  const top = home.getRootNode?.();
  if (top && typeof ShadowRoot !== "undefined" && top instanceof ShadowRoot) return top;
  return home.ownerDocument?.body ?? null;
}
