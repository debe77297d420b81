/**
 * Canvas colours from the page's theme. widget.css defines `--kw-canvas-*` variables from the
 * Jupyter theme variables (`--jp-*`; without them, fallbacks that follow the page's `color-scheme`, as in
 * marimo's dark mode; system colours under `forced-colors`); the
 * canvases read them here at draw time, so the pictures follow light, dark and high-contrast themes.
 */

export interface Palette {
  background: string;
  edge: string;
  curve: string;
  symbolic: string;
  box: string;
  boxStroke: string;
  node: string;
  nodeStroke: string;
  text: string;
  muted: string;
  grid: string;
  axis: string;
  train: string;
  test: string;
  reg: string;
  focus: string;
  /** Line widths are multiplied by this (> 1 in high-contrast modes). */
  lineScale: number;
  /** Lowest opacity of an edge (faint edges stay visible in high-contrast modes). */
  minAlpha: number;
}

type ColorKey = Exclude<keyof Palette, "lineScale" | "minAlpha">;

/** The light palette: used for any variable the page does not define (no stylesheet, old host). */
export const LIGHT: Palette = {
  background: "#ffffff",
  edge: "#27324b",
  curve: "#2f5bd3",
  symbolic: "#d1364f",
  box: "#eef2fa",
  boxStroke: "#c9d2e6",
  node: "#27324b",
  nodeStroke: "#ffffff",
  text: "#27324b",
  muted: "#7a8499",
  grid: "#eceff5",
  axis: "#c9d0de",
  train: "#2f5bd3",
  test: "#e0761e",
  reg: "#2a9d62",
  focus: "#2f5bd3",
  lineScale: 1,
  minAlpha: 0,
};

/** CSS variable of each colour (defined on `.kanwidget` in widget.css). */
export const PALETTE_VARS: Record<ColorKey, string> = {
  background: "--kw-canvas-bg",
  edge: "--kw-canvas-edge",
  curve: "--kw-canvas-curve",
  symbolic: "--kw-canvas-symbolic",
  box: "--kw-canvas-box",
  boxStroke: "--kw-canvas-box-stroke",
  node: "--kw-canvas-node",
  nodeStroke: "--kw-canvas-node-stroke",
  text: "--kw-canvas-text",
  muted: "--kw-canvas-muted",
  grid: "--kw-canvas-grid",
  axis: "--kw-canvas-axis",
  train: "--kw-canvas-train",
  test: "--kw-canvas-test",
  reg: "--kw-canvas-reg",
  focus: "--kw-canvas-focus",
};
const LINE_SCALE_VAR = "--kw-canvas-line-scale";
const MIN_ALPHA_VAR = "--kw-canvas-min-alpha";
const KEYS = Object.keys(PALETTE_VARS) as ColorKey[];

function num(raw: string, fallback: number, lo: number, hi: number): number {
  const v = parseFloat(raw);
  return Number.isFinite(v) ? Math.max(lo, Math.min(hi, v)) : fallback;
}

/**
 * Reads the palette from an element's computed style. One `getComputedStyle` per call; the colours
 * are resolved to `rgb()` (through a hidden probe element, so system colours and any CSS colour
 * syntax reach the canvas as plain rgb) only when the raw values changed since the last call.
 */
export class PaletteReader {
  private key = "";
  private palette: Palette = LIGHT;

  read(el: Element | null): Palette {
    el = paletteHost(el);
    const got = rawValues(el);
    if (!got || !el) return this.palette;
    const { raw, scale, alpha, key } = got;
    if (key === this.key) return this.palette;
    const colors = resolveColors(el, raw);
    const out = { ...LIGHT };
    KEYS.forEach((k, n) => {
      if (colors[n]) out[k] = colors[n];
    });
    out.lineScale = num(scale, 1, 0.5, 4);
    out.minAlpha = num(alpha, 0, 0, 1);
    this.key = key;
    this.palette = out;
    return out;
  }

  /** True when the element's theme values differ from those of the last `read` (a redraw is due). */
  changed(el: Element | null): boolean {
    const got = rawValues(paletteHost(el));
    return !!got && got.key !== this.key;
  }

  /** Forgets the cached palette (the next read resolves every colour again). */
  reset(): void {
    this.key = "";
  }
}

/** The element whose style holds the palette: the widget root (where widget.css defines it). */
export function paletteHost(el: Element | null): Element | null {
  return el?.closest(".kanwidget") ?? el;
}

function rawValues(el: Element | null): { raw: string[]; scale: string; alpha: string; key: string } | null {
  if (!el || typeof getComputedStyle !== "function") return null;
  let cs: CSSStyleDeclaration;
  try {
    cs = getComputedStyle(el);
  } catch {
    return null;
  }
  const raw = KEYS.map((k) => cs.getPropertyValue(PALETTE_VARS[k]).trim());
  const scale = cs.getPropertyValue(LINE_SCALE_VAR).trim();
  const alpha = cs.getPropertyValue(MIN_ALPHA_VAR).trim();
  // Without Jupyter's variables the fallbacks are `light-dark(...)` (widget.css): the same raw text gives
  // other colours when the page's color-scheme flips (marimo dark mode), so the scheme is part of the key.
  const scheme = cs.getPropertyValue("color-scheme").trim();
  return { raw, scale, alpha, key: `${raw.join("|")}|${scale}|${alpha}|${scheme}` };
}

/** Resolves CSS colour strings in the context of `el`; "" where the value is empty or not a colour. */
function resolveColors(el: Element, raw: string[]): string[] {
  if (!raw.some(Boolean)) return raw;
  const probe = document.createElement("span");
  probe.setAttribute("aria-hidden", "true");
  probe.style.cssText = "position:absolute;width:0;height:0;overflow:hidden;visibility:hidden;forced-color-adjust:none";
  el.append(probe);
  try {
    return raw.map((value) => {
      if (!value) return "";
      probe.style.color = "";
      probe.style.color = value;
      if (!probe.style.color) return "";   // not a colour: keep the light default
      const got = getComputedStyle(probe).color.trim();
      return /^(rgb|#|hsl|color\()/i.test(got) ? got : value;
    });
  } finally {
    probe.remove();
  }
}

/** The theme may have changed: body attributes JupyterLab sets, colour-scheme / contrast media queries. */
export function watchTheme(onChange: () => void): () => void {
  const cleanups: (() => void)[] = [];
  if (typeof MutationObserver !== "undefined" && typeof document !== "undefined" && document.body) {
    const mo = new MutationObserver(onChange);
    mo.observe(document.body, { attributes: true, attributeFilter: ["data-jp-theme-light", "data-jp-theme-name", "class", "style"] });
    cleanups.push(() => mo.disconnect());
  }
  if (typeof window !== "undefined" && typeof window.matchMedia === "function") {
    for (const q of ["(prefers-color-scheme: dark)", "(forced-colors: active)", "(prefers-contrast: more)"]) {
      const mq = window.matchMedia(q);
      if (!mq || typeof mq.addEventListener !== "function") continue;
      mq.addEventListener("change", onChange);
      cleanups.push(() => mq.removeEventListener("change", onChange));
    }
  }
  return () => cleanups.forEach((f) => f());
}
