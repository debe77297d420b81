/** Painting the network on a canvas: nodes, edges batched by style, per-edge mini plots, labels. */
import { curveX, curveY, type CurveSet } from "./curves";
import type { EdgeGeom, Layout } from "./layout";
import { LIGHT, type Palette } from "./theme";
import type { Graph } from "./types";

/** Importance is quantised into this many opacity buckets so edges can be stroked in batches. */
const BUCKETS = 8;
/** Boxes narrower than this (CSS px) get no mini plot: the edge is a plain line. */
const MIN_PLOT_BOX = 7;
const MIN_LABEL_BOX = 16;
/** Layers with more active edges than this are drawn as hairlines. */
const DENSE_LAYER = 300;

export function bucketOf(importance: number): number {
  const v = Number.isFinite(importance) ? Math.max(0, Math.min(1, importance)) : 1;
  return Math.min(BUCKETS - 1, Math.floor(v * BUCKETS));
}

export function bucketAlpha(b: number): number {
  return 0.12 + (0.88 * (b + 1)) / BUCKETS;
}

/** Least opacity of an edge line of the least (LINE_FLOOR) and most (2 x LINE_FLOOR) important bucket. */
export const LINE_FLOOR = 0.05;

/**
 * Each layer's importance scale: its largest active edge importance (1 when none is above 0).
 * Importances are divided by it, so a wide layer whose edges all share a small attribution (the 64x64
 * middle of [8,64,64,1]) still spans the opacity buckets; its ordering (faint = less important) stays.
 */
export function layerImportanceScale(layout: Layout): number[] {
  const scale: number[] = [];
  for (const g of layout.edges) {
    const v = g.edge.importance;
    if (Number.isFinite(v) && v > (scale[g.l] ?? 0)) scale[g.l] = v;
  }
  return layout.edgesPerLayer.map((_, l) => Math.min(1, (scale[l] ?? 0) > 0 ? scale[l] : 1));
}

/**
 * Opacity of an edge line: by importance bucket, fainter in dense layers (thousands of overlapping
 * lines), never below a floor that grows with the bucket, so every layer stays visible and an
 * unimportant edge is still fainter than an important one.
 */
export function lineAlpha(bucket: number, symbolic: boolean, edgesInLayer: number): number {
  const density = Math.min(1, Math.sqrt(60 / Math.max(1, edgesInLayer)));
  const base = bucketAlpha(bucket) * (symbolic ? 0.9 : 0.75) * (symbolic ? Math.max(0.5, density) : density);
  return Math.max(base, LINE_FLOOR * (1 + bucket / (BUCKETS - 1)));
}

/** A path for `ctx`: the context's own recording path when it has one (the SVG export), else a Path2D. */
function newPath(ctx: CanvasRenderingContext2D): Path2D {
  const own = (ctx as unknown as { createPath?: () => Path2D | undefined }).createPath;
  return (typeof own === "function" ? own.call(ctx) : undefined) ?? new Path2D();
}

/** Tells a recording context (svgcontext.ts) which part of the picture comes next; a canvas ignores it. */
function part(ctx: CanvasRenderingContext2D, name: string): void {
  (ctx as unknown as { beginPart?: (name: string) => void }).beginPart?.(name);
}


/**
 * Paints the whole picture in the colours of `pal` (the theme's palette, see theme.ts); the canvas
 * itself stays transparent over the themed background of `.kw-network`.
 * Edges are grouped by (kind, opacity bucket) and stroked as one path each.
 */
