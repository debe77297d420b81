import { describe, expect, it } from "vitest";
import { toFloat32, fromFloat32 } from "../../src/bytes";
import { decodeCurves, curveX, curveY, decodeMetrics, edgeCount } from "../../src/curves";
// @ts-ignore plain JS fixture
import { makeNetwork, makeMetricsRows, metricsBytes } from "../fake.mjs";

describe("float32 decoding", () => {
  const values = [1.5, -2.25, 3e-3, 1e6];
  const buf = fromFloat32(values);

  it("decodes an ArrayBuffer", () => {
    expect(Array.from(toFloat32(buf))).toEqual(Array.from(new Float32Array(values)));
  });
  it("decodes a DataView", () => {
    expect(Array.from(toFloat32(new DataView(buf)))).toEqual(Array.from(new Float32Array(values)));
  });
  it("decodes a Uint8Array", () => {
    expect(Array.from(toFloat32(new Uint8Array(buf)))).toEqual(Array.from(new Float32Array(values)));
  });
  it("decodes an unaligned DataView by copying", () => {
    const big = new Uint8Array(buf.byteLength + 3);
    big.set(new Uint8Array(buf), 3);
    const dv = new DataView(big.buffer, 3, buf.byteLength);
    expect(Array.from(toFloat32(dv))).toEqual(Array.from(new Float32Array(values)));
  });
  it("honours the byte offset of a view into a larger buffer", () => {
    const big = new Float32Array([9, 9, ...values, 9]);
    const dv = new DataView(big.buffer, 8, values.length * 4);
    expect(Array.from(toFloat32(dv))).toEqual(Array.from(new Float32Array(values)));
  });
  it("gives an empty array for null/undefined", () => {
    expect(toFloat32(null).length).toBe(0);
    expect(toFloat32(undefined).length).toBe(0);
  });
});

describe("curve buffer", () => {
  it("indexes x and y per edge in graph order", () => {
    const { graph, curves } = makeNetwork([2, 3, 1], { P: 8 });
    const c = decodeCurves(curves, graph.num_points);
    expect(c.count).toBe(edgeCount(graph));
    expect(c.count).toBe(2 * 3 + 3);
    const raw = new Float32Array(curves.buffer);
    for (const e of [0, 4, 8]) {
      expect(Array.from(curveX(c, e)!)).toEqual(Array.from(raw.subarray(e * 16, e * 16 + 8)));
      expect(Array.from(curveY(c, e)!)).toEqual(Array.from(raw.subarray(e * 16 + 8, e * 16 + 16)));
    }
    // x goes from -1 to 1; the y range matches the edge's declared ymin/ymax
    const e5 = graph.layers[0].edges[5];
    const ys = Array.from(curveY(c, 5)!);
    expect(Math.min(...ys)).toBeCloseTo(e5.ymin, 5);
    expect(Math.max(...ys)).toBeCloseTo(e5.ymax, 5);
    expect(curveX(c, 9)).toBeNull();
  });
  it("works the same from an ArrayBuffer", () => {
    const { graph, curves } = makeNetwork([2, 2], { P: 4 });
    const a = decodeCurves(curves, graph.num_points);
    const b = decodeCurves(curves.buffer, graph.num_points);
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
  });
  it("reports how many edges a short buffer holds", () => {
    const c = decodeCurves(new ArrayBuffer(4 * 2 * 4 * 3 + 8), 4);
    expect(c.count).toBe(3);
  });
});

describe("metrics rows", () => {
  it("round-trips float32 rows of four", () => {
    const rows = makeMetricsRows(0, 5);
    const back = decodeMetrics(metricsBytes(rows));
    expect(back.length).toBe(5);
    back.forEach((r, k) => r.forEach((v, c) => expect(v).toBeCloseTo(rows[k][c], 5)));
  });
});
