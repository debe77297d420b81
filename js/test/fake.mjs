// Fake payloads matching the widget protocol (docs/ARCHITECTURE.md, "Widget protocol").
// Plain ESM with no Node imports: used by the unit tests and loaded as-is by the browser pages.

/** Small deterministic PRNG (mulberry32). */
export function rng(seed = 1) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SHAPES = [
  ["sin", (x) => Math.sin(Math.PI * x)],
  ["x^2", (x) => x * x],
  ["exp", (x) => Math.exp(x)],
  ["tanh", (x) => Math.tanh(2 * x)],
  ["x", (x) => 0.8 * x],
  [null, (x) => 0.3 * Math.sin(3 * x) + 0.2 * x * x * x],
];

/**
 * Builds {graph, curves} for a network of the given width.
 * options: P (points per edge), seed, symbolic: map "l,i,j" -> name, inactive: set of "l,i,j",
 * in_vars, out_vars, version.
 */
export function makeNetwork(width, options = {}) {
  const P = options.P ?? 32;
  const rand = rng(options.seed ?? 7);
  const symbolic = options.symbolic ?? {};
  const inactive = new Set(options.inactive ?? []);
  const layers = [];
  const edgesXY = [];
  for (let l = 0; l + 1 < width.length; l++) {
    const edges = [];
    for (let i = 0; i < width[l]; i++) {
      for (let j = 0; j < width[l + 1]; j++) {
        const key = `${l},${i},${j}`;
        const sym = symbolic[key] ?? null;
        const shapeIdx = sym ? SHAPES.findIndex((s) => s[0] === sym) : Math.floor(rand() * SHAPES.length);
        const fn = SHAPES[shapeIdx >= 0 ? shapeIdx : SHAPES.length - 1][1];
        const a = 0.5 + rand() * 1.5;
        const b = (rand() - 0.5) * 0.6;
        const xs = new Float32Array(P);
        const ys = new Float32Array(P);
        const xmin = -1, xmax = 1;
        let ymin = Infinity, ymax = -Infinity;
        for (let k = 0; k < P; k++) {
          const x = xmin + ((xmax - xmin) * k) / (P - 1);
          const y = a * fn(x) + b;
          xs[k] = x;
          ys[k] = y;
          ymin = Math.min(ymin, y);
          ymax = Math.max(ymax, y);
        }
        edgesXY.push(xs, ys);
        edges.push({
          i, j,
          active: !inactive.has(key),
          importance: Math.round(Math.pow(rand(), 1.6) * 1000) / 1000,
          symbolic: sym,
          xmin, xmax, ymin, ymax,
        });
      }
    }
    layers.push({ in: width[l], out: width[l + 1], edges });
  }
  const nodes = width.map((n) => Array.from({ length: n }, () => ({ importance: Math.round((0.3 + 0.7 * rand()) * 1000) / 1000 })));
  const graph = {
    width: width.slice(),
    in_vars: options.in_vars ?? Array.from({ length: width[0] }, (_, k) => `x_${k + 1}`),
    out_vars: options.out_vars ?? Array.from({ length: width[width.length - 1] }, (_, k) => (width[width.length - 1] === 1 ? "y" : `y_${k + 1}`)),
    layers,
    nodes,
    num_points: P,
    version: options.version ?? 1,
  };
  const curves = new Float32Array(edgesXY.length * P);
  edgesXY.forEach((arr, k) => curves.set(arr, k * P));
  return { graph, curves: new DataView(curves.buffer) };
}

/** Loss history rows [step, train, test, reg] for steps from..to-1. */
export function makeMetricsRows(from, to) {
  const rows = [];
  for (let s = from; s < to; s++) {
    const train = 0.9 * Math.exp(-s / 18) + 0.012;
    rows.push([s, train, train * 1.15 + 0.004, 0.5 * Math.exp(-s / 40) + 0.05]);
  }
  return rows;
}

export function metricsBytes(rows) {
  const a = new Float32Array(rows.length * 4);
  rows.forEach((r, k) => a.set(r.slice(0, 4), k * 4));
  return new DataView(a.buffer);
}

/** @param {number} [l] @param {number} [i] @param {number} [j] @param {string | null} [symbolic] */
export function makeInspector(l = 0, i = 0, j = 1, symbolic = null) {
  const x = Array.from({ length: 64 }, (_, k) => -1 + (2 * k) / 63);
  const y = x.map((v) => Math.sin(Math.PI * v));
  const rand = rng(3);
  const data_x = Array.from({ length: 200 }, () => rand() * 2 - 1);
  const data_y = data_x.map((v) => Math.sin(Math.PI * v) + (rand() - 0.5) * 0.15);
  return {
    l, i, j, x, y, data_x, data_y,
    knots: Array.from({ length: 6 }, (_, k) => -1 + (2 * k) / 5),
    candidates: [
      { name: "sin", r2: 0.9991, complexity: 2 },
      { name: "tanh", r2: 0.962, complexity: 3 },
      { name: "x^3", r2: 0.91, complexity: 3 },
      { name: "x", r2: 0.77, complexity: 1 },
    ],
    symbolic,
  };
}

export function makeVersions(n = 4, current = n - 1) {
  const labels = ["init", "train 50", "prune", "refine 10", "train 50", "auto_symbolic"];
  return Array.from({ length: n }, (_, k) => ({
    id: k,
    label: labels[k % labels.length],
    train_loss: k === 0 ? null : 0.2 / (k * k),
    test_loss: k === 0 ? null : 0.24 / (k * k),
    current: k === current,
  }));
}

export const LIBRARY = ["x", "x^2", "x^3", "x^4", "1/x", "sqrt", "exp", "log", "sin", "cos", "tanh", "abs", "sgn", "arctan", "gaussian", "0"];

/** A full trait state of a [2,5,1] widget. */
export function smallState(overrides = {}) {
  const { graph, curves } = makeNetwork([2, 5, 1], { P: 48, seed: 11, symbolic: { "0,0,1": "sin", "0,1,1": "x^2", "1,1,0": "exp" }, inactive: ["0,1,4"] });
  const rows = makeMetricsRows(0, 50);
  return {
    graph,
    curves,
    metrics: metricsBytes(rows),
    status: { state: "idle", text: "ready", step: 50, steps: 50 },
    error: "",
    formula: {
      latex: ["1.02 e^{\\sin{\\left(3.14 x_{1} \\right)} + 0.99 x_{2}^{2}} + 0.01"],
      sympy: ["1.02*exp(sin(3.14*x_1) + 0.99*x_2**2) + 0.01"],
      spline_edges: 2,
    },
    versions: makeVersions(5, 4),
    inspector: {},
    library: LIBRARY,
    has_data: true,
    ...overrides,
  };
}
