// Presentation mode, export and drawing checks of the browser harness (issue 11 items 4, 6, 7):
// presentation mode (larger type, only Train / Pause / Step / Next visible), Save SVG's content (one
// path per active edge curve), Save PNG at 2x, a [8,64,64,1] net with a trained net's small middle-layer
// importances (every layer visible), a pruned node hidden and not counted.
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { ARTIFACTS, page } from "./serve.mjs";

const LOAD = `const { loadFixtures } = await import("/js/test/fixtures.mjs");\nconst fx = await loadFixtures();\n`;

export const PRESENT_PAGES = {
  // [2,5,1] with one inactive edge and a pruned hidden node (node 3: every edge in and out inactive)
  "/present": page(`${LOAD}const net = fake.makeNetwork([2, 5, 1], { P: 48, seed: 11, symbolic: { "0,0,1": "sin", "0,1,1": "x^2", "1,1,0": "exp" },
  inactive: ["0,1,4", "0,0,3", "0,1,3", "1,3,0"] });
const model = new FakeModel(fake.smallState({ ...net, protocol: fx.protocol, presenting: false,
  next_step: { command: "prune", args: { node_th: 0.01, edge_th: 0.03 }, label: "Prune", reason: "remove the faded edges and nodes" } }));
window.model = model;
widget.render({ model, el: document.getElementById("app") });
`),
  // [8,64,64,1] with a trained net's importances: layer 1 (64x64) between 0 and 0.09, mostly near 0
  "/big-trained": page(`${LOAD}const net = fake.makeNetwork([8, 64, 64, 1], { P: 20, seed: 5 });
let s = 1;
const rand = () => ((s = (s * 16807) % 2147483647) / 2147483647);
const scale = [0.41, 0.09, 0.42];
net.graph.layers.forEach((layer, l) => layer.edges.forEach((e) => { e.importance = Math.round(Math.pow(rand(), 4) * scale[l] * 100) / 100; }));
const model = new FakeModel(fake.smallState({ ...net, formula: { latex: [], sympy: [], spline_edges: 4672 }, protocol: fx.protocol }));
window.model = model;
widget.render({ model, el: document.getElementById("app") });
`),
};

async function inkOfBand(p, y0, y1) {
  // share of the canvas rows [y0, y1) (CSS px) carrying visible ink (alpha > 8/255)
  return p.locator(".kw-network canvas").evaluate((c, [a, b]) => {
    const dpr = c.width / c.getBoundingClientRect().width;
    const top = Math.round(a * dpr), h = Math.max(1, Math.round((b - a) * dpr));
    const d = c.getContext("2d").getImageData(0, top, c.width, h).data;
    let n = 0;
    for (let k = 3; k < d.length; k += 4) if (d[k] > 8) n++;
    return n / (d.length / 4);
  }, [y0, y1]);
}