export function paint(
  ctx: CanvasRenderingContext2D, layout: Layout, graph: Graph | null, curves: CurveSet | null,
  dpr = 1, scratch: HTMLCanvasElement | null = null, pal: Palette = LIGHT,
): void {
  const nb = BUCKETS;
  const ls = pal.lineScale;
  const alphaOf = (a: number) => Math.max(pal.minAlpha, a);
  const linePaths = new Map<number, Path2D>();
  const boxPaths: Path2D[] = [];
  const curvePaths: Path2D[] = [];
  for (let k = 0; k < 2 * nb; k++) curvePaths.push(newPath(ctx));
  for (let k = 0; k < nb; k++) boxPaths.push(newPath(ctx));
  const lineWidthByLayer: number[] = [];
  const importanceScale = layerImportanceScale(layout);
  const labels: EdgeGeom[] = [];
  const usedCurve = new Uint8Array(2 * nb);
  const usedBox = new Uint8Array(nb);

  for (const g of layout.edges) {
    const b = bucketOf(g.edge.importance / (importanceScale[g.l] ?? 1));
    const kind = g.edge.symbolic ? 1 : 0;
    const key = kind * nb + b;
    const mx = g.bx + g.bw / 2;
    const lkey = g.l * 2 * nb + key;
    let p = linePaths.get(lkey);
    if (!p) {
      p = newPath(ctx);
      linePaths.set(lkey, p);
      // Thinner lines in dense layers so thousands of edges stay readable.
      lineWidthByLayer[g.l] = Math.max(0.35, Math.min(1.6, g.bw / 10));
    }
    if (g.bw >= MIN_PLOT_BOX) {
      p.moveTo(g.x0, g.y0);
      p.lineTo(mx, g.by + g.bh);
      p.moveTo(mx, g.by);
      p.lineTo(g.x1, g.y1);
    } else {
      // no box drawn: one continuous line through the box centre
      p.moveTo(g.x0, g.y0);
      p.lineTo(mx, g.by + g.bh / 2);
      p.lineTo(g.x1, g.y1);
    }
    if (g.bw >= MIN_PLOT_BOX) {
      boxPaths[b].rect(g.bx, g.by, g.bw, g.bh);
      usedBox[b] = 1;
      if (curves && addCurve(curvePaths[key], g, curves)) usedCurve[key] = 1;
      if (g.edge.symbolic && g.bw >= MIN_LABEL_BOX) labels.push(g);
    }
  }

  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  part(ctx, "edges");
  // 1. lines, batched per (layer, kind, opacity bucket); low-importance batches first
  const lineKeys = [...linePaths.keys()].sort((a, b) => (a % nb) - (b % nb) || a - b);
  // Dense layers (hundreds of faint hairlines) are rasterised at 1x on a scratch canvas when the
  // screen is high-DPI, then scaled up: 4x fewer pixels to cover, no visible difference.
  const isDense = (l: number) => (layout.edgesPerLayer[l] ?? 0) > DENSE_LAYER;
  let sctx: CanvasRenderingContext2D | null = null;
  if (scratch && dpr > 1 && layout.edgesPerLayer.some((n) => n > DENSE_LAYER)) {
    const sw = Math.ceil(layout.width);
    const sh = Math.ceil(layout.height);
    if (scratch.width !== sw) scratch.width = sw;
    if (scratch.height !== sh) scratch.height = sh;
    sctx = scratch.getContext("2d");
    sctx?.clearRect(0, 0, sw, sh);
  }
  for (const lkey of lineKeys) {
    const l = Math.floor(lkey / (2 * nb));
    const key = lkey % (2 * nb);
    const kind = key >= nb ? 1 : 0;
    const b = key % nb;
    const dense = isDense(l);
    const c = dense && sctx ? sctx : ctx;
    c.strokeStyle = kind ? pal.symbolic : pal.edge;
    // Dense layers get fainter lines so thousands of overlapping edges do not turn into a solid block.
    c.globalAlpha = alphaOf(lineAlpha(b, kind === 1, layout.edgesPerLayer[l] ?? 0));
    // Dense layers: at most one device pixel wide, so the rasteriser takes its fast hairline path.
    const w = lineWidthByLayer[l] * (0.6 + b / nb) * ls;
    c.lineWidth = dense ? Math.min(w, c === sctx ? 1 : 1 / dpr) : w;
    c.lineCap = dense ? "butt" : "round";
    c.stroke(linePaths.get(lkey) as Path2D);
  }
  if (sctx && scratch) {
    ctx.globalAlpha = 1;
    ctx.drawImage(scratch, 0, 0, layout.width, layout.height);
  }
  // 2. boxes
  part(ctx, "boxes");
  ctx.lineWidth = ls;
  for (let b = 0; b < nb; b++) {
    if (!usedBox[b]) continue;
    ctx.globalAlpha = alphaOf(0.35 + 0.65 * bucketAlpha(b));
    ctx.fillStyle = pal.box;
    ctx.fill(boxPaths[b]);
    ctx.strokeStyle = pal.boxStroke;
    ctx.stroke(boxPaths[b]);
  }
  // 3. mini plots (a recording context writes one element per edge curve)
  part(ctx, "curves");
  ctx.lineWidth = 1.6 * ls;
  for (let key = 0; key < 2 * nb; key++) {
    if (!usedCurve[key]) continue;
    const kind = key >= nb ? 1 : 0;
    ctx.strokeStyle = kind ? pal.symbolic : pal.curve;
    ctx.globalAlpha = alphaOf(Math.min(1, 0.15 + bucketAlpha(key % nb)));
    ctx.stroke(curvePaths[key]);
  }
  // 4. symbolic labels (only where boxes are big enough to carry text)
  part(ctx, "labels");
  if (labels.length) {
    ctx.globalAlpha = 1;
    const size = Math.max(9, Math.min(12, labels[0].bw * 0.2));
    ctx.font = `600 ${size}px system-ui, -apple-system, "Segoe UI", sans-serif`;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    for (const g of labels) {
      const text = g.edge.symbolic as string;
      const tw = ctx.measureText(text).width;
      const cx = g.bx + g.bw / 2;
      const cy = g.by + g.bh + size * 0.9;
      ctx.fillStyle = pal.background;
      roundRect(ctx, cx - tw / 2 - 4, cy - size * 0.7, tw + 8, size * 1.4, 4);
      ctx.fill();
      ctx.strokeStyle = pal.symbolic;
      ctx.lineWidth = ls;
      ctx.stroke();
      ctx.fillStyle = pal.symbolic;
      ctx.fillText(text, cx, cy + 0.5);
    }
  }
  // 5. nodes and names
  part(ctx, "nodes");
  drawNodes(ctx, layout, graph, pal);
  ctx.globalAlpha = 1;
}

