import { describe, expect, it } from "vitest";
import { logTicks } from "../../src/losschart";

describe("loss chart log ticks", () => {
  it("keeps 1-2-5 ticks on a short range and every decade on a medium one", () => {
    expect(logTicks(0.01, 1)).toEqual([0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1]);
    expect(logTicks(1e-4, 1, 10).map((v) => Math.round(Math.log10(v)))).toEqual([-4, -3, -2, -1, 0]);
  });

  it("thins the decades when the range is wide (a logistic loss down to 1e-25), never above maxTicks", () => {
    const ticks = logTicks(1e-25, 1, 8);
    expect(ticks.length).toBeLessThanOrEqual(8);
    expect(ticks.length).toBeGreaterThanOrEqual(4);
    const exps = ticks.map((v) => Math.round(Math.log10(v)));
    const gaps = new Set(exps.slice(1).map((e, k) => e - exps[k]));
    expect(gaps.size).toBe(1);                                  // evenly spaced decades
    expect(exps).toContain(0);                                  // aligned on 10^0
  });
});

describe("loss chart log ticks on a short range", () => {
  it("drops 2 and 5 only when the 1-2-5 ticks do not fit", () => {
    expect(logTicks(0.09, 0.55, 5)).toEqual([0.1, 0.2, 0.5]);
    expect(logTicks(0.009, 0.55, 4)).toEqual([0.01, 0.1]);
  });
});
