/**
 * Node thumbnails in the network picture (as TF Playground's neuron squares): each hidden and output
 * node's value over the data view's input box, drawn in a small square at the node. Images are built
 * once per payload and palette and reused by every redraw.
 *
 * `NodeButtons` puts one transparent button over each node that has a thumbnail, so the keyboard can do
 * what a click on the picture does: one Tab stop for all nodes (arrow keys, Home and End move between them),
 * Enter or Space shows the node enlarged in the data view, Escape closes it. The mouse still goes to the canvas.
 */
import "./thumbnails.css";
import { h } from "./dom";
import { type ColorMap, type DecodedView, heatImage, sequentialMap } from "./heatmap";
import type { Layout, NodePos } from "./layout";
import type { Palette } from "./theme";

export class Thumbnails {
  readonly view: DecodedView;
  private images = new Map<string, HTMLCanvasElement>();
  private key = "";

  constructor(view: DecodedView) {
    this.view = view;
  }

  /** Number of nodes with a thumbnail. */
  get count(): number {
    return this.view.meta.nodes?.length ?? 0;
  }

  /** Index of node (level, index) in the payload, or -1. */
  indexOf(level: number, index: number): number {
    return (this.view.meta.nodes ?? []).findIndex(([l, i]) => l === level && i === index);
  }

  /** The values of thumbnail k (T*T for 2-D views, T for 1-D ones). */
  values(k: number): Float32Array {
    const { meta, thumbs } = this.view;
    const per = meta.kind === "1d" ? meta.thumb_size : meta.thumb_size * meta.thumb_size;
    return thumbs.subarray(k * per, (k + 1) * per);
  }

  /** The image of thumbnail k in the palette's colours (cached). */
  image(k: number, pal: Palette): HTMLCanvasElement {
    const key = `${pal.background}|${pal.curve}|${pal.text}`;
    if (key !== this.key) {
      this.images.clear();
      this.key = key;
    }
    let img = this.images.get(String(k));
    if (!img) {
      img = drawThumb(this.view, k, this.values(k), pal, sequentialMap(pal));
      this.images.set(String(k), img);
    }
    return img;
  }
}

function drawThumb(view: DecodedView, k: number, v: Float32Array, pal: Palette, map: ColorMap): HTMLCanvasElement {
  const t = view.meta.thumb_size;
  const range = view.meta.thumb_ranges?.[k] ?? [0, 1];
  if (view.meta.kind !== "1d") return heatImage(v, t, t, range, map);
  const c = document.createElement("canvas");
  c.width = c.height = 2 * t;
  const ctx = c.getContext("2d");
  if (!ctx) return c;
  ctx.fillStyle = pal.background;
  ctx.fillRect(0, 0, c.width, c.height);
  ctx.strokeStyle = pal.curve;
  ctx.lineWidth = 2;
  ctx.beginPath();
  const span = range[1] - range[0] || 1;
  for (let n = 0; n < v.length; n++) {
    const x = ((n + 0.5) / v.length) * c.width;
    const y = c.height - 3 - ((v[n] - range[0]) / span) * (c.height - 6);
    if (n === 0) ctx.moveTo(x, y);
    else ctx.lineTo(x, y);
  }
  ctx.stroke();
  return c;
}

/** Side of a node's thumbnail square in CSS pixels (0: too crowded to draw). */
export function thumbSide(layout: Layout, row: NodePos[]): number {
  const spacing = row.length > 1 ? Math.abs(row[1].x - row[0].x) : layout.width;
  const side = Math.min(22, spacing * 0.8);   // clear of the output names drawn above the top row
  return side >= 8 ? side : 0;
}

/** Draws every thumbnail at its node (levels >= 1); returns how many were drawn. */
export function paintThumbnails(ctx: CanvasRenderingContext2D, layout: Layout, thumbs: Thumbnails | null,
                                pal: Palette): number {
  if (!thumbs || !thumbs.count) return 0;
  let drawn = 0;
  ctx.save();
  ctx.imageSmoothingEnabled = false;
  ctx.globalAlpha = 1;
  for (let level = 1; level < layout.levels.length; level++) {
    const row = layout.levels[level];
    const side = thumbSide(layout, row);
    if (!side) continue;
    for (const n of row) {
      if (n.live === false) continue;
      const k = thumbs.indexOf(level, n.index);
      if (k < 0) continue;
      const x = n.x - side / 2;
      const y = n.y - side / 2;
      ctx.drawImage(thumbs.image(k, pal), x, y, side, side);
      ctx.lineWidth = 1 * pal.lineScale;
      ctx.strokeStyle = pal.node;
      ctx.strokeRect(x + 0.5, y + 0.5, side - 1, side - 1);
      drawn++;
    }
  }
  ctx.restore();
  return drawn;
}