function addCurve(path: Path2D, g: EdgeGeom, curves: CurveSet): boolean {
  const xs = curveX(curves, g.e);
  const ys = curveY(curves, g.e);
  if (!xs || !ys || xs.length < 2) return false;
  let { xmin, xmax, ymin, ymax } = g.edge;
  if (!(xmax > xmin)) {
    xmin = Infinity; xmax = -Infinity;
    for (let k = 0; k < xs.length; k++) { if (xs[k] < xmin) xmin = xs[k]; if (xs[k] > xmax) xmax = xs[k]; }
  }
  if (!(ymax >= ymin) || !Number.isFinite(ymin) || !Number.isFinite(ymax)) {
    ymin = Infinity; ymax = -Infinity;
    for (let k = 0; k < ys.length; k++) { if (ys[k] < ymin) ymin = ys[k]; if (ys[k] > ymax) ymax = ys[k]; }
  }
  const padX = g.bw * 0.1;
  const padY = g.bh * 0.14;
  const sx = (g.bw - 2 * padX) / (xmax - xmin || 1);
  const flat = !(ymax - ymin > 1e-9 * Math.max(1, Math.abs(ymax)));
  const sy = flat ? 0 : (g.bh - 2 * padY) / (ymax - ymin);
  const x0 = g.bx + padX;
  const yb = g.by + g.bh - padY;
  const ymid = g.by + g.bh / 2;
  let started = false;
  for (let k = 0; k < xs.length; k++) {
    const x = xs[k];
    const y = ys[k];
    if (!Number.isFinite(x) || !Number.isFinite(y)) { started = false; continue; }
    const px = x0 + (x - xmin) * sx;
    const py = flat ? ymid : yb - (y - ymin) * sy;
    if (!started) { path.moveTo(px, py); started = true; } else path.lineTo(px, py);
  }
  return true;
}

