// Theme and keyboard checks of the browser harness: JupyterLab Dark on the host page (live switch
// from light and back), forced colours, every control reached with Tab and a visible focus ring,
// an edge chosen and inspected with the keyboard.
import { resolve } from "node:path";
import { ARTIFACTS } from "./serve.mjs";

/** JupyterLab Dark's theme variables (@jupyterlab/theme-dark-extension), as JupyterLab sets them on the page. */
export const JP_DARK = {
  "--jp-layout-color0": "#111111", "--jp-layout-color1": "#212121", "--jp-layout-color2": "#424242",
  "--jp-layout-color3": "#616161", "--jp-layout-color4": "#757575",
  "--jp-ui-font-color0": "#ffffff", "--jp-ui-font-color1": "rgba(255,255,255,.87)",
  "--jp-ui-font-color2": "rgba(255,255,255,.54)", "--jp-ui-font-color3": "rgba(255,255,255,.38)",
  "--jp-content-font-color1": "#ffffff",
  "--jp-border-color0": "#616161", "--jp-border-color1": "#616161", "--jp-border-color2": "#424242", "--jp-border-color3": "#212121",
  "--jp-brand-color0": "#1976d2", "--jp-brand-color1": "#2196f3", "--jp-brand-color2": "#64b5f6",
  "--jp-warn-color0": "#f57c00", "--jp-warn-color1": "#ff9800",
  "--jp-error-color0": "#d32f2f", "--jp-error-color1": "#f44336",
  "--jp-success-color0": "#388e3c", "--jp-success-color1": "#4caf50",
};

/** CSS that applies JupyterLab Dark when the body carries data-jp-theme-light="false" (as JupyterLab does). */
export const DARK_HOST_CSS = `body[data-jp-theme-light="false"] { background: #111111; color-scheme: dark; ${Object.entries(JP_DARK).map(([k, v]) => `${k}: ${v};`).join(" ")} }`;

/**
 * Share of near-white pixels (min(r, g, b) >= 230) in a PNG screenshot, decoded by the page itself.
 * Also returns the colour at (x, y) of the picture when asked.
 */
export async function pictureStats(p, png, at = null) {
  return p.evaluate(async ([b64, at]) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const c = document.createElement("canvas");
    c.width = img.naturalWidth;
    c.height = img.naturalHeight;
    const ctx = c.getContext("2d");
    ctx.drawImage(img, 0, 0);
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    let white = 0;
    for (let k = 0; k < d.length; k += 4) if (Math.min(d[k], d[k + 1], d[k + 2]) >= 230) white++;
    const pixel = at ? [...ctx.getImageData(at[0], at[1], 1, 1).data.slice(0, 3)] : null;
    return { share: white / (d.length / 4), width: c.width, height: c.height, pixel };
  }, [png.toString("base64"), at]);
}

async function widgetShot(p, file) {
  const png = await p.locator(".kanwidget").screenshot({ path: resolve(ARTIFACTS, file) });
  return pictureStats(p, png);
}

/** Node-centre pixel of the network canvas (the first output node), as drawn. */
async function nodePixel(p) {
  return p.evaluate(() => {
    const c = document.querySelector(".kw-network canvas");
    const r = c.getBoundingClientRect();
    const L = window.kw.computeLayout(window.model.get("graph"), Number(c.dataset.drawWidth || r.width), window.kw.preferredHeight(window.model.get("graph")));
    const n = L.levels[L.levels.length - 1][0];
    const s = c.width / r.width;
    return [...c.getContext("2d").getImageData(Math.round(n.x * s), Math.round(n.y * s), 1, 1).data];
  });
}

const setDark = (p, dark) => p.evaluate((d) => {
  if (d) {
    document.body.dataset.jpThemeLight = "false";
    document.body.dataset.jpThemeName = "JupyterLab Dark";
  } else {
    document.body.dataset.jpThemeLight = "true";
    document.body.dataset.jpThemeName = "JupyterLab Light";
  }
}, dark);

