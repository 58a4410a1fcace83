/**
 * What the writers take: a batch of validated rows as typed columns ("vectors"), one per schema
 * column — int64 and timestamps (µs since 1970) in BigInt64Arrays, doubles in Float64Arrays,
 * booleans and validity one byte per row, dates as days since 1970, text and JSON as one UTF-8
 * buffer with offsets. Arrow (arrow.ts) and COPY binary (copy-binary.ts) are encoded from these
 * without a call per value. The columnar path fills them straight from the file's bytes
 * (validate/kernels.ts); the record path converts its validated records (`vectorsFromRecords`).
 */
import { asBuffer, utf8Write } from '../lib/bytes.js';
import { grown, withRoom } from '../lib/byte-sink.js';
import type { Column, ColumnKind } from '../columns.js';
import { jsonText } from '../read/json-values.js';
import { dateToDays, timestampMicros } from './time.js';
import { unreachable } from '../lib/unreachable.js';

export type Vector =
  | { kind: 'integer' | 'timestamp'; valid: Uint8Array; data: BigInt64Array; words: Int32Array }
  | { kind: 'number'; valid: Uint8Array; data: Float64Array }
  | { kind: 'boolean'; valid: Uint8Array; data: Uint8Array }
  | { kind: 'date'; valid: Uint8Array; data: Int32Array }
  | { kind: 'string' | 'json'; valid: Uint8Array; bytes: Uint8Array; offsets: Int32Array };

export interface TypedBatch {
  length: number;
  /** The line or record number of each row in the file (typed: one elements kind for the loops reading it). */
  numbers: Float64Array;
  /** In the order of the dataset's columns. */
  vectors: Vector[];
}

const TWO_32 = 4294967296;

/** Writes an int64 slot through its 32-bit halves (little-endian): no BigInt for a safe integer. */
export function setInt64(v: { data: BigInt64Array; words: Int32Array }, i: number, value: number | bigint): void {
  if (typeof value === 'bigint') {
    v.data[i] = value;
  } else if (Number.isSafeInteger(value)) {
    const high = Math.floor(value / TWO_32);
    v.words[2 * i] = (value - high * TWO_32) | 0;
    v.words[2 * i + 1] = high;
  } else {
    v.data[i] = BigInt(value);
  }
}

/** Appends UTF-8 text to one growing buffer, with an end offset per row. */
export class TextBuilder {
  bytes: Uint8Array;
  /** `bytes` as a Buffer, for writing strings (made once per allocation, not per value). */
  private buf: Buffer;
  offsets: Int32Array;
  valid: Uint8Array;
  length = 0;
  size = 0;
  constructor(rows: number, bytesGuess = rows * 16) {
    this.bytes = new Uint8Array(Math.max(64, bytesGuess));
    this.buf = asBuffer(this.bytes);
    this.offsets = new Int32Array(rows + 1);
    this.valid = new Uint8Array(rows);
  }
  /** Room for `rows` rows in all (for rows appended past the count it was made for), and text for them. */
  reserveRows(rows: number, bytesPerRow = 16): void {
    if (rows <= this.valid.length) return;
    if (this.bytes.length < rows * bytesPerRow) this.room(rows * bytesPerRow - this.size);
    this.offsets = grown(this.offsets, rows + 1);
    this.valid = grown(this.valid, rows);
  }
  private room(extra: number): void {
    if (this.size + extra <= this.bytes.length) return;
    this.bytes = withRoom(this.bytes, this.size, this.size + extra);
    this.buf = asBuffer(this.bytes);
  }
  /** Bytes `from … to` of `source`; with `quote`, a doubled quote is written once. */
  appendBytes(source: Uint8Array, from: number, to: number, quote = -1): void {
    const n = to - from;
    this.room(n);
    const out = this.bytes;
    let o = this.size;
    if (quote >= 0) {
      for (let i = from; i < to; i++) {
        const c = source[i]!;
        out[o++] = c;
        if (c === quote) i++;
      }
    } else if (n < 24) {
      for (let i = from; i < to; i++) out[o++] = source[i]!;
    } else {
      out.set(source.subarray(from, to), o);
      o += n;
    }
    this.size = o;
    this.valid[this.length] = 1;
    this.offsets[++this.length] = o;
  }
  /**
   * As `appendBytes`, checking on the way that no byte is NUL (which PostgreSQL cannot store in
   * text); with one, nothing is appended and the answer is false.
   */
  appendText(source: Uint8Array, from: number, to: number, quote = -1): boolean {
    this.room(to - from);
    const out = this.bytes;
    const start = this.size;
    let o = start;
    let nul = false;
    for (let i = from; i < to; i++) {
      const c = source[i]!;
      out[o++] = c;
      if (c === 0) nul = true;
      else if (c === quote) i++;
    }
    if (nul) return false;
    this.size = o;
    this.valid[this.length] = 1;
    this.offsets[++this.length] = o;
    return true;
  }
  appendString(text: string): void {
    this.room(text.length * 3);
    const written = utf8Write(this.buf, text, this.size);
    this.size += written;
    this.valid[this.length] = 1;
    this.offsets[++this.length] = this.size;
  }
  appendNull(): void {
    this.offsets[++this.length] = this.size;
  }
  vector(kind: 'string' | 'json'): Vector {
    return { kind, valid: this.valid.subarray(0, this.length), bytes: this.bytes.subarray(0, this.size), offsets: this.offsets.subarray(0, this.length + 1) };
  }
}