/** The node (level >= 1) whose thumbnail square holds point (x, y), or null. */
export function nodeAt(layout: Layout | null, x: number, y: number, thumbs: Thumbnails | null): [number, number] | null {
  if (!layout || !thumbs || !thumbs.count) return null;
  for (let level = 1; level < layout.levels.length; level++) {
    const row = layout.levels[level];
    const half = Math.max(thumbSide(layout, row), 2 * layout.nodeRadius) / 2;
    for (const n of row) {
      if (n.live !== false && Math.abs(x - n.x) <= half && Math.abs(y - n.y) <= half) return [level, n.index];
    }
  }
  return null;
}

/** "node 2 of layer 1" or "output y_1" for node (level, index) of a picture with `levels` rows. */
export function nodeLabel(level: number, index: number, levels: number): string {
  return level === levels - 1 ? `output y_${index + 1}` : `node ${index + 1} of layer ${level}`;
}

export const NODES_LABEL = "Network nodes: arrow keys choose a node, Enter or Space shows its picture enlarged, Escape closes it";

/** Keyboard access to the node thumbnails: a roving-tabindex group of buttons placed over the nodes. */
export class NodeButtons {
  readonly el: HTMLDivElement;
  private current = "";
  private key = "";

  constructor(private readonly onNode: (level: number, index: number) => void, private readonly onClose: () => void) {
    this.el = h("div", { class: "kw-thumb-nodes", role: "group", "aria-label": NODES_LABEL, hidden: true });
    this.el.addEventListener("keydown", this.onKey);
  }

  /** The buttons now placed (in reading order: level by level, left to right). */
  get buttons(): HTMLButtonElement[] {
    return Array.from(this.el.querySelectorAll<HTMLButtonElement>("button"));
  }

  /** One button per live node with a thumbnail, over its square (call after each draw of the picture). */
  place(layout: Layout | null, thumbs: Thumbnails | null): void {
    const focused = this.buttons.find((b) => b === b.ownerDocument.activeElement)?.dataset.node ?? "";
    const made: HTMLButtonElement[] = [];
    if (layout && thumbs && thumbs.count) {
      for (let level = 1; level < layout.levels.length; level++) {
        const row = layout.levels[level];
        const side = Math.max(thumbSide(layout, row), 2 * layout.nodeRadius, 12);
        for (const n of row) {
          if (n.live === false || thumbs.indexOf(level, n.index) < 0) continue;
          const name = nodeLabel(level, n.index, layout.levels.length);
          const b = h("button", { type: "button", class: "kw-thumb-btn", tabindex: "-1", "data-node": `${level},${n.index}`,
            "aria-label": `${name}: show its picture enlarged`, title: `${name}: Enter shows it enlarged (Escape closes)` });
          b.style.left = `${n.x - side / 2}px`;
          b.style.top = `${n.y - side / 2}px`;
          b.style.width = b.style.height = `${side}px`;
          b.addEventListener("click", () => this.onNode(level, n.index));
          b.addEventListener("focus", () => this.setCurrent(b));
          made.push(b);
        }
      }
    }
    const key = made.map((b) => `${b.dataset.node}@${b.style.left},${b.style.top},${b.style.width}`).join(";");
    if (key === this.key) return;        // the same nodes in the same places: keep the buttons (and the focus)
    this.key = key;
    this.el.replaceChildren(...made);
    this.el.hidden = made.length === 0;
    const keep = made.find((b) => b.dataset.node === this.current) ?? made[0];
    if (keep) this.setCurrent(keep);
    if (focused) made.find((b) => b.dataset.node === focused)?.focus();
  }

  private setCurrent(b: HTMLButtonElement): void {
    this.current = b.dataset.node ?? "";
    for (const o of this.buttons) o.tabIndex = o === b ? 0 : -1;
  }

  private onKey = (ev: KeyboardEvent): void => {
    const list = this.buttons;
    const at = list.findIndex((b) => b === ev.target);
    if (at < 0) return;
    let next = -1;
    if (ev.key === "ArrowRight" || ev.key === "ArrowUp") next = Math.min(list.length - 1, at + 1);
    else if (ev.key === "ArrowLeft" || ev.key === "ArrowDown") next = Math.max(0, at - 1);
    else if (ev.key === "Home") next = 0;
    else if (ev.key === "End") next = list.length - 1;
    else if (ev.key === "Escape") {
      ev.preventDefault();
      ev.stopPropagation();
      this.onClose();
      return;
    } else return;
    ev.preventDefault();
    ev.stopPropagation();
    this.setCurrent(list[next]);
    list[next].focus();
  };

  destroy(): void {
    this.el.removeEventListener("keydown", this.onKey);
  }
}
