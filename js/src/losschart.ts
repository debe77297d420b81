/** Loss chart: train / test / reg series against step, log-scale y, on a canvas in the theme's colours. */
import { LIGHT, PaletteReader, PALETTE_VARS, type Palette } from "./theme";

export const SERIES = [
  { key: "train", col: 1, label: "train", dash: [] as number[] },
  { key: "test", col: 2, label: "test", dash: [] as number[] },
  { key: "reg", col: 3, label: "reg", dash: [5, 3] },
] as const;

const HEIGHT = 190;
const M = { left: 48, right: 10, top: 10, bottom: 26 };

export class LossChart {
  readonly el: HTMLDivElement;
  readonly canvas: HTMLCanvasElement;
  private rows: number[][] = [];
  private raf = 0;
  private ro: ResizeObserver | null = null;
  private readonly paletteReader = new PaletteReader();
  private readonly title: Text;

  constructor() {
    this.el = document.createElement("div");
    this.el.className = "kw-losschart";
    this.el.dataset.points = "0";
    const head = document.createElement("div");
    head.className = "kw-panel-title";
    this.title = document.createTextNode("Loss (RMSE, log scale)");
    head.append(this.title);
    const legend = document.createElement("div");
    legend.className = "kw-legend";
    for (const s of SERIES) {
      const item = document.createElement("span");
      item.className = `kw-legend-item kw-legend-${s.key}`;
      const sw = document.createElement("i");
      sw.style.borderTop = `2px ${s.dash.length ? "dashed" : "solid"} var(${PALETTE_VARS[s.key]}, ${LIGHT[s.key]})`;
      item.append(sw, document.createTextNode(s.label));
      legend.append(item);
    }
    head.append(legend);
    this.canvas = document.createElement("canvas");
    this.canvas.setAttribute("role", "img");
    this.canvas.setAttribute("aria-label", "Loss history chart");
    this.canvas.style.height = `${HEIGHT}px`;
    this.el.append(head, this.canvas);
    if (typeof ResizeObserver !== "undefined") {
      this.ro = new ResizeObserver(() => this.schedule());
      this.ro.observe(this.el);
    }
  }

  /** Names the plotted loss in the title (the fit's loss: RMSE, or the logistic loss of a classification). */
  setLossName(name: string): void {
    this.title.textContent = `Loss (${name}, log scale)`;
  }

  get points(): number {
    return this.rows.length;
  }

  getRows(): number[][] {
    return this.rows;
  }

  /** Replaces the whole history (from the `metrics` trait). */
  replace(rows: number[][]): void {
    this.rows = rows.filter(validRow).slice();
    this.el.dataset.points = String(this.rows.length);
    this.schedule();
  }

  /**
   * Appends streamed rows. Rows whose step is not after the last known step are duplicates of
   * rows already received (streaming and trait updates may overlap) and are skipped.
   */
  append(rows: unknown): number {
    if (!Array.isArray(rows)) return 0;
    let added = 0;
    for (const r of rows) {
      if (!validRow(r)) continue;
      const last = this.rows[this.rows.length - 1];
      if (last && !(r[0] > last[0])) continue;
      this.rows.push([r[0], r[1], r[2], r[3]].map(Number));
      added++;
    }
    this.el.dataset.points = String(this.rows.length);
    if (added) this.schedule();
    return added;
  }

  schedule(): void {
    if (this.raf) return;
    const raf = typeof requestAnimationFrame === "function" ? requestAnimationFrame : (f: FrameRequestCallback) => setTimeout(() => f(0), 16) as unknown as number;
    this.raf = raf(() => {
      this.raf = 0;
      this.draw();
    });
  }

  draw(): void {
    const width = this.el.clientWidth || 360;
    const dpr = (typeof window !== "undefined" && window.devicePixelRatio) || 1;
    const bw = Math.round(width * dpr);
    const bh = Math.round(HEIGHT * dpr);
    if (this.canvas.width !== bw) this.canvas.width = bw;
    if (this.canvas.height !== bh) this.canvas.height = bh;
    let ctx: CanvasRenderingContext2D | null = null;
    try {
      ctx = this.canvas.getContext("2d");
    } catch {
      ctx = null;
    }
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, HEIGHT);
    drawChart(ctx, this.rows, width, HEIGHT, this.paletteReader.read(this.el));
  }

  /** True when the theme's colours differ from the ones last drawn with. */
  themeChanged(): boolean {
    return this.paletteReader.changed(this.el);
  }

  destroy(): void {
    const caf = typeof cancelAnimationFrame === "function" ? cancelAnimationFrame : clearTimeout;
    if (this.raf) caf(this.raf);
    this.raf = 0;
    this.ro?.disconnect();
  }
}

function validRow(r: unknown): r is number[] {
  return Array.isArray(r) && r.length >= 4 && Number.isFinite(Number(r[0]));
}

/** Ticks for a log10 axis spanning [lo, hi] (values, not logs). */
export function logTicks(lo: number, hi: number, maxTicks = Infinity): number[] {
  const a = Math.floor(Math.log10(lo));
  const b = Math.ceil(Math.log10(hi));
  const inRange = (v: number) => v >= lo * 0.999 && v <= hi * 1.001;
  if (b - a <= 2) {                                           // a short range: 1-2-5 ticks when they fit
    const fine: number[] = [];
    for (let e = a; e <= b; e++) for (const m of [1, 2, 5]) if (inRange(m * Math.pow(10, e))) fine.push(m * Math.pow(10, e));
    if (fine.length <= maxTicks) return fine;
  }
  const stride = Math.max(1, Math.ceil((b - a + 1) / Math.max(1, maxTicks)));   // every k-th decade when many
  const ticks: number[] = [];
  for (let e = a; e <= b; e++) {
    if (((e % stride) + stride) % stride === 0 && inRange(Math.pow(10, e))) ticks.push(Math.pow(10, e));
  }
  return ticks;
}

