// Browser harness: renders the built bundle with a fake model in headless Chromium, checks the DOM
// and the messages sent, and saves screenshots to artifacts/js/.
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { ARTIFACTS, launch, page, serve, watchErrors } from "./serve.mjs";
import { DARK_HOST_CSS, forcedColorChecks, keyboardChecks, themeChecks } from "./theme-checks.mjs";
import { PRESENT_PAGES, presentChecks } from "./present-checks.mjs";
import { neteditChecks } from "./netedit-checks.mjs";
import { dataviewChecks } from "./dataview-checks.mjs";
import { playChecks } from "./play-checks.mjs";
import { datapanelChecks } from "./datapanel-checks.mjs";

const LOAD = `const { loadFixtures, fixtureState } = await import("/js/test/fixtures.mjs");\nconst fx = await loadFixtures();\n`;

const SMALL = `
${LOAD}const model = new FakeModel(fake.smallState({ protocol: fx.protocol }));
window.model = model;
window.cleanup = widget.render({ model, el: document.getElementById("app") });
`;
const BIG = `
${LOAD}const net = fake.makeNetwork([8, 64, 64, 1], { P: 48, seed: 5 });
const model = new FakeModel(fake.smallState({ ...net, formula: { latex: [], sympy: [], spline_edges: 4672 }, versions: fake.makeVersions(2, 1), protocol: fx.protocol }));
window.model = model;
window.cleanup = widget.render({ model, el: document.getElementById("app") });
`;
const NODATA = `
${LOAD}const { graph, curves } = fake.makeNetwork([3, 3, 2], { P: 32, seed: 2 });
const model = new FakeModel({ graph, curves, metrics: new DataView(new ArrayBuffer(0)),
  status: { state: "idle", text: "", step: 0, steps: 0 }, error: "", formula: { latex: [], sympy: [], spline_edges: 15 },
  versions: fake.makeVersions(1, 0), inspector: {}, library: fake.LIBRARY, has_data: false, protocol: fx.protocol });
window.model = model;
widget.render({ model, el: document.getElementById("app") });
`;

// the state of a real widget (fixtures written by tests/widget/test_fixtures.py)
const REAL = `
${LOAD}const model = new FakeModel(fixtureState(fx));
window.model = model;
widget.render({ model, el: document.getElementById("app") });
`;

// a real model with a multiplication node (KAN [2, [1, 1], 1]; fixtures mult_graph/mult_curves)
const MULT = `
${LOAD}const { bytesOf } = await import("/js/test/fixtures.mjs");
const get = async (n) => (await fetch("/js/test/fixtures/" + n + ".json")).json();
const model = new FakeModel(fixtureState(fx, { graph: await get("mult_graph"), curves: bytesOf(await get("mult_curves")),
  inspector: {}, formula: { latex: [], sympy: [], spline_edges: 8, terms: 4, too_large: false } }));
window.model = model;
widget.render({ model, el: document.getElementById("app") });
`;

// the real-model state on a host page that switches to JupyterLab Dark when body[data-jp-theme-light=false]
const THEMED = `
document.head.insertAdjacentHTML("beforeend", ${JSON.stringify(`<style>${DARK_HOST_CSS}</style>`)});
${REAL}`;

const failures = [];
let checks = 0;
function check(cond, what) {
  checks++;
  if (!cond) {
    failures.push(what);
    console.log(`  FAIL ${what}`);
  } else console.log(`  ok   ${what}`);
}

