/**
 * Node and edge geometry of the network picture (CSS pixels).
 * Inputs are drawn at the bottom, outputs at the top (as in the KAN paper). Between two levels,
 * each edge (i, j) gets a slot in a row of small boxes (slot = i * out + j) that holds the plot of
 * its function; the edge is drawn as a line from input node i to the bottom of its box and from the
 * top of its box to output node j.
 */
import type { Graph, GraphEdge } from "./types";

export interface NodePos {
  x: number;
  y: number;
  level: number;
  index: number;
  importance: number;
  /** arity of a multiplication node (drawn as ×), 0 for an additive node */
  mult: number;
  /** false for a hidden node left without any active edge (pruned away): not drawn, not counted */
  live: boolean;
}

export interface EdgeGeom {
  /** Index of the edge in graph order (all layers), also its index in the curves buffer. */
  e: number;
  l: number;
  i: number;
  j: number;
  edge: GraphEdge;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  /** Box (left, top, width, height) holding the edge's mini plot. */
  bx: number;
  by: number;
  bw: number;
  bh: number;
}

export interface Layout {
  width: number;
  height: number;
  levels: NodePos[][];
  /** Active edges only, in graph order. */
  edges: EdgeGeom[];
  nodeRadius: number;
  /** Number of nodes drawn (live ones: inputs, outputs and hidden nodes with an active edge). */
  nodeCount: number;
  /** Live nodes per level (the shape label): hidden nodes without any active edge are left out. */
  liveWidth: number[];
  symbolicCount: number;
  /** Multiplication nodes drawn (as ×). */
  multCount: number;
  /** Active edges drawn per layer. */
  edgesPerLayer: number[];
}

export const PAD_X = 16;
export const PAD_Y = 30;

/** Preferred canvas height (CSS px) for a network of this depth. */
export function preferredHeight(graph: Graph | null | undefined): number {
  const depth = graph?.layers?.length ?? 0;
  return Math.max(240, Math.min(640, 90 + 170 * depth));
}

export function nodeX(index: number, count: number, width: number): number {
  const span = Math.max(1, width - 2 * PAD_X);
  return PAD_X + ((index + 0.5) * span) / Math.max(1, count);
}

export function levelY(level: number, levels: number, height: number): number {
  if (levels <= 1) return height / 2;
  const span = Math.max(1, height - 2 * PAD_Y);
  return height - PAD_Y - (level * span) / (levels - 1);
}

/**
 * Which nodes are live, per level: inputs and outputs always; a hidden node when at least one active
 * edge goes into it (into one of its subnodes for a product) or out of it. Pruned nodes have none.
 */
export function liveNodes(graph: Graph | null | undefined): boolean[][] {
  const widths = graph?.width ?? [];
  const L = widths.length;
  const live = widths.map((n, level) => new Array<boolean>(Math.max(0, n | 0)).fill(level === 0 || level === L - 1));
  (graph?.layers ?? []).forEach((layer, l) => {
    for (const edge of layer?.edges ?? []) {
      if (!edge || !edge.active) continue;
      if (live[l] && edge.i < live[l].length) live[l][edge.i] = true;
      const j = layer.owner ? layer.owner[edge.j] : edge.j;
      if (live[l + 1] && j < live[l + 1].length) live[l + 1][j] = true;
    }
  });
  return live;
}

