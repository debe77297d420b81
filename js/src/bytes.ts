/** Decoding of float32 little-endian Bytes traits (DataView, ArrayBuffer or any typed-array view). */
import type { BytesLike } from "./types";

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Returns the float32 values held in `buf` (trailing bytes that do not make a float are ignored). */
export function toFloat32(buf: BytesLike): Float32Array {
  if (buf == null) return new Float32Array(0);
  let buffer: ArrayBufferLike;
  let offset: number;
  let length: number;
  if (buf instanceof ArrayBuffer || isArrayBufferLike(buf)) {
    buffer = buf as ArrayBufferLike;
    offset = 0;
    length = (buf as ArrayBufferLike).byteLength;
  } else if (ArrayBuffer.isView(buf)) {
    if (buf instanceof Float32Array) return buf;
    buffer = buf.buffer;
    offset = buf.byteOffset;
    length = buf.byteLength;
  } else {
    return new Float32Array(0);
  }
  const n = Math.floor(length / 4);
  if (HOST_IS_LITTLE_ENDIAN && offset % 4 === 0) {
    return new Float32Array(buffer, offset, n);
  }
  // Unaligned view or big-endian host: decode value by value.
  const dv = new DataView(buffer, offset, n * 4);
  const out = new Float32Array(n);
  for (let k = 0; k < n; k++) out[k] = dv.getFloat32(k * 4, true);
  return out;
}

function isArrayBufferLike(x: unknown): boolean {
  return (
    typeof SharedArrayBuffer !== "undefined" && x instanceof SharedArrayBuffer
  ) || Object.prototype.toString.call(x) === "[object ArrayBuffer]";
}

/** Encodes numbers as float32 little-endian bytes (used by tests and fake payloads). */
export function fromFloat32(values: ArrayLike<number>): ArrayBuffer {
  const out = new Float32Array(values.length);
  for (let k = 0; k < values.length; k++) out[k] = values[k];
  return out.buffer;
}