mkdirSync(ARTIFACTS, { recursive: true });
const server = await serve({ "/small": page(SMALL), "/big": page(BIG), "/nodata": page(NODATA), "/real": page(REAL), "/mult": page(MULT), "/themed": page(THEMED), ...PRESENT_PAGES });
const browser = await launch();
try {
  const ctx = await browser.newContext({ viewport: { width: 1200, height: 860 }, deviceScaleFactor: 2 });
  const p = await ctx.newPage();
  const errors = watchErrors(p);

  console.log("[2,5,1] widget");
  await p.goto(`${server.url}/small`);
  await p.waitForFunction(() => window.__ready && document.querySelector(".kanwidget")?.dataset.edges !== undefined);
  const root = p.locator(".kanwidget");
  check((await root.getAttribute("data-nodes")) === "8", "data-nodes = 8");
  check((await root.getAttribute("data-edges")) === "14", "data-edges = 14 (one inactive edge not drawn)");
  check((await root.getAttribute("data-symbolic-edges")) === "3", "data-symbolic-edges = 3");
  check((await p.locator(".kw-edge-labels li").allTextContents()).sort().join() === "exp,sin,x^2", "symbolic labels listed");
  const canvasBox = await p.locator(".kw-network canvas").boundingBox();
  check(canvasBox && canvasBox.width > 400 && canvasBox.height > 200, `network canvas laid out (${canvasBox?.width}x${canvasBox?.height})`);
  const backing = await p.locator(".kw-network canvas").evaluate((c) => [c.width, c.height]);
  check(backing[0] === Math.round(canvasBox.width * 2), `canvas uses devicePixelRatio (backing ${backing[0]}px)`);
  // the canvas really has ink on it
  const ink = await p.locator(".kw-network canvas").evaluate((c) => {
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let k = 3; k < d.length; k += 4) if (d[k] > 0) n++;
    return n / (d.length / 4);
  });
  check(ink > 0.02, `network canvas has ink (${(ink * 100).toFixed(1)}% of pixels)`);
  check((await p.locator(".kw-losschart").getAttribute("data-points")) === "50", "loss chart shows 50 points");
  const mathCount = await p.locator(".kw-formula math").count();
  check(mathCount === 1, "formula rendered as MathML");
  const mathBox = await p.locator(".kw-formula math").first().boundingBox();
  check(mathBox && mathBox.width > 100 && mathBox.height > 10, `MathML laid out natively (${mathBox?.width?.toFixed(0)}x${mathBox?.height?.toFixed(0)})`);
  check((await p.locator(".kw-version").count()) === 5 && (await p.locator(".kw-version.current").getAttribute("data-id")) === "4", "5 version chips, id 4 current");
  await p.screenshot({ path: resolve(ARTIFACTS, "widget-small.png"), fullPage: true });
  await p.locator(".kw-lib summary").click();
  check((await p.locator("[data-kw=lib] input").count()) === 16, "library checkboxes listed");
  await p.screenshot({ path: resolve(ARTIFACTS, "widget-library.png"), clip: { x: 0, y: 0, width: 900, height: 420 } });
  await p.locator(".kw-lib summary").click();

  // Train click -> command + busy feedback
  await p.locator("[data-kw=train]").click();
  const sent = await p.evaluate(() => window.model.sent);
  check(JSON.stringify(sent.at(-1)) === JSON.stringify({ type: "command", name: "train", args: { steps: 50, opt: "LBFGS", lr: 1, lamb: 0, update_grid: true } }), "Train sends the train command");
  check(await p.locator("[data-kw=train]").isDisabled(), "Train disabled while pending");
  // simulated training: status + streamed metrics
  await p.evaluate(() => {
    window.model.set("status", { state: "training", text: "LBFGS", step: 7, steps: 50 });
    window.model.custom({ type: "metrics", rows: window.fake.makeMetricsRows(50, 57) });
  });
  await p.waitForFunction(() => document.querySelector(".kw-losschart").dataset.points === "57");
  check((await p.locator(".kw-status").getAttribute("data-state")) === "training", "status data-state = training");
  check((await p.locator(".kw-status").getAttribute("data-step")) === "7", "status data-step = 7");
  check(!(await p.locator("[data-kw=pause]").isDisabled()) && (await p.locator("[data-kw=prune]").isDisabled()), "only Pause enabled while training");
  await p.locator("[data-kw=pause]").click();
  check((await p.evaluate(() => window.model.sent.at(-1).name)) === "pause", "Pause sends pause");
  await p.screenshot({ path: resolve(ARTIFACTS, "widget-training.png"), fullPage: true });
  await p.evaluate(() => window.model.set("status", { state: "idle", text: "paused at step 7", step: 7, steps: 50 }));
  check(!(await p.locator("[data-kw=train]").isDisabled()), "Train enabled again when idle");

  // click an edge box on the canvas -> inspect
  const target = await p.evaluate(() => {
    const c = document.querySelector(".kw-network canvas");
    const r = c.getBoundingClientRect();
    const L = window.kw.computeLayout(window.model.get("graph"), Number(c.dataset.drawWidth || r.width), window.kw.preferredHeight(window.model.get("graph")));
    const g = L.edges.find((g) => g.l === 1 && g.i === 2);
    return { x: g.bx + g.bw / 2, y: g.by + g.bh / 2, l: g.l, i: g.i, j: g.j };
  });
  await p.locator(".kw-network canvas").click({ position: { x: target.x, y: target.y } });
  const inspect = await p.evaluate(() => window.model.sent.at(-1));
  check(inspect.name === "inspect" && inspect.args.l === 1 && inspect.args.i === 2 && inspect.args.j === 0, `clicking an edge sends inspect ${JSON.stringify(inspect.args)}`);
  await p.evaluate(() => window.model.set("inspector", window.fake.makeInspector(1, 2, 0, null)));
  await p.locator(".kw-inspector").waitFor();
  check((await p.locator(".kw-candidate").count()) === 4, "inspector shows 4 candidates");
  await p.locator(".kw-candidate[data-name=sin] [data-kw=fix]").click();
  check(JSON.stringify(await p.evaluate(() => window.model.sent.at(-1))) === JSON.stringify({ type: "command", name: "fix_symbolic", args: { l: 1, i: 2, j: 0, name: "sin" } }), "Fix sends fix_symbolic");
  await p.locator(".kw-network canvas").hover({ position: { x: target.x, y: target.y } });
  await p.waitForTimeout(50);
  await p.screenshot({ path: resolve(ARTIFACTS, "widget-inspector.png"), fullPage: true });
  await p.locator(".kw-version[data-id='2']").click();
  check(JSON.stringify(await p.evaluate(() => window.model.sent.at(-1))) === JSON.stringify({ type: "command", name: "checkout", args: { id: 2 } }), "version chip sends checkout");
  await p.evaluate(() => window.model.set("error", "prune: node_th must be >= 0 (got -1)"));
  check(await p.locator(".kw-error").isVisible(), "error box visible");
  await p.locator("[data-kw=dismiss-error]").click();
  check(!(await p.locator(".kw-error").isVisible()), "error box dismissed");
  await p.evaluate(() => window.cleanup());
  check((await p.evaluate(() => window.model.listenerCount())) === 0, "cleanup removes every listener");

  console.log("[8,64,64,1] widget");
  await p.goto(`${server.url}/big`);
  await p.waitForFunction(() => window.__ready && document.querySelector(".kanwidget")?.dataset.edges !== undefined);
  check((await root.getAttribute("data-nodes")) === "137", "big: data-nodes = 137");
  check((await root.getAttribute("data-edges")) === String(8 * 64 + 64 * 64 + 64), "big: data-edges = 4672");
  await p.screenshot({ path: resolve(ARTIFACTS, "widget-big.png"), fullPage: true });

  console.log("no-data widget");
  await p.goto(`${server.url}/nodata`);
  await p.waitForFunction(() => window.__ready && document.querySelector(".kanwidget")?.dataset.edges !== undefined);
  check(await p.locator("[data-kw=train]").isDisabled(), "no data: Train disabled");
  check((await p.locator("[data-kw=train]").getAttribute("title")).includes("dataset"), "no data: title says a dataset is needed");
  check(await p.locator(".kw-nodata").isVisible(), "no data: note visible");
  await p.screenshot({ path: resolve(ARTIFACTS, "widget-nodata.png"), fullPage: true });

  console.log("multiplication node");
  await p.goto(`${server.url}/mult`);
  await p.waitForFunction(() => window.__ready && document.querySelector(".kanwidget")?.dataset.edges !== undefined);
  check((await root.getAttribute("data-mult-nodes")) === "1", "mult: one product node drawn as x");
  check((await root.getAttribute("data-nodes")) === "5" && (await root.getAttribute("data-edges")) === "8",
    "mult: 5 nodes, every edge (6 into level 1, 2 into the output) drawn to its node");
  await p.locator(".kw-network").screenshot({ path: resolve(ARTIFACTS, "widget-mult.png") });

  console.log("real-model fixtures, progress and cancel");
  await p.goto(`${server.url}/real`);
  await p.waitForFunction(() => window.__ready && document.querySelector(".kanwidget")?.dataset.edges !== undefined);
  check((await root.getAttribute("data-nodes")) === "6" && (await root.getAttribute("data-symbolic-edges")) === "1", "real: [2,3,1] with one symbolic edge");
  check(!(await p.locator("[data-kw=cancel]").isVisible()), "real: no Cancel while idle");
  await p.evaluate(() => window.model.set("status", { state: "busy", text: "", step: 0, steps: 0, command: "auto_symbolic", done: 12, total: 40, eta_s: 8, cancellable: true }));
  check((await p.locator(".kw-status-text").textContent()) === "auto-symbolic 12/40 edges · ~8 s left", "progress text");
  check(await p.locator(".kw-progress").isVisible(), "progress bar visible");
  check(await p.locator("[data-kw=refine]").isDisabled() && await p.locator(".kw-version[data-id='0']").isDisabled(), "model-changing controls disabled while busy");
  const cancel = p.getByRole("button", { name: /^Cancel/ });
  check(await cancel.isVisible(), "Cancel visible by its accessible name");
  await p.screenshot({ path: resolve(ARTIFACTS, "widget-progress.png"), clip: { x: 0, y: 0, width: 1200, height: 160 } });
  await cancel.focus();
  await p.keyboard.press("Enter");
  check(JSON.stringify(await p.evaluate(() => window.model.sent.at(-1))) === JSON.stringify({ type: "command", name: "cancel", args: {} }), "Enter on Cancel sends cancel");

  await playChecks(p, `${server.url}/real`, check);
  await neteditChecks(p, `${server.url}/real`, check);
  await datapanelChecks(p, `${server.url}/real`, check);
  await dataviewChecks(p, server.url, check);
  await themeChecks(p, `${server.url}/themed`, check);
  await forcedColorChecks(p, `${server.url}/themed`, check);
  await keyboardChecks(p, `${server.url}/themed`, check);
  await presentChecks(p, server.url, check);

  check(errors.length === 0, `no console errors${errors.length ? `: ${errors.join(" | ")}` : ""}`);
} finally {
  await browser.close();
  await server.close();
}
console.log(`\n${checks - failures.length}/${checks} checks passed; screenshots in ${ARTIFACTS}`);
process.exit(failures.length ? 1 : 0);
