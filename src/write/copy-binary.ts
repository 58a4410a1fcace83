/**
 * COPY … FROM STDIN (FORMAT binary) straight from vectors: int64 and doubles as their 8 bytes,
 * timestamps as µs since 2000-01-01, dates as days since 2000-01-01, text as UTF-8 bytes, jsonb as
 * version 1 + JSON text; then the lineage columns (`_file_id`, `_source_file`, `_source_record`).
 * Binary rather than text: PostgreSQL takes it with less CPU (BENCHMARKS.md, "Why the code is shaped as it is"), and nothing has to be printed
 * and escaped on our side. Format: PostgreSQL docs, "COPY — Binary Format".
 */
import type { Lineage } from './arrow.js';
import type { FixedKind } from '../columns.js';
import type { TypedBatch } from './vectors.js';
import { unreachable } from '../lib/unreachable.js';

/** Signature, flags (no OIDs), header extension length. */
export const COPY_BINARY_HEADER = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]);
/** The field count -1 ends the data. */
export const COPY_BINARY_TRAILER = Buffer.from([0xff, 0xff]);

const PG_EPOCH_MICROS_BIG = 946_684_800_000_000n;

/**
 * Rows are written a column at a time: first each row's size (so every row's place is known),
 * then each column's fields at a cursor per row, by one small function per column kind that sees
 * typed arrays only: these few are optimised at once and shared by every dataset, where a function
 * generated per column list is large and optimised late (BENCHMARKS.md, "Why the code is shaped as it is").
 */

const sizeOfText = (valid: Uint8Array, offsets: Int32Array, rows: number, size: Int32Array, extra: number): void => {
  for (let r = 0; r < rows; r++) size[r] = size[r]! + (valid[r] === 0 ? 4 : 4 + extra + offsets[r + 1]! - offsets[r]!);
};
const sizeOfFixed = (valid: Uint8Array, rows: number, size: Int32Array, width: number): void => {
  for (let r = 0; r < rows; r++) size[r] = size[r]! + (valid[r] === 0 ? 4 : 4 + width);
};

/** int64 from its halves (high word first: network order). */
function writeIntegers(view: DataView, at: Int32Array, rows: number, valid: Uint8Array, words: Int32Array): void {
  for (let r = 0; r < rows; r++) {
    const o = at[r]!;
    if (valid[r] === 0) {
      view.setInt32(o, -1);
      at[r] = o + 4;
    } else {
      view.setInt32(o, 8);
      view.setInt32(o + 4, words[2 * r + 1]!);
      view.setInt32(o + 8, words[2 * r]!);
      at[r] = o + 12;
    }
  }
}

/**
 * µs since 1970 → µs since 2000: in doubles while the result stays within ±2^53 (high word from
 * -1876734, before ~1714), beyond through BigInt. The bound tests the shifted value, not the one
 * before the shift (tests/unit/copy-binary.test.ts holds timestamps from 1685 to 1714 to it).
 */
function writeTimestamps(view: DataView, at: Int32Array, rows: number, valid: Uint8Array, words: Int32Array, data: BigInt64Array): void {
  for (let r = 0; r < rows; r++) {
    const o = at[r]!;
    if (valid[r] === 0) {
      view.setInt32(o, -1);
      at[r] = o + 4;
      continue;
    }
    view.setInt32(o, 8);
    const high = words[2 * r + 1]!;
    if (high >= -1876734 && high < 2097152) {
      const micros = high * 4294967296 + (words[2 * r]! >>> 0) - 946684800000000;
      const h = Math.floor(micros / 4294967296);
      view.setInt32(o + 4, h);
      view.setUint32(o + 8, micros - h * 4294967296);
    } else {
      view.setBigInt64(o + 4, data[r]! - PG_EPOCH_MICROS_BIG);
    }
    at[r] = o + 12;
  }
}

function writeNumbers(view: DataView, at: Int32Array, rows: number, valid: Uint8Array, data: Float64Array): void {
  for (let r = 0; r < rows; r++) {
    const o = at[r]!;
    if (valid[r] === 0) {
      view.setInt32(o, -1);
      at[r] = o + 4;
    } else {
      view.setInt32(o, 8);
      view.setFloat64(o + 4, data[r]!);
      at[r] = o + 12;
    }
  }
}

/** Days since 1970 → days since 2000. */
function writeDates(view: DataView, at: Int32Array, rows: number, valid: Uint8Array, data: Int32Array): void {
  for (let r = 0; r < rows; r++) {
    const o = at[r]!;
    if (valid[r] === 0) {
      view.setInt32(o, -1);
      at[r] = o + 4;
    } else {
      view.setInt32(o, 4);
      view.setInt32(o + 4, data[r]! - 10957);
      at[r] = o + 8;
    }
  }
}

