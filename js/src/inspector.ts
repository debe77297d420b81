/** Edge inspector: enlarged curve, data samples, grid knots, symbolic candidates. */
import { h, fmtNum } from "./dom";
import type { Inspector, SendCommand } from "./types";

const SVGNS = "http://www.w3.org/2000/svg";
const W = 340;
const H = 190;
const M = { left: 56, right: 10, top: 10, bottom: 24 };
const MAX_DOTS = 1500;

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

function nums(a: unknown): number[] {
  return Array.isArray(a) ? a.map(Number) : [];
}

export function isOpen(ins: unknown): ins is Inspector {
  return !!ins && typeof ins === "object" && Number.isFinite(Number((ins as Inspector).l)) && "i" in (ins as object);
}

export class InspectorPanel {
  readonly el: HTMLDivElement;
  private send: SendCommand;
  private locked = false;
  private canFix = true;

  constructor(send: SendCommand) {
    this.send = send;
    this.el = h("div", { class: "kw-inspector kw-panel", hidden: true });
  }

  update(ins: unknown): void {
    if (!isOpen(ins)) {
      this.el.hidden = true;
      this.el.replaceChildren();
      delete this.el.dataset.edge;
      return;
    }
    const { l, i, j } = ins;
    const symbolic = ins.symbolic ?? null;
    this.el.hidden = false;
    this.el.dataset.edge = `${l},${i},${j}`;
    const close = h("button", { type: "button", class: "kw-icon-btn", "data-kw": "close-inspector", title: "Close", "aria-label": "Close inspector", text: "×" });
    close.addEventListener("click", () => this.send("close_inspector", {}));
    const title = h("div", { class: "kw-panel-title" },
      h("span", { text: `Edge φ(${l}, ${i}, ${j})` }),
      symbolic ? h("span", { class: "kw-badge kw-badge-symbolic", text: symbolic }) : h("span", { class: "kw-badge", text: "spline" }),
      close);
    const children: Node[] = [title, this.plot(ins)];
    if (symbolic) {
      const unfix = h("button", { type: "button", class: "kw-btn", "data-kw": "unfix", text: `Unfix ${symbolic}`, title: "Turn this edge back into a trainable spline" });
      unfix.addEventListener("click", () => this.send("unfix_symbolic", { l, i, j }));
      children.push(h("div", { class: "kw-inspector-actions" }, unfix));
    }
    children.push(this.table(ins));
    this.el.replaceChildren(...children);
    this.lock(this.locked, this.canFix);
  }

  /**
   * locked: the model is training or busy, so Fix / Unfix (model changes) are disabled;
   * canFix: false when fixing is not possible (it needs a dataset).
   */
  lock(locked: boolean, canFix = true): void {
    this.locked = locked;
    this.canFix = canFix;
    for (const b of this.el.querySelectorAll<HTMLButtonElement>("[data-kw=fix], [data-kw=unfix]")) {
      const fixed = b.dataset.kw === "fix" && b.closest(".kw-fixed") !== null;
      b.disabled = locked || fixed || (b.dataset.kw === "fix" && !canFix);
    }
  }

