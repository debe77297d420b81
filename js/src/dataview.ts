/**
 * The data view panel: heat maps of the target, the prediction and the residual over the input box
 * (2-D models and slices of larger ones) or the curve against the points (1-D models), the train
 * (filled) and test (hollow) points on top, colour legends with their ranges, the slice controls
 * (axes, held values, output; they send the `dataview` command), a node's thumbnail enlarged and an
 * "Export PNG" button. Colours come from the theme palette (theme.ts), so light / dark / high
 * contrast all work; the panel redraws itself when the theme changes.
 */
import { fmtNum, h } from "./dom";
import { type ColorMap, type DecodedView, decodeDataView, divergingMap, heatImage, rgbText, sequentialMap } from "./heatmap";
import { PaletteReader, type Palette, watchTheme } from "./theme";
import { Thumbnails } from "./thumbnails";
import type { BytesLike, SendCommand } from "./types";

const W2 = 220, H2 = 200, W1 = 460, M = { l: 34, t: 18, r: 48, b: 30 };
const TITLES: Record<string, string> = { target: "target", pred: "prediction", residual: "residual (prediction − target)" };

export class DataViewPanel {
  readonly el: HTMLDivElement;
  thumbnails: Thumbnails | null = null;
  private view: DecodedView | null = null;
  private figures: HTMLDivElement;
  private controls: HTMLDivElement;
  private nodeFig: HTMLDivElement;
  private nodeSelect: HTMLSelectElement;
  private info: HTMLSpanElement;
  private exportBtn: HTMLButtonElement;
  private node: [number, number] | null = null;
  private errorText = "";
  private controlsKey = "";
  private reader = new PaletteReader();
  private unwatch: () => void;
  private send: SendCommand;

  constructor(send: SendCommand) {
    this.send = send;
    this.info = h("span", { class: "kw-muted kw-dv-info" });
    this.nodeSelect = h("select", { class: "kw-select kw-dv-node", "aria-label": "Show a node's value enlarged" });
    this.nodeSelect.addEventListener("change", () => {
      const v = this.nodeSelect.value;
      this.showNode(v ? (v.split(",").map(Number) as [number, number]) : null);
    });
    this.exportBtn = h("button", { type: "button", class: "kw-btn kw-small", "data-kw": "dataview-export",
      text: "Export PNG", "aria-label": "Export the data view as a PNG image", title: "Download the data view as PNG" });
    this.exportBtn.addEventListener("click", () => this.download());
    this.controls = h("div", { class: "kw-dv-controls" });
    this.figures = h("div", { class: "kw-dv-figures" });
    this.nodeFig = h("div", { class: "kw-dv-nodefig", hidden: true });
    this.el = h("div", { class: "kw-card kw-dataview", role: "region", "aria-label": "Data view" },
      h("div", { class: "kw-dv-head" }, h("span", { class: "kw-dv-title", text: "Data view" }), this.info,
        this.nodeSelect, this.exportBtn),
      this.controls, h("div", { class: "kw-dv-body" }, this.figures, this.nodeFig));
    this.unwatch = watchTheme(() => {
      for (const ms of [0, 150, 600]) setTimeout(() => { if (this.reader.changed(this.el)) this.draw(); }, ms);
    });
  }

  /** New payload (meta + bytes): redraws everything; the thumbnails follow. */
  update(meta: unknown, buf: BytesLike): void {
    const view = decodeDataView(meta, buf);
    if (!view && meta && (meta as { kind?: string }).kind !== "none" && this.view) return;   // wait for the pair
    this.view = view;
    this.errorText = String((meta as { error?: string } | null)?.error ?? "");
    this.thumbnails = view ? new Thumbnails(view) : null;
    this.el.dataset.kind = view?.meta.kind ?? "none";
    this.buildControls();
    this.draw();
  }