function writeBooleans(out: Buffer, view: DataView, at: Int32Array, rows: number, valid: Uint8Array, data: Uint8Array): void {
  for (let r = 0; r < rows; r++) {
    const o = at[r]!;
    if (valid[r] === 0) {
      view.setInt32(o, -1);
      at[r] = o + 4;
    } else {
      view.setInt32(o, 1);
      out[o + 4] = data[r]!;
      at[r] = o + 5;
    }
  }
}

/** Text as its UTF-8 bytes; jsonb (`json` 1) as version 1, then the JSON text. */
function writeTexts(out: Buffer, view: DataView, at: Int32Array, rows: number, valid: Uint8Array, bytes: Uint8Array, offsets: Int32Array, json: number): void {
  for (let r = 0; r < rows; r++) {
    let o = at[r]!;
    if (valid[r] === 0) {
      view.setInt32(o, -1);
      at[r] = o + 4;
      continue;
    }
    const from = offsets[r]!;
    const to = offsets[r + 1]!;
    view.setInt32(o, to - from + json);
    o += 4;
    if (json === 1) out[o++] = 1;
    if (to - from < 24) for (let i = from; i < to; i++) out[o++] = bytes[i]!;
    else {
      out.set(bytes.subarray(from, to), o);
      o += to - from;
    }
    at[r] = o;
  }
}

/** `_file_id`, `_source_file`, `_source_record`: the same id and name in every row, then its number. */
function writeLineage(out: Buffer, view: DataView, at: Int32Array, rows: number, fileHigh: number, fileLow: number, name: Buffer, numbers: Float64Array): void {
  const nameLength = name.length;
  for (let r = 0; r < rows; r++) {
    let o = at[r]!;
    view.setInt32(o, 8);
    view.setInt32(o + 4, fileHigh);
    view.setUint32(o + 8, fileLow);
    view.setInt32(o + 12, nameLength);
    o += 16;
    if (nameLength < 24) for (let i = 0; i < nameLength; i++) out[o++] = name[i]!;
    else {
      name.copy(out, o);
      o += nameLength;
    }
    const record = numbers[r]!;
    const h = Math.floor(record / 4294967296);
    view.setInt32(o, 8);
    view.setInt32(o + 4, h);
    view.setUint32(o + 8, record - h * 4294967296);
    at[r] = o + 12;
  }
}

/** The field widths of the fixed-width kinds (text kinds have their own sizes). */
const WIDTH: Record<FixedKind, number> = { integer: 8, timestamp: 8, number: 8, date: 4, boolean: 1 };

export function encodeCopyBinary(batch: TypedBatch, lineage: Lineage): Buffer {
  const rows = batch.length;
  const vectors = batch.vectors;
  const name = Buffer.from(lineage.sourceFile, 'utf8');
  // Each row's size: its field count, every field, the lineage.
  // A fixed-width column without NULLs adds the same to every row.
  let same = 2 + 16 + name.length + 12;
  const size = new Int32Array(rows);
  for (const v of vectors) {
    if (v.kind === 'string' || v.kind === 'json') sizeOfText(v.valid, v.offsets, rows, size, v.kind === 'json' ? 1 : 0);
    else if (v.valid.subarray(0, rows).indexOf(0) === -1) same += 4 + WIDTH[v.kind];
    else sizeOfFixed(v.valid, rows, size, WIDTH[v.kind]);
  }
  // Where each row's next field goes: after its field count.
  const at = new Int32Array(rows);
  let total = 0;
  for (let r = 0; r < rows; r++) {
    at[r] = total + 2;
    total += same + size[r]!;
  }
  // Its own ArrayBuffer, never a slice of Node's pool: COPY frees it once written (copy-in.ts).
  const out = Buffer.allocUnsafeSlow(total);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const fields = vectors.length + 3;
  for (let r = 0; r < rows; r++) view.setInt16(at[r]! - 2, fields);
  for (const v of vectors) {
    switch (v.kind) {
      case 'integer':
        writeIntegers(view, at, rows, v.valid, v.words);
        break;
      case 'timestamp':
        writeTimestamps(view, at, rows, v.valid, v.words, v.data);
        break;
      case 'number':
        writeNumbers(view, at, rows, v.valid, v.data);
        break;
      case 'date':
        writeDates(view, at, rows, v.valid, v.data);
        break;
      case 'boolean':
        writeBooleans(out, view, at, rows, v.valid, v.data);
        break;
      case 'string':
      case 'json':
        writeTexts(out, view, at, rows, v.valid, v.bytes, v.offsets, v.kind === 'json' ? 1 : 0);
        break;
      default:
        unreachable(v, 'vector kind');
    }
  }
  // The file id as two 32-bit halves: a BigInt write per row cost more than the rest of the lineage.
  const fileId = BigInt.asIntN(64, BigInt(lineage.fileId));
  writeLineage(out, view, at, rows, Number(fileId >> 32n), Number(fileId & 0xffffffffn), name, batch.numbers);
  return out;
}
