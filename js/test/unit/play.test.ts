// The Play/Pause toggle: train until paused (steps 0) with the bar's settings; while training it pauses.
import { afterEach, describe, expect, it } from "vitest";
import { mountState, unmountAll } from "./mount";
import { checkMessage } from "../../src/protocol";
import type { CommandMessage } from "../../src/types";
import { PROTOCOL, fixtureState } from "./fixtures";

afterEach(unmountAll);

describe("play", () => {
  it("sends train with steps 0 and the bar's settings, then pauses while training", () => {
    const { model, $ } = mountState(fixtureState());
    const play = $<HTMLButtonElement>("[data-kw=play]");
    expect(play.textContent).toBe("Play");
    expect(play.getAttribute("aria-pressed")).toBe("false");
    const opt = $<HTMLSelectElement>(".kw-group-train [data-kw=opt]");
    opt.value = "Adam";
    opt.dispatchEvent(new Event("change"));
    play.click();
    const sent = model.commands() as CommandMessage[];
    expect(sent.length).toBe(1);
    expect(sent[0].name).toBe("train");
    expect(sent[0].args).toMatchObject({ steps: 0, opt: "Adam", lr: 0.01 });
    expect(checkMessage(PROTOCOL, sent[0])).toBeNull();              // steps 0 is valid for the table
    model.set("status", { state: "training", text: "step 7 · train 0.1 · test 0.2 · until paused", step: 7, steps: 0 });
    expect(play.textContent).toBe("Pause");
    expect(play.getAttribute("aria-pressed")).toBe("true");
    expect(play.disabled).toBe(false);
    play.click();
    expect((model.commands() as CommandMessage[]).map((m) => m.name)).toEqual(["train", "pause"]);
    model.set("status", { state: "idle", text: "paused after 7 steps", step: 7, steps: 0 });
    expect(play.textContent).toBe("Play");
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