  /** Shows node (level, index)'s thumbnail enlarged (null hides it). */
  showNode(node: [number, number] | null): void {
    this.node = node;
    this.nodeSelect.value = node ? node.join(",") : "";
    this.drawNode(this.reader.read(this.el));
    if (node) this.nodeFig.querySelector("canvas")?.scrollIntoView?.({ block: "nearest" });
  }

  /** Every figure drawn side by side on one canvas (what Export PNG saves). */
  exportCanvas(): HTMLCanvasElement {
    const parts = [...this.el.querySelectorAll<HTMLCanvasElement>(".kw-dv-body canvas")]
      .filter((c) => !c.closest("[hidden]") && c.width > 0);
    const out = document.createElement("canvas");
    out.width = Math.max(1, parts.reduce((s, c) => s + c.width, 0));
    out.height = Math.max(1, ...parts.map((c) => c.height));
    const ctx = out.getContext("2d");
    if (ctx) {
      ctx.fillStyle = this.reader.read(this.el).background;
      ctx.fillRect(0, 0, out.width, out.height);
      let x = 0;
      for (const c of parts) {
        ctx.drawImage(c, x, 0);
        x += c.width;
      }
    }
    return out;
  }

  private download(): void {
    const a = h("a", { href: this.exportCanvas().toDataURL("image/png"), download: "kanwidget-dataview.png" });
    this.el.append(a);
    a.click();
    a.remove();
  }

  // ---------------------------------------------------------------- controls
  private buildControls(): void {
    const m = this.view?.meta;
    const names = (m?.input_box ?? []).map((_, k) => `x_${k + 1}`);
    const key = m ? JSON.stringify([m.kind, m.axes, m.held, m.output, m.n_outputs, m.input_box, m.nodes]) : "";
    if (key === this.controlsKey) return;
    this.controlsKey = key;
    const parts: HTMLElement[] = [];
    if (m && m.kind === "slice") {
      parts.push(this.axisSelect("x axis", 0, names), this.axisSelect("y axis", 1, names));
      m.input_box.forEach(([lo, hi], k) => {
        if (m.axes.includes(k)) return;
        const value = m.held[k];
        const out = h("output", { text: fmtNum(value) });
        const slider = h("input", { type: "range", min: lo, max: hi, step: (hi - lo) / 100 || 0.01, value,
          "data-kw": `held-${k}`, "aria-label": `held value of ${names[k]}` });
        slider.addEventListener("input", () => { out.textContent = fmtNum(Number(slider.value)); });
        slider.addEventListener("change", () => {
          const held = [...m.held];
          held[k] = Number(slider.value);
          this.command({ held });
        });
        parts.push(h("label", { class: "kw-field kw-dv-held" }, h("span", { text: `${names[k]} =` }), slider, out));
      });
    }
    if (m && m.n_outputs > 1) {
      const sel = h("select", { class: "kw-select", "data-kw": "dataview-output", "aria-label": "output shown" },
        ...Array.from({ length: m.n_outputs }, (_, k) => h("option", { value: k, text: `y_${k + 1}` })));
      sel.value = String(m.output);
      sel.addEventListener("change", () => this.command({ output: Number(sel.value) }));
      parts.push(h("label", { class: "kw-field" }, h("span", { text: "output" }), sel));
    }
    this.controls.replaceChildren(...parts);
    this.controls.hidden = parts.length === 0;
    const options = (m?.nodes ?? []).map(([l, i]) => h("option", { value: `${l},${i}`, text: nodeName(l, i, m!) }));
    this.nodeSelect.replaceChildren(h("option", { value: "", text: "node: none" }), ...options);
    this.nodeSelect.value = this.node ? this.node.join(",") : "";
    if (this.node && this.nodeSelect.value === "") this.node = null;
    this.nodeSelect.hidden = options.length === 0;
  }

