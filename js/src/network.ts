/** The network view: canvas element, redraw scheduling, devicePixelRatio, edge hit-testing and picking. */
import { decodeCurves, edgeCount, type CurveSet } from "./curves";
import { describeEdge, edgeKey, navigate, NAV_KEYS, relocate } from "./edgenav";
import { computeLayout, hitTest, preferredHeight, type EdgeGeom, type Layout } from "./layout";
import { paint } from "./paint";
import { PaletteReader, type Palette } from "./theme";
import { nodeAt, paintThumbnails, type Thumbnails } from "./thumbnails";
import type { BytesLike, Graph } from "./types";

export { bucketAlpha, bucketOf, paint } from "./paint";

export const CANVAS_LABEL =
  "KAN network diagram. Arrow keys choose an edge: Left and Right within a layer, Up and Down to the next or previous layer, " +
  "Home and End for the first and last edge of the layer. Enter or Space inspects the chosen edge; Escape closes the inspector.";

export interface DrawStats {
  nodes: number;
  /** multiplication nodes (drawn as ×) */
  mult: number;
  edges: number;
  symbolic: number;
  ms: number;
}

export interface NetworkOptions {
  onPick?: (g: EdgeGeom) => void;
  onDraw?: (stats: DrawStats) => void;
  /** Escape pressed on the canvas. */
  onEscape?: () => void;
  /** A node's thumbnail clicked (data view). */
  onNode?: (level: number, index: number) => void;
}

export class NetworkView {
  readonly el: HTMLDivElement;
  readonly canvas: HTMLCanvasElement;
  private hover: HTMLDivElement;
  private focusRing: HTMLDivElement;
  private live: HTMLDivElement;
  /** The edge chosen with the keyboard: index into layout.edges (-1: none), its (l,i,j) and place. */
  private focusIndex = -1;
  private focusKey: string | null = null;
  private focusLayer = 0;
  private focusX = 0;
  private keyboard = false;
  private readonly paletteReader = new PaletteReader();
  palette: Palette | null = null;
  /** CSS px kept free at the right of the picture (for controls placed over it, e.g. network editing). */
  reserveRight = 0;
  private labels: HTMLUListElement;
  private empty: HTMLDivElement;
  private graph: Graph | null = null;
  private curvesBuf: BytesLike = null;
  private curves: CurveSet | null = null;
  layout: Layout | null = null;
  private raf = 0;
  private hoverRaf = 0;
  private ro: ResizeObserver | null = null;
  private cssWidth = 0;
  private scratch: HTMLCanvasElement | null = null;
  private opts: NetworkOptions;
  /** Node thumbnails drawn in the node squares (thumbnails.ts; set by the data view). */
  thumbnails: Thumbnails | null = null;
  lastStats: DrawStats = { nodes: 0, mult: 0, edges: 0, symbolic: 0, ms: 0 };

  constructor(opts: NetworkOptions = {}) {
    this.opts = opts;
    this.el = document.createElement("div");
    this.el.className = "kw-network";
    this.canvas = document.createElement("canvas");
    this.canvas.tabIndex = 0;
    this.canvas.setAttribute("role", "application");
    this.canvas.setAttribute("aria-roledescription", "network diagram");
    this.canvas.setAttribute("aria-label", CANVAS_LABEL);
    this.hover = document.createElement("div");
    this.hover.className = "kw-hover";
    this.hover.hidden = true;
    this.focusRing = document.createElement("div");
    this.focusRing.className = "kw-edge-focus";
    this.focusRing.hidden = true;
    this.live = document.createElement("div");
    this.live.className = "kw-edge-live kw-visually-hidden";
    this.live.setAttribute("role", "status");
    this.live.setAttribute("aria-live", "polite");
    this.empty = document.createElement("div");
    this.empty.className = "kw-empty";
    this.empty.textContent = "No network to show yet.";
    this.empty.hidden = true;
    this.labels = document.createElement("ul");
    this.labels.className = "kw-edge-labels kw-visually-hidden";
    this.labels.setAttribute("aria-label", "Symbolic edges");
    this.el.append(this.canvas, this.hover, this.focusRing, this.empty, this.labels, this.live);

    this.canvas.addEventListener("click", this.onClick);
    this.canvas.addEventListener("mousedown", this.onMouseDown);
    this.canvas.addEventListener("keydown", this.onKey);
    this.canvas.addEventListener("focus", this.onFocus);
    this.canvas.addEventListener("blur", this.onBlur);
    this.canvas.addEventListener("mousemove", this.onMove);
    this.canvas.addEventListener("mouseleave", this.onLeave);
    if (typeof ResizeObserver !== "undefined") {
      this.ro = new ResizeObserver(() => {
        const w = this.el.clientWidth;
        if (w > 0 && Math.abs(w - this.cssWidth) >= 1) this.scheduleDraw();
      });
      this.ro.observe(this.el);
    }
  }

