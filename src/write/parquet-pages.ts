/**
 * The pages of one column chunk, built as batches come: a data page per batch (or per slice of a
 * batch, see parquet-direct.ts), a dictionary page first where the chunk has one, and the chunk's
 * statistics merged page by page. Each page is compressed as it is made and kept (header and body
 * as one buffer) until its row group is written. Encodings: PLAIN values behind RLE definition
 * levels; RLE_DICTIONARY for text the schema lists (until its dictionary passes 1 MiB: then PLAIN
 * for the rest of the row group, as arrow-rs falls back) and for the lineage constants;
 * DELTA_BINARY_PACKED for `_source_record`.
 */
import type { ParquetCodec } from '../config/types.js';
import { ByteSink } from '../lib/byte-sink.js';
import { asBuffer, latin1Slice } from '../lib/bytes.js';
import { compress, ENCODING, PAGE, TYPE, type Leaf } from './parquet-format.js';
import { int64Bytes, plainValues, textBounds } from './parquet-values.js';
import { ThriftWriter } from './thrift.js';
import type { Vector } from './vectors.js';

/** A dictionary larger than this is given up for PLAIN values (parquet-wasm's default limit). */
const MAX_DICTIONARY_BYTES = 1024 * 1024;
/** Line numbers whose deltas and zigzags stay exact in doubles; a page with larger ones is PLAIN. */
const MAX_DELTA_NUMBER = 2 ** 51;

/** A listed text column's dictionary for the row group being built. */
interface TextDictionary {
  ids: Map<string, number>;
  entries: Uint8Array[];
  bytes: number;
  /** Pages that use it; none, and no dictionary page is written. */
  pages: number;
  /** Passed its limit: the row group's later pages are PLAIN. */
  full: boolean;
}

/** A page as written: its header, then its compressed body. */
export type Page = [header: Uint8Array, body: Uint8Array];

/** One column chunk under construction, then as the footer describes it. */
export interface Chunk {
  leaf: Leaf;
  codec: ParquetCodec;
  /** Data pages. */
  pages: Page[];
  /** Built by `closeChunk`, written before the data pages. */
  dictionaryPage: Page | null;
  /** The encodings its pages use, one bit per Encoding value. */
  encodings: number;
  values: number;
  nulls: number;
  uncompressed: number;
  compressed: number;
  min: Uint8Array | null;
  max: Uint8Array | null;
  /** NaN values of a DOUBLE column (null for other types). */
  nans: number | null;
  dictionary: TextDictionary | null;
  /** A column whose every value is `constant` (PLAIN bytes of it), dictionary-encoded. */
  constant: Uint8Array | null;
}

export function newChunk(leaf: Leaf, codec: ParquetCodec, options: { dictionary?: boolean; constant?: { plain: Uint8Array; statistic: Uint8Array } } = {}): Chunk {
  const chunk: Chunk = {
    leaf, codec, pages: [], dictionaryPage: null, encodings: 0, values: 0, nulls: 0, uncompressed: 0, compressed: 0,
    min: null, max: null, nans: leaf.type === TYPE.DOUBLE ? 0 : null,
    dictionary: options.dictionary ? { ids: new Map(), entries: [], bytes: 0, pages: 0, full: false } : null,
    constant: options.constant?.plain ?? null,
  };
  if (options.constant) {
    chunk.min = options.constant.statistic;
    chunk.max = options.constant.statistic;
  }
  return chunk;
}

/**
 * Page bodies are built in `body`, one at a time (one thread, one page at a time: reused, and let
 * go of when a batch of long text grew it past `KEEP_BYTES`).
 */
let body = new ByteSink(64 * 1024);
const header = new ThriftWriter(256);
const KEEP_BYTES = 4 * 1024 * 1024;

export function releaseScratch(): void {
  if (body.bytes.length > KEEP_BYTES) body = new ByteSink(64 * 1024);
}

