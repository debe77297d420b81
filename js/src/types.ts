/** Protocol types shared with the Python side (see docs/ARCHITECTURE.md, "Widget protocol"). */
import type { AnyModel } from "@anywidget/types";

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
  /** with multiplication nodes only: for each output (subnode) j, the index of the node it feeds */
  owner?: number[];
}

export interface Graph {
  width: number[];
  in_vars: string[];
  out_vars: string[];
  layers: GraphLayer[];
  /** per level; `mult` (arity) marks a multiplication node, drawn as × */
  nodes: { importance: number; mult?: number }[][];
  num_points: number;
  version: number;
  /** grid intervals and spline order k of the model (network editing's inputs) */
  grid?: number;
  k?: number;
}

export interface Status {
  state: "idle" | "training" | "busy" | string;
  text: string;
  step: number;
  steps: number;
  /** Progress of a long command (optional): its name, done/total units, estimate, whether `cancel` stops it. */
  command?: string;
  done?: number;
  total?: number;
  eta_s?: number | null;
  cancellable?: boolean;
}

export interface Formula {
  latex: string[];
  sympy: string[];
  spline_edges: number;
  /** input-to-output paths of the largest output's formula (its size before simplification) */
  terms: number;
  /** true when the formula was too large to build (latex/sympy are then empty) */
  too_large: boolean;
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

/** The `protocol` trait: the command table of kanwidget/widget/protocol.py (`page_table()`). */
export type ArgType = "int" | "float" | "bool" | "choice" | "function" | "functions" | "edge_index" | "version" | "floats" | "text";
export type CommandKind = "stop" | "read" | "train" | "change";

export interface ArgSpec {
  name: string;
  type: ArgType;
  help: string;
  default: unknown;
  required: boolean;
  label: string | null;
  low?: number | null;
  high?: number | null;
  low_open?: boolean;
  high_open?: boolean;
  /** a model quantity the value must exceed (checked by Python; e.g. "grid") */
  above?: string | null;
  choices?: string[];
  nullable?: boolean;
  role?: "layer" | "in" | "out";
  default_by?: { arg: string; values: Record<string, unknown> };
  /** "text" args: the most characters (the text is only compared or parsed by Python, never evaluated) */
  max_length?: number;
}

export interface CommandSpec {
  kind: CommandKind;
  needs_data: boolean;
  help: string;
  label: string | null;
  tooltip: string | null;
  progress_unit: string | null;
  args: ArgSpec[];
}

export interface ProtocolTable {
  version: number;
  commands: Record<string, CommandSpec>;
  optimisers: string[];
  events: string[];
}

/** Every synced trait of KANWidget with its type (`{}` = empty graph / closed inspector). */
export interface Traits {
  graph: Graph | Record<string, never>;
  curves: BytesLike;
  metrics: BytesLike;
  status: Status;
  error: string;
  formula: Formula;
  versions: VersionInfo[];
  inspector: Inspector | Record<string, never>;
  library: string[];
  has_data: boolean;
  protocol: ProtocolTable | Record<string, never>;
  /** presentation mode (present.ts); also written by the page */
  presenting: boolean;
  /** the next step of the reference workflow (kanwidget/widget/present.py), {} when done */
  next_step: NextStep | Record<string, never>;
  /** the data view's meta and float32 arrays (heatmap.ts DataViewMeta; kanwidget/widget/dataview.py) */
  dataview: Record<string, unknown>;
  dataview_data: BytesLike;
  /** what the data is (data panel, kanwidget/widget/data_panel.py): {kind, name, formula, noise, n_train, ...} */
  data_source: DataSource | Record<string, never>;
  // -- feature traits: add new traits above this line --
}

/** The `next_step` trait: a command of the table with its full args, a button label and why. */
export interface NextStep {
  command: string;
  args: Record<string, unknown>;
  label: string;
  reason: string;
}

/** The anywidget model of KANWidget, typed by its traits. */
export type WidgetModel = AnyModel<Traits>;

export interface CommandMessage {
  type: "command";
  name: string;
  args: Record<string, unknown>;
}

export type SendCommand = (name: string, args?: Record<string, unknown>) => void;

/** The `data_source` trait (data panel): where the model's data came from. */
export interface DataSource {
  kind: "preset" | "formula" | "python";
  name: string;
  formula: string;
  latex: string;
  noise?: number;
  n_train: number;
  n_test: number;
  test_fraction?: number;
  seed?: number;
  task: "regression" | "classification";
  n_var: number;
}
