/** kanwidget front end: wires the model traits to the view parts (anywidget module). */
import "./widget.css";
import { Controls } from "./controls";
import { DataViewPanel } from "./dataview";
import { decodeMetrics } from "./curves";
import { h } from "./dom";
import { FormulaPanel } from "./formula";
import { InspectorPanel } from "./inspector";
import { LossChart } from "./losschart";
import { NetworkView } from "./network";
import { NetEditPanel } from "./netedit";
import { liveNodes } from "./layout";
import { changesModel, normaliseProtocol } from "./protocol";
import { ErrorBox, StatusLine, normaliseStatus } from "./status";
import { watchTheme } from "./theme";
import { Timeline } from "./timeline";
import { PinToggle } from "./pin";   // pin to the side (issue 11 item 7)
import { ExportBar } from "./export";   // present + export
import { PresentMode } from "./present";
import { DataPanel } from "./datapanel";   // data panel (issue 11 item 2)
import { NodeButtons } from "./thumbnails";   // thumbnails: keyboard access to the nodes
import type { AnyWidget } from "@anywidget/types";
import type { Callback, Graph, ProtocolTable, SendCommand, Traits, WidgetModel } from "./types";

export interface View {
  root: HTMLDivElement;
  network: NetworkView;
  chart: LossChart;
  controls: Controls;
  destroy(): void;
}