/** The page in `body`, compressed, after its header; counted into `chunk`. */
function finishPage(chunk: Chunk, type: number, values: number, encoding: number): Page {
  const raw = body.view();
  const packed = compress(chunk.codec, raw);
  header.reset();
  header.i32(1, type);
  header.i32(2, raw.length);
  header.i32(3, packed.length);
  if (type === PAGE.DATA) {
    header.struct(5); // DataPageHeader
    header.i32(1, values);
    header.i32(2, encoding);
    header.i32(3, ENCODING.RLE); // definition levels
    header.i32(4, ENCODING.RLE); // repetition levels (none: flat columns)
    header.end();
  } else {
    header.struct(7); // DictionaryPageHeader
    header.i32(1, values);
    header.i32(2, ENCODING.PLAIN);
    header.end();
  }
  header.end();
  chunk.uncompressed += header.length + raw.length;
  chunk.compressed += header.length + packed.length;
  chunk.encodings |= 1 << encoding;
  // Kept as two pieces, copied once into the file; an uncompressed body is `body` itself: copied.
  return [header.view().slice(), packed === raw ? raw.slice() : packed];
}

/** Definition levels (bit width 1) of rows `from … to` of an optional column, length-prefixed. */
function definitionLevels(valid: Uint8Array, from: number, to: number, nulls: number): void {
  const lengthAt = body.length;
  body.u32(0);
  if (nulls === 0) {
    // One RLE run of "defined".
    body.varint((to - from) * 2);
    body.byte(1);
  } else {
    // Bit-packed runs of at most 63 groups of 8 (the run length most writers use).
    for (let i = from; i < to; ) {
      const groups = Math.min(63, Math.ceil((to - i) / 8));
      body.varint((groups << 1) | 1);
      body.room(groups);
      for (let g = 0; g < groups; g++, i += 8) {
        let bits = 0;
        for (let k = 0; k < 8 && i + k < to; k++) if (valid[i + k]) bits |= 1 << k;
        body.bytes[body.length++] = bits;
      }
    }
  }
  const length = body.length - lengthAt - 4;
  body.bytes[lengthAt] = length & 0xff;
  body.bytes[lengthAt + 1] = (length >>> 8) & 0xff;
  body.bytes[lengthAt + 2] = (length >>> 16) & 0xff;
  body.bytes[lengthAt + 3] = length >>> 24;
}

function countNulls(valid: Uint8Array, from: number, to: number): number {
  let nulls = 0;
  for (let i = from; i < to; i++) if (!valid[i]) nulls++;
  return nulls;
}

/** A page of rows `from … to` of a dataset column. */
export function addColumnPage(chunk: Chunk, vector: Vector, from: number, to: number): void {
  const nulls = countNulls(vector.valid, from, to);
  chunk.values += to - from;
  chunk.nulls += nulls;
  if (chunk.dictionary && (vector.kind === 'string' || vector.kind === 'json') && dictionaryPage(chunk, chunk.dictionary, vector, from, to, nulls)) return;
  body.reset();
  definitionLevels(vector.valid, from, to, nulls);
  const { bounds, nans } = plainValues(body, vector, from, to, nulls);
  if (chunk.nans !== null) chunk.nans += nans;
  if (bounds) mergeStatistics(chunk, bounds.min, bounds.max);
  chunk.pages.push(finishPage(chunk, PAGE.DATA, to - from, ENCODING.PLAIN));
}