  private axisSelect(label: string, which: 0 | 1, names: string[]): HTMLElement {
    const m = this.view!.meta;
    const sel = h("select", { class: "kw-select", "data-kw": `dataview-axis-${which}`, "aria-label": label },
      ...names.map((n, k) => h("option", { value: k, text: n })));
    sel.value = String(m.axes[which]);
    sel.addEventListener("change", () => {
      const axes = [...m.axes];
      const v = Number(sel.value);
      if (axes[1 - which] === v) axes[1 - which] = axes[which];   // choosing the other axis swaps them
      axes[which] = v;
      this.command({ x_axis: axes[0], y_axis: axes[1] });
    });
    return h("label", { class: "kw-field" }, h("span", { text: label }), sel);
  }

  private command(change: Record<string, unknown>): void {
    const m = this.view?.meta;
    if (!m) return;
    this.send("dataview", { x_axis: m.axes[0], y_axis: m.axes[1] ?? 1, output: m.output, held: m.held,
      resolution: m.resolution, ...change });
  }

  // ------------------------------------------------------------------ drawing
  draw(): void {
    const pal = this.reader.read(this.el);
    const v = this.view;
    const m = v?.meta;
    const names = m ? `${m.axis_names.join(", ")}` : "";
    this.info.textContent = !m ? "" : m.kind === "slice"
      ? `slice over ${names}; ${m.held.map((x, k) => (m.axes.includes(k) ? "" : `x_${k + 1} = ${fmtNum(x)}`)).filter(Boolean).join(", ")}`
      : m.has_target ? `${m.output_name} over ${names}` : `${m.output_name} over ${names} (target unknown)`;
    this.el.hidden = !v && !this.errorText;          // no payload (yet): no panel
    if (!v || !m) {
      this.figures.replaceChildren(h("div", { class: "kw-muted kw-dv-empty", text: this.errorText }));
      this.nodeFig.hidden = true;
      return;
    }
    const figs: HTMLCanvasElement[] = [];
    if (m.kind === "1d") figs.push(this.curve(v, pal));
    else {
      for (const name of ["target", "pred", "residual"] as const) {
        const values = v[name];
        if (!values) continue;
        const res = name === "residual";
        figs.push(this.heat(name, values, m.resolution, res ? m.residual_range : m.value_range,
          res ? divergingMap(pal) : sequentialMap(pal), `${TITLES[name]}${res ? "" : ` ${m.output_name}`}`, v, pal));
      }
    }
    this.figures.replaceChildren(...figs);
    this.drawNode(pal);
  }

  private canvas(panel: string, w: number, hgt: number, label: string): [HTMLCanvasElement, CanvasRenderingContext2D | null] {
    const dpr = (typeof window !== "undefined" && window.devicePixelRatio) || 1;
    const c = h("canvas", { class: "kw-dv-canvas", "data-panel": panel, role: "img", "aria-label": label });
    c.width = Math.round(w * dpr);
    c.height = Math.round(hgt * dpr);
    c.style.width = `${w}px`;
    c.style.height = `${hgt}px`;
    let ctx: CanvasRenderingContext2D | null = null;
    try { ctx = c.getContext("2d"); } catch { ctx = null; }
    ctx?.setTransform(dpr, 0, 0, dpr, 0, 0);
    return [c, ctx];
  }

  private heat(panel: string, values: ArrayLike<number>, n: number, range: [number, number], map: ColorMap,
               title: string, v: DecodedView | null, pal: Palette): HTMLCanvasElement {
    const m = v?.meta;
    const axes = m ? `${m.axis_names[0]} (horizontal) and ${m.axis_names[1]} (vertical)` : "the input box";
    const [c, ctx] = this.canvas(panel, W2, H2, `${title} over ${axes}, from ${fmtNum(range[0])} to ${fmtNum(range[1])}`);
    if (!ctx) return c;
    const pw = W2 - M.l - M.r, ph = H2 - M.t - M.b;
    frame(ctx, pal, W2, H2, title);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(heatImage(values, n, n, range, map), M.l, M.t, pw, ph);
    if (v && m) {
      const [[x0, x1], [y0, y1]] = m.box;
      const px = (x: number) => M.l + ((x - x0) / (x1 - x0 || 1)) * pw;
      const py = (y: number) => M.t + ph - ((y - y0) / (y1 - y0 || 1)) * ph;
      points(ctx, v, pal, px, py, sequentialMap(pal));
      axesText(ctx, pal, pw, ph, m.axis_names, [x0, x1], [y0, y1]);
    }
    colourBar(ctx, pal, map, range, M.l + pw + 7, M.t, ph);
    return c;
  }

