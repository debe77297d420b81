/**
 * The data view's payload decoding and colours: `dataview` meta + `dataview_data` float32 arrays
 * (kanwidget/widget/dataview.py), theme-following colour maps (sequential for values, diverging for
 * the residual, both built from the palette of theme.ts) and heat-map images.
 */
import { toFloat32 } from "./bytes";
import type { Palette } from "./theme";
import type { BytesLike } from "./types";

export interface DataViewMeta {
  kind: "2d" | "slice" | "1d" | "none";
  resolution: number;
  thumb_size: number;
  axes: number[];
  axis_names: string[];
  box: [number, number][];
  input_box: [number, number][];
  held: number[];
  output: number;
  n_outputs: number;
  output_name: string;
  has_target: boolean;
  target_error?: string;
  task: string;
  value_range: [number, number];
  residual_range: [number, number];
  nodes: [number, number][];
  thumb_ranges: [number, number][];
  n_train: number;
  n_test: number;
  arrays: Record<string, [number, number]>;
  version: number;
  error?: string;
}

export interface DecodedView {
  meta: DataViewMeta;
  target: Float32Array | null;
  pred: Float32Array | null;
  residual: Float32Array | null;
  thumbs: Float32Array;
  /** rows of (first axis, second axis or label for 1d, label) */
  train: Float32Array;
  test: Float32Array;
}

/** The view's arrays by name, or null for an empty / unusable payload. */
export function decodeDataView(meta: unknown, buf: BytesLike): DecodedView | null {
  const m = meta as DataViewMeta | null;
  if (!m || typeof m !== "object" || !["2d", "slice", "1d"].includes(m.kind) || !m.arrays) return null;
  const all = toFloat32(buf);
  const total = Object.values(m.arrays).reduce((end, at) => Math.max(end, at[0] + at[1]), 0);
  if (all.length !== total) return null;             // a buffer from another update: wait for the pair
  const get = (name: string): Float32Array | null => {
    const at = m.arrays[name];
    if (!at || at[0] + at[1] > all.length) return null;
    return all.subarray(at[0], at[0] + at[1]);
  };
  const cells = m.kind === "1d" ? m.resolution : m.resolution * m.resolution;
  const pred = get("pred");
  if (!pred || pred.length !== cells) return null;
  return {
    meta: m,
    target: get("target"),
    pred,
    residual: get("residual"),
    thumbs: get("thumbs") ?? new Float32Array(0),
    train: get("train") ?? new Float32Array(0),
    test: get("test") ?? new Float32Array(0),
  };
}

export type RGB = [number, number, number];
export type ColorMap = (t: number) => RGB;

/** An `rgb()` / `#rrggbb` colour as numbers (black when unreadable). */
export function parseColor(c: string): RGB {
  const m = /rgba?\(\s*([\d.]+)[ ,]+([\d.]+)[ ,]+([\d.]+)/i.exec(c);
  if (m) return [Number(m[1]), Number(m[2]), Number(m[3])];
  const hex = /^#([0-9a-f]{6})$/i.exec(c.trim());
  if (hex) {
    const v = parseInt(hex[1], 16);
    return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
  }
  return [0, 0, 0];
}

function mix(a: RGB, b: RGB, t: number): RGB {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

/** Sequential map for values: from near the background (low) to the palette's curve colour (high). */
export function sequentialMap(pal: Palette): ColorMap {
  const bg = parseColor(pal.background);
  const hi = parseColor(pal.curve);
  const lo = mix(bg, hi, 0.06);
  return (t) => mix(lo, hi, clamp01(t));
}

/** Diverging map for the residual: symbolic colour (negative), background (0), train colour (positive). */
export function divergingMap(pal: Palette): ColorMap {
  const bg = parseColor(pal.background);
  const neg = parseColor(pal.symbolic);
  const pos = parseColor(pal.train);
  return (t) => {
    t = clamp01(t);
    return t < 0.5 ? mix(neg, bg, t * 2) : mix(bg, pos, (t - 0.5) * 2);
  };
}

export function clamp01(t: number): number {
  return Number.isFinite(t) ? Math.max(0, Math.min(1, t)) : 0;
}

/**
 * A heat-map image of `values` (rows x cols, row 0 = lowest second-axis value, drawn at the bottom)
 * on a canvas of rows x cols pixels; draw it scaled with image smoothing off.
 */
export function heatImage(values: ArrayLike<number>, rows: number, cols: number, range: [number, number],
                          map: ColorMap, into?: HTMLCanvasElement): HTMLCanvasElement {
  const c = into ?? document.createElement("canvas");
  if (c.width !== cols) c.width = cols;
  if (c.height !== rows) c.height = rows;
  const ctx = c.getContext("2d");
  if (!ctx) return c;
  const img = ctx.createImageData(cols, rows);
  const span = range[1] - range[0] || 1;
  for (let r = 0; r < rows; r++) {
    const y = rows - 1 - r;                     // flip: the first row is the bottom one
    for (let k = 0; k < cols; k++) {
      const v = values[r * cols + k];
      const [R, G, B] = map((v - range[0]) / span);
      const o = (y * cols + k) * 4;
      img.data[o] = R;
      img.data[o + 1] = G;
      img.data[o + 2] = B;
      img.data[o + 3] = Number.isFinite(v) ? 255 : 0;
    }
  }
  ctx.putImageData(img, 0, 0);
  return c;
}

export function rgbText(c: RGB): string {
  return `rgb(${Math.round(c[0])}, ${Math.round(c[1])}, ${Math.round(c[2])})`;
}