/** Two encoded statistics of `type` compared in the column's order. */
function compareStatistic(type: number, a: Uint8Array, b: Uint8Array): number {
  const va = new DataView(a.buffer, a.byteOffset, a.byteLength);
  const vb = new DataView(b.buffer, b.byteOffset, b.byteLength);
  switch (type) {
    case TYPE.INT64: {
      const x = va.getBigInt64(0, true);
      const y = vb.getBigInt64(0, true);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case TYPE.INT32:
      return va.getInt32(0, true) - vb.getInt32(0, true);
    case TYPE.DOUBLE:
      return va.getFloat64(0, true) - vb.getFloat64(0, true);
    default:
      // BOOLEAN (one byte) and BYTE_ARRAY: unsigned bytes.
      return asBuffer(a).compare(b);
  }
}

function mergeStatistics(chunk: Chunk, min: Uint8Array, max: Uint8Array): void {
  if (!chunk.min || compareStatistic(chunk.leaf.type, min, chunk.min) < 0) chunk.min = min;
  if (!chunk.max || compareStatistic(chunk.leaf.type, max, chunk.max) > 0) chunk.max = max;
}

/**
 * A page of dictionary indices for a listed text column; false, writing nothing, once the row
 * group's dictionary is past its limit (the page is then PLAIN) or when the page has no value.
 */
function dictionaryPage(chunk: Chunk, dictionary: TextDictionary, vector: Vector & { kind: 'string' | 'json' }, from: number, to: number, nulls: number): boolean {
  if (dictionary.full || nulls === to - from) return false;
  const { bytes, offsets, valid } = vector;
  const buf = asBuffer(bytes);
  const indices = new Int32Array(to - from - nulls);
  let n = 0;
  for (let i = from; i < to; i++) {
    if (!valid[i]) continue;
    // latin1: one character per byte, so equal keys are equal bytes.
    const key = latin1Slice(buf, offsets[i]!, offsets[i + 1]!);
    let id = dictionary.ids.get(key);
    if (id === undefined) {
      id = dictionary.entries.length;
      dictionary.ids.set(key, id);
      dictionary.entries.push(bytes.slice(offsets[i]!, offsets[i + 1]!));
      dictionary.bytes += 4 + offsets[i + 1]! - offsets[i]!;
      if (dictionary.bytes > MAX_DICTIONARY_BYTES) {
        dictionary.full = true;
        return false;
      }
    }
    indices[n++] = id;
  }
  body.reset();
  definitionLevels(valid, from, to, nulls);
  bitPackedIndices(indices, n, dictionary.entries.length);
  dictionary.pages++;
  chunk.pages.push(finishPage(chunk, PAGE.DATA, to - from, ENCODING.RLE_DICTIONARY));
  return true;
}

/** Dictionary indices into `body`: their bit width, then bit-packed runs (RLE_DICTIONARY). */
function bitPackedIndices(indices: Int32Array, n: number, entries: number): void {
  const width = Math.max(1, 32 - Math.clz32(entries - 1));
  body.byte(width);
  for (let i = 0; i < n; ) {
    const groups = Math.min(63, Math.ceil((n - i) / 8));
    body.varint((groups << 1) | 1);
    body.room(groups * width);
    let acc = 0;
    let bits = 0;
    for (let k = 0; k < groups * 8; k++, i++) {
      acc |= (i < n ? indices[i]! : 0) << bits;
      bits += width;
      while (bits >= 8) {
        body.bytes[body.length++] = acc & 0xff;
        acc >>>= 8;
        bits -= 8;
      }
    }
  }
}

/** A page of `rows` rows of a constant column: one RLE run of index 0. */
export function addConstantPage(chunk: Chunk, rows: number): void {
  chunk.values += rows;
  body.reset();
  body.byte(1); // bit width
  body.varint(rows * 2);
  body.byte(0);
  chunk.pages.push(finishPage(chunk, PAGE.DATA, rows, ENCODING.RLE_DICTIONARY));
}

/**
 * A page of line numbers `from … to`, DELTA_BINARY_PACKED (blocks of 128 values, 4 miniblocks of
 * 32): they rise by small steps, so most miniblocks take a few bits a value or none. Numbers past
 * 2^51 (no file has that many lines, but a page must not be wrong) are written PLAIN.
 */
export function addRecordsPage(chunk: Chunk, numbers: ArrayLike<number>, from: number, to: number): void {
  chunk.values += to - from;
  let min = Infinity;
  let max = -Infinity;
  for (let i = from; i < to; i++) {
    const v = numbers[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  mergeStatistics(chunk, int64Bytes(BigInt(min)), int64Bytes(BigInt(max)));
  body.reset();
  if (!(min >= 0 && max <= MAX_DELTA_NUMBER)) {
    body.room((to - from) * 8);
    for (let i = from; i < to; i++) body.raw(int64Bytes(BigInt(numbers[i]!)));
    chunk.pages.push(finishPage(chunk, PAGE.DATA, to - from, ENCODING.PLAIN));
    return;
  }
  body.varint(128);
  body.varint(4);
  body.varint(to - from);
  zigzagVarint(numbers[from]!);
  const deltas = new Float64Array(128);
  for (let at = from + 1; at < to; at += 128) {
    const count = Math.min(128, to - at);
    let minDelta = Infinity;
    for (let k = 0; k < count; k++) {
      deltas[k] = numbers[at + k]! - numbers[at + k - 1]!;
      if (deltas[k]! < minDelta) minDelta = deltas[k]!;
    }
    zigzagVarint(minDelta);
    const widthsAt = body.length;
    body.room(4);
    body.length += 4;
    for (let m = 0; m < 4; m++) {
      const start = m * 32;
      let width = 0;
      if (start < count) {
        let top = 0;
        for (let k = start; k < Math.min(start + 32, count); k++) top = Math.max(top, deltas[k]! - minDelta);
        while (2 ** width <= top) width++;
        packBits(deltas, start, Math.min(start + 32, count), minDelta, width);
      }
      body.bytes[widthsAt + m] = width;
    }
  }
  chunk.pages.push(finishPage(chunk, PAGE.DATA, to - from, ENCODING.DELTA_BINARY_PACKED));
}

/** A signed safe integer as a zigzag ULEB128. */
function zigzagVarint(n: number): void {
  body.varint(n >= 0 ? n * 2 : -n * 2 - 1);
}

/** One miniblock: 32 values of `width` bits (`value - minDelta`, padded with zeros), LSB first. */
function packBits(deltas: Float64Array, from: number, to: number, minDelta: number, width: number): void {
  if (width === 0) return;
  const bytes = width * 4;
  body.room(bytes);
  const b = body.bytes;
  const at = body.length;
  b.fill(0, at, at + bytes);
  for (let k = from; k < to; k++) {
    let v = deltas[k]! - minDelta;
    let bit = (k - from) * width;
    for (let w = 0; w < width; w++, bit++) {
      if (v % 2 === 1) b[at + (bit >> 3)]! |= 1 << (bit & 7);
      v = Math.floor(v / 2);
    }
  }
  body.length = at + bytes;
}

/**
 * Ends the chunk for its row group: the dictionary page (a constant's one entry, or a listed text
 * column's values) and its statistics; the dictionary is the row group's, so a chunk is closed once.
 */
export function closeChunk(chunk: Chunk): void {
  const entries = chunk.constant ? [chunk.constant] : chunk.dictionary && chunk.dictionary.pages > 0 ? chunk.dictionary.entries : null;
  if (!entries) return;
  body.reset();
  for (const entry of entries) {
    if (!chunk.constant) body.u32(entry.length);
    body.raw(entry);
  }
  chunk.dictionaryPage = finishPage(chunk, PAGE.DICTIONARY, entries.length, ENCODING.PLAIN);
  chunk.encodings |= 1 << ENCODING.RLE_DICTIONARY;
  if (chunk.constant) return;
  let min = 0;
  let max = 0;
  for (let k = 1; k < entries.length; k++) {
    if (asBuffer(entries[k]!).compare(entries[min]!) < 0) min = k;
    if (asBuffer(entries[k]!).compare(entries[max]!) > 0) max = k;
  }
  const bounds = textBounds(entries[min]!, entries[max]!);
  mergeStatistics(chunk, bounds.min, bounds.max);
}