  private curve(v: DecodedView, pal: Palette): HTMLCanvasElement {
    const m = v.meta;
    const [[x0, x1]] = m.box;
    const [lo, hi] = m.value_range;
    const [c, ctx] = this.canvas("curve", W1, H2, `prediction of ${m.output_name} against ${m.axis_names[0]}` +
      `${m.has_target ? " with the target" : ""}, from ${fmtNum(lo)} to ${fmtNum(hi)}`);
    if (!ctx) return c;
    const pw = W1 - M.l - 12, ph = H2 - M.t - M.b;
    frame(ctx, pal, W1, H2, `prediction ${m.output_name}${m.has_target ? " and target (dashed)" : ""}`);
    const px = (x: number) => M.l + ((x - x0) / (x1 - x0 || 1)) * pw;
    const py = (y: number) => M.t + ph - ((y - lo) / (hi - lo || 1)) * ph;
    const line = (ys: Float32Array, color: string, width: number, dash: number[]) => {
      ctx.beginPath();
      ctx.setLineDash(dash);
      ctx.strokeStyle = color;
      ctx.lineWidth = width * pal.lineScale;
      for (let k = 0; k < ys.length; k++) {
        const x = px(x0 + ((k + 0.5) / ys.length) * (x1 - x0));
        if (k === 0) ctx.moveTo(x, py(ys[k])); else ctx.lineTo(x, py(ys[k]));
      }
      ctx.stroke();
      ctx.setLineDash([]);
    };
    points(ctx, v, pal, px, py, null);
    if (v.target) line(v.target, pal.text, 1.2, [5, 4]);
    if (v.pred) line(v.pred, pal.curve, 2.2, []);
    axesText(ctx, pal, pw, ph, [m.axis_names[0], m.output_name], [x0, x1], [lo, hi]);
    return c;
  }

  private drawNode(pal: Palette): void {
    const k = this.node && this.thumbnails ? this.thumbnails.indexOf(this.node[0], this.node[1]) : -1;
    if (!this.node || k < 0 || !this.thumbnails || !this.view) {
      this.nodeFig.hidden = true;
      this.nodeFig.replaceChildren();
      return;
    }
    const m = this.view.meta;
    const t = this.thumbnails;
    const title = nodeName(this.node[0], this.node[1], m);
    const close = h("button", { type: "button", class: "kw-btn kw-small", text: "Close", "aria-label": `Close the enlarged ${title}` });
    close.addEventListener("click", () => this.showNode(null));
    let canvas: HTMLCanvasElement;
    if (m.kind === "1d") {
      const [c, ctx] = this.canvas("node", W2, H2, `${title} over ${m.axis_names[0]}`);
      canvas = c;
      if (ctx) {
        frame(ctx, pal, W2, H2, title);
        ctx.drawImage(t.image(k, pal), M.l, M.t, W2 - M.l - 12, H2 - M.t - M.b);
      }
    } else {
      canvas = this.heat("node", t.values(k), m.thumb_size, m.thumb_ranges[k], sequentialMap(pal), title, null, pal);
    }
    this.nodeFig.replaceChildren(canvas, close);
    this.nodeFig.hidden = false;
  }

  destroy(): void {
    this.unwatch();
  }
}

