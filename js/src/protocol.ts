/** Reading the `protocol` trait (the command table of kanwidget/widget/protocol.py). */
import type { ArgSpec, CommandMessage, CommandSpec, ProtocolTable } from "./types";

/** The table, or null when the trait is missing or malformed (then no command button is enabled). */
export function normaliseProtocol(value: unknown): ProtocolTable | null {
  const t = value as ProtocolTable | null | undefined;
  if (!t || typeof t !== "object" || !t.commands || typeof t.commands !== "object") return null;
  for (const c of Object.values(t.commands)) {
    if (!c || typeof c !== "object" || !Array.isArray(c.args)) return null;
  }
  return t;
}

/** `data-kw` name of a command or argument: underscores become dashes (auto_symbolic -> auto-symbolic). */
export function dataKw(name: string): string {
  return name.replace(/_/g, "-");
}

/** Commands that change the model (kind train or change): disabled while the model is training or busy. */
export function changesModel(spec: CommandSpec | undefined): boolean {
  return !!spec && (spec.kind === "train" || spec.kind === "change");
}

/** Why `value` is not acceptable for `arg` as far as the page can tell (static bounds), or null. */
export function checkArg(arg: ArgSpec, value: unknown, table: ProtocolTable): string | null {
  const num = typeof value === "number" && Number.isFinite(value);
  switch (arg.type) {
    case "int":
    case "float": {
      if (value === null && arg.nullable) return null;
      if (!num) return `${arg.name} must be a finite number`;
      const v = value as number;
      if (arg.type === "int" && !Number.isInteger(v)) return `${arg.name} must be an integer`;
      if (outOfRange(arg, v)) return `${arg.name} is out of range`;
      return null;
    }
    case "bool":
      return typeof value === "boolean" ? null : `${arg.name} must be true or false`;
    case "choice":
      if (value === null && arg.nullable) return null;
      return typeof value === "string" && (arg.choices ?? []).includes(value) ? null : `${arg.name} must be one of ${(arg.choices ?? []).join(", ")}`;
    case "function":
      return typeof value === "string" && value !== "" ? null : `${arg.name} must be a function name`;
    case "functions":
      if (value === null && arg.nullable) return null;
      return Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === "string")
        ? null : `${arg.name} must be a non-empty list of function names`;
    case "floats":
      if (value === null && arg.nullable) return null;
      return Array.isArray(value) && value.every((v) => typeof v === "number" && Number.isFinite(v))
        ? null : `${arg.name} must be a list of finite numbers`;
    case "text":
      if (value === null && arg.nullable) return null;
      return typeof value === "string" && value.length <= (arg.max_length ?? 0) && !/[\u0000-\u001f\u007f]/.test(value)
        ? null : `${arg.name} must be text of at most ${arg.max_length ?? 0} characters`;
    case "edge_index":
    case "version":
      return num && Number.isInteger(value) && (value as number) >= 0 ? null : `${arg.name} must be a non-negative integer`;
    default:
      return `${arg.name} has an unknown type in protocol version ${table.version}`;
  }
}

export function outOfRange(arg: ArgSpec, v: number): boolean {
  const { low, high } = arg;
  if (low !== null && low !== undefined && (arg.low_open ? v <= low : v < low)) return true;
  return high !== null && high !== undefined && (arg.high_open ? v >= high : v > high);
}

/** Why a message the page is about to send does not match the table, or null when it does. */
export function checkMessage(table: ProtocolTable, msg: CommandMessage): string | null {
  if (!msg || msg.type !== "command") return "not a command message";
  const spec = table.commands[msg.name];
  if (!spec) return `unknown command ${msg.name}`;
  const names = spec.args.map((a) => a.name);
  const got = Object.keys(msg.args ?? {});
  const extra = got.filter((k) => !names.includes(k));
  if (extra.length) return `${msg.name}: unknown argument(s) ${extra.join(", ")}`;
  const missing = names.filter((k) => !got.includes(k));
  if (missing.length) return `${msg.name}: missing argument(s) ${missing.join(", ")}`;
  for (const arg of spec.args) {
    const why = checkArg(arg, msg.args[arg.name], table);
    if (why) return `${msg.name}: ${why}`;
  }
  return null;
}
