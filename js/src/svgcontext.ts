/**
 * A recording 2-D context that writes SVG: the subset of CanvasRenderingContext2D that paint.ts uses
 * (paths with moveTo/lineTo/rect/arc/arcTo/closePath, stroke/fill of a path or the current path,
 * fillText/measureText, globalAlpha, stroke/fill style, line width/cap/join, font, text align and
 * baseline, save/restore, setTransform/clearRect as no-ops), so the same painter draws the PNG and
 * the vector picture. paint.ts asks for paths with `createPath()` and names the parts of the picture
 * with `beginPart(name)` (edges, boxes, curves, labels, nodes): each part is an SVG group
 * `<g class="kw-svg-NAME">`; in the "curves" part every sub-path (one edge's mini plot) is its own
 * `<path>`.
 */

const fmt = (v: number): string => (Number.isFinite(v) ? String(Math.round(v * 100) / 100) : "0");

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** A recorded path: SVG path data, one string per sub-path. */
export class SvgPath {
  readonly subpaths: string[] = [];
  private cur = "";
  private x = 0;
  private y = 0;
  private sx = 0;
  private sy = 0;

  private flush(): void {
    if (this.cur) this.subpaths.push(this.cur);
    this.cur = "";
  }

  moveTo(x: number, y: number): void {
    this.flush();
    this.cur = `M${fmt(x)} ${fmt(y)}`;
    this.x = this.sx = x;
    this.y = this.sy = y;
  }

  lineTo(x: number, y: number): void {
    if (!this.cur) return this.moveTo(x, y);
    this.cur += `L${fmt(x)} ${fmt(y)}`;
    this.x = x;
    this.y = y;
  }

  closePath(): void {
    if (!this.cur) return;
    this.cur += "Z";
    this.x = this.sx;
    this.y = this.sy;
  }

  rect(x: number, y: number, w: number, h: number): void {
    this.moveTo(x, y);
    this.cur += `h${fmt(w)}v${fmt(h)}h${fmt(-w)}Z`;
  }

  /** Circle arcs (paint.ts draws full circles; partial arcs go clockwise unless `ccw`). */
  arc(cx: number, cy: number, r: number, a0: number, a1: number, ccw = false): void {
    const x0 = cx + r * Math.cos(a0);
    const y0 = cy + r * Math.sin(a0);
    if (this.cur) this.lineTo(x0, y0); else this.moveTo(x0, y0);
    let sweep = ccw ? a0 - a1 : a1 - a0;
    if (sweep >= 2 * Math.PI - 1e-9) {
      // a full circle: two half arcs
      const xm = cx - (x0 - cx);
      const ym = cy - (y0 - cy);
      const f = ccw ? 0 : 1;
      this.cur += `A${fmt(r)} ${fmt(r)} 0 0 ${f} ${fmt(xm)} ${fmt(ym)}A${fmt(r)} ${fmt(r)} 0 0 ${f} ${fmt(x0)} ${fmt(y0)}`;
      this.x = x0;
      this.y = y0;
      return;
    }
    sweep = ((sweep % (2 * Math.PI)) + 2 * Math.PI) % (2 * Math.PI);
    const x1 = cx + r * Math.cos(a1);
    const y1 = cy + r * Math.sin(a1);
    this.cur += `A${fmt(r)} ${fmt(r)} 0 ${sweep > Math.PI ? 1 : 0} ${ccw ? 0 : 1} ${fmt(x1)} ${fmt(y1)}`;
    this.x = x1;
    this.y = y1;
  }

