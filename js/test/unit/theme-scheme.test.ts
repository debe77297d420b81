import { afterEach, describe, expect, it } from "vitest";
import { PaletteReader, PALETTE_VARS } from "../../src/theme";

afterEach(() => document.body.replaceChildren());

function host(): HTMLDivElement {
  const el = document.createElement("div");
  el.className = "kanwidget";
  // the same raw value in both schemes, as widget.css's light-dark() fallbacks are
  el.style.setProperty(PALETTE_VARS.background, "rgb(10, 20, 30)");
  document.body.append(el);
  return el;
}

describe("palette cache and the page's color-scheme", () => {
  it("reports a change when only the color-scheme flips (marimo's dark mode)", () => {
    const el = host();
    const reader = new PaletteReader();
    reader.read(el);
    expect(reader.changed(el)).toBe(false);
    el.style.setProperty("color-scheme", "dark");
    expect(getComputedStyle(el).getPropertyValue("color-scheme").trim()).toBe("dark");
    expect(reader.changed(el)).toBe(true);
    reader.read(el);
    expect(reader.changed(el)).toBe(false);
    el.style.setProperty("color-scheme", "light");
    expect(reader.changed(el)).toBe(true);
  });

});