/** Light -> JupyterLab Dark -> light, switched live on the page; near-white share and canvas colours. */
export async function themeChecks(p, url, check) {
  console.log("themes: live switch light -> JupyterLab Dark -> light");
  await p.goto(url);
  await p.waitForFunction(() => window.__ready && document.querySelector(".kanwidget")?.dataset.edges !== undefined);
  await p.waitForTimeout(100);
  const light = await widgetShot(p, "theme-light.png");
  const lightNode = await nodePixel(p);
  await p.evaluate(() => {
    const c = document.querySelector(".kw-losschart canvas");
    window.__chartLight = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  });
  check(light.share > 0.2, `light: near-white share ${(light.share * 100).toFixed(1)}% (the measure sees a light widget)`);

  await setDark(p, true);
  await p.waitForTimeout(300);
  const dark = await widgetShot(p, "theme-dark.png");
  check(dark.share < 0.05, `JupyterLab Dark: near-white share ${(dark.share * 100).toFixed(2)}% of ${dark.width}x${dark.height} px (< 5%)`);
  const bg = await p.evaluate(() => getComputedStyle(document.querySelector(".kw-network")).backgroundColor);
  check(bg === "rgb(33, 33, 33)", `dark: network background = --jp-layout-color1 (${bg})`);
  // the canvas itself was repainted: a node is now drawn in the light ink of the dark theme
  const darkNode = await nodePixel(p);
  check(lightNode[0] < 120 && darkNode[0] > 150 && darkNode[3] > 200, `dark: canvas repainted live (node ink ${lightNode.slice(0, 3)} -> ${darkNode.slice(0, 3)})`);
  // the loss chart was repainted too: (almost) no ink pixel kept its light-theme colour
  const chartSame = await p.evaluate(() => {
    const c = document.querySelector(".kw-losschart canvas");
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    const before = window.__chartLight;
    let ink = 0, same = 0;
    for (let k = 0; k < d.length; k += 4) {
      if (d[k + 3] < 128) continue;
      ink++;
      if (d[k] === before[k] && d[k + 1] === before[k + 1] && d[k + 2] === before[k + 2] && d[k + 3] === before[k + 3]) same++;
    }
    return { ink, same };
  });
  check(chartSame.ink > 500 && chartSame.same < 0.1 * chartSame.ink, `dark: loss chart repainted (${chartSame.same}/${chartSame.ink} ink pixels unchanged)`);

  await setDark(p, false);
  await p.waitForTimeout(300);
  const back = await widgetShot(p, "theme-light-again.png");
  check(Math.abs(back.share - light.share) < 0.02, `back to light: near-white share ${(back.share * 100).toFixed(1)}% (was ${(light.share * 100).toFixed(1)}%)`);
  return { light: light.share, dark: dark.share };
}

/** Windows-style forced colours: system colours and thicker lines on the canvas. */
export async function forcedColorChecks(p, url, check) {
  console.log("themes: forced colours");
  const inkOf = () => p.evaluate(() => {
    const c = document.querySelector(".kw-network canvas");
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let n = 0;   // opaque, dark ink: lines, curves and nodes (box fills are light in both modes)
    for (let k = 0; k < d.length; k += 4) if (d[k + 3] >= 250 && Math.max(d[k], d[k + 1], d[k + 2]) < 140) n++;
    return n / (d.length / 4);
  });
  await p.goto(url);
  await p.waitForFunction(() => window.__ready && document.querySelector(".kanwidget")?.dataset.edges !== undefined);
  await p.waitForTimeout(100);
  const normal = await inkOf();
  await p.emulateMedia({ forcedColors: "active" });
  await p.waitForTimeout(300);
  const forced = await inkOf();
  const scale = await p.evaluate(() => getComputedStyle(document.querySelector(".kanwidget")).getPropertyValue("--kw-canvas-line-scale").trim());
  check(scale === "1.75" && forced > normal * 1.5, `forced colours: line scale ${scale}, opaque dark canvas ink ${(normal * 100).toFixed(1)}% -> ${(forced * 100).toFixed(1)}% (redrawn live)`);
  await p.locator(".kanwidget").screenshot({ path: resolve(ARTIFACTS, "theme-forced-colors.png") });
  await p.emulateMedia({ forcedColors: "none" });
}

