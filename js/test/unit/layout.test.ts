import { describe, expect, it } from "vitest";
import { computeLayout, hitTest, levelY, nodeX, PAD_X, PAD_Y, edgeDistance } from "../../src/layout";
// @ts-ignore plain JS fixture
import { makeNetwork } from "../fake.mjs";

describe("layout", () => {
  const { graph } = makeNetwork([2, 5, 1], { inactive: ["0,1,4"], symbolic: { "0,0,1": "sin" } });
  const L = computeLayout(graph, 600, 400);

  it("places inputs at the bottom and outputs at the top", () => {
    expect(L.levels.map((r) => r.length)).toEqual([2, 5, 1]);
    expect(L.levels[0][0].y).toBe(400 - PAD_Y);
    expect(L.levels[2][0].y).toBe(PAD_Y);
    expect(L.levels[1][0].y).toBeCloseTo(200);
    expect(L.nodeCount).toBe(8);
  });
  it("spreads nodes of a level evenly and centred", () => {
    const xs = L.levels[1].map((n) => n.x);
    const gaps = xs.slice(1).map((x, k) => x - xs[k]);
    gaps.forEach((g) => expect(g).toBeCloseTo(gaps[0]));
    expect(xs[0] - PAD_X).toBeCloseTo(600 - PAD_X - xs[4]);
    expect(L.levels[2][0].x).toBeCloseTo(300);
    expect(nodeX(0, 1, 600)).toBe(300);
    expect(levelY(0, 1, 400)).toBe(200);
  });
  it("lists only active edges, with their graph index, and counts symbolic ones", () => {
    expect(L.edges.length).toBe(10 + 5 - 1);
    expect(L.edges.find((g) => g.l === 0 && g.i === 1 && g.j === 4)).toBeUndefined();
    const g = L.edges.find((g) => g.l === 1 && g.i === 2)!;
    expect(g.e).toBe(10 + 2);
    expect(L.symbolicCount).toBe(1);
  });
  it("connects each edge from its input node to its output node through its box", () => {
    for (const g of L.edges) {
      expect(g.x0).toBe(L.levels[g.l][g.i].x);
      expect(g.y1).toBe(L.levels[g.l + 1][g.j].y);
      expect(g.by).toBeGreaterThan(g.y1);
      expect(g.by + g.bh).toBeLessThan(g.y0);
    }
    // boxes of a layer are in (i, j) order left to right and do not overlap
    const row = L.edges.filter((g) => g.l === 0);
    for (let k = 1; k < row.length; k++) expect(row[k].bx).toBeGreaterThan(row[k - 1].bx + row[k - 1].bw);
  });
  it("hit-tests boxes and lines within a few pixels", () => {
    const g = L.edges.find((g) => g.l === 0 && g.i === 0 && g.j === 2)!;
    expect(hitTest(L, g.bx + g.bw / 2, g.by + g.bh / 2)).toBe(g);
    // a point on the line from the box top to the output node, 3 px off
    const mx = g.bx + g.bw / 2;
    const px = (mx + g.x1) / 2 + 3;
    const py = (g.by + g.y1) / 2;
    expect(edgeDistance(g, px, py)).toBeLessThan(4);
    expect(hitTest(L, 5, 200)).toBeNull();
  });
  it("scales to [8,64,64,1]", () => {
    const big = makeNetwork([8, 64, 64, 1], { P: 32 });
    const t0 = performance.now();
    const B = computeLayout(big.graph, 1000, 600);
    expect(performance.now() - t0).toBeLessThan(200);
    expect(B.edges.length).toBe(8 * 64 + 64 * 64 + 64);
    expect(B.nodeCount).toBe(137);
  });
  it("handles an empty graph", () => {
    const E = computeLayout(null, 600, 400);
    expect(E.nodeCount).toBe(0);
    expect(E.edges.length).toBe(0);
  });
});

describe("layout with multiplication nodes", () => {
  // KAN(width=[2, [1, 1], 1]): level 1 has one additive node and one product of 2 subnodes, so layer 0 has
  // 3 outputs (subnodes) feeding nodes [0, 1, 1]; the graph marks the product node with its arity.
  const edge = (i: number, j: number) => ({ i, j, active: true, importance: 1, symbolic: null, xmin: -1, xmax: 1, ymin: -1, ymax: 1 });
  const graph = {
    width: [2, 2, 1], in_vars: ["x_1", "x_2"], out_vars: ["y_1"], num_points: 4, version: 0,
    nodes: [[{ importance: 1 }, { importance: 1 }], [{ importance: 1 }, { importance: 1, mult: 2 }], [{ importance: 1 }]],
    layers: [
      { in: 2, out: 3, owner: [0, 1, 1], edges: [0, 1].flatMap((i) => [0, 1, 2].map((j) => edge(i, j))) },
      { in: 2, out: 1, edges: [edge(0, 0), edge(1, 0)] },
    ],
  };
  const L = computeLayout(graph as any, 600, 400);

  it("marks product nodes and counts them", () => {
    expect(L.levels[1].map((n) => n.mult)).toEqual([0, 2]);
    expect(L.multCount).toBe(1);
    expect(L.nodeCount).toBe(5);
  });
  it("draws every subnode's edge to the node it feeds, each in its own box", () => {
    expect(L.edges.length).toBe(6 + 2);
    const into = (j: number) => L.edges.filter((g) => g.l === 0 && g.j === j).map((g) => g.x1);
    expect(into(0).every((x) => x === L.levels[1][0].x)).toBe(true);
    expect([...into(1), ...into(2)].every((x) => x === L.levels[1][1].x)).toBe(true);
    const boxes = new Set(L.edges.filter((g) => g.l === 0).map((g) => g.bx));
    expect(boxes.size).toBe(6);
  });
});