  /** Sets the data; the picture is redrawn on the next animation frame (calls coalesce). */
  setData(graph: Graph | null, curves: BytesLike): void {
    if (graph !== this.graph || curves !== this.curvesBuf) {
      this.graph = graph;
      this.curvesBuf = curves;
      this.curves = null;
      this.scheduleDraw();
    }
  }

  scheduleDraw(): void {
    if (this.raf) return;
    const raf = typeof requestAnimationFrame === "function" ? requestAnimationFrame : (f: FrameRequestCallback) => setTimeout(() => f(0), 16) as unknown as number;
    this.raf = raf(() => {
      this.raf = 0;
      this.draw();
    });
  }

  /** Full synchronous redraw. Returns statistics of what was drawn. */
  draw(): DrawStats {
    const t0 = performance.now();
    const graph = this.graph;
    const width = this.el.clientWidth || this.cssWidth || 720;
    const height = preferredHeight(graph);
    this.cssWidth = width;
    if (!this.curves) this.curves = decodeCurves(this.curvesBuf, graph?.num_points ?? 0);
    // the picture leaves `reserveRight` px free on the right (the network-editing row sits there)
    const drawWidth = this.reserveRight > 0 && width - this.reserveRight >= 240 ? width - this.reserveRight : width;
    const layout = computeLayout(graph, drawWidth, height);
    this.canvas.dataset.drawWidth = String(drawWidth);   // tests and tools recompute the layout from it
    this.layout = layout;
    this.hover.hidden = true;
    this.focusIndex = relocate(layout.edges, this.focusKey, this.focusLayer, this.focusX);
    const pal = this.paletteReader.read(this.el);
    this.palette = pal;

    const dpr = (typeof window !== "undefined" && window.devicePixelRatio) || 1;
    const bw = Math.max(1, Math.round(width * dpr));
    const bh = Math.max(1, Math.round(height * dpr));
    if (this.canvas.width !== bw) this.canvas.width = bw;
    if (this.canvas.height !== bh) this.canvas.height = bh;
    this.canvas.style.height = `${height}px`;
    let ctx: CanvasRenderingContext2D | null = null;
    try {
      ctx = this.canvas.getContext("2d");
    } catch {
      ctx = null;
    }
    if (ctx) {
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, width, height);
      if (!this.scratch) this.scratch = document.createElement("canvas");
      // A curves buffer that does not match the graph (one trait updated before the other) is not
      // drawn: the boxes stay empty for that frame rather than showing another edge's curve.
      const matching = this.curves.count === edgeCount(graph) ? this.curves : null;
      paint(ctx, layout, graph, matching, dpr, this.scratch, pal);
      paintThumbnails(ctx, layout, this.thumbnails, pal);
    }
    this.showFocus(false);
    this.empty.hidden = layout.nodeCount > 0;
    this.updateLabels(layout);
    const stats = {
      nodes: layout.nodeCount,
      mult: layout.multCount,
      edges: layout.edges.length,
      symbolic: layout.symbolicCount,
      ms: performance.now() - t0,
    };
    this.lastStats = stats;
    this.el.dataset.drawMs = stats.ms.toFixed(2);
    this.opts.onDraw?.(stats);
    return stats;
  }

  /**
   * Paints the current picture into another 2-D context (the export: a PNG canvas at any scale, the
   * SVG recorder of svgcontext.ts); dense layers are drawn as vectors there (no raster scratch).
   */
  paintTo(ctx: CanvasRenderingContext2D, dpr = 1): Layout | null {
    const layout = this.layout;
    if (!layout) return null;
    const matching = this.curves && this.curves.count === edgeCount(this.graph) ? this.curves : null;
    paint(ctx, layout, this.graph, matching, dpr, null, this.palette ?? this.paletteReader.read(this.el));
    return layout;
  }

  private updateLabels(layout: Layout): void {
    const items: HTMLLIElement[] = [];
    for (const g of layout.edges) {
      if (!g.edge.symbolic) continue;
      const li = document.createElement("li");
      li.textContent = g.edge.symbolic;
      li.dataset.l = String(g.l);
      li.dataset.i = String(g.i);
      li.dataset.j = String(g.j);
      items.push(li);
    }
    this.labels.replaceChildren(...items);
  }

  private pointFor(ev: MouseEvent): [number, number] {
    const r = this.canvas.getBoundingClientRect();
    return [ev.clientX - r.left, ev.clientY - r.top];
  }

  /** True when the theme's canvas colours differ from the ones last drawn with (then redraw). */
  themeChanged(): boolean {
    return this.paletteReader.changed(this.el);
  }

  /** The edge chosen with the keyboard, or null. */
  get focusedEdge(): EdgeGeom | null {
    return this.layout?.edges[this.focusIndex] ?? null;
  }

  /** Chooses edge `index` of the layout (keyboard focus highlight + announcement). */
  focusEdge(index: number, announce = true): void {
    const g = this.layout?.edges[index];
    if (!g) return;
    this.focusIndex = index;
    this.focusKey = edgeKey(g);
    this.focusLayer = g.l;
    this.focusX = g.bx + g.bw / 2;
    this.showFocus(announce);
  }

  private showFocus(announce: boolean): void {
    const g = this.focusedEdge;
    const focused = typeof document !== "undefined" && document.activeElement === this.canvas;
    this.focusRing.hidden = !(g && focused && this.keyboard);
    if (g) {
      place(this.focusRing, g, 4);
      this.el.dataset.focusEdge = edgeKey(g);
      if (announce) this.live.textContent = describeEdge(g);
    } else {
      delete this.el.dataset.focusEdge;
    }
  }

  private onFocus = (): void => {
    if (!this.layout) return;
    if (this.focusIndex < 0 && this.layout.edges.length) this.focusEdge(0, false);
    const g = this.focusedEdge;
    this.showFocus(false);
    this.live.textContent = g ? `${describeEdge(g)}. Enter inspects it.` : "No edges drawn.";
  };

  private onBlur = (): void => {
    this.focusRing.hidden = true;
  };

  private onMouseDown = (): void => {
    this.keyboard = false;
  };

  private onKey = (ev: KeyboardEvent): void => {
    if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
    const edges = this.layout?.edges ?? [];
    if (NAV_KEYS.has(ev.key)) {
      ev.preventDefault();
      ev.stopPropagation();
      this.keyboard = true;
      const next = navigate(edges, this.focusIndex, ev.key);
      if (next >= 0) this.focusEdge(next);
    } else if (ev.key === "Enter" || ev.key === " " || ev.key === "Spacebar") {
      ev.preventDefault();
      ev.stopPropagation();
      this.keyboard = true;
      if (this.focusIndex < 0 && edges.length) this.focusEdge(0);
      const g = this.focusedEdge;
      if (g) this.opts.onPick?.(g);
    } else if (ev.key === "Escape") {
      ev.preventDefault();
      ev.stopPropagation();
      this.opts.onEscape?.();
    }
  };

  private onClick = (ev: MouseEvent): void => {
    if (!this.layout) return;
    const [x, y] = this.pointFor(ev);
    const node = nodeAt(this.layout, x, y, this.thumbnails);   // a thumbnail is drawn over its edges' ends
    if (node) return this.opts.onNode?.(node[0], node[1]);
    const g = hitTest(this.layout, x, y);
    if (!g) return;
    const k = this.layout.edges.indexOf(g);
    if (k >= 0) this.focusEdge(k, false);
    this.opts.onPick?.(g);
  };

  private onMove = (ev: MouseEvent): void => {
    const [x, y] = this.pointFor(ev);
    if (this.hoverRaf) return;
    const raf = typeof requestAnimationFrame === "function" ? requestAnimationFrame : (f: FrameRequestCallback) => setTimeout(() => f(0), 16) as unknown as number;
    this.hoverRaf = raf(() => {
      this.hoverRaf = 0;
      const g = this.layout ? hitTest(this.layout, x, y) : null;
      if (!g) {
        this.hover.hidden = true;
        this.canvas.style.cursor = "";
        this.canvas.title = "";
        return;
      }
      place(this.hover, g, 3);
      this.hover.hidden = false;
      this.canvas.style.cursor = "pointer";
      this.canvas.title = `edge (${g.l}, ${g.i}, ${g.j})${g.edge.symbolic ? ` = ${g.edge.symbolic}` : ""} — click to inspect`;
    });
  };

  private onLeave = (): void => {
    this.hover.hidden = true;
  };

  destroy(): void {
    const caf = typeof cancelAnimationFrame === "function" ? cancelAnimationFrame : clearTimeout;
    if (this.raf) caf(this.raf);
    if (this.hoverRaf) caf(this.hoverRaf);
    this.raf = 0;
    this.ro?.disconnect();
    this.canvas.removeEventListener("click", this.onClick);
    this.canvas.removeEventListener("mousemove", this.onMove);
    this.canvas.removeEventListener("mouseleave", this.onLeave);
    this.canvas.removeEventListener("mousedown", this.onMouseDown);
    this.canvas.removeEventListener("keydown", this.onKey);
    this.canvas.removeEventListener("focus", this.onFocus);
    this.canvas.removeEventListener("blur", this.onBlur);
  }
}

/** Positions an overlay around an edge's box (at least 6 px, `pad` px around). */
function place(el: HTMLElement, g: EdgeGeom, pad: number): void {
  const w = Math.max(g.bw, 6);
  const h = Math.max(g.bh, 6);
  el.style.left = `${g.bx + g.bw / 2 - w / 2 - pad}px`;
  el.style.top = `${g.by + g.bh / 2 - h / 2 - pad}px`;
  el.style.width = `${w + 2 * pad}px`;
  el.style.height = `${h + 2 * pad}px`;
}