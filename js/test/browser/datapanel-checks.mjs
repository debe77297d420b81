// Data panel checks of the browser harness (js/src/datapanel.ts): a typed formula goes to Python as text in
// `set_data`; Python's refusal shows inline (role=alert) under the input; the preset select and the sliders
// (driven by the keyboard) send commands valid against the shipped table; Regenerate; the loaded source is
// summarised; every control is named, reachable with Tab and ringed when focused; all disabled while training;
// presentation mode hides the panel and the network-editing UI (js/src/present.css).
// Screenshots: artifacts/js/datapanel.png, datapanel-refusal.png.
import { resolve } from "node:path";
import { ARTIFACTS } from "./serve.mjs";

/** Problems of `args` against the table's spec of `command` ([] when valid: names, types, bounds, nullability). */
function problems(table, command, args) {
  const spec = table.commands[command];
  if (!spec) return [`unknown command ${command}`];
  const out = [];
  const known = new Set(spec.args.map((a) => a.name));
  for (const name of Object.keys(args)) if (!known.has(name)) out.push(`unexpected arg ${name}`);
  for (const a of spec.args) {
    const v = args[a.name];
    if (v === undefined) { if (a.required) out.push(`missing ${a.name}`); continue; }
    if (v === null) { if (!a.nullable) out.push(`${a.name} null`); continue; }
    if (a.type === "int" || a.type === "float") {
      if (typeof v !== "number" || !Number.isFinite(v) || (a.type === "int" && !Number.isInteger(v))) out.push(`${a.name} not ${a.type}: ${v}`);
      if (a.low != null && (a.low_open ? v <= a.low : v < a.low)) out.push(`${a.name} below ${a.low}: ${v}`);
      if (a.high != null && (a.high_open ? v >= a.high : v > a.high)) out.push(`${a.name} above ${a.high}: ${v}`);
    } else if (a.type === "choice" && !a.choices.includes(v)) out.push(`${a.name} not a choice: ${v}`);
    else if (a.type === "text" && (typeof v !== "string" || (a.max_length && v.length > a.max_length))) out.push(`${a.name} bad text`);
  }
  return out;
}

