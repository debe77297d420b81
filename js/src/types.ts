/** Protocol types shared with the Python side (see docs/ARCHITECTURE.md, "Widget protocol"). */

export interface GraphEdge {
  i: number;
  j: number;
  active: boolean;
  importance: number;
  symbolic: string | null;
  xmin: number;
  xmax: number;
  ymin: number;
  ymax: number;
}

export interface GraphLayer {
  in: number;
  out: number;
  edges: GraphEdge[];
}

export interface Graph {
  width: number[];
  in_vars: string[];
  out_vars: string[];
  layers: GraphLayer[];
  nodes: { importance: number }[][];
  num_points: number;
  version: number;
}

export interface Status {
  state: "idle" | "training" | "busy" | string;
  text: string;
  step: number;
  steps: number;
}

export interface Formula {
  latex: string[];
  sympy: string[];
  spline_edges: number;
}

export interface VersionInfo {
  id: number;
  label: string;
  train_loss: number | null;
  test_loss: number | null;
  current: boolean;
}

export interface Candidate {
  name: string;
  r2: number;
  complexity: number;
}

export interface Inspector {
  l: number;
  i: number;
  j: number;
  x: number[];
  y: number[];
  data_x: number[];
  data_y: number[];
  knots: number[];
  candidates: Candidate[];
  symbolic: string | null;
}

/** Bytes traits arrive as DataView from anywidget; tests and saved state may give other views. */
export type BytesLike = DataView | ArrayBuffer | ArrayBufferView | null | undefined;

export type Callback = (...args: any[]) => void;

/** The subset of the anywidget model used by the view. */
export interface WidgetModel {
  get(name: string): any;
  set(name: string, value: unknown): void;
  save_changes(): void;
  on(event: string, cb: Callback): void;
  off(event: string, cb?: Callback): void;
  send(content: unknown, callbacks?: unknown, buffers?: unknown): void;
}

export interface CommandMessage {
  type: "command";
  name: string;
  args: Record<string, unknown>;
}

export type SendCommand = (name: string, args?: Record<string, unknown>) => void;