export function emptyVector(kind: ColumnKind, rows: number): Vector {
  const valid = new Uint8Array(rows);
  switch (kind) {
    case 'integer':
    case 'timestamp': {
      const data = new BigInt64Array(rows);
      return { kind, valid, data, words: new Int32Array(data.buffer) };
    }
    case 'number':
      return { kind, valid, data: new Float64Array(rows) };
    case 'boolean':
      return { kind, valid, data: new Uint8Array(rows) };
    case 'date':
      return { kind, valid, data: new Int32Array(rows) };
    case 'string':
    case 'json':
      return { kind, valid, bytes: new Uint8Array(0), offsets: new Int32Array(rows + 1) };
    default:
      return unreachable(kind, 'column kind');
  }
}

/** The rows `keep` (ascending indexes) of a vector, in a new one. */
export function selectRows(vector: Vector, keep: Int32Array | number[]): Vector {
  const n = keep.length;
  const valid = new Uint8Array(n);
  for (let i = 0; i < n; i++) valid[i] = vector.valid[keep[i]!]!;
  switch (vector.kind) {
    case 'string':
    case 'json': {
      const text = new TextBuilder(n, vector.bytes.length);
      for (let i = 0; i < n; i++) {
        const r = keep[i]!;
        if (vector.valid[r]) text.appendBytes(vector.bytes, vector.offsets[r]!, vector.offsets[r + 1]!);
        else text.appendNull();
      }
      return text.vector(vector.kind);
    }
    case 'integer':
    case 'timestamp': {
      const data = new BigInt64Array(n);
      for (let i = 0; i < n; i++) data[i] = vector.data[keep[i]!]!;
      return { kind: vector.kind, valid, data, words: new Int32Array(data.buffer) };
    }
    case 'number':
      return { kind: vector.kind, valid, data: pick(vector.data, new Float64Array(n), keep) };
    case 'boolean':
      return { kind: vector.kind, valid, data: pick(vector.data, new Uint8Array(n), keep) };
    case 'date':
      return { kind: vector.kind, valid, data: pick(vector.data, new Int32Array(n), keep) };
    default:
      return unreachable(vector, 'vector kind');
  }
}

function pick<T extends Float64Array | Uint8Array | Int32Array>(source: T, into: T, keep: Int32Array | number[]): T {
  for (let i = 0; i < keep.length; i++) into[i] = source[keep[i]!]!;
  return into;
}

/** One column's values of the records: own properties only (`__proto__`, `constructor` … are not inherited). */
export function columnValues(records: Record<string, unknown>[], name: string): unknown[] {
  return name in Object.prototype ? records.map((r) => (Object.hasOwn(r, name) ? r[name] : undefined)) : records.map((r) => r[name]);
}

/**
 * The rows that passed (`failed[i]` 0) as a batch, and the indexes of those that failed; `numberOf`
 * gives row i's line or record number. Nothing is copied when every row passed.
 */
export function passingRows(vectors: Vector[], failed: Uint8Array, numberOf: (i: number) => number): { typed: TypedBatch; failed: number[] } {
  // No fast path for a batch without a failed row: skipping these lists raised the 1M-row file's
  // peak RSS by 30 MB, as fewer young collections left dead vectors waiting longer (BENCHMARKS.md).
  const keep: number[] = [];
  const bad: number[] = [];
  for (let i = 0; i < failed.length; i++) (failed[i] ? bad : keep).push(i);
  const numbers = new Float64Array(keep.length);
  for (let k = 0; k < keep.length; k++) numbers[k] = numberOf(keep[k]!);
  if (bad.length === 0) return { typed: { length: keep.length, numbers, vectors }, failed: bad };
  return { typed: { length: keep.length, numbers, vectors: vectors.map((v) => selectRows(v, keep)) }, failed: bad };
}

/** Validated records as vectors (the record path). */
export function vectorsFromRecords(columns: Column[], records: Record<string, unknown>[], numbers: number[]): TypedBatch {
  const length = records.length;
  const vectors = columns.map((column): Vector => {
    const values = columnValues(records, column.name);
    if (column.kind === 'string' || column.kind === 'json') {
      const text = new TextBuilder(length);
      for (const v of values) {
        if (v === undefined || v === null) text.appendNull();
        else text.appendString(column.kind === 'json' || typeof v !== 'string' ? jsonText(v) : v);
      }
      return text.vector(column.kind);
    }
    const vector = emptyVector(column.kind, length);
    for (let i = 0; i < length; i++) {
      const v = values[i];
      if (v === undefined || v === null) continue;
      vector.valid[i] = 1;
      switch (vector.kind) {
        case 'integer':
          setInt64(vector, i, v as number | bigint);
          break;
        case 'timestamp':
          setInt64(vector, i, timestampMicros(v as string));
          break;
        case 'number':
          vector.data[i] = Number(v);
          break;
        case 'boolean':
          vector.data[i] = v === true ? 1 : 0;
          break;
        case 'date':
          vector.data[i] = dateToDays(v as string);
          break;
        case 'string':
        case 'json':
          break; // text vectors are built above
        default:
          unreachable(vector, 'vector kind');
      }
    }
    return vector;
  });
  return { length, numbers: Float64Array.from(numbers), vectors };
}