function nodeName(level: number, index: number, m: { nodes: [number, number][]; output_name: string }): string {
  const last = Math.max(...m.nodes.map(([l]) => l));
  return level === last ? `output y_${index + 1}` : `node ${index + 1} of layer ${level}`;
}

function frame(ctx: CanvasRenderingContext2D, pal: Palette, w: number, hgt: number, title: string): void {
  ctx.fillStyle = pal.background;
  ctx.fillRect(0, 0, w, hgt);
  ctx.fillStyle = pal.text;
  ctx.font = `600 11px system-ui, -apple-system, "Segoe UI", sans-serif`;
  ctx.textAlign = "left";
  ctx.textBaseline = "alphabetic";
  ctx.fillText(title, M.l, 12, w - M.l - 4);
}

function points(ctx: CanvasRenderingContext2D, v: DecodedView, pal: Palette, px: (x: number) => number,
                py: (y: number) => number, map: ColorMap | null): void {
  const [lo, hi] = v.meta.value_range;
  ctx.lineWidth = 1 * pal.lineScale;
  for (const [rows, filled] of [[v.train, true], [v.test, false]] as const) {
    for (let k = 0; k + 2 < rows.length; k += 3) {
      ctx.beginPath();
      ctx.arc(px(rows[k]), py(rows[k + 1]), 2.6, 0, Math.PI * 2);
      if (filled) {
        ctx.fillStyle = map ? rgbText(map((rows[k + 2] - lo) / (hi - lo || 1))) : pal.train;
        ctx.fill();
        ctx.strokeStyle = pal.text;
      } else {
        ctx.strokeStyle = map ? pal.text : pal.test;
      }
      ctx.stroke();
    }
  }
}

function axesText(ctx: CanvasRenderingContext2D, pal: Palette, pw: number, ph: number, names: string[],
                  xr: number[], yr: number[]): void {
  ctx.strokeStyle = pal.axis;
  ctx.lineWidth = 1;
  ctx.strokeRect(M.l + 0.5, M.t + 0.5, pw - 1, ph - 1);
  ctx.font = `10px system-ui, -apple-system, "Segoe UI", sans-serif`;
  ctx.fillStyle = pal.muted;
  ctx.textBaseline = "top";
  ctx.textAlign = "left";
  ctx.fillText(fmtNum(xr[0]), M.l, M.t + ph + 3);
  ctx.textAlign = "right";
  ctx.fillText(fmtNum(xr[1]), M.l + pw, M.t + ph + 3);
  ctx.fillText(fmtNum(yr[1]), M.l - 3, M.t);
  ctx.textBaseline = "bottom";
  ctx.fillText(fmtNum(yr[0]), M.l - 3, M.t + ph);
  ctx.fillStyle = pal.text;
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  ctx.fillText(names[0] ?? "", M.l + pw / 2, M.t + ph + 14);
  ctx.save();
  ctx.translate(10, M.t + ph / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textBaseline = "middle";
  ctx.fillText(names[1] ?? "", 0, 0);
  ctx.restore();
}

function colourBar(ctx: CanvasRenderingContext2D, pal: Palette, map: ColorMap, range: [number, number],
                   x: number, y: number, hgt: number): void {
  const steps = 48;
  for (let k = 0; k < steps; k++) {
    ctx.fillStyle = rgbText(map(1 - (k + 0.5) / steps));
    ctx.fillRect(x, y + (k * hgt) / steps, 9, hgt / steps + 0.5);
  }
  ctx.strokeStyle = pal.axis;
  ctx.strokeRect(x + 0.5, y + 0.5, 8, hgt - 1);
  ctx.fillStyle = pal.muted;
  ctx.font = `9px system-ui, -apple-system, "Segoe UI", sans-serif`;
  ctx.textAlign = "left";
  ctx.textBaseline = "top";
  ctx.fillText(fmtNum(range[1]), x + 11, y, 30);
  ctx.textBaseline = "bottom";
  ctx.fillText(fmtNum(range[0]), x + 11, y + hgt, 30);
}
