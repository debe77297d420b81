// Data view checks of the browser harness (js/src/dataview.ts, thumbnails.ts): the real-model fixture's
// data view (target / prediction / residual) drawn in the palette's colours with the points, node thumbnails
// in the network picture (click one, or Enter / Space on its focused node: enlarged; Escape closes), slice controls sending `dataview`, Export PNG downloading,
// light and JupyterLab Dark screenshots (artifacts/js/dataview-*.png).
import { resolve } from "node:path";
import { ARTIFACTS } from "./serve.mjs";
import { pictureStats } from "./theme-checks.mjs";

/** Sets the dataview traits from the fixtures `name` / `name`_data (as Python would). */
const inject = (p, name) => p.evaluate(async (name) => {
  const { bytesOf } = await import("/js/test/fixtures.mjs");
  const get = async (n) => (await fetch(`/js/test/fixtures/${n}.json`)).json();
  const [meta, data] = [await get(name), await get(`${name}_data`)];
  window.model.set("dataview", meta);
  window.model.set("dataview_data", bytesOf(data));
}, name);

/** Pixels of a data-view canvas within `tol` of an rgb colour (the colour is given as a CSS string). */
const near = (p, panel, color, tol) => p.evaluate(([panel, color, tol]) => {
  const c = document.querySelector(`.kw-dataview canvas[data-panel=${panel}]`);
  const probe = document.createElement("span");
  probe.style.color = color;
  document.body.append(probe);
  const rgb = getComputedStyle(probe).color.match(/[\d.]+/g).slice(0, 3).map(Number);
  probe.remove();
  const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let k = 0; k < d.length; k += 4) {
    if (Math.abs(d[k] - rgb[0]) + Math.abs(d[k + 1] - rgb[1]) + Math.abs(d[k + 2] - rgb[2]) <= tol) n++;
  }
  return n;
}, [panel, color, tol]);

/** Distinct colours in the square around node (level, index) of the network picture, and its centre (CSS px). */
const nodeSquare = (p, level, index) => p.evaluate(([level, index]) => {
  const c = document.querySelector(".kw-network canvas");
  const r = c.getBoundingClientRect();
  const g = window.model.get("graph");
  const L = window.kw.computeLayout(g, Number(c.dataset.drawWidth || r.width), window.kw.preferredHeight(g));
  const n = L.levels[level][index];
  const s = c.width / r.width;
  const d = c.getContext("2d").getImageData(Math.round((n.x - 8) * s), Math.round((n.y - 8) * s), Math.round(16 * s), Math.round(16 * s)).data;
  const colours = new Set();
  for (let k = 0; k < d.length; k += 4) colours.add(`${d[k]},${d[k + 1]},${d[k + 2]}`);
  return { colours: colours.size, x: n.x, y: n.y };
}, [level, index]);

const palette = (p) => p.evaluate(() => {
  const cs = getComputedStyle(document.querySelector(".kanwidget"));
  return { curve: cs.getPropertyValue("--kw-canvas-curve").trim(), symbolic: cs.getPropertyValue("--kw-canvas-symbolic").trim(),
    train: cs.getPropertyValue("--kw-canvas-train").trim(), bg: cs.getPropertyValue("--kw-canvas-bg").trim() };
});

