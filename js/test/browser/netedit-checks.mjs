// Network editing checks of the browser harness (js/src/netedit.ts): the node buttons sit at their hidden
// layer's row, each control is named, reachable with Tab and ringed when focused, clicks send the table's
// commands, and everything is disabled while the model trains.
import { resolve } from "node:path";
import { ARTIFACTS } from "./serve.mjs";

export async function neteditChecks(p, url, check) {
  console.log("network editing");
  await p.goto(url);
  await p.waitForFunction(() => window.__ready && document.querySelector(".kanwidget")?.dataset.edges !== undefined);
  const rows = p.locator(".kw-netedit-row");
  check((await rows.count()) === 1, "netedit: one node row for the one hidden layer of [2,3,1]");
  const rowBox = await rows.first().boundingBox();
  const netBox = await p.locator(".kw-network").boundingBox();
  const nodeY = await p.evaluate(() => {
    const c = document.querySelector(".kw-network canvas").getBoundingClientRect();
    return c.top;
  });
  check(rowBox && netBox && rowBox.x + rowBox.width <= netBox.x + netBox.width + 1 && rowBox.y > nodeY,
    "netedit: the row sits inside the picture, at the right");
  const plus = p.getByRole("button", { name: "Add a node to hidden layer 1" });
  await plus.focus();
  const ring = await plus.evaluate((b) => getComputedStyle(b).outlineStyle);
  check(ring !== "none", `netedit: visible focus ring on + (${ring})`);
  await p.keyboard.press("Enter");
  const last = () => p.evaluate(() => window.model.sent.at(-1));
  check(JSON.stringify(await last()) === JSON.stringify({ type: "command", name: "add_node", args: { layer: 1 } }),
    "netedit: Enter on + sends add_node {layer: 1}");
  await p.keyboard.press("Shift+Tab");
  const focused = await p.evaluate(() => document.activeElement?.getAttribute("aria-label") ?? "");
  check(focused.startsWith("Remove the least important node of hidden layer 1"), `netedit: Shift+Tab reaches − (${focused})`);
  await p.getByRole("button", { name: /^Insert a hidden layer/ }).focus();   // keyboard: no other panel can cover it
  await p.keyboard.press("Enter");
  check((await last()).name === "add_layer", "netedit: + layer sends add_layer");
  await p.getByLabel("grid intervals").fill("8");
  await p.getByRole("button", { name: "Apply" }).focus();
  await p.keyboard.press("Enter");
  const regrid = await last();
  check(regrid.name === "regrid" && regrid.args.grid === 8, `netedit: Apply sends regrid ${JSON.stringify(regrid.args)}`);
  await p.locator(".kw-network-card").screenshot({ path: resolve(ARTIFACTS, "netedit.png") });
  await p.evaluate(() => window.model.set("status", { state: "training", text: "", step: 1, steps: 9 }));
  const enabled = await p.locator(".kw-netedit button:enabled, .kw-netedit-row button:enabled").count();
  check(enabled === 0, `netedit: every edit control disabled while training (${enabled} enabled)`);
  await p.evaluate(() => window.model.set("status", { state: "idle", text: "", step: 0, steps: 0 }));
}