export function niceStep(span: number, target: number): number {
  const raw = span / Math.max(1, target);
  const p = Math.pow(10, Math.floor(Math.log10(raw || 1)));
  const f = raw / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

function fmt(v: number): string {
  if (v === 0) return "0";
  const e = Math.floor(Math.log10(Math.abs(v)));
  if (e >= -2 && e <= 3) return String(Number(v.toPrecision(2)));
  const m = v / Math.pow(10, e);
  return `${Math.abs(m - 1) < 1e-9 ? "" : `${Number(m.toPrecision(2))}×`}1e${e}`;
}

function drawChart(ctx: CanvasRenderingContext2D, rows: number[][], width: number, height: number, pal: Palette): void {
  const fontPx = Math.round(11 * Math.max(1, Math.min(1.6, pal.lineScale)));   // larger with the line scale (presentation mode)
  ctx.font = `${fontPx}px system-ui, -apple-system, "Segoe UI", sans-serif`;
  const left = Math.max(M.left, Math.ceil(ctx.measureText("2×1e-10").width) + 8);   // room for the widest tick label
  const pw = width - left - M.right;
  const ph = height - M.top - Math.max(M.bottom, 2 * fontPx + 6);   // room for the tick labels and "step" below them
  ctx.strokeStyle = pal.axis;
  ctx.lineWidth = pal.lineScale;
  ctx.strokeRect(left + 0.5, M.top + 0.5, pw, ph);
  let lo = Infinity;
  let hi = -Infinity;
  for (const r of rows) {
    for (const s of SERIES) {
      const v = r[s.col];
      if (v > 0 && Number.isFinite(v)) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
  }
  if (!rows.length || !(hi >= lo)) {
    ctx.fillStyle = pal.muted;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.fillText("No training yet — press Train", left + pw / 2, M.top + ph / 2);
    return;
  }
  if (hi / lo < 10) {
    const mid = Math.sqrt(hi * lo);
    lo = Math.min(lo, mid / 3.2);
    hi = Math.max(hi, mid * 3.2);
  }
  const llo = Math.log10(lo);
  const lhi = Math.log10(hi);
  const x0 = rows[0][0];
  const x1 = rows.length > 1 ? rows[rows.length - 1][0] : x0 + 1;
  const sx = (s: number) => left + ((s - x0) / (x1 - x0 || 1)) * pw;
  const sy = (v: number) => M.top + ph - ((Math.log10(v) - llo) / (lhi - llo || 1)) * ph;

  // grid + ticks
  ctx.fillStyle = pal.text;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const t of logTicks(lo, hi, Math.max(2, Math.floor(ph / (1.6 * fontPx))))) {   // labels never overlap
    const y = Math.round(sy(t)) + 0.5;
    ctx.strokeStyle = pal.grid;
    ctx.beginPath();
    ctx.moveTo(left + 1, y);
    ctx.lineTo(left + pw, y);
    ctx.stroke();
    ctx.fillText(fmt(t), left - 5, y);
  }
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  const step = niceStep(x1 - x0, Math.max(2, Math.floor(pw / 70)));
  for (let t = Math.ceil(x0 / step) * step; t <= x1 + 1e-9; t += step) {
    const x = Math.round(sx(t)) + 0.5;
    ctx.strokeStyle = pal.grid;
    ctx.beginPath();
    ctx.moveTo(x, M.top + 1);
    ctx.lineTo(x, M.top + ph);
    ctx.stroke();
    ctx.fillText(String(Number(t.toPrecision(6))), x, M.top + ph + 5);
  }
  ctx.textAlign = "right";
  ctx.fillText("step", left + pw, M.top + ph + 5 + fontPx);

  // series
  ctx.save();
  ctx.beginPath();
  ctx.rect(left, M.top, pw, ph);
  ctx.clip();
  ctx.lineJoin = "round";
  for (const s of SERIES) {
    ctx.strokeStyle = pal[s.key];
    ctx.lineWidth = 1.8 * pal.lineScale;
    ctx.setLineDash(s.dash.map((d) => d * pal.lineScale));
    ctx.beginPath();
    let started = false;
    let n = 0;
    for (const r of rows) {
      const v = r[s.col];
      if (!(v > 0) || !Number.isFinite(v)) { started = false; continue; }
      const x = sx(r[0]);
      const y = sy(v);
      if (!started) { ctx.moveTo(x, y); started = true; } else ctx.lineTo(x, y);
      n++;
    }
    ctx.stroke();
    if (n === 1 || rows.length === 1) {
      for (const r of rows) {
        const v = r[s.col];
        if (!(v > 0)) continue;
        ctx.fillStyle = pal[s.key];
        ctx.beginPath();
        ctx.arc(sx(r[0]), sy(v), 2.5, 0, Math.PI * 2);
        ctx.fill();
      }
    }
  }
  ctx.restore();
  ctx.setLineDash([]);
}