  private plot(ins: Inspector): SVGSVGElement {
    const x = nums(ins.x);
    const y = nums(ins.y);
    const dx = nums(ins.data_x);
    const dy = nums(ins.data_y);
    const knots = nums(ins.knots);
    const s = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "kw-inspector-plot", role: "img", "aria-label": "edge function plot" });
    let xlo = Infinity, xhi = -Infinity, ylo = Infinity, yhi = -Infinity;
    const ext = (xs: number[], ys: number[]) => {
      for (let k = 0; k < Math.min(xs.length, ys.length); k++) {
        if (!Number.isFinite(xs[k]) || !Number.isFinite(ys[k])) continue;
        xlo = Math.min(xlo, xs[k]); xhi = Math.max(xhi, xs[k]);
        ylo = Math.min(ylo, ys[k]); yhi = Math.max(yhi, ys[k]);
      }
    };
    ext(x, y);
    ext(dx, dy);
    if (!(xhi >= xlo)) { xlo = -1; xhi = 1; }
    if (!(yhi >= ylo)) { ylo = -1; yhi = 1; }
    if (xhi - xlo < 1e-12) { xlo -= 0.5; xhi += 0.5; }
    if (yhi - ylo < 1e-12) { ylo -= 0.5; yhi += 0.5; }
    const py = (yhi - ylo) * 0.06;
    ylo -= py; yhi += py;
    const pw = W - M.left - M.right;
    const ph = H - M.top - M.bottom;
    const sx = (v: number) => M.left + ((v - xlo) / (xhi - xlo)) * pw;
    const sy = (v: number) => M.top + ph - ((v - ylo) / (yhi - ylo)) * ph;
    s.append(svg("rect", { x: M.left, y: M.top, width: pw, height: ph, class: "kw-plot-frame" }));
    // axis labels (ends of the ranges)
    const lab = (t: string, x0: number, y0: number, anchor: string) => {
      const e = svg("text", { x: x0, y: y0, "text-anchor": anchor, class: "kw-axis-label" });
      e.textContent = t;
      s.append(e);
    };
    lab(fmtNum(xlo), M.left, H - 8, "start");
    lab(fmtNum(xhi), M.left + pw, H - 8, "end");
    lab(fmtNum(yhi), M.left - 4, M.top + 9, "end");
    lab(fmtNum(ylo), M.left - 4, M.top + ph, "end");
    if (ylo < 0 && yhi > 0) s.append(svg("line", { x1: M.left, x2: M.left + pw, y1: sy(0), y2: sy(0), class: "kw-zero" }));
    // knots as ticks along the bottom
    const kg = svg("g", { class: "kw-knots" });
    for (const k of knots) {
      if (!Number.isFinite(k) || k < xlo || k > xhi) continue;
      kg.append(svg("line", { class: "kw-knot", x1: sx(k), x2: sx(k), y1: M.top + ph, y2: M.top + ph - 6 }));
    }
    s.append(kg);
    // data samples
    const dg = svg("g", { class: "kw-samples" });
    const n = Math.min(dx.length, dy.length);
    const stride = Math.max(1, Math.ceil(n / MAX_DOTS));
    for (let k = 0; k < n; k += stride) {
      if (!Number.isFinite(dx[k]) || !Number.isFinite(dy[k])) continue;
      dg.append(svg("circle", { class: "kw-sample", cx: sx(dx[k]).toFixed(1), cy: sy(dy[k]).toFixed(1), r: 1.8 }));
    }
    s.append(dg);
    // the curve
    let d = "";
    let pen = false;
    for (let k = 0; k < Math.min(x.length, y.length); k++) {
      if (!Number.isFinite(x[k]) || !Number.isFinite(y[k])) { pen = false; continue; }
      d += `${pen ? "L" : "M"}${sx(x[k]).toFixed(1)},${sy(y[k]).toFixed(1)}`;
      pen = true;
    }
    s.append(svg("path", { d, class: ins.symbolic ? "kw-curve kw-curve-symbolic" : "kw-curve" }));
    return s;
  }

  private table(ins: Inspector): HTMLElement {
    const cands = Array.isArray(ins.candidates) ? ins.candidates : [];
    if (!cands.length) return h("p", { class: "kw-muted", text: "No symbolic candidates for this edge." });
    const body = h("tbody");
    for (const c of cands) {
      const fixed = ins.symbolic === c.name;
      const fix = h("button", {
        type: "button", class: "kw-btn kw-small", "data-kw": "fix", "data-name": c.name, text: fixed ? "Fixed" : "Fix", disabled: fixed,
        title: `Replace this edge by ${c.name}`, "aria-label": fixed ? `Edge fixed as ${c.name}` : `Fix edge (${ins.l}, ${ins.i}, ${ins.j}) as ${c.name}`,
      });
      fix.addEventListener("click", () => this.send("fix_symbolic", { l: ins.l, i: ins.i, j: ins.j, name: c.name }));
      body.append(h("tr", { class: `kw-candidate${fixed ? " kw-fixed" : ""}`, "data-name": c.name },
        h("td", { class: "kw-cand-name", text: c.name }),
        h("td", { class: "kw-num-cell", text: Number.isFinite(Number(c.r2)) ? Number(c.r2).toFixed(4) : "–" }),
        h("td", { class: "kw-num-cell", text: String(c.complexity ?? "–") }),
        h("td", {}, fix)));
    }
    return h("table", { class: "kw-candidates" },
      h("thead", {}, h("tr", {}, h("th", { text: "function" }), h("th", { text: "R²" }), h("th", { text: "complexity" }), h("th"))),
      body);
  }
}
