import { describe, expect, it } from "vitest";
import { DataPanel, niceStep } from "../../src/datapanel";
import { checkMessage } from "../../src/protocol";
import { PROTOCOL } from "./fixtures";

function panel() {
  const sent: { name: string; args: Record<string, unknown> }[] = [];
  const p = new DataPanel((name, args = {}) => { sent.push({ name, args }); });
  document.body.append(p.el);
  p.setProtocol(PROTOCOL);
  p.setBusy(false);
  return { p, sent, q: (kw: string) => p.el.querySelector(`[data-kw="${kw}"]`) as HTMLInputElement };
}

describe("data panel", () => {
  it("lists the table's presets and sends a typed formula as text the table accepts", () => {
    const { sent, q } = panel();
    const select = q("data-preset") as unknown as HTMLSelectElement;
    const presets = PROTOCOL.commands.set_data.args.find((a) => a.name === "preset")!.choices!;
    expect([...select.options].map((o) => o.value)).toEqual([...presets, "__formula__"]);
    const input = q("data-formula");
    input.value = "x_1*x_2 + sin(pi*x_1)";
    input.dispatchEvent(new Event("input"));
    input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    expect(sent).toHaveLength(1);
    expect(sent[0].name).toBe("set_data");
    expect(sent[0].args).toMatchObject({ preset: null, formula: "x_1*x_2 + sin(pi*x_1)", n_train: 500, seed: 0 });
    expect(checkMessage(PROTOCOL, { type: "command", name: "set_data", args: sent[0].args })).toBeNull();
  });

  it("sends a preset, shows a refusal inline and is disabled while busy", () => {
    const { p, sent, q } = panel();
    (q("data-preset") as unknown as HTMLSelectElement).value = "xor";
    q("data-load").click();
    expect(sent[0].args).toMatchObject({ preset: "xor", formula: null });
    expect(checkMessage(PROTOCOL, { type: "command", name: "set_data", args: sent[0].args })).toBeNull();
    p.setError("set-data failed: set_data: formula (column 5): unknown function 'foo'; allowed: sin");
    expect(q("data-formula-error").textContent).toContain("unknown function 'foo'");
    expect(q("data-formula").getAttribute("aria-invalid")).toBe("true");
    p.setBusy(true);
    expect(q("data-load").disabled).toBe(true);
    expect(q("data-formula").disabled).toBe(true);
    q("data-load").click();
    expect(sent).toHaveLength(1);
  });

  it("every control has an accessible name and the source is summarised", () => {
    const { p } = panel();
    for (const el of p.el.querySelectorAll("input, select")) {
      expect(el.getAttribute("aria-label") || el.closest("label")?.textContent).toBeTruthy();
    }
    p.setSource({ kind: "preset", name: "two_circles", formula: "", latex: "", n_train: 200, n_test: 50,
      task: "classification", n_var: 2, seed: 4 });
    expect(p.el.querySelector('[data-kw="data-summary"]')!.textContent).toContain("two_circles · 200 train / 50 test");
    expect((p.el.querySelector('[data-kw="data-seed"]') as HTMLInputElement).value).toBe("4");
  });
});

describe("data panel with data from Python", () => {
  const python = { kind: "python" as const, name: "python", formula: "", latex: "", n_train: 80, n_test: 20, task: "regression" as const, n_var: 2 };

  it("shows 'your data (from Python)' selected, not loadable again nor regenerable", () => {
    const { p, sent, q } = panel();
    const select = q("data-preset") as unknown as HTMLSelectElement;
    p.setSource(python);
    expect(select.value).toBe("__python__");
    expect(select.selectedOptions[0].textContent).toBe("your data (from Python)");
    expect(select.selectedOptions[0].disabled).toBe(true);
    expect(select.options[0].value).toBe("__python__");
    expect(q("data-load").disabled).toBe(true);
    expect(q("data-regenerate").disabled).toBe(true);
    expect(p.el.querySelector('[data-kw="data-summary"]')!.textContent).toBe("your data (from Python) · 80 train / 20 test points");
    p.apply();                                          // even if asked: nothing is sent
    expect(sent).toHaveLength(0);
    p.setProtocol(PROTOCOL);                            // a new table keeps the entry and the selection
    expect(select.value).toBe("__python__");
    select.value = "xor";                               // another preset can be chosen and loaded
    select.dispatchEvent(new Event("change"));
    expect(q("data-load").disabled).toBe(false);
    q("data-load").click();
    expect(sent.at(-1)!.args).toMatchObject({ preset: "xor", formula: null });
  });

  it("the entry goes once a preset is loaded and comes back with the Python data (undo)", () => {
    const { p, q } = panel();
    const select = q("data-preset") as unknown as HTMLSelectElement;
    p.setSource(python);
    p.setSource({ ...python, kind: "preset", name: "xor", task: "classification", smoothing: 0.01, loss_floor: 0.0314 } as never);
    expect([...select.options].some((o) => o.value === "__python__")).toBe(false);
    expect(select.value).toBe("xor");
    expect(q("data-regenerate").disabled).toBe(false);
    expect(p.el.querySelector('[data-kw="data-summary"]')!.textContent).toContain("labels smoothed 1 %: its floor is 0.031, not 0");
    p.setSource(python);
    expect(select.value).toBe("__python__");
  });
});

describe("data panel sliders", () => {
  it("step on 1-2-5 values, so a browser's range snapping keeps the table's defaults (0.2 stays 0.2)", () => {
    expect([niceStep(0.009), niceStep(0.01), niceStep(0.011), niceStep(0.03), niceStep(0.07), niceStep(2.5)]).toEqual([0.01, 0.01, 0.02, 0.05, 0.1, 5]);
    const { q } = panel();
    const split = q("data-test_fraction");
    expect([split.min, split.step, split.max]).toEqual(["0.01", "0.01", "0.9"]);
    const snapped = (0.2 - Number(split.min)) / Number(split.step);     // whole steps from min: no snapping
    expect(Math.abs(snapped - Math.round(snapped))).toBeLessThan(1e-9);
    expect(q("data-noise").step).toBe("0.01");
  });
});
