// The Play button: train until paused (steps 0) with the bar's settings. While a fit runs, Play is disabled and
// the table's Pause button is the one stop control: never two "Pause" buttons; keyboard focus follows.
import { afterEach, describe, expect, it } from "vitest";
import { mountState, unmountAll } from "./mount";
import { checkMessage } from "../../src/protocol";
import type { CommandMessage } from "../../src/types";
import { PROTOCOL, fixtureState } from "./fixtures";

afterEach(unmountAll);

/** The bar's buttons whose visible text starts with "Pause". */
const pauseButtons = (root: ParentNode) =>
  [...root.querySelectorAll<HTMLButtonElement>(".kw-controls button")].filter((b) => /^Pause/.test(b.textContent ?? ""));

describe("play", () => {
  it("sends train with steps 0 and the bar's settings; while training only Pause stops it", () => {
    const { model, $, el: root } = mountState(fixtureState());
    const play = $<HTMLButtonElement>("[data-kw=play]");
    const pause = $<HTMLButtonElement>("[data-kw=pause]");
    expect(play.textContent).toBe("Play");
    expect(play.getAttribute("aria-label")).toBe("Play: train until paused");
    expect(pauseButtons(root)).toEqual([pause]);
    const opt = $<HTMLSelectElement>(".kw-group-train [data-kw=opt]");
    opt.value = "Adam";
    opt.dispatchEvent(new Event("change"));
    play.focus();
    play.click();
    const sent = model.commands() as CommandMessage[];
    expect(sent.length).toBe(1);
    expect(sent[0].name).toBe("train");
    expect(sent[0].args).toMatchObject({ steps: 0, opt: "Adam", lr: 0.01 });
    expect(checkMessage(PROTOCOL, sent[0])).toBeNull();              // steps 0 is valid for the table
    expect(play.disabled).toBe(true);                                  // at once: no double start
    expect(document.activeElement).toBe(pause);                        // the keyboard user lands on the stop control
    model.set("status", { state: "training", text: "step 7 · train 0.1 · test 0.2 · until paused", step: 7, steps: 0 });
    expect(play.textContent).toBe("Play");
    expect(play.disabled).toBe(true);
    expect(play.title).toMatch(/press Pause/);
    expect(pauseButtons(root)).toEqual([pause]);                      // one Pause, enabled and marked
    expect(pause.disabled).toBe(false);
    expect(pause.classList.contains("kw-stop-now")).toBe(true);
    play.click();                                                      // a disabled Play sends nothing
    expect((model.commands() as CommandMessage[]).map((m) => m.name)).toEqual(["train"]);
    pause.click();
    expect((model.commands() as CommandMessage[]).map((m) => m.name)).toEqual(["train", "pause"]);
    model.set("status", { state: "idle", text: "paused after 7 steps", step: 7, steps: 0 });
    expect(play.disabled).toBe(false);
    expect(pause.classList.contains("kw-stop-now")).toBe(false);
    expect(document.activeElement).toBe(play);                         // Enter again plays again
    expect(pauseButtons(root)).toEqual([pause]);
  });

  it("a Train of N steps leaves the focus alone and still shows one Pause", () => {
    const { model, $, el: root } = mountState(fixtureState());
    const train = $<HTMLButtonElement>("[data-kw=train]");
    train.focus();
    train.click();
    model.set("status", { state: "training", text: "step 3/50", step: 3, steps: 50 });
    expect(pauseButtons(root).length).toBe(1);
    expect($<HTMLButtonElement>("[data-kw=play]").disabled).toBe(true);
    model.set("status", { state: "idle", text: "trained 50 steps", step: 50, steps: 50 });
    expect(document.activeElement).not.toBe($("[data-kw=play]"));
  });

  it("is disabled without data and while a long command runs", () => {
    const { model, $ } = mountState(fixtureState({ has_data: false }));
    const play = $<HTMLButtonElement>("[data-kw=play]");
    expect(play.disabled).toBe(true);
    model.set("has_data", true);
    model.set("status", { state: "busy", text: "auto-symbolic", step: 0, steps: 0 });
    expect(play.disabled).toBe(true);
  });
});