function roundRect(ctx: CanvasRenderingContext2D, x: number, y: number, w: number, h: number, r: number): void {
  ctx.beginPath();
  ctx.moveTo(x + r, y);
  ctx.arcTo(x + w, y, x + w, y + h, r);
  ctx.arcTo(x + w, y + h, x, y + h, r);
  ctx.arcTo(x, y + h, x, y, r);
  ctx.arcTo(x, y, x + w, y, r);
  ctx.closePath();
}

function drawNodes(ctx: CanvasRenderingContext2D, layout: Layout, graph: Graph | null, pal: Palette): void {
  const r = layout.nodeRadius;
  for (const row of layout.levels) {
    for (const n of row) {
      if (!n.live) continue;   // pruned away: no edge in or out
      ctx.globalAlpha = 1;
      ctx.beginPath();
      ctx.arc(n.x, n.y, r, 0, Math.PI * 2);
      ctx.fillStyle = pal.background;
      ctx.fill();
      ctx.globalAlpha = Math.max(pal.minAlpha, 0.3 + 0.7 * Math.max(0, Math.min(1, n.importance)));
      ctx.beginPath();
      ctx.arc(n.x, n.y, r, 0, Math.PI * 2);
      ctx.fillStyle = pal.node;
      ctx.fill();
      if (r >= 3) {
        ctx.globalAlpha = 1;
        ctx.lineWidth = 1.25 * pal.lineScale;
        ctx.strokeStyle = pal.nodeStroke;
        ctx.stroke();
      }
      if (n.mult) drawTimes(ctx, n.x, n.y, Math.max(r, 5), pal);
    }
  }
  ctx.globalAlpha = 1;
  const L = layout.levels.length;
  if (L === 0) return;
  ctx.fillStyle = pal.text;
  // names grow with the line scale (presentation mode, high contrast), up to 1.6x
  ctx.font = `500 ${Math.round(12 * Math.max(1, Math.min(1.6, pal.lineScale)))}px system-ui, -apple-system, "Segoe UI", sans-serif`;
  ctx.textAlign = "center";
  const names = (row: NodePosLike[], vars: string[] | undefined, prefix: string, below: boolean) => {
    if (!row.length) return;
    const spacing = row.length > 1 ? row[1].x - row[0].x : layout.width;
    if (spacing < 14) return;
    ctx.textBaseline = below ? "top" : "bottom";
    for (const n of row) {
      let text = vars?.[n.index] ?? `${prefix}${n.index + 1}`;
      const max = spacing - 4;
      if (ctx.measureText(text).width > max) {
        while (text.length > 1 && ctx.measureText(text + "…").width > max) text = text.slice(0, -1);
        text += "…";
      }
      ctx.fillText(text, n.x, below ? n.y + r + 5 : n.y - r - 5);
    }
  };
  names(layout.levels[0], graph?.in_vars, "x", true);
  if (L > 1) names(layout.levels[L - 1], graph?.out_vars, "y", false);
}

type NodePosLike = { x: number; y: number; index: number };

/** A multiplication node: a ring with a × inside, large enough to read even when nodes are small. */
function drawTimes(ctx: CanvasRenderingContext2D, x: number, y: number, r: number, pal: Palette): void {
  const R = r + 3;
  ctx.globalAlpha = 1;
  ctx.beginPath();
  ctx.arc(x, y, R, 0, Math.PI * 2);
  ctx.fillStyle = pal.background;
  ctx.fill();
  ctx.lineWidth = 1.5 * pal.lineScale;
  ctx.strokeStyle = pal.node;
  ctx.stroke();
  const d = R * 0.5;
  ctx.beginPath();
  ctx.moveTo(x - d, y - d);
  ctx.lineTo(x + d, y + d);
  ctx.moveTo(x + d, y - d);
  ctx.lineTo(x - d, y + d);
  ctx.stroke();
}