  /** The canvas arcTo: a line to the first tangent point, a circle arc of radius r to the second. */
  arcTo(x1: number, y1: number, x2: number, y2: number, r: number): void {
    if (!this.cur) this.moveTo(x1, y1);
    const [x0, y0] = [this.x, this.y];
    const ax = x0 - x1, ay = y0 - y1, bx = x2 - x1, by = y2 - y1;
    const la = Math.hypot(ax, ay), lb = Math.hypot(bx, by);
    const cross = ax * by - ay * bx;
    if (r <= 0 || la === 0 || lb === 0 || Math.abs(cross) < 1e-9) return this.lineTo(x1, y1);
    const angle = Math.acos(Math.max(-1, Math.min(1, (ax * bx + ay * by) / (la * lb))));
    const t = r / Math.tan(angle / 2);
    const tx0 = x1 + (ax / la) * t, ty0 = y1 + (ay / la) * t;
    const tx1 = x1 + (bx / lb) * t, ty1 = y1 + (by / lb) * t;
    this.lineTo(tx0, ty0);
    this.cur += `A${fmt(r)} ${fmt(r)} 0 0 ${cross < 0 ? 1 : 0} ${fmt(tx1)} ${fmt(ty1)}`;
    this.x = tx1;
    this.y = ty1;
  }

  /** All sub-paths (the one being built included) as SVG path data. */
  data(): string[] {
    return this.cur ? [...this.subpaths, this.cur] : [...this.subpaths];
  }
}

interface State {
  globalAlpha: number;
  strokeStyle: string;
  fillStyle: string;
  lineWidth: number;
  lineCap: string;
  lineJoin: string;
  font: string;
  textAlign: string;
  textBaseline: string;
}

const ANCHOR: Record<string, string> = { center: "middle", left: "start", start: "start", right: "end", end: "end" };
const BASELINE: Record<string, string> = { middle: "central", top: "hanging", bottom: "text-after-edge", alphabetic: "alphabetic" };

/** Records drawing calls as SVG elements; `toSvg()` gives the document. */
export class SvgContext {
  globalAlpha = 1;
  strokeStyle = "#000";
  fillStyle = "#000";
  lineWidth = 1;
  lineCap = "butt";
  lineJoin = "miter";
  font = "10px sans-serif";
  textAlign = "start";
  textBaseline = "alphabetic";
  private path = new SvgPath();
  private stack: State[] = [];
  private parts: { name: string; items: string[] }[] = [{ name: "", items: [] }];
  private measurer: CanvasRenderingContext2D | null | undefined;

  constructor(readonly width: number, readonly height: number, private readonly background: string | null = null) {}

  createPath(): SvgPath {
    return new SvgPath();
  }

  beginPart(name: string): void {
    this.parts.push({ name, items: [] });
  }

  // --- state
  save(): void {
    const { globalAlpha, strokeStyle, fillStyle, lineWidth, lineCap, lineJoin, font, textAlign, textBaseline } = this;
    this.stack.push({ globalAlpha, strokeStyle, fillStyle, lineWidth, lineCap, lineJoin, font, textAlign, textBaseline });
  }

  restore(): void {
    const s = this.stack.pop();
    if (s) Object.assign(this, s);
  }

  setTransform(): void {}
  resetTransform(): void {}
  clearRect(): void {}

  // --- the current path
  beginPath(): void {
    this.path = new SvgPath();
  }
  moveTo(x: number, y: number): void { this.path.moveTo(x, y); }
  lineTo(x: number, y: number): void { this.path.lineTo(x, y); }
  closePath(): void { this.path.closePath(); }
  rect(x: number, y: number, w: number, h: number): void { this.path.rect(x, y, w, h); }
  arc(x: number, y: number, r: number, a0: number, a1: number, ccw = false): void { this.path.arc(x, y, r, a0, a1, ccw); }
  arcTo(x1: number, y1: number, x2: number, y2: number, r: number): void { this.path.arcTo(x1, y1, x2, y2, r); }

  // --- drawing
  stroke(path?: SvgPath): void {
    const p = path instanceof SvgPath ? path : this.path;
    const style = `fill="none" stroke="${escapeXml(this.strokeStyle)}" stroke-width="${fmt(this.lineWidth)}"` +
      ` stroke-linecap="${this.lineCap}" stroke-linejoin="${this.lineJoin}"${this.opacity("stroke")}`;
    this.emit(p, style);
  }

