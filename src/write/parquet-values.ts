/**
 * PLAIN values of a page, from the typed vectors: fixed-width values copied (one copy when no row
 * is null), booleans bit-packed, text as a 4-byte length and its bytes; each value compared for the
 * page's min and max on the way, in the order Parquet gives its type (signed integers, doubles
 * without NaN, unsigned bytes for UTF-8).
 */
import type { ByteSink } from '../lib/byte-sink.js';
import { unreachable } from '../lib/unreachable.js';
import type { Vector } from './vectors.js';

/** The min and max of a page's values, as the statistics hold them. */
export interface Bounds {
  min: Uint8Array;
  max: Uint8Array;
}

/** A page's values as PLAIN wrote them: their min and max (null: none, or left out), NaNs counted. */
export interface Plain {
  bounds: Bounds | null;
  nans: number;
}

/** The non-null values of rows `from … to` PLAIN into `body`. */
export function plainValues(body: ByteSink, vector: Vector, from: number, to: number, nulls: number): Plain {
  const { valid } = vector;
  switch (vector.kind) {
    case 'integer':
    case 'timestamp': {
      const words = vector.words;
      const bytes = new Uint8Array(words.buffer, words.byteOffset, to * 8);
      fixedValues(body, bytes, 8, valid, from, to, nulls);
      let min = -1;
      let max = -1;
      for (let i = from; i < to; i++) {
        if (!valid[i]) continue;
        if (min < 0 || lessInt64(words, i, min)) min = i;
        if (max < 0 || lessInt64(words, max, i)) max = i;
      }
      return { bounds: min < 0 ? null : { min: bytes.slice(min * 8, min * 8 + 8), max: bytes.slice(max * 8, max * 8 + 8) }, nans: 0 };
    }
    case 'number': {
      const data = vector.data;
      fixedValues(body, new Uint8Array(data.buffer, data.byteOffset, to * 8), 8, valid, from, to, nulls);
      let min = Infinity;
      let max = -Infinity;
      let any = false;
      let nans = 0;
      for (let i = from; i < to; i++) {
        if (!valid[i]) continue;
        const v = data[i]!;
        if (v !== v) {
          nans++; // left out of min and max, counted instead, as the format says
          continue;
        }
        any = true;
        if (v < min || (v === 0 && min === 0 && Object.is(v, -0))) min = v;
        if (v > max || (v === 0 && max === 0 && Object.is(v, 0))) max = v;
      }
      // A zero minimum is written -0 and a zero maximum +0 (the format's rule for signed zeros).
      return { bounds: any ? { min: doubleBytes(min === 0 ? -0 : min), max: doubleBytes(max === 0 ? 0 : max) } : null, nans };
    }
    case 'date': {
      const data = vector.data;
      fixedValues(body, new Uint8Array(data.buffer, data.byteOffset, to * 4), 4, valid, from, to, nulls);
      let min = 0;
      let max = 0;
      let any = false;
      for (let i = from; i < to; i++) {
        if (!valid[i]) continue;
        const v = data[i]!;
        if (!any || v < min) min = v;
        if (!any || v > max) max = v;
        any = true;
      }
      return { bounds: any ? { min: int32Bytes(min), max: int32Bytes(max) } : null, nans: 0 };
    }
    case 'boolean': {
      const data = vector.data;
      let bits = 0;
      let k = 0;
      let seen = 0; // 1: false seen, 2: true seen
      for (let i = from; i < to; i++) {
        if (!valid[i]) continue;
        if (data[i]) {
          bits |= 1 << k;
          seen |= 2;
        } else {
          seen |= 1;
        }
        if (++k === 8) {
          body.byte(bits);
          bits = 0;
          k = 0;
        }
      }
      if (k > 0) body.byte(bits);
      return { bounds: seen ? { min: Uint8Array.of(seen & 1 ? 0 : 1), max: Uint8Array.of(seen & 2 ? 1 : 0) } : null, nans: 0 };
    }
    case 'string':
    case 'json':
      return { bounds: plainText(body, vector.bytes, vector.offsets, valid, from, to), nans: 0 };
    default:
      return unreachable(vector, 'vector kind');
  }
}

