// Play/Pause checks of the browser harness: Play sends train with steps 0 (until paused), the page shows
// the running state and the live step counter, the toggle pauses, and the page returns to idle.
import { resolve } from "node:path";
import { ARTIFACTS } from "./serve.mjs";

export async function playChecks(p, url, check) {
  console.log("play: run until paused, live counter, pause");
  await p.goto(url);
  await p.waitForFunction(() => window.__ready && document.querySelector(".kanwidget")?.dataset.edges !== undefined);
  const play = p.getByRole("button", { name: /^Play$/ });
  check(await play.isVisible() && await play.isEnabled(), "play: a Play button by its accessible name, enabled while idle");
  await play.click();
  const sent = await p.evaluate(() => window.model.sent.at(-1));
  check(sent?.name === "train" && sent.args?.steps === 0, `play: sends train with steps 0 (${JSON.stringify(sent)})`);
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
  const pause = p.locator("[data-kw=play]");
  check((await pause.textContent()) === "Pause" && (await pause.getAttribute("aria-pressed")) === "true" && await pause.isEnabled(),
    "play: the toggle reads Pause (pressed) while running");
  check(await p.locator("[data-kw=prune]").isDisabled(), "play: model-changing buttons disabled while running");
  await p.screenshot({ path: resolve(ARTIFACTS, "play-running.png"), clip: { x: 0, y: 0, width: 1200, height: 160 } });
  await pause.focus();
  await p.keyboard.press("Enter");
  const stop = await p.evaluate(() => window.model.sent.at(-1));
  check(JSON.stringify(stop) === JSON.stringify({ type: "command", name: "pause", args: {} }), "play: Enter on the toggle sends pause");
  await p.evaluate(() => window.model.set("status", { state: "idle", text: "paused after 345 steps · train 0.0123 · test 0.0145", step: 345, steps: 0 }));
  check((await status.getAttribute("data-state")) === "idle" && (await pause.textContent()) === "Play"
    && (await pause.getAttribute("aria-pressed")) === "false", "play: back to idle, the toggle reads Play");
  check((await p.locator(".kw-status-text").textContent()).includes("paused after 345 steps"), "play: the status says where it paused");
  await p.screenshot({ path: resolve(ARTIFACTS, "play-paused.png"), clip: { x: 0, y: 0, width: 1200, height: 160 } });
}
