// Play/Pause checks of the browser harness: Play sends train with steps 0 (until paused), the page shows
// the running state and the live step counter; while it runs Play is disabled and exactly one "Pause" is
// visible (the table's Pause button, focused when Play was pressed from the keyboard); Enter on it pauses,
// focus returns to Play; presentation mode shows the same single Pause.
import { resolve } from "node:path";
import { ARTIFACTS } from "./serve.mjs";

/** Visible buttons of the widget whose text starts with "Pause". */
const visiblePauses = (p) => p.evaluate(() => [...document.querySelectorAll(".kanwidget button")]
  .filter((b) => /^Pause/.test(b.textContent.trim()) && b.getClientRects().length > 0
    && getComputedStyle(b).visibility !== "hidden").map((b) => b.dataset.kw));

const active = (p) => p.evaluate(() => document.activeElement?.dataset?.kw ?? document.activeElement?.tagName);

export async function playChecks(p, url, check) {
  console.log("play: run until paused, live counter, one Pause");
  await p.goto(url);
  await p.waitForFunction(() => window.__ready && document.querySelector(".kanwidget")?.dataset.edges !== undefined);
  const play = p.getByRole("button", { name: "Play: train until paused", exact: true });
  check(await play.isVisible() && await play.isEnabled(), "play: a Play button named 'Play: train until paused', enabled while idle");
  check(JSON.stringify(await visiblePauses(p)) === '["pause"]', `play: idle, one Pause button (${await visiblePauses(p)})`);
  await play.focus();
  await p.keyboard.press("Enter");                                   // from the keyboard
  const sent = await p.evaluate(() => window.model.sent.at(-1));
  check(sent?.name === "train" && sent.args?.steps === 0, `play: Enter sends train with steps 0 (${JSON.stringify(sent)})`);
  check(await active(p) === "pause", `play: the focus moves to Pause (${await active(p)})`);
  // what Python publishes while the run goes on (trainer: steps 0, the step of the whole run)
  for (const step of [7, 120, 345]) {
    await p.evaluate((s) => window.model.set("status", {
      state: "training", text: `step ${s} · train 0.0123 · test 0.0145 · until paused`, step: s, steps: 0 }), step);
  }
  const status = p.locator(".kw-status");
  check((await status.getAttribute("data-state")) === "training" && (await status.getAttribute("data-step")) === "345",
    "play: the status is training at step 345");
  const text = await p.locator(".kw-status-text").textContent();
  check(text.startsWith("step 345 · ") && text.includes("until paused"), `play: live counter in the status line (${text})`);
  check(!(await p.locator(".kw-progress").isVisible()), "play: no progress bar for a run without an end");
  const pauses = await visiblePauses(p);
  check(JSON.stringify(pauses) === '["pause"]', `play: while running exactly one visible Pause (${pauses})`);
  const pause = p.getByRole("button", { name: "Pause", exact: true });
  check(await pause.isEnabled() && (await play.isDisabled()) && (await play.textContent()) === "Play",
    "play: Pause enabled, Play disabled (still reads Play) while running");
  check(await p.locator("[data-kw=prune]").isDisabled(), "play: model-changing buttons disabled while running");
  await p.screenshot({ path: resolve(ARTIFACTS, "play-running.png"), clip: { x: 0, y: 0, width: 1200, height: 160 } });
  await p.keyboard.press("Enter");                                   // focus is on Pause
  const stop = await p.evaluate(() => window.model.sent.at(-1));
  check(JSON.stringify(stop) === JSON.stringify({ type: "command", name: "pause", args: {} }), "play: Enter (on Pause) sends pause");
  await p.evaluate(() => window.model.set("status", { state: "idle", text: "paused after 345 steps · train 0.0123 · test 0.0145", step: 345, steps: 0 }));
  check((await status.getAttribute("data-state")) === "idle" && await play.isEnabled() && await active(p) === "play",
    `play: back to idle, Play enabled and focused again (${await active(p)})`);
  check((await p.locator(".kw-status-text").textContent()).includes("paused after 345 steps"), "play: the status says where it paused");
  await p.screenshot({ path: resolve(ARTIFACTS, "play-paused.png"), clip: { x: 0, y: 0, width: 1200, height: 160 } });

  console.log("play: presentation mode");
  await p.evaluate(() => window.model.set("presenting", true));
  await p.evaluate(() => window.model.set("status", { state: "training", text: "step 9 · until paused", step: 9, steps: 0 }));
  const shown = await visiblePauses(p);
  check(JSON.stringify(shown) === '["pause"]' && !(await play.isVisible()),
    `present: while running one visible Pause, no Play (${shown})`);
  await p.screenshot({ path: resolve(ARTIFACTS, "play-present-running.png"), clip: { x: 0, y: 0, width: 1200, height: 200 } });
  await p.evaluate(() => { window.model.set("status", { state: "idle", text: "paused", step: 9, steps: 0 }); window.model.set("presenting", false); });
}