export async function presentChecks(p, url, check) {
  console.log("presentation mode and export");
  await p.goto(`${url}/present`);
  await p.waitForFunction(() => window.__ready && document.querySelector(".kanwidget")?.dataset.edges !== undefined);
  const root = p.locator(".kanwidget");
  check((await root.getAttribute("data-nodes")) === "7", "pruned hidden node not drawn (data-nodes 7 of 8)");
  check((await p.locator(".kw-shape").textContent()) === "[2, 4, 1]", "shape label counts live nodes: [2, 4, 1]");
  const fontBefore = await p.locator(".kw-title").evaluate((e) => parseFloat(getComputedStyle(e).fontSize));
  const btnBefore = await p.locator("[data-kw=train]").evaluate((e) => parseFloat(getComputedStyle(e).fontSize));

  // Save SVG: a real download, parsed
  // buttons are pressed with the keyboard (Enter), as a keyboard user would; overlays cannot swallow it
  const press = async (locator) => { await locator.focus(); await p.keyboard.press("Enter"); };
  const [svgDownload] = await Promise.all([p.waitForEvent("download"), press(p.getByRole("button", { name: "Save the network picture as SVG" }))]);
  const svgPath = resolve(ARTIFACTS, "present-network.svg");
  await svgDownload.saveAs(svgPath);
  const svgText = await readFile(svgPath, "utf8");
  const svgInfo = await p.evaluate((text) => {
    const doc = new DOMParser().parseFromString(text, "image/svg+xml");
    return { error: !!doc.querySelector("parsererror"), curves: doc.querySelectorAll("g.kw-svg-curves path").length,
      texts: Array.from(doc.querySelectorAll("text")).map((t) => t.textContent).sort().join(","), root: doc.documentElement.tagName };
  }, svgText);
  check(svgDownload.suggestedFilename() === "kan-network.svg" && svgInfo.root === "svg" && !svgInfo.error, "Save SVG downloads a valid SVG");
  check(svgInfo.curves === 11, `SVG: one path per active edge curve (${svgInfo.curves} of 11 active edges)`);
  check(svgInfo.texts === "exp,sin,x^2,x_1,x_2,y", `SVG: names and symbolic labels as text (${svgInfo.texts})`);
  // the SVG as the browser renders it
  await p.evaluate((text) => {
    const img = document.createElement("img");
    img.id = "svg-preview";
    img.src = "data:image/svg+xml;base64," + btoa(unescape(encodeURIComponent(text)));
    img.style.cssText = "display:block;background:#fff;border:1px solid #ccc";
    document.body.append(img);
  }, svgText);
  await p.waitForFunction(() => document.getElementById("svg-preview")?.complete);
  await p.locator("#svg-preview").screenshot({ path: resolve(ARTIFACTS, "present-svg-rendered.png") });
  await p.evaluate(() => document.getElementById("svg-preview").remove());

  // Save PNG at 2x
  const [pngDownload] = await Promise.all([p.waitForEvent("download"), press(p.locator("[data-kw=save-png]"))]);
  const pngPath = resolve(ARTIFACTS, "present-network.png");
  await pngDownload.saveAs(pngPath);
  const png = await readFile(pngPath);
  // the picture as drawn: the canvas less the strip kept free for the network-editing rows
  const cssW = Number(await p.locator(".kw-network canvas").getAttribute("data-draw-width"));
  const pngW = png.readUInt32BE(16);
  check(png.subarray(1, 4).toString() === "PNG" && Math.abs(pngW - 2 * cssW) <= 2, `Save PNG: a PNG at 2x (${pngW} px for ${cssW} CSS px)`);

  // presentation mode by the header button
  await press(p.getByRole("button", { name: "Presentation mode" }));
  check(JSON.stringify(await p.evaluate(() => window.model.get("presenting"))) === "true", "Present button writes presenting = true");
  check(await root.evaluate((e) => e.classList.contains("kw-presenting")), "root has kw-presenting");
  const fontAfter = await p.locator(".kw-title").evaluate((e) => parseFloat(getComputedStyle(e).fontSize));
  const btnAfter = await p.locator("[data-kw=train]").evaluate((e) => parseFloat(getComputedStyle(e).fontSize));
  check(fontAfter >= 1.5 * fontBefore && btnAfter >= 1.4 * btnBefore, `larger type (title ${fontBefore} → ${fontAfter} px, buttons ${btnBefore} → ${btnAfter} px)`);
  const visible = await p.evaluate(() => Array.from(document.querySelectorAll(".kanwidget button, .kanwidget input, .kanwidget select, .kanwidget summary"))
    .filter((e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== "hidden").map((e) => e.dataset.kw || e.textContent.trim()).join(","));
  check(visible === "next,present,fullscreen,train,pause,step", `only the reduced controls are visible (${visible})`);
  const mathPx = await p.locator(".kw-formula math").first().evaluate((e) => parseFloat(getComputedStyle(e).fontSize));
  check(mathPx >= 30, `formula big (${mathPx} px)`);
  await p.waitForTimeout(150);
  await p.screenshot({ path: resolve(ARTIFACTS, "present-mode.png"), fullPage: true });
  await press(p.locator("[data-kw=next]"));
  check(JSON.stringify(await p.evaluate(() => window.model.sent.at(-1))) === JSON.stringify({ type: "command", name: "prune", args: { node_th: 0.01, edge_th: 0.03 } }), "Next sends the next step's command");
  // the keyboard shortcut leaves presentation mode; full screen in headless Chromium (allowed) or a note
  await p.locator("[data-kw=present]").focus();
  await p.keyboard.press("Alt+Shift+P");
  check(!(await root.evaluate((e) => e.classList.contains("kw-presenting"))), "Alt+Shift+P leaves presentation mode");
  await press(p.locator("[data-kw=fullscreen]"));
  await p.waitForTimeout(200);
  const full = await p.evaluate(() => document.fullscreenElement?.classList.contains("kanwidget") || !document.querySelector(".kw-present-note").hidden);
  check(full, "Full screen: the widget root goes full screen (or a note says why not)");
  await p.evaluate(() => document.fullscreenElement && document.exitFullscreen());

  console.log("[8,64,64,1] with a trained net's importances");
  await p.goto(`${url}/big-trained`);
  await p.waitForFunction(() => window.__ready && document.querySelector(".kanwidget")?.dataset.edges !== undefined);
  await p.waitForTimeout(100);
  const box = await p.locator(".kw-network canvas").boundingBox();
  const h = box.height;
  // levels at y = h-30 (inputs), ..., 30 (output); the middle layer between levels 1 and 2
  const span = h - 60;
  const mid = await inkOfBand(p, 30 + span / 3 + 8, 30 + (2 * span) / 3 - 8);
  check(mid > 0.25, `middle 64x64 layer visible (${(mid * 100).toFixed(0)} % of its band inked)`);
  await p.locator(".kw-network").screenshot({ path: resolve(ARTIFACTS, "big-trained.png") });
}
