// Mounting the view on a fake model for the unit tests (happy-dom), and tearing every mounted view down.
import { createView, type View } from "../../src/index";
// @ts-ignore plain JS fixture
import { FakeModel } from "../fake-model.mjs";

const mounted: View[] = [];

/** The view rendered into a fresh element on `state`, drawn once; $ / $$ query inside it. */
export function mountState(state: Record<string, unknown>) {
  const model = new FakeModel(state);
  const el = document.createElement("div");
  document.body.append(el);
  const view = createView(model, el);
  view.network.draw();
  mounted.push(view);
  const $ = <T extends Element = HTMLElement>(sel: string) => el.querySelector(sel) as T;
  const $$ = <T extends Element = HTMLElement>(sel: string) => Array.from(el.querySelectorAll(sel)) as T[];
  return { model, el, view, $, $$ };
}

/** Destroys every view mounted so far and empties the page body (call in afterEach). */
export function unmountAll(): void {
  mounted.splice(0).forEach((v) => v.destroy());
  document.body.replaceChildren();
}