export async function datapanelChecks(p, url, check) {
  console.log("data panel");
  await p.goto(url);
  await p.waitForFunction(() => window.__ready && document.querySelector(".kanwidget")?.dataset.edges !== undefined);
  const table = await p.evaluate(() => window.model.get("protocol"));
  const last = () => p.evaluate(() => window.model.sent.at(-1));
  const count = () => p.evaluate(() => window.model.sent.length);
  const panel = p.getByRole("group", { name: "data" });
  check(await panel.isVisible(), "datapanel: a group named 'data' is shown");
  const options = await p.locator("[data-kw=data-preset] option").evaluateAll((os) => os.map((o) => o.value));
  check(["exp_sin", "two_circles", "xor", "two_spirals"].every((c) => options.includes(c)) && options.length === table.commands.set_data.args[0].choices.length + 1,
    `datapanel: the presets of the table plus 'typed formula' (${options.length} options)`);
  check((await p.locator("[data-kw=data-summary]").textContent()).startsWith("no data loaded"), "datapanel: the summary says no data is loaded");

  // a typed formula: sent as text, with the sliders' defaults
  const formula = p.getByLabel("formula in x_1 … x_n");
  const text = "exp(sin(pi*x_1) + x_2^2)";
  await formula.fill(text);
  check((await p.locator("[data-kw=data-preset]").inputValue()) === "__formula__", "datapanel: typing switches the select to 'typed formula'");
  await formula.press("Enter");
  const typed = await last();
  check(typed?.name === "set_data" && typed.args.formula === text && typed.args.preset === null,
    `datapanel: Enter sends set_data with the text (${JSON.stringify(typed?.args)})`);
  const p1 = problems(table, "set_data", typed.args);
  check(p1.length === 0 && typed.args.n_train === 500 && typed.args.noise === 0 && Math.abs(typed.args.test_fraction - 0.2) < 1e-9,
    `datapanel: the args are valid and the table's defaults (${p1.join("; ") || "ok"})`);

  // a bad formula: Python's refusal shows inline, named, with no prefix
  await formula.fill("x_1 + foo(x_2)");
  await p.getByRole("button", { name: "Load data" }).click();
  check((await last()).args.formula === "x_1 + foo(x_2)", "datapanel: Load sends the bad formula as text (Python judges it)");
  // Python's words for it (tests/widget/test_data_panel.py): the error trait as the widget sets it
  const refusal = "set_data: formula (column 7): unknown function 'foo'; allowed: sin, cos, tan, exp, log, sqrt, abs, tanh, sigmoid, sinh, cosh, arcsin, asin, arccos, acos, arctan, atan, min, max";
  await p.evaluate((m) => window.model.set("error", m), refusal);
  const alert = p.locator(".kw-data-panel [role=alert]");
  await alert.waitFor({ state: "visible" });
  const shown = await alert.textContent();
  check(shown.startsWith("formula (column 7): unknown function 'foo'") && !shown.includes("set_data:"), `datapanel: the refusal shows inline as an alert (${shown.slice(0, 40)}…)`);
  check((await formula.getAttribute("aria-invalid")) === "true", "datapanel: the input is marked aria-invalid");
  const alertBox = await alert.boundingBox(), inputBox = await formula.boundingBox();
  check(alertBox && inputBox && alertBox.y >= inputBox.y + inputBox.height - 1, "datapanel: the message sits under the input");
  await panel.screenshot({ path: resolve(ARTIFACTS, "datapanel-refusal.png") });
  await p.evaluate(() => window.model.set("error", ""));
  await formula.fill("x_1*x_2");
  check(!(await alert.isVisible()) && (await formula.getAttribute("aria-invalid")) === "false", "datapanel: typing again clears the message");
  // an empty formula is refused on the page, nothing sent
  const before = await count();
  await formula.fill("  ");
  await formula.press("Enter");
  check((await count()) === before && (await alert.textContent()).includes("type a formula"), "datapanel: an empty formula is refused on the page, nothing sent");

  // preset + sliders by keyboard -> valid set_data
  await p.locator("[data-kw=data-preset]").selectOption("two_circles");
  const noise = p.locator("[data-kw=data-noise]");
  await noise.focus();
  for (let k = 0; k < 5; k++) await p.keyboard.press("ArrowRight");
  const points = p.locator("[data-kw=data-n_train]");
  await points.focus();
  await p.keyboard.press("End");
  const split = p.locator("[data-kw=data-test_fraction]");
  await split.focus();
  await p.keyboard.press("Home");
  check((await p.locator(".kw-data-panel output").allTextContents()).every((t) => t !== ""), "datapanel: each slider shows its value");
  await p.locator("[data-kw=data-seed]").fill("7");
  await p.getByRole("button", { name: "Load data" }).click();
  const preset = await last();
  const p2 = problems(table, "set_data", preset.args);
  const a = preset.args;
  check(preset.name === "set_data" && a.preset === "two_circles" && a.formula === null, `datapanel: Load sends the chosen preset (${JSON.stringify(a)})`);
  check(p2.length === 0, `datapanel: preset args valid against the table (${p2.join("; ") || "ok"})`);
  check(a.noise > 0 && a.n_train === 10000 && a.test_fraction > 0 && a.test_fraction < 0.05 && a.seed === 7,
    `datapanel: the keyboard moved the sliders (noise ${a.noise}, points ${a.n_train}, test share ${a.test_fraction}, seed ${a.seed})`);
  await p.getByRole("button", { name: "Regenerate" }).click();
  check(JSON.stringify(await last()) === JSON.stringify({ type: "command", name: "regenerate", args: {} }), "datapanel: Regenerate sends regenerate {}");

  // what Python publishes after the load
  await p.evaluate(() => window.model.set("data_source", { kind: "preset", name: "two_circles", formula: "", latex: "", noise: 0.05,
    n_train: 400, n_test: 100, test_fraction: 0.2, seed: 8, task: "classification", n_var: 2, smoothing: 0.01, loss_floor: 0.03137 }));
  const summary = await p.locator("[data-kw=data-summary]").textContent();
  check(summary === "preset two_circles · 400 train / 100 test points · classification (logistic loss, labels smoothed 1 %: its floor is 0.031, not 0)",
    `datapanel: summary of the source (${summary})`);
  check((await p.locator("[data-kw=data-seed]").inputValue()) === "8", "datapanel: the seed input follows the source");

  // names, Tab order and focus rings
  const controls = await p.locator(".kw-data-panel").evaluate((el) => [...el.querySelectorAll("input, select, button")].map((c) => {
    const label = c.closest("label")?.querySelector("span")?.textContent ?? "";
    return { kw: c.dataset.kw, name: c.getAttribute("aria-label") || (c.tagName === "BUTTON" ? c.textContent : "") || label };
  }));
  const unnamed = controls.filter((c) => !c.name?.trim());
  check(controls.length >= 8 && unnamed.length === 0, `datapanel: ${controls.length} controls, each named (${unnamed.map((c) => c.kw).join(",") || "all"})`);
  await p.locator("[data-kw=data-preset]").focus();
  const visited = [];
  for (let k = 0; k < controls.length - 1; k++) {
    await p.keyboard.press("Tab");
    visited.push(await p.evaluate(() => {
      const el = document.activeElement;
      return { kw: el?.dataset?.kw ?? "", ring: el ? getComputedStyle(el).outlineStyle : "none" };
    }));
  }
  const order = visited.map((v) => v.kw);
  check(controls.slice(1).every((c) => order.includes(c.kw)), `datapanel: Tab reaches every control (${order.join(" → ")})`);
  const ringless = visited.filter((v) => v.kw.startsWith("data-") && v.ring === "none");
  check(ringless.length === 0, `datapanel: a focus ring on each (${ringless.map((v) => v.kw).join(",") || "all ringed"})`);
  await p.locator("[data-kw=data-load]").focus();
  await panel.screenshot({ path: resolve(ARTIFACTS, "datapanel.png") });

  // disabled while training
  await p.evaluate(() => window.model.set("status", { state: "training", text: "", step: 1, steps: 9 }));
  const enabled = await p.locator(".kw-data-panel :is(input, select, button):enabled").count();
  check(enabled === 0, `datapanel: every control disabled while training (${enabled} enabled)`);
  await p.evaluate(() => window.model.set("status", { state: "idle", text: "", step: 0, steps: 0 }));
  check(await p.getByRole("button", { name: "Load data" }).isEnabled(), "datapanel: enabled again when idle");

  // presentation mode: no stray labels of hidden controls (data panel, network editing)
  await p.evaluate(() => window.model.set("presenting", true));
  const stray = await p.evaluate(() => [...document.querySelectorAll(".kw-data-panel, .kw-netedit, .kw-netedit-nodes, .kw-dv-controls")]
    .filter((e) => e.getClientRects().length > 0).map((e) => e.className));
  check(stray.length === 0, `datapanel: presentation mode hides the data panel and the editing UI (${stray.join(",") || "none shown"})`);
  await p.evaluate(() => window.model.set("presenting", false));
  check(await panel.isVisible(), "datapanel: shown again after presentation mode");

  // data given from Python (KANWidget(model, dataset)): the menu says so, nothing to load or regenerate
  await p.evaluate(() => window.model.set("data_source", { kind: "python", name: "python", formula: "", latex: "",
    n_train: 80, n_test: 20, n_var: 2, task: "regression" }));
  const select = p.locator("[data-kw=data-preset]");
  const shownOption = await select.evaluate((s) => ({ value: s.value, text: s.selectedOptions[0]?.textContent, disabled: s.selectedOptions[0]?.disabled }));
  check(shownOption.value === "__python__" && shownOption.text === "your data (from Python)" && shownOption.disabled,
    `datapanel: Python data show as 'your data (from Python)', not a preset (${JSON.stringify(shownOption)})`);
  check(await p.getByRole("button", { name: "Load data" }).isDisabled() && await p.getByRole("button", { name: "Regenerate" }).isDisabled(),
    "datapanel: with Python data Load and Regenerate are disabled");
  check((await p.locator("[data-kw=data-summary]").textContent()).startsWith("your data (from Python) · 80 train / 20 test"),
    "datapanel: the summary names the user's data");
  await panel.screenshot({ path: resolve(ARTIFACTS, "datapanel-python.png") });
  await select.selectOption("xor");
  await p.getByRole("button", { name: "Load data" }).click();
  const xor = await last();
  check(xor.name === "set_data" && xor.args.preset === "xor" && problems(table, "set_data", xor.args).length === 0,
    "datapanel: another preset can still be chosen and loaded");
}
