// A tiny stand-in for the anywidget model: get / set / on / off / send / save_changes.
export class FakeModel {
  constructor(state = {}) {
    this.state = { ...state };
    this.listeners = new Map();
    this.sent = [];
    this.saved = 0;
    // anywidget's AnyModel has a widget manager; the view never uses it
    this.widget_manager = { get_model: async () => { throw new Error("FakeModel has no widget manager"); } };
  }
  get(name) {
    return this.state[name];
  }
  set(name, value) {
    const old = this.state[name];
    this.state[name] = value;
    if (old !== value) this.emit(`change:${name}`, value);
  }
  save_changes() {
    this.saved++;
  }
  on(event, cb) {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event).add(cb);
  }
  off(event, cb) {
    if (!event) this.listeners.clear();
    else if (!cb) this.listeners.delete(event);
    else this.listeners.get(event)?.delete(cb);
  }
  send(content, callbacks, buffers) {
    this.sent.push(content);
  }
  emit(event, ...args) {
    for (const cb of [...(this.listeners.get(event) ?? [])]) cb(...args);
  }
  /** Simulates a custom message from Python. */
  custom(msg, buffers = []) {
    this.emit("msg:custom", msg, buffers);
  }
  listenerCount() {
    let n = 0;
    for (const s of this.listeners.values()) n += s.size;
    return n;
  }
  commands(name) {
    return this.sent.filter((m) => m.type === "command" && (!name || m.name === name));
  }
}