/** Fixed-width values of the valid rows into `body`: one copy when no row is null. */
function fixedValues(body: ByteSink, bytes: Uint8Array, width: number, valid: Uint8Array, from: number, to: number, nulls: number): void {
  body.room((to - from) * width);
  if (nulls === 0) {
    body.bytes.set(bytes.subarray(from * width, to * width), body.length);
    body.length += (to - from) * width;
    return;
  }
  const out = body.bytes;
  let o = body.length;
  for (let i = from; i < to; i++) {
    if (!valid[i]) continue;
    for (let k = i * width, end = k + width; k < end; k++) out[o++] = bytes[k]!;
  }
  body.length = o;
}

/**
 * Text values PLAIN (a 4-byte length, then the bytes), each compared for min and max on the way.
 * Short values are copied in a loop: a `subarray` per value costs more than the copy.
 */
function plainText(body: ByteSink, bytes: Uint8Array, offsets: Int32Array, valid: Uint8Array, from: number, to: number): Bounds | null {
  body.room(offsets[to]! - offsets[from]! + (to - from) * 4);
  const out = body.bytes;
  let o = body.length;
  let min = -1;
  let max = -1;
  for (let i = from; i < to; i++) {
    if (!valid[i]) continue;
    const start = offsets[i]!;
    const end = offsets[i + 1]!;
    const n = end - start;
    out[o++] = n & 0xff;
    out[o++] = (n >>> 8) & 0xff;
    out[o++] = (n >>> 16) & 0xff;
    out[o++] = n >>> 24;
    if (n < 32) {
      for (let k = start; k < end; k++) out[o++] = bytes[k]!;
    } else {
      out.set(bytes.subarray(start, end), o);
      o += n;
    }
    if (min < 0) {
      min = max = i;
    } else {
      // Most values differ from the current bounds in their first byte.
      const first = n > 0 ? bytes[start]! : -1;
      const minFirst = offsets[min + 1]! > offsets[min]! ? bytes[offsets[min]!]! : -1;
      if (first < minFirst || (first === minFirst && compareText(bytes, offsets, i, min) < 0)) min = i;
      const maxFirst = offsets[max + 1]! > offsets[max]! ? bytes[offsets[max]!]! : -1;
      if (first > maxFirst || (first === maxFirst && compareText(bytes, offsets, i, max) > 0)) max = i;
    }
  }
  body.length = o;
  if (min < 0) return null;
  return textBounds(bytes.subarray(offsets[min]!, offsets[min + 1]!), bytes.subarray(offsets[max]!, offsets[max + 1]!));
}

/** Whether int64 slot `a` is less than slot `b` (each as two 32-bit halves, little-endian). */
function lessInt64(words: Int32Array, a: number, b: number): boolean {
  const ha = words[2 * a + 1]!;
  const hb = words[2 * b + 1]!;
  if (ha !== hb) return ha < hb;
  return words[2 * a]! >>> 0 < words[2 * b]! >>> 0;
}

/** Text values `a` and `b` compared byte by byte, unsigned (the order Parquet gives UTF-8 strings). */
function compareText(bytes: Uint8Array, offsets: Int32Array, a: number, b: number): number {
  let i = offsets[a]!;
  let j = offsets[b]!;
  const endA = offsets[a + 1]!;
  const endB = offsets[b + 1]!;
  for (; i < endA && j < endB; i++, j++) {
    const d = bytes[i]! - bytes[j]!;
    if (d !== 0) return d;
  }
  return endA - i - (endB - j);
}

/** Text bounds, copied out of the page's buffer (the footer leaves out bounds that are too long). */
export function textBounds(min: Uint8Array, max: Uint8Array): Bounds {
  return { min: min.slice(), max: max.slice() };
}

function doubleBytes(v: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setFloat64(0, v, true);
  return out;
}

function int32Bytes(v: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setInt32(0, v, true);
  return out;
}

export function int64Bytes(v: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigInt64(0, v, true);
  return out;
}
