import { afterEach, beforeEach, describe, expect, it } from "vitest";
// @ts-ignore node built-in (the unit tests run in Node)
import { readFileSync } from "node:fs";
import { mountState, unmountAll } from "./mount";
import { paint } from "../../src/paint";
import { computeLayout } from "../../src/layout";
import { LIGHT, PaletteReader, PALETTE_VARS } from "../../src/theme";
// @ts-ignore plain JS fixture
import { smallState } from "../fake.mjs";
import { PROTOCOL } from "./fixtures";

// JupyterLab Dark's values (@jupyterlab/theme-dark-extension) of the variables the palette uses.
const JP_DARK: Record<string, string> = {
  "--jp-layout-color1": "#212121", "--jp-layout-color2": "#424242", "--jp-ui-font-color1": "rgb(222, 222, 222)",
  "--jp-ui-font-color2": "rgb(138, 138, 138)", "--jp-border-color1": "#616161", "--jp-border-color2": "#424242",
  "--jp-brand-color1": "#2196f3", "--jp-error-color1": "#f44336", "--jp-warn-color1": "#ff9800", "--jp-success-color1": "#4caf50",
};
const DARK_RULE = `body[data-jp-theme-light="false"] { ${Object.entries(JP_DARK).map(([k, v]) => `${k}: ${v};`).join(" ")} }`;

/** A CSS colour as [r, g, b], parsed independently of the code under test. */
function rgb(c: string): number[] {
  const probe = document.createElement("span");
  document.body.append(probe);
  probe.style.color = c;
  const got = getComputedStyle(probe).color;
  probe.remove();
  const hex = /^#([0-9a-f]{6})$/i.exec(got.trim());
  if (hex) return [0, 2, 4].map((k) => parseInt(hex[1].slice(k, k + 2), 16));
  const m = /rgba?\(([^)]+)\)/.exec(got);
  if (!m) throw new Error(`not a colour: ${c} -> ${got}`);
  return m[1].split(/[ ,/]+/).slice(0, 3).map(Number);
}

// vitest runs from js/ (happy-dom replaces import.meta.url's scheme)
const css: string = readFileSync("src/widget.css", "utf8");

beforeEach(() => {
  const style = document.createElement("style");
  style.textContent = `${css}\n${DARK_RULE}`;
  document.head.append(style);
});
afterEach(() => {
  unmountAll();
  document.head.replaceChildren();
  for (const a of ["data-jp-theme-light", "data-jp-theme-name"]) document.body.removeAttribute(a);
});

function mount(overrides: Record<string, unknown> = {}) {
  return mountState(smallState({ protocol: PROTOCOL, ...overrides }));
}

describe("palette from the theme's CSS variables", () => {
  it("uses the light fallbacks without Jupyter variables", () => {
    const { view } = mount();
    const pal = view.network.palette!;
    expect(rgb(pal.background)).toEqual([255, 255, 255]);
    expect(rgb(pal.edge)).toEqual(rgb(LIGHT.edge));
    expect(rgb(pal.symbolic)).toEqual(rgb(LIGHT.symbolic));
    expect(pal.lineScale).toBe(1);
  });

  it("reads JupyterLab Dark's --jp-* values", () => {
    document.body.dataset.jpThemeLight = "false";
    const { view } = mount();
    const pal = view.network.palette!;
    expect(rgb(pal.background)).toEqual([0x21, 0x21, 0x21]);
    expect(rgb(pal.nodeStroke)).toEqual([0x21, 0x21, 0x21]);
    expect(rgb(pal.edge)).toEqual([222, 222, 222]);
    expect(rgb(pal.text)).toEqual([222, 222, 222]);
    expect(rgb(pal.curve)).toEqual([0x21, 0x96, 0xf3]);
    expect(rgb(pal.symbolic)).toEqual([0xf4, 0x43, 0x36]);
    expect(rgb(pal.box)).toEqual([0x42, 0x42, 0x42]);
    expect(rgb(pal.test)).toEqual([0xff, 0x98, 0x00]);
  });

  it("thickens lines in JupyterLab's high-contrast theme", () => {
    document.body.dataset.jpThemeName = "JupyterLab Dark High Contrast";
    const { view } = mount();
    expect(view.network.palette!.lineScale).toBeCloseTo(1.6);
    expect(view.network.palette!.minAlpha).toBeCloseTo(0.55);
  });

  it("keeps the light default for a variable that is not a colour", () => {
    const host = document.createElement("div");
    host.className = "kanwidget";
    host.style.setProperty(PALETTE_VARS.background, "not-a-colour");
    document.body.append(host);
    expect(new PaletteReader().read(host).background).toBe(LIGHT.background);
  });

  it("redraws live when JupyterLab switches the theme", async () => {
    const { view } = mount();
    expect(rgb(view.network.palette!.background)).toEqual([255, 255, 255]);
    document.body.dataset.jpThemeLight = "false";
    document.body.dataset.jpThemeName = "JupyterLab Dark";
    await new Promise((r) => setTimeout(r, 60));
    expect(rgb(view.network.palette!.background)).toEqual([0x21, 0x21, 0x21]);
    document.body.dataset.jpThemeLight = "true";
    await new Promise((r) => setTimeout(r, 60));
    expect(rgb(view.network.palette!.background)).toEqual([255, 255, 255]);
  });
});

/** A 2D context that records every colour it is given. */
function recordingContext() {
  const colours: string[] = [];
  const target: Record<string, unknown> = { measureText: (t: string) => ({ width: t.length * 6 }) };
  const ctx = new Proxy(target, {
    get: (t, k) => (k in t ? t[k as string] : () => undefined),
    set: (t, k, v) => {
      if (k === "fillStyle" || k === "strokeStyle") colours.push(String(v));
      t[k as string] = v;
      return true;
    },
  });
  return { ctx: ctx as unknown as CanvasRenderingContext2D, colours };
}

describe("painting", () => {
  it("paints only palette colours (no hard-coded white)", () => {
    const g = globalThis as unknown as { Path2D?: unknown };
    const hadPath = "Path2D" in g;
    if (!hadPath) g.Path2D = class { moveTo() {} lineTo() {} rect() {} arc() {} };
    try {
      const { graph } = smallState();
      const layout = computeLayout(graph, 720, 430);
      const pal = { ...LIGHT, background: "rgb(1, 2, 3)", edge: "rgb(4, 5, 6)", symbolic: "rgb(7, 8, 9)", box: "rgb(10, 11, 12)",
        boxStroke: "rgb(13, 14, 15)", node: "rgb(16, 17, 18)", nodeStroke: "rgb(19, 20, 21)", text: "rgb(22, 23, 24)" };
      const { ctx, colours } = recordingContext();
      paint(ctx, layout, graph, null, 1, null, pal);
      const used = new Set(colours);
      for (const c of ["background", "edge", "symbolic", "box", "boxStroke", "node", "nodeStroke", "text"] as const) expect(used.has(pal[c])).toBe(true);
      const allowed = new Set(Object.values(pal).map(String));
      expect([...used].filter((c) => !allowed.has(c))).toEqual([]);
    } finally {
      if (!hadPath) delete g.Path2D;
    }
  });
});
