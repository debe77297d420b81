import { afterEach, describe, expect, it } from "vitest";
import { mountState, unmountAll } from "./mount";
import { describeEdge, navigate } from "../../src/edgenav";
import type { EdgeGeom } from "../../src/layout";
// @ts-ignore plain JS fixture
import { smallState, makeInspector } from "../fake.mjs";
import { PROTOCOL } from "./fixtures";

afterEach(unmountAll);

function mount(overrides: Record<string, unknown> = {}) {
  const { model, el, view } = mountState(smallState({ protocol: PROTOCOL, ...overrides }));
  const canvas = view.network.canvas;
  const press = (key: string, target: Element = canvas) => {
    const ev = new KeyboardEvent("keydown", { key, bubbles: true, cancelable: true });
    target.dispatchEvent(ev);
    return ev;
  };
  const chosen = () => view.network.el.dataset.focusEdge;
  return { model, el, view, canvas, press, chosen };
}

describe("choosing an edge with the keyboard", () => {
  // smallState: [2, 5, 1]; edge (0, 1, 4) inactive; drawn 720 px wide in happy-dom, so layer 0 has
  // box centres 16 + (i*5 + j + 0.5) * 68.8 and layer 1 16 + (i + 0.5) * 137.6.
  it("is a Tab stop that explains its keys", () => {
    const { canvas } = mount();
    expect(canvas.tabIndex).toBe(0);
    expect(canvas.getAttribute("aria-label")).toMatch(/Arrow keys.*Enter.*Escape/);
  });

  it("arrows, Home and End move between edges; Enter sends inspect with that edge", () => {
    const { model, canvas, press, chosen, el } = mount();
    canvas.focus();
    expect(chosen()).toBe("0,0,0");
    press("ArrowRight");
    expect(chosen()).toBe("0,0,1");
    press("End");
    expect(chosen()).toBe("0,1,3");      // (0, 1, 4) is pruned: not a stop
    press("ArrowRight");
    expect(chosen()).toBe("0,1,3");      // no wrap at the end of the layer
    press("Home");
    expect(chosen()).toBe("0,0,0");
    press("ArrowLeft");
    expect(chosen()).toBe("0,0,0");
    press("ArrowRight");
    press("ArrowRight");
    press("ArrowRight");
    expect(chosen()).toBe("0,0,3");      // box centre 256.8
    press("ArrowUp");
    expect(chosen()).toBe("1,1,0");      // nearest box above: centre 222.4
    press("ArrowUp");
    expect(chosen()).toBe("1,1,0");      // no layer above
    expect(el.querySelector(".kw-edge-live")!.textContent).toMatch(/^edge \(1, 1, 0\), exp, importance \d\.\d\d$/);
    const enter = press("Enter");
    expect(enter.defaultPrevented).toBe(true);   // JupyterLab's shortcuts leave handled keys alone
    expect(model.commands("inspect")).toEqual([{ type: "command", name: "inspect", args: { l: 1, i: 1, j: 0 } }]);
    press("End");
    press("ArrowDown");
    expect(chosen()).toBe("0,1,3");      // below (1, 4, 0) at 635.2: nearest drawn box is (0, 1, 3) at 566.4
    press(" ");
    expect(model.commands("inspect").at(-1).args).toEqual({ l: 0, i: 1, j: 3 });
  });

  it("keeps the chosen edge across a redraw", () => {
    const { view, canvas, press, chosen } = mount();
    canvas.focus();
    press("End");
    view.network.draw();
    expect(chosen()).toBe("0,1,3");
  });

  it("Escape closes the inspector (from the canvas and from inside the inspector)", () => {
    const { model, press, el, canvas } = mount({ inspector: makeInspector(0, 1, 2, null) });
    canvas.focus();
    press("Escape");
    expect(model.commands("close_inspector").length).toBe(1);
    const fix = el.querySelector<HTMLButtonElement>(".kw-inspector [data-kw=fix]")!;
    fix.focus();
    press("Escape", fix);
    expect(model.commands("close_inspector").length).toBe(2);
    expect(document.activeElement).toBe(canvas);   // focus goes back to the network
    model.set("inspector", {});
    press("Escape");
    expect(model.commands("close_inspector").length).toBe(2);   // nothing to close
  });

  it("navigate() on a hand-made layout", () => {
    const g = (l: number, i: number, j: number, x: number): EdgeGeom => ({
      e: 0, l, i, j, edge: { i, j, active: true, importance: 0.5, symbolic: null, xmin: 0, xmax: 1, ymin: 0, ymax: 1 },
      x0: 0, y0: 0, x1: 0, y1: 0, bx: x - 5, by: 0, bw: 10, bh: 10,
    });
    const edges = [g(0, 0, 0, 10), g(0, 1, 0, 50), g(2, 0, 0, 48), g(2, 0, 1, 90)];   // layer 1 has no edge drawn
    expect(navigate(edges, -1, "ArrowRight")).toBe(0);
    expect(navigate(edges, 1, "ArrowUp")).toBe(2);       // skips the empty layer
    expect(navigate(edges, 3, "ArrowDown")).toBe(1);
    expect(navigate(edges, 0, "ArrowDown")).toBe(0);
    expect(navigate([], -1, "ArrowUp")).toBe(-1);
    expect(describeEdge(edges[1])).toBe("edge (0, 1, 0), spline, importance 0.50");
  });
});

