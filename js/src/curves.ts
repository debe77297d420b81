/** Edge curve samples: for edge e (graph order), P x-values then P y-values, float32. */
import { toFloat32 } from "./bytes";
import type { BytesLike, Graph } from "./types";

export interface CurveSet {
  /** Points per edge. */
  P: number;
  /** Number of edges whose samples are present. */
  count: number;
  data: Float32Array;
}

export function decodeCurves(buf: BytesLike, numPoints: number): CurveSet {
  const data = toFloat32(buf);
  const P = Math.max(0, Math.floor(numPoints) || 0);
  const count = P > 0 ? Math.floor(data.length / (2 * P)) : 0;
  return { P, count, data };
}

/** x samples of edge e (a view, no copy), or null when the buffer does not hold edge e. */
export function curveX(c: CurveSet, e: number): Float32Array | null {
  if (e < 0 || e >= c.count) return null;
  const o = e * 2 * c.P;
  return c.data.subarray(o, o + c.P);
}

export function curveY(c: CurveSet, e: number): Float32Array | null {
  if (e < 0 || e >= c.count) return null;
  const o = e * 2 * c.P + c.P;
  return c.data.subarray(o, o + c.P);
}

/** Total number of edges listed in the graph (the expected curve count). */
export function edgeCount(graph: Graph | null | undefined): number {
  if (!graph || !Array.isArray(graph.layers)) return 0;
  let n = 0;
  for (const layer of graph.layers) n += layer.edges?.length ?? 0;
  return n;
}

/** Float32 rows of 4 (step, train, test, reg) -> row arrays. */
export function decodeMetrics(buf: BytesLike): number[][] {
  const d = toFloat32(buf);
  const rows: number[][] = [];
  for (let k = 0; k + 3 < d.length; k += 4) rows.push([d[k], d[k + 1], d[k + 2], d[k + 3]]);
  return rows;
}