  fill(path?: SvgPath | string): void {
    const p = path instanceof SvgPath ? path : this.path;
    this.emit(p, `fill="${escapeXml(this.fillStyle)}" stroke="none"${this.opacity("fill")}`);
  }

  fillRect(x: number, y: number, w: number, h: number): void {
    const p = new SvgPath();
    p.rect(x, y, w, h);
    this.fill(p);
  }

  strokeRect(x: number, y: number, w: number, h: number): void {
    const p = new SvgPath();
    p.rect(x, y, w, h);
    this.stroke(p);
  }

  fillText(text: string, x: number, y: number): void {
    const size = /(\d+(?:\.\d+)?)px/.exec(this.font)?.[1] ?? "10";
    const weight = /^\s*(\d{3}|bold)\b/.exec(this.font)?.[1];
    this.current().push(
      `<text x="${fmt(x)}" y="${fmt(y)}" fill="${escapeXml(this.fillStyle)}" font-size="${size}"` +
      `${weight ? ` font-weight="${weight}"` : ""} font-family="system-ui, -apple-system, 'Segoe UI', sans-serif"` +
      ` text-anchor="${ANCHOR[this.textAlign] ?? "start"}" dominant-baseline="${BASELINE[this.textBaseline] ?? "alphabetic"}"` +
      `${this.opacity("fill")}>${escapeXml(text)}</text>`);
  }

  /** Text width: a real canvas's measure where there is one, else an estimate (0.58 em per character). */
  measureText(text: string): { width: number } {
    if (this.measurer === undefined) {
      try {
        this.measurer = typeof document !== "undefined" ? document.createElement("canvas").getContext("2d") : null;
      } catch {
        this.measurer = null;
      }
    }
    if (this.measurer) {
      this.measurer.font = this.font;
      const w = this.measurer.measureText(text).width;
      if (w > 0 || !text) return { width: w };
    }
    const size = Number(/(\d+(?:\.\d+)?)px/.exec(this.font)?.[1] ?? 10);
    return { width: text.length * size * 0.58 };
  }

  /** Images (a raster part such as a thumbnail) are embedded as PNG data URLs. */
  drawImage(image: CanvasImageSource, x: number, y: number, w?: number, h?: number): void {
    const c = image as HTMLCanvasElement;
    if (typeof c.toDataURL !== "function") return;
    let href = "";
    try {
      href = c.toDataURL("image/png");
    } catch {
      return;
    }
    const ww = w ?? c.width;
    const hh = h ?? c.height;
    this.current().push(`<image x="${fmt(x)}" y="${fmt(y)}" width="${fmt(ww)}" height="${fmt(hh)}" href="${href}"${this.opacity("")}/>`);
  }

  /** The SVG document. */
  toSvg(): string {
    const body: string[] = [];
    if (this.background) body.push(`<rect width="100%" height="100%" fill="${escapeXml(this.background)}"/>`);
    for (const part of this.parts) {
      if (!part.items.length) continue;
      if (!part.name) body.push(...part.items);
      else body.push(`<g class="kw-svg-${part.name}">`, ...part.items, "</g>");
    }
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${fmt(this.width)}" height="${fmt(this.height)}" ` +
      `viewBox="0 0 ${fmt(this.width)} ${fmt(this.height)}">\n${body.join("\n")}\n</svg>\n`;
  }

  // --- helpers
  private current(): string[] {
    return this.parts[this.parts.length - 1].items;
  }

  private opacity(what: "stroke" | "fill" | ""): string {
    const a = Math.max(0, Math.min(1, this.globalAlpha));
    if (a >= 1) return "";
    return ` ${what ? `${what}-` : ""}opacity="${Math.round(a * 1000) / 1000}"`;
  }

  private emit(p: SvgPath, style: string): void {
    const data = p.data();
    if (!data.length) return;
    const part = this.parts[this.parts.length - 1];
    if (part.name === "curves") for (const d of data) part.items.push(`<path d="${d}" ${style}/>`);
    else part.items.push(`<path d="${data.join("")}" ${style}/>`);
  }
}
