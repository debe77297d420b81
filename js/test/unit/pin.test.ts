import { afterEach, describe, expect, it } from "vitest";
import { PinToggle, layerHost } from "../../src/pin";

afterEach(() => document.body.replaceChildren());

function setup(parent: ParentNode = document.body) {
  const home = document.createElement("div");
  const root = document.createElement("div");
  root.className = "kanwidget";
  home.append(root);
  parent.append(home);
  return { home, root, pin: new PinToggle(root, home) };
}

describe("pin to the side", () => {
  it("moves the root into a fixed layer and back, leaving a placeholder with Unpin", () => {
    const { home, root, pin } = setup();
    expect(pin.el.textContent).toBe("Pin");
    expect(pin.el.getAttribute("aria-pressed")).toBe("false");
    pin.el.click();
    expect(pin.pinned).toBe(true);
    const layer = document.body.querySelector(":scope > .kw-pin-layer");
    expect(layer?.firstElementChild).toBe(root);
    expect(root.classList.contains("kw-pinned")).toBe(true);
    expect(home.contains(root)).toBe(false);
    expect(home.querySelector(".kw-pin-placeholder")).not.toBeNull();
    expect(pin.el.textContent).toBe("Unpin");
    expect(pin.el.getAttribute("aria-pressed")).toBe("true");

    (home.querySelector("[data-kw=unpin]") as HTMLButtonElement).click();
    expect(pin.pinned).toBe(false);
    expect(root.parentElement).toBe(home);
    expect(home.querySelector(".kw-pin-placeholder")).toBeNull();
    expect(document.querySelector(".kw-pin-layer")).toBeNull();
    expect(root.classList.contains("kw-pinned")).toBe(false);
  });

  it("destroy removes the layer and the placeholder", () => {
    const { home, root, pin } = setup();
    pin.toggle(true);
    pin.toggle(true);   // idempotent
    expect(document.querySelectorAll(".kw-pin-layer").length).toBe(1);
    root.remove();
    pin.destroy();
    expect(document.querySelector(".kw-pin-layer")).toBeNull();
    expect(home.children.length).toBe(0);
  });

  it("uses the shadow root the view lives in (marimo) for the layer", () => {
    const host = document.createElement("div");
    document.body.append(host);
    const shadow = host.attachShadow({ mode: "open" });
    const { home } = setup(shadow);
    expect(layerHost(home)).toBe(shadow);
    expect(layerHost(document.createElement("div"))).toBe(document.body);
  });
});