/** Tab through the widget: every enabled control is reached and shows a 2px focus ring. */
export async function keyboardChecks(p, url, check) {
  console.log("keyboard (JupyterLab Dark)");
  await p.goto(url);
  await p.waitForFunction(() => window.__ready && document.querySelector(".kanwidget")?.dataset.edges !== undefined);
  await setDark(p, true);
  await p.waitForTimeout(200);
  // enabled, shown controls (those in the closed library list come later)
  const controls = await p.evaluate(() => [...document.querySelectorAll(".kanwidget :is(button, input, select, summary, [tabindex])")]
    .filter((e) => !e.disabled && e.getClientRects().length > 0 && (e.tagName === "SUMMARY" || !e.closest("details:not([open])"))).length);
  await p.mouse.click(2, 2);   // sequential focus navigation starts at the top of the page
  const seen = [];
  const noRing = [];
  for (let k = 0; k < 80; k++) {
    await p.keyboard.press("Tab");
    const f = await p.evaluate(() => {
      const e = document.activeElement;
      if (!e || !e.closest(".kanwidget")) return null;
      (window.__tabbed ??= new Set()).add(e);
      const cs = getComputedStyle(e);
      return { tag: e.tagName, kw: e.dataset.kw ?? e.className, ring: cs.outlineStyle !== "none" && parseFloat(cs.outlineWidth) >= 2, color: cs.outlineColor };
    });
    if (!f) { if (seen.length) break; continue; }
    seen.push(f);
    if (!f.ring) noRing.push(`${f.tag}[${f.kw}]`);
  }
  console.log(`    Tab order: ${seen.map((s) => `${s.tag}[${s.kw}]`).join(" ")}`);
  const missed = await p.evaluate(() => [...document.querySelectorAll(".kanwidget :is(button, input, select, summary, [tabindex])")]
    .filter((e) => !e.disabled && e.getClientRects().length > 0 && (e.tagName === "SUMMARY" || !e.closest("details:not([open])")))
    .filter((e) => !window.__tabbed.has(e)).map((e) => e.outerHTML.slice(0, 120)));
  check(missed.length === 0 && seen.length <= controls + 1, `Tab reaches all ${controls} enabled controls (${seen.length} Tab stops${missed.length ? `; missed ${missed.join(" | ")}` : ""})`);
  check(noRing.length === 0 && seen.every((s) => s.color === "rgb(33, 150, 243)"), `each shows a 2px focus ring in the accent colour${noRing.length ? `; none on ${noRing.join(", ")}` : ""}`);
  check(seen.some((s) => s.tag === "CANVAS") && seen.some((s) => s.kw === "fix") && seen.some((s) => String(s.kw).includes("kw-version")),
    "canvas, Fix buttons and version chips are Tab stops");

  // library checkboxes: open the list from the keyboard, check one off
  await p.locator(".kw-lib summary").focus();
  await p.keyboard.press("Enter");
  await p.keyboard.press("Tab");
  const allBtn = await p.evaluate(() => document.activeElement.getAttribute("aria-label"));
  await p.keyboard.press("Tab");
  await p.keyboard.press("Tab");
  const box = await p.evaluate(() => ({ type: document.activeElement.type, value: document.activeElement.value }));
  await p.keyboard.press("Space");
  const unchecked = await p.evaluate((v) => !document.querySelector(`[data-kw=lib] input[value="${v}"]`).checked, box.value);
  check(allBtn === "Select all functions" && box.type === "checkbox" && unchecked, `library list by keyboard ("${allBtn}", Space unchecks ${box.value})`);
  await p.keyboard.press("Escape");
  await p.locator(".kw-lib summary").focus();
  await p.keyboard.press("Enter");

  // the network canvas: arrows choose an edge, Enter inspects it, Escape closes the inspector
  await p.evaluate(() => window.model.set("inspector", {}));
  await p.locator(".kw-network canvas").focus();
  await p.keyboard.press("ArrowRight");
  await p.keyboard.press("ArrowRight");
  await p.keyboard.press("ArrowUp");
  const chosen = await p.evaluate(() => ({
    edge: document.querySelector(".kw-network").dataset.focusEdge,
    live: document.querySelector(".kw-edge-live").textContent,
    ring: !document.querySelector(".kw-edge-focus").hidden,
  }));
  check(chosen.edge === "1,1,0" && chosen.ring, `Right, Right, Up chooses edge ${chosen.edge} with a visible highlight`);
  check(/^edge \(1, 1, 0\), spline, importance \d\.\d\d$/.test(chosen.live), `live region announces "${chosen.live}"`);
  await p.locator(".kanwidget").screenshot({ path: resolve(ARTIFACTS, "keyboard-edge-dark.png") });
  await p.keyboard.press("Enter");
  const sent = await p.evaluate(() => window.model.sent.at(-1));
  check(JSON.stringify(sent) === JSON.stringify({ type: "command", name: "inspect", args: { l: 1, i: 1, j: 0 } }), `Enter sends inspect ${JSON.stringify(sent.args)}`);
  await p.evaluate(() => window.model.set("inspector", window.fake.makeInspector(1, 1, 0, null)));
  await p.locator(".kw-inspector").waitFor();
  await p.keyboard.press("Escape");
  check((await p.evaluate(() => window.model.sent.at(-1).name)) === "close_inspector", "Escape sends close_inspector");

  // Cancel is the first Tab stop while a long command runs
  await p.evaluate(() => window.model.set("status", { state: "busy", text: "", step: 0, steps: 0, command: "auto_symbolic", done: 3, total: 9, eta_s: 4, cancellable: true }));
  await p.mouse.click(2, 2);
  await p.keyboard.press("Tab");
  const first = await p.evaluate(() => ({ kw: document.activeElement.dataset.kw, name: document.activeElement.getAttribute("aria-label") }));
  check(first.kw === "cancel" && /^Cancel/.test(first.name), `Cancel reached first by Tab ("${first.name}")`);
}