/** The accessible name of a control, computed as assistive technology does for these simple cases. */
function accessibleName(e: HTMLElement): string {
  const by = e.getAttribute("aria-labelledby");
  if (by) return by.split(/\s+/).map((id) => document.getElementById(id)?.textContent ?? "").join(" ").trim();
  const aria = e.getAttribute("aria-label");
  if (aria) return aria.trim();
  if (e instanceof HTMLInputElement || e instanceof HTMLSelectElement) {
    const label = e.closest("label") ?? (e.id ? document.querySelector(`label[for="${e.id}"]`) : null);
    if (label) {
      const copy = label.cloneNode(true) as HTMLElement;
      copy.querySelectorAll("input, select, option").forEach((n) => n.remove());
      if (copy.textContent?.trim()) return copy.textContent.trim();
    }
  } else if (e.textContent?.trim()) {
    return e.textContent.trim();
  }
  return (e.getAttribute("title") ?? "").trim();
}

describe("accessible names", () => {
  it("every button, input, select, summary and focusable element in the widget has a name that says what it does", () => {
    const { el, model } = mount({ inspector: makeInspector(1, 2, 0, "sin"), error: "prune failed" });
    model.set("status", { state: "busy", text: "", step: 0, steps: 0, command: "auto_symbolic", done: 1, total: 4, eta_s: 2, cancellable: true });
    el.querySelector<HTMLDetailsElement>(".kw-lib")!.open = true;
    const controls = [...el.querySelectorAll<HTMLElement>("button, input, select, summary, textarea, [tabindex]")];
    const kinds = new Set(controls.map((c) => c.dataset.kw ?? c.tagName));
    for (const k of ["cancel", "dismiss-error", "close-inspector", "unfix", "fix", "train", "steps", "opt", "SUMMARY", "CANVAS", "copy-latex"]) {
      expect(kinds.has(k), `a ${k} control is present`).toBe(true);
    }
    expect(el.querySelectorAll(".kw-version").length).toBe(5);
    expect(el.querySelectorAll("[data-kw=lib] input").length).toBeGreaterThan(10);
    const unnamed = controls.filter((c) => !/[A-Za-z]{2}/.test(accessibleName(c))).map((c) => c.outerHTML.slice(0, 100));
    expect(unnamed).toEqual([]);
    // names that tell the candidates' Fix buttons and the version chips apart
    const fixNames = [...el.querySelectorAll<HTMLElement>("[data-kw=fix]")].map(accessibleName);
    expect(new Set(fixNames).size).toBe(fixNames.length);
    const chipNames = [...el.querySelectorAll<HTMLElement>(".kw-version")].map(accessibleName);
    expect(chipNames.every((n) => /^Version \d+: /.test(n))).toBe(true);
    expect(el.querySelector(".kw-version")!.closest("[role=listitem]")).not.toBeNull();
  });
});
