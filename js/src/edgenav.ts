/**
 * Choosing an edge with the keyboard: which drawn edge an arrow key, Home or End moves to, and how
 * the chosen edge is announced. Edges are the layout's active edges in graph order (l, i, j).
 * Left/Right: previous/next edge of the layer; Up/Down: the next/previous layer (inputs are drawn at
 * the bottom), the edge whose box is nearest horizontally; Home/End: first/last edge of the layer.
 */
import type { EdgeGeom } from "./layout";

export const NAV_KEYS = new Set(["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Home", "End"]);

export function edgeKey(g: Pick<EdgeGeom, "l" | "i" | "j">): string {
  return `${g.l},${g.i},${g.j}`;
}

function centre(g: EdgeGeom): number {
  return g.bx + g.bw / 2;
}

/** Index (into `edges`) of the edge of layer `l` whose box centre is nearest to `x`; -1 if the layer has none. */
function nearestInLayer(edges: EdgeGeom[], l: number, x: number): number {
  let best = -1;
  let bestD = Infinity;
  edges.forEach((g, k) => {
    if (g.l !== l) return;
    const d = Math.abs(centre(g) - x);
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  });
  return best;
}

/** The edge `key` moves to from `current` (an index into `edges`, -1 when none is chosen yet). */
export function navigate(edges: EdgeGeom[], current: number, key: string): number {
  if (!edges.length) return -1;
  const cur = edges[current];
  if (!cur) return 0;
  const sameLayer = edges.map((g, k) => (g.l === cur.l ? k : -1)).filter((k) => k >= 0);
  const at = sameLayer.indexOf(current);
  switch (key) {
    case "ArrowLeft":
      return sameLayer[Math.max(0, at - 1)];
    case "ArrowRight":
      return sameLayer[Math.min(sameLayer.length - 1, at + 1)];
    case "Home":
      return sameLayer[0];
    case "End":
      return sameLayer[sameLayer.length - 1];
    case "ArrowUp":
    case "ArrowDown": {
      const layers = [...new Set(edges.map((g) => g.l))].sort((a, b) => a - b);
      const li = layers.indexOf(cur.l) + (key === "ArrowUp" ? 1 : -1);
      if (li < 0 || li >= layers.length) return current;
      return nearestInLayer(edges, layers[li], centre(cur));
    }
    default:
      return current;
  }
}

/** Where the chosen edge goes after a redraw: the same (l, i, j) if still drawn, else the nearest in its layer. */
export function relocate(edges: EdgeGeom[], key: string | null, layer: number, x: number): number {
  if (!edges.length || key === null) return -1;
  const same = edges.findIndex((g) => edgeKey(g) === key);
  if (same >= 0) return same;
  const near = nearestInLayer(edges, layer, x);
  return near >= 0 ? near : 0;
}

/** "edge (0, 1, 0), sin, importance 0.82" */
export function describeEdge(g: EdgeGeom): string {
  const imp = Number(g.edge.importance);
  const kind = g.edge.symbolic ? g.edge.symbolic : "spline";
  return `edge (${g.l}, ${g.i}, ${g.j}), ${kind}, importance ${Number.isFinite(imp) ? imp.toFixed(2) : "unknown"}`;
}