export async function dataviewChecks(p, base, check) {
  console.log("data view");
  await p.goto(`${base}/real`);
  await p.waitForFunction(() => window.__ready && document.querySelector(".kanwidget")?.dataset.edges !== undefined);
  await inject(p, "dataview");
  await p.waitForFunction(() => document.querySelector(".kw-dataview")?.dataset.kind === "2d");
  const panels = await p.locator(".kw-dv-figures canvas").evaluateAll((cs) => cs.map((c) => c.dataset.panel));
  check(JSON.stringify(panels) === JSON.stringify(["target", "pred", "residual"]), `dataview: three panels ${panels}`);
  const pal = await palette(p);
  const curveInk = await near(p, "pred", pal.curve, 40);
  check(curveInk > 20, `dataview: prediction's high values in the curve colour (${curveInk} px)`);
  const resInk = (await near(p, "residual", pal.symbolic, 60)) + (await near(p, "residual", pal.train, 60));
  check(resInk > 20, `dataview: residual in the diverging colours (${resInk} px)`);
  const dark = await p.evaluate(() => {   // the points: train filled with a text-coloured outline
    const c = document.querySelector(".kw-dataview canvas[data-panel=pred]");
    return c.width > 0 && window.model.get("dataview").n_train > 0;
  });
  check(dark, "dataview: points present in the payload and canvas laid out");
  const sq = await nodeSquare(p, 1, 0);
  check(sq.colours > 6, `thumbnails: hidden node 1 drawn as a heat map (${sq.colours} colours in its square)`);
  const out = await nodeSquare(p, 2, 0);
  check(out.colours > 6, `thumbnails: the output node too (${out.colours} colours)`);
  await p.locator(".kw-network").screenshot({ path: resolve(ARTIFACTS, "dataview-thumbnails.png") });
  await p.locator(".kw-network canvas").click({ position: { x: sq.x + 2, y: sq.y + 2 } });
  check(await p.locator(".kw-dv-nodefig").isVisible(), "thumbnails: a click on a node shows it enlarged");
  check(/node 1 of layer 1/.test(await p.locator(".kw-dv-nodefig canvas").getAttribute("aria-label")),
    "thumbnails: the enlarged one is node 1 of layer 1");
  await p.locator(".kw-dataview").screenshot({ path: resolve(ARTIFACTS, "dataview-light.png") });

  // the keyboard does what the click does: Tab reaches the nodes, arrows choose one, Enter / Space enlarge, Escape closes
  await p.locator(".kw-dv-nodefig button").click();
  check(!(await p.locator(".kw-dv-nodefig").isVisible()), "thumbnails: Close hides the enlarged node");
  await p.locator(".kw-network canvas").focus();
  let tabs = 0;
  for (; tabs < 15; tabs++) {
    await p.keyboard.press("Tab");
    if (await p.evaluate(() => document.activeElement?.classList.contains("kw-thumb-btn"))) break;
  }
  const first = await p.evaluate(() => document.activeElement?.getAttribute("aria-label"));
  check(tabs < 15 && first === "node 1 of layer 1: show its picture enlarged", `thumbnails: Tab from the picture reaches the nodes (${tabs + 1} Tabs: ${first})`);
  const nodeRing = await p.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  check(nodeRing !== "none", `thumbnails: the focused node has a visible ring (${nodeRing})`);
  await p.keyboard.press("ArrowRight");
  await p.keyboard.press("Enter");
  check(await p.locator(".kw-dv-nodefig").isVisible() && /node 2 of layer 1/.test(await p.locator(".kw-dv-nodefig canvas").getAttribute("aria-label")),
    "thumbnails: ArrowRight then Enter on a node shows node 2 of layer 1 enlarged");
  await p.locator(".kw-network").screenshot({ path: resolve(ARTIFACTS, "dataview-node-focus.png") });
  await p.keyboard.press("Escape");
  check(!(await p.locator(".kw-dv-nodefig").isVisible()), "thumbnails: Escape closes the enlarged node");
  await p.keyboard.press("End");
  await p.keyboard.press(" ");
  check(await p.locator(".kw-dv-nodefig").isVisible() && /output y_1/.test(await p.locator(".kw-dv-nodefig canvas").getAttribute("aria-label")),
    "thumbnails: End then Space enlarges the output node");
  await p.keyboard.press("Escape");
  // presentation mode keeps the nodes' keyboard buttons (everything else but Train / Pause / Step / Next goes)
  await p.evaluate(() => { window.model.set("presenting", true); window.model.save_changes?.(); });
  await p.waitForTimeout(100);
  const nodeButtons = await p.locator(".kw-thumb-btn").evaluateAll((bs) => bs.filter((b) => b.getClientRects().length > 0).length);
  await p.locator(".kw-thumb-btn").first().focus();
  await p.keyboard.press("Enter");
  check(nodeButtons > 0 && await p.locator(".kw-dv-nodefig").isVisible(),
    `thumbnails: in presentation mode Enter on a node still enlarges it (${nodeButtons} node buttons shown)`);
  await p.keyboard.press("Escape");
  await p.evaluate(() => { window.model.set("presenting", false); window.model.save_changes?.(); });
  await p.waitForTimeout(100);
  const exportBtn = p.getByRole("button", { name: "Export the data view as a PNG image" });
  await p.locator(".kw-dv-node").focus();
  await p.keyboard.press("Tab");                                   // reached with the keyboard
  check(await exportBtn.evaluate((b) => b === document.activeElement), "dataview: Tab reaches Export PNG");
  const ring = await exportBtn.evaluate((b) => getComputedStyle(b).outlineStyle);
  check(ring !== "none", `dataview: Export PNG has a visible focus ring (${ring})`);
  const [download] = await Promise.all([p.waitForEvent("download"), p.keyboard.press("Enter")]);
  check(download.suggestedFilename() === "kanwidget-dataview.png", `dataview: Export PNG downloads ${download.suggestedFilename()}`);

  console.log("data view: slice of a 3-input model");
  await inject(p, "dataview_slice");
  await p.waitForFunction(() => document.querySelector(".kw-dataview")?.dataset.kind === "slice");
  const slider = p.getByRole("slider", { name: "held value of x_3" });
  check(await slider.isVisible(), "slice: a named slider for the held input x_3");
  await slider.focus();
  await p.keyboard.press("ArrowRight");
  await slider.dispatchEvent("change");
  const sent = await p.evaluate(() => window.model.sent.at(-1));
  check(sent.name === "dataview" && sent.args.held.length === 3 && sent.args.x_axis === 0 && sent.args.y_axis === 1,
    `slice: moving the slider sends dataview ${JSON.stringify(sent.args)}`);
  await p.locator(".kw-dataview").screenshot({ path: resolve(ARTIFACTS, "dataview-slice.png") });

  console.log("data view: JupyterLab Dark");
  await p.goto(`${base}/themed`);
  await p.waitForFunction(() => window.__ready && document.querySelector(".kanwidget")?.dataset.edges !== undefined);
  await p.evaluate(() => { document.body.dataset.jpThemeLight = "false"; document.body.dataset.jpThemeName = "JupyterLab Dark"; });
  await inject(p, "dataview");
  await p.waitForFunction(() => document.querySelector(".kw-dataview")?.dataset.kind === "2d");
  await p.waitForTimeout(700);          // the theme watcher's late look
  const png = await p.locator(".kw-dataview").screenshot({ path: resolve(ARTIFACTS, "dataview-dark.png") });
  const stats = await pictureStats(p, png);
  check(stats.share < 0.2, `dark: the data view is not white (${(stats.share * 100).toFixed(1)}% near-white pixels)`);
  const darkInk = await near(p, "pred", (await palette(p)).curve, 40);
  check(darkInk > 20, `dark: prediction in the dark palette's curve colour (${darkInk} px)`);
  await p.locator(".kw-network").screenshot({ path: resolve(ARTIFACTS, "dataview-thumbnails-dark.png") });
  await p.evaluate(() => { document.body.dataset.jpThemeLight = "true"; document.body.dataset.jpThemeName = "JupyterLab Light"; });
}