export function computeLayout(graph: Graph | null | undefined, width: number, height: number): Layout {
  const out: Layout = { width, height, levels: [], edges: [], nodeRadius: 4, nodeCount: 0, liveWidth: [], symbolicCount: 0, multCount: 0, edgesPerLayer: [] };
  if (!graph || !Array.isArray(graph.width) || graph.width.length === 0) return out;
  const widths = graph.width;
  const L = widths.length;
  const live = liveNodes(graph);
  let minSpacing = Infinity;
  for (let level = 0; level < L; level++) {
    const n = Math.max(0, widths[level] | 0);
    const row: NodePos[] = [];
    const y = levelY(level, L, height);
    for (let k = 0; k < n; k++) {
      const info = graph.nodes?.[level]?.[k];
      const imp = info?.importance;
      const mult = typeof info?.mult === "number" && info.mult > 0 ? info.mult : 0;
      const isLive = live[level]?.[k] ?? true;
      row.push({ x: nodeX(k, n, width), y, level, index: k, importance: typeof imp === "number" ? imp : 1, mult, live: isLive });
      if (mult && isLive) out.multCount++;
    }
    if (n > 0) minSpacing = Math.min(minSpacing, (width - 2 * PAD_X) / n);
    out.levels.push(row);
    const nLive = row.filter((p) => p.live).length;
    out.liveWidth.push(nLive);
    out.nodeCount += nLive;
  }
  const bandH = L > 1 ? (height - 2 * PAD_Y) / (L - 1) : height;
  out.nodeRadius = Math.max(1.5, Math.min(7, minSpacing * 0.28, bandH * 0.06));

  let e = 0;
  const layers = graph.layers ?? [];
  for (let l = 0; l < layers.length; l++) {
    const layer = layers[l];
    const nin = layer.in ?? widths[l] ?? 0;
    const nout = layer.out ?? widths[l + 1] ?? 0;
    const slots = Math.max(1, nin * nout);
    const slotW = Math.max(0, width - 2 * PAD_X) / slots;
    const bw = Math.min(slotW * 0.8, bandH * 0.42, 84);
    const bh = Math.min(bw, bandH * 0.42);
    const ya = levelY(l, L, height);
    const yb = levelY(l + 1, L, height);
    const cy = (ya + yb) / 2;
    out.edgesPerLayer[l] = 0;
    for (const edge of layer.edges ?? []) {
      const idx = e++;
      if (!edge || !edge.active) continue;
      const { i, j } = edge;
      const a = out.levels[l]?.[i];
      const b = out.levels[l + 1]?.[layer.owner ? layer.owner[j] : j];   // a subnode feeds its product node
      if (!a || !b) continue;
      const slot = i * nout + j;
      const cx = PAD_X + (slot + 0.5) * slotW;
      out.edges.push({
        e: idx, l, i, j, edge,
        x0: a.x, y0: a.y, x1: b.x, y1: b.y,
        bx: cx - bw / 2, by: cy - bh / 2, bw, bh,
      });
      out.edgesPerLayer[l]++;
      if (edge.symbolic) out.symbolicCount++;
    }
  }
  return out;
}

function distToSegment(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax;
  const dy = by - ay;
  const len2 = dx * dx + dy * dy;
  let t = len2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0;
  t = Math.max(0, Math.min(1, t));
  const qx = ax + t * dx - px;
  const qy = ay + t * dy - py;
  return Math.sqrt(qx * qx + qy * qy);
}

/** Distance (CSS px) from a point to the drawn shape of an edge (its box or its two line pieces). */
export function edgeDistance(g: EdgeGeom, px: number, py: number): number {
  if (px >= g.bx && px <= g.bx + g.bw && py >= g.by && py <= g.by + g.bh) return 0;
  const mx = g.bx + g.bw / 2;
  const d1 = distToSegment(px, py, g.x0, g.y0, mx, g.by + g.bh);
  const d2 = distToSegment(px, py, mx, g.by, g.x1, g.y1);
  // Distance to the box outline (for boxes the point is outside of).
  const cx = Math.max(g.bx, Math.min(px, g.bx + g.bw));
  const cy = Math.max(g.by, Math.min(py, g.by + g.bh));
  const d3 = Math.hypot(px - cx, py - cy);
  return Math.min(d1, d2, d3);
}

/** The edge nearest to (px, py) within `tolerance` px; boxes win over lines passing nearby. */
export function hitTest(layout: Layout, px: number, py: number, tolerance = 5): EdgeGeom | null {
  let best: EdgeGeom | null = null;
  let bestD = tolerance;
  for (const g of layout.edges) {
    const d = edgeDistance(g, px, py);
    if (d < bestD || (d === 0 && bestD === 0 && best && g.bw > best.bw)) {
      best = g;
      bestD = d;
    }
  }
  return best;
}