export function createView(model: WidgetModel, el: HTMLElement): View {
  const send: SendCommand = (name, args = {}) => {
    model.send({ type: "command", name, args });
  };
  const get = <K extends keyof Traits>(name: K): Traits[K] | undefined => {
    try {
      return model.get(name);
    } catch {
      return undefined;
    }
  };
  let table: ProtocolTable | null = null;
  let running = false;

  const root = h("div", { class: "kanwidget" });
  const status = new StatusLine(() => send("cancel", {}));
  const errorBox = new ErrorBox(() => {
    // Reset the trait so the same message raised again is shown again.
    model.set("error", "");
    model.save_changes();
  });
  const controls = new Controls(send);
  const netEdit = new NetEditPanel(send); // netedit
  const nodeButtons = new NodeButtons((l, i) => dataView.showNode([l, i]), () => dataView.showNode(null)); // thumbnails: keyboard
  const inspectorOpen = () => !inspector.el.hidden;
  const network = new NetworkView({
    onPick: (g) => send("inspect", { l: g.l, i: g.i, j: g.j }),
    onNode: (level, index) => dataView.showNode([level, index]),
    onEscape: () => {
      if (inspectorOpen()) send("close_inspector", {});
    },
    onDraw: (s) => {
      root.dataset.nodes = String(s.nodes);
      root.dataset.multNodes = String(s.mult);
      root.dataset.edges = String(s.edges);
      root.dataset.symbolicEdges = String(s.symbolic);
      netEdit.place(network.layout); // netedit
      nodeButtons.place(network.layout, network.thumbnails); // thumbnails: keyboard
    },
  });
  const chart = new LossChart();
  const inspector = new InspectorPanel(send);
  const formula = new FormulaPanel();
  const timeline = new Timeline(send);

  // Escape anywhere in the widget closes the inspector; focus inside it goes back to the network.
  const onKeydown = (ev: KeyboardEvent) => {
    if (ev.key !== "Escape" || !inspectorOpen() || ev.defaultPrevented) return;
    const t = ev.target as Node | null;
    if (t && (t as HTMLElement).closest?.(".kw-lib[open]")) return;
    ev.preventDefault();
    ev.stopPropagation();
    const inside = !!t && inspector.el.contains(t);
    send("close_inspector", {});
    if (inside) network.canvas.focus();
  };
  root.addEventListener("keydown", onKeydown);

  // Theme changes (JupyterLab theme switch, OS dark mode / contrast): redraw the canvases when their
  // colours changed. The new theme's stylesheet may apply a little after the signal: look again later.
  const themeTimers: ReturnType<typeof setTimeout>[] = [];
  const recheckTheme = () => {
    if (network.themeChanged()) network.scheduleDraw();
    if (chart.themeChanged()) chart.schedule();
  };
  const onTheme = () => {
    themeTimers.splice(0).forEach(clearTimeout);
    recheckTheme();
    for (const ms of [150, 600, 1500]) themeTimers.push(setTimeout(recheckTheme, ms));
  };
  const unwatchTheme = watchTheme(onTheme);

  const header = h("div", { class: "kw-header" }, h("span", { class: "kw-title", text: "KAN" }), h("span", { class: "kw-shape" }), status.el);
  const netCard = h("div", { class: "kw-card kw-network-card" }, network.el,
    h("div", { class: "kw-hint kw-muted", text: "Click an edge to inspect it (keyboard: Tab to the picture, arrows, Enter). Faded = less important; red = symbolic." }));
  const side = h("div", { class: "kw-side" }, inspector.el, h("div", { class: "kw-card" }, chart.el), formula.el);
  // present + export: header buttons (Next, Present, Full screen), Save PNG / SVG under the picture
  const present = new PresentMode({
    root, send,
    setPresenting: (on) => { model.set("presenting", on); model.save_changes(); },
    redraw: () => { network.themeChanged(); network.scheduleDraw(); chart.themeChanged(); chart.schedule(); },
  });
  const exportBar = new ExportBar(network, (m) => errorBox.update(m));
  header.append(present.el);
  netCard.append(exportBar.el, present.note);
  const pin = new PinToggle(root, el);   // pin: keeps the widget in view while the notebook scrolls
  header.append(pin.el);
  const dataView = new DataViewPanel(send);
  network.el.append(netEdit.overlay); network.el.after(netEdit.el); // netedit
  network.el.append(nodeButtons.el); // thumbnails: keyboard
  const dataPanel = new DataPanel(send);   // data panel: presets, formula, noise / points / split, regenerate
  // -- feature panels: create them above this line and place them in the layout below --
  root.append(header, controls.el, errorBox.el, h("div", { class: "kw-main" }, netCard, side), dataPanel.el, dataView.el, timeline.el);
  el.append(root);

  const shape = header.querySelector(".kw-shape") as HTMLElement;
  const onGraph = () => {
    const graph = (get("graph") ?? null) as Graph | null;
    const ok = graph && Array.isArray(graph.width) ? graph : null;
    // the shape counts live nodes (hidden nodes left without edges by pruning are not drawn)
    const live = ok ? liveNodes(ok).map((row) => row.filter(Boolean).length) : [];
    shape.textContent = ok ? `[${live.join(", ")}]` : "";
    const gone = ok ? ok.width.reduce((a, n) => a + n, 0) - live.reduce((a, n) => a + n, 0) : 0;
    shape.title = gone ? `${gone} node${gone > 1 ? "s" : ""} without edges (pruned) not drawn; the model's width is [${ok?.width.join(", ")}]` : "";
    network.reserveRight = ok && ok.width.length > 2 ? 80 : 0; // netedit: its −/+ rows sit at the right
    network.setData(ok, get("curves"));
    netEdit.update(ok); // netedit
    formula.update(get("formula"), ok?.out_vars ?? []);
  };
  /** Model-changing buttons outside the controls bar (version chips, Fix / Unfix) follow the status too. */
  const lockOthers = () => {
    const spec = (name: string) => table?.commands[name];
    timeline.lock(!spec("checkout") || (running && changesModel(spec("checkout"))));
    present.lock(running || !table);
    netEdit.lock(running, table); // netedit
    const fix = spec("fix_symbolic");
    inspector.lock(!fix || (running && changesModel(fix)), !fix?.needs_data || get("has_data") !== false);
  };
  const onStatus = () => {
    const s = normaliseStatus(get("status"));
    running = s.state === "training" || s.state === "busy";
    status.update(s);
    controls.update({ state: s.state });
    lockOthers();
    if (s.state === "idle") controls.clearPending();
  };
  const onProtocol = () => {
    table = normaliseProtocol(get("protocol"));
    controls.setProtocol(table);
    status.setProtocol(table);
    lockOthers();
  };
  const onError = () => {
    const e = get("error");
    errorBox.update(e);
    if (e) controls.clearPending();
  };
  const onMetrics = () => chart.replace(decodeMetrics(get("metrics")));
  const onInspector = () => inspector.update(get("inspector"));
  const onFormula = () => formula.update(get("formula"), ((get("graph") as Graph | null)?.out_vars) ?? []);
  const onVersions = () => timeline.update(get("versions"));
  const onControls = () => {
    const lib = get("library");
    controls.update({ hasData: get("has_data") !== false, library: Array.isArray(lib) ? lib.map(String) : [] });
    lockOthers();
  };
  const onCustom = (msg: unknown) => {
    const m = msg as { type?: string; rows?: unknown };
    if (m && m.type === "metrics") chart.append(m.rows);
  };
  const answered = () => controls.clearPending();

  const onDataView = () => {
    dataView.update(get("dataview"), get("dataview_data"));
    network.thumbnails = dataView.thumbnails;
    network.scheduleDraw();
  };
  const handlers: [string, Callback][] = [
    ["change:graph", onGraph],
    ["change:curves", onGraph],
    ["change:status", onStatus],
    ["change:error", onError],
    ["change:metrics", onMetrics],
    ["change:inspector", onInspector],
    ["change:formula", onFormula],
    ["change:versions", onVersions],
    ["change:library", onControls],
    ["change:has_data", onControls],
    ["change:protocol", onProtocol],
    ["change:graph", answered],
    ["change:versions", answered],
    ["change:inspector", answered],
    ["msg:custom", onCustom],
    ["change:presenting", () => present.setPresenting(get("presenting") === true)],
    ["change:next_step", () => present.update(get("next_step"))],
    ["change:status", () => present.update(get("next_step"))],
    ["change:dataview", onDataView],
    ["change:dataview_data", onDataView],
    ["change:data_source", () => dataPanel.setSource(get("data_source") ?? null)],
    ["change:data_source", () => chart.setLossName(get("data_source")?.task === "classification" ? "logistic loss" : "RMSE")],
    ["change:error", () => dataPanel.setError(String(get("error") ?? ""))],
    ["change:status", () => dataPanel.setBusy(normaliseStatus(get("status")).state !== "idle")],
    ["change:protocol", () => dataPanel.setProtocol(normaliseProtocol(get("protocol")))],
    // -- feature handlers: add new entries above this line --
  ];
  for (const [ev, cb] of handlers) model.on(ev, cb);

  onProtocol();
  onControls();
  onGraph();
  onDataView();
  onStatus();
  onError();
  onMetrics();
  onInspector();
  onVersions();
  present.setPresenting(get("presenting") === true);
  dataPanel.setProtocol(normaliseProtocol(get("protocol")));
  dataPanel.setSource(get("data_source") ?? null);
  chart.setLossName(get("data_source")?.task === "classification" ? "logistic loss" : "RMSE");
  dataPanel.setBusy(normaliseStatus(get("status")).state !== "idle");
  present.update(get("next_step"));

  return {
    root,
    network,
    chart,
    controls,
    destroy() {
      for (const [ev, cb] of handlers) model.off(ev, cb);
      unwatchTheme();
      themeTimers.splice(0).forEach(clearTimeout);
      root.removeEventListener("keydown", onKeydown);
      present.destroy();
      exportBar.destroy();
      pin.destroy();
      dataView.destroy();
      dataPanel.destroy();
      nodeButtons.destroy(); // thumbnails: keyboard
      // -- feature teardown: add above this line --
      network.destroy();
      chart.destroy();
      controls.destroy();
      root.remove();
    },
  };
}

function render({ model, el }: { model: WidgetModel; el: HTMLElement }): () => void {
  const view = createView(model, el);
  return () => view.destroy();
}

export default { render } satisfies AnyWidget<Traits>;

// Named exports for the browser harness and the benchmark (anywidget only uses the default export).
export { computeLayout, liveNodes, preferredHeight } from "./layout";
export { SvgContext } from "./svgcontext";
export { NetworkView } from "./network";
