/**
 * Export of the network picture: "Save PNG" (the painter on a canvas at 2x device pixels, on the
 * theme's background, for slides) and "Save SVG" (the same painter on the recording context of
 * svgcontext.ts: a true vector picture, one `<path>` per edge curve).
 */
import { h } from "./dom";
import type { NetworkView } from "./network";
import { SvgContext } from "./svgcontext";

/** Scale of the PNG (device pixels per CSS pixel). */
export const PNG_SCALE = 2;

/** The network picture as an SVG document, or null when nothing is drawn yet. */
export function networkSvg(view: NetworkView): string | null {
  const layout = view.layout;
  if (!layout || !layout.nodeCount) return null;
  const ctx = new SvgContext(layout.width, layout.height, view.palette?.background ?? null);
  view.paintTo(ctx as unknown as CanvasRenderingContext2D, 1);
  return ctx.toSvg();
}

/** The network picture on a new canvas at `scale` device pixels per CSS pixel, or null. */
export function networkCanvas(view: NetworkView, scale = PNG_SCALE): HTMLCanvasElement | null {
  const layout = view.layout;
  if (!layout || !layout.nodeCount) return null;
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(layout.width * scale));
  canvas.height = Math.max(1, Math.round(layout.height * scale));
  const ctx = canvas.getContext("2d");
  if (!ctx) return null;
  ctx.setTransform(scale, 0, 0, scale, 0, 0);
  ctx.fillStyle = view.palette?.background ?? "#ffffff";
  ctx.fillRect(0, 0, layout.width, layout.height);
  view.paintTo(ctx, scale);
  return canvas;
}

/** Offers `blob` as a download named `name` (an <a download> click). */
export function download(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.style.display = "none";
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** The two Save buttons under the network picture. */
export class ExportBar {
  readonly el: HTMLDivElement;
  private readonly png: HTMLButtonElement;
  private readonly svg: HTMLButtonElement;

  constructor(private readonly view: NetworkView, private readonly onError: (message: string) => void = () => {}) {
    this.png = h("button", {
      type: "button", class: "kw-btn kw-small", "data-kw": "save-png", text: "Save PNG",
      "aria-label": "Save the network picture as PNG", title: "Save the network picture as a PNG (2x resolution, for slides)",
    }) as HTMLButtonElement;
    this.svg = h("button", {
      type: "button", class: "kw-btn kw-small", "data-kw": "save-svg", text: "Save SVG",
      "aria-label": "Save the network picture as SVG", title: "Save the network picture as an SVG (vector, for papers)",
    }) as HTMLButtonElement;
    this.el = h("div", { class: "kw-export" }, this.png, this.svg) as HTMLDivElement;
    this.png.addEventListener("click", this.onPng);
    this.svg.addEventListener("click", this.onSvg);
  }

  private onPng = (): void => {
    const canvas = networkCanvas(this.view);
    if (!canvas) return this.onError("no network picture to save yet");
    canvas.toBlob((blob) => {
      if (blob) download(blob, "kan-network.png");
      else this.onError("the browser could not encode the PNG");
    }, "image/png");
  };

  private onSvg = (): void => {
    const text = networkSvg(this.view);
    if (!text) return this.onError("no network picture to save yet");
    download(new Blob([text], { type: "image/svg+xml" }), "kan-network.svg");
  };

  destroy(): void {
    this.png.removeEventListener("click", this.onPng);
    this.svg.removeEventListener("click", this.onSvg);
  }
}
