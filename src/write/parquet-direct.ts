/**
 * A one-batch Parquet file written straight from the vectors, without Arrow IPC and parquet-wasm:
 * one row group, one page per column (a dictionary page first for the columns that have one),
 * chunk statistics, the same schema and the same `ARROW:schema` parquet-wasm writes. parquet-wasm
 * spends ~25 µs of set-up per column chunk in wasm before it encodes a value — for a 400-row file
 * of 36 columns that set-up was most of the Parquet thread's time (BENCHMARKS.md, "A Parquet writer
 * for one-batch files"). Files of several batches still stream through parquet-wasm
 * (parquet-file.ts). tests/unit/parquet-direct.test.ts reads what this writes through parquet-wasm
 * and DuckDB and requires what parquet-wasm's own file of the same batch gives.
 *
 * Encodings: PLAIN values behind RLE definition levels; a dictionary (RLE_DICTIONARY) for text the
 * schema lists and for the lineage constants; DELTA_BINARY_PACKED for `_source_record`.
 */
import { gzipSync, zstdCompressSync, constants as zlib } from 'node:zlib';
import { compressSync as snappy } from 'snappy';
import type { Column } from '../columns.js';
import type { ParquetCodec } from '../config/types.js';
import { ByteSink } from '../lib/byte-sink.js';
import { PARQUET_CREATED_BY } from '../lib/version.js';
import { latin1Slice, asBuffer } from '../lib/bytes.js';
import { unreachable } from '../lib/unreachable.js';
import { schemaMessage, type ArrowBatch, type Lineage } from './arrow.js';
import { T, ThriftWriter } from './thrift.js';
import type { Vector } from './vectors.js';

// parquet.thrift's enums.
const TYPE = { BOOLEAN: 0, INT32: 1, INT64: 2, DOUBLE: 5, BYTE_ARRAY: 6 } as const;
const ENCODING = { PLAIN: 0, RLE: 3, DELTA_BINARY_PACKED: 5, RLE_DICTIONARY: 8 } as const;
const PAGE = { DATA: 0, DICTIONARY: 2 } as const;
const CONVERTED = { UTF8: 0, DATE: 6, TIMESTAMP_MICROS: 10 } as const;
const CODEC: Partial<Record<ParquetCodec, number>> = { uncompressed: 0, snappy: 1, gzip: 2, zstd: 6 };

/** Statistics longer than this are left out (a reader then cannot skip the file by that column). */
const MAX_STATISTIC_BYTES = 64;
/** A dictionary larger than this is given up for PLAIN values (parquet-wasm's default limit). */
const MAX_DICTIONARY_BYTES = 1024 * 1024;

/** The codecs this writer has; another (lz4_raw) goes through parquet-wasm. */
export function directCodec(codec: ParquetCodec): boolean {
  return CODEC[codec] !== undefined;
}

function compress(codec: ParquetCodec, body: Uint8Array): Uint8Array {
  switch (codec) {
    case 'uncompressed':
      return body;
    case 'snappy':
      return snappy(asBuffer(body));
    case 'gzip':
      return gzipSync(body);
    case 'zstd':
      // parquet-wasm's (arrow-rs's) default level.
      return zstdCompressSync(body, { params: { [zlib.ZSTD_c_compressionLevel]: 1 } });
    default:
      throw new Error(`no direct Parquet writer for ${codec}`);
  }
}

/** A column of the file as Parquet sees it. */
interface Leaf {
  name: string;
  type: number;
  optional: boolean;
  logical?: 'string' | 'date' | 'timestamp';
}

function leafOf(column: Column): Leaf {
  const { name } = column;
  switch (column.kind) {
    case 'integer':
      return { name, type: TYPE.INT64, optional: true };
    case 'number':
      return { name, type: TYPE.DOUBLE, optional: true };
    case 'boolean':
      return { name, type: TYPE.BOOLEAN, optional: true };
    case 'date':
      return { name, type: TYPE.INT32, optional: true, logical: 'date' };
    case 'timestamp':
      return { name, type: TYPE.INT64, optional: true, logical: 'timestamp' };
    case 'string':
    case 'json':
      return { name, type: TYPE.BYTE_ARRAY, optional: true, logical: 'string' };
    default:
      return unreachable(column.kind, 'column kind');
  }
}

const LINEAGE_LEAVES: Leaf[] = [
  { name: '_file_id', type: TYPE.INT64, optional: false },
  { name: '_source_file', type: TYPE.BYTE_ARRAY, optional: false, logical: 'string' },
  { name: '_source_record', type: TYPE.INT64, optional: false },
];

/** What the footer says of a column chunk. */
interface Chunk {
  leaf: Leaf;
  encodings: number[];
  values: number;
  start: number;
  dictionaryAt: number;
  dataAt: number;
  uncompressed: number;
  compressed: number;
  nulls: number;
  min: Uint8Array | null;
  max: Uint8Array | null;
  /** NaN values of a DOUBLE column (null for other types). */
  nans: number | null;
}

/**
 * Page bodies are built in `body`, one at a time, then compressed into `file`; the file is copied
 * out whole. One thread, one file at a time: both reused.
 */
let body = new ByteSink(64 * 1024);
let file = new ByteSink(64 * 1024);
const KEEP_BYTES = 4 * 1024 * 1024;
const header = new ThriftWriter(256);

/** The `ARROW:schema` value for a column list: base64 of its IPC schema message, as arrow-rs writes it. */
const arrowSchemas = new WeakMap<Uint8Array, string>();
function arrowSchemaText(columns: Column[]): string {
  const message = schemaMessage(columns);
  let text = arrowSchemas.get(message);
  if (text === undefined) {
    text = Buffer.from(message).toString('base64');
    arrowSchemas.set(message, text);
  }
  return text;
}

/**
 * The Parquet file of one batch, or null when `codec` is not one this writer has or the batch is
 * empty (parquet-wasm writes those). `dictionary`:
 * the columns worth dictionary encoding (as parquet-wasm is told).
 */
export function directParquet(columns: Column[], batch: ArrowBatch, lineage: Lineage, codec: ParquetCodec, dictionary: string[]): Uint8Array | null {
  const rows = batch.length;
  // An empty file is rare: parquet-wasm writes it, with no zero-length runs to think about.
  if (!directCodec(codec) || rows === 0 || !fits(batch)) return null;
  const out = file;
  out.reset();
  out.raw(MAGIC);
  const chunks: Chunk[] = [];
  const wanted = new Set(dictionary);
  for (let c = 0; c < columns.length; c++) {
    const column = columns[c]!;
    chunks.push(writeColumn(out, codec, leafOf(column), batch.vectors[c]!, rows, wanted.has(column.name) && (column.kind === 'string' || column.kind === 'json')));
  }
  chunks.push(writeFileIds(out, codec, BigInt(lineage.fileId), rows));
  chunks.push(writeSourceFiles(out, codec, Buffer.from(lineage.sourceFile, 'utf8'), rows));
  chunks.push(writeSourceRecords(out, codec, batch.numbers, rows));
  const footerAt = out.length;
  writeFooter(out, codec, columns, chunks, rows);
  out.u32(out.length - footerAt);
  out.raw(MAGIC);
  const bytes = out.view().slice();
  // A batch of long text grows them; they are not kept that large for the thread's life.
  if (file.bytes.length > KEEP_BYTES) file = new ByteSink(64 * 1024);
  if (body.bytes.length > KEEP_BYTES) body = new ByteSink(64 * 1024);
  return bytes;
}

const MAGIC = new Uint8Array([0x50, 0x41, 0x52, 0x31]); // "PAR1"

/** A page's sizes are Thrift i32s: a text column this large is left to parquet-wasm, which splits pages. */
const MAX_PAGE_BYTES = 256 * 1024 * 1024;
/** Line numbers whose deltas and zigzags stay exact in doubles (DELTA_BINARY_PACKED below). */
const MAX_LINE_NUMBER = 2 ** 51;

/** Whether this writer takes the batch: line numbers it encodes exactly, text pages of a size a page may have. */
function fits(batch: ArrowBatch): boolean {
  for (let i = 0; i < batch.length; i++) {
    const n = batch.numbers[i]!;
    if (!(n >= 0 && n <= MAX_LINE_NUMBER && Number.isInteger(n))) return false;
  }
  for (const vector of batch.vectors) {
    if ((vector.kind === 'string' || vector.kind === 'json') && vector.offsets[batch.length]! + batch.length * 4 > MAX_PAGE_BYTES) return false;
  }
  return true;
}

/** Writes the page in `body` (compressed) after its header; returns its sizes. */
function writePage(out: ByteSink, codec: ParquetCodec, type: number, values: number, encoding: number): { uncompressed: number; compressed: number } {
  const raw = body.view();
  const packed = compress(codec, raw);
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
  out.raw(header.view());
  out.raw(packed);
  return { uncompressed: header.length + raw.length, compressed: header.length + packed.length };
}

/** Definition levels (bit width 1) of an optional column, length-prefixed, into `body`. */
function definitionLevels(valid: Uint8Array, rows: number, nulls: number): void {
  const lengthAt = body.length;
  body.u32(0);
  if (nulls === 0) {
    // One RLE run of "defined".
    body.varint(rows * 2);
    body.byte(1);
  } else {
    // Bit-packed runs of at most 63 groups of 8 (the run length most writers use).
    for (let i = 0; i < rows; ) {
      const groups = Math.min(63, Math.ceil((rows - i) / 8));
      body.varint((groups << 1) | 1);
      body.room(groups);
      for (let g = 0; g < groups; g++, i += 8) {
        let bits = 0;
        for (let k = 0; k < 8 && i + k < rows; k++) if (valid[i + k]) bits |= 1 << k;
        body.bytes[body.length++] = bits;
      }
    }
  }
  const length = body.length - lengthAt - 4;
  body.bytes[lengthAt] = length & 0xff;
  body.bytes[lengthAt + 1] = (length >>> 8) & 0xff;
  body.bytes[lengthAt + 2] = (length >>> 16) & 0xff;
  body.bytes[lengthAt + 3] = (length >>> 24) & 0xff;
}

function countNulls(valid: Uint8Array, rows: number): number {
  let nulls = 0;
  for (let i = 0; i < rows; i++) if (!valid[i]) nulls++;
  return nulls;
}

function writeColumn(out: ByteSink, codec: ParquetCodec, leaf: Leaf, vector: Vector, rows: number, dictionary: boolean): Chunk {
  const nulls = countNulls(vector.valid, rows);
  const chunk: Chunk = { leaf, encodings: [ENCODING.PLAIN, ENCODING.RLE], values: rows, start: out.length, dictionaryAt: -1, dataAt: out.length, uncompressed: 0, compressed: 0, nulls, min: null, max: null, nans: null };
  if (dictionary && (vector.kind === 'string' || vector.kind === 'json') && writeTextDictionary(out, codec, chunk, vector, rows, nulls)) return chunk;
  body.reset();
  definitionLevels(vector.valid, rows, nulls);
  plainValues(chunk, vector, rows, nulls);
  const sizes = writePage(out, codec, PAGE.DATA, rows, ENCODING.PLAIN);
  chunk.uncompressed += sizes.uncompressed;
  chunk.compressed += sizes.compressed;
  return chunk;
}

/** The non-null values of a column, PLAIN-encoded into `body`, and their min and max into `chunk`. */
function plainValues(chunk: Chunk, vector: Vector, rows: number, nulls: number): void {
  const { valid } = vector;
  switch (vector.kind) {
    case 'integer':
    case 'timestamp': {
      const words = vector.words;
      const bytes = fixedValues(new Uint8Array(words.buffer, words.byteOffset, rows * 8), 8, valid, rows, nulls);
      let min = -1;
      let max = -1;
      for (let i = 0; i < rows; i++) {
        if (!valid[i]) continue;
        if (min < 0 || lessInt64(words, i, min)) min = i;
        if (max < 0 || lessInt64(words, max, i)) max = i;
      }
      if (min >= 0) {
        chunk.min = bytes.slice(min * 8, min * 8 + 8);
        chunk.max = bytes.slice(max * 8, max * 8 + 8);
      }
      return;
    }
    case 'number': {
      const data = vector.data;
      fixedValues(new Uint8Array(data.buffer, data.byteOffset, rows * 8), 8, valid, rows, nulls);
      let min = Infinity;
      let max = -Infinity;
      let any = false;
      let nans = 0;
      for (let i = 0; i < rows; i++) {
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
      chunk.nans = nans;
      if (any) {
        // A zero minimum is written -0 and a zero maximum +0 (the format's rule for signed zeros).
        chunk.min = doubleBytes(min === 0 ? -0 : min);
        chunk.max = doubleBytes(max === 0 ? 0 : max);
      }
      return;
    }
    case 'date': {
      const data = vector.data;
      fixedValues(new Uint8Array(data.buffer, data.byteOffset, rows * 4), 4, valid, rows, nulls);
      let min = 0;
      let max = 0;
      let any = false;
      for (let i = 0; i < rows; i++) {
        if (!valid[i]) continue;
        const v = data[i]!;
        if (!any || v < min) min = v;
        if (!any || v > max) max = v;
        any = true;
      }
      if (any) {
        chunk.min = int32Bytes(min);
        chunk.max = int32Bytes(max);
      }
      return;
    }
    case 'boolean': {
      const data = vector.data;
      let bits = 0;
      let k = 0;
      let seen = 0; // 1: false seen, 2: true seen
      for (let i = 0; i < rows; i++) {
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
      if (seen) {
        chunk.min = new Uint8Array([seen & 1 ? 0 : 1]);
        chunk.max = new Uint8Array([seen & 2 ? 1 : 0]);
      }
      return;
    }
    case 'string':
    case 'json':
      plainText(chunk, vector.bytes, vector.offsets, valid, rows);
      return;
    default:
      unreachable(vector, 'vector kind');
  }
}

/** Fixed-width values of the valid rows into `body`: one copy when no row is null. Returns `bytes`. */
function fixedValues(bytes: Uint8Array, width: number, valid: Uint8Array, rows: number, nulls: number): Uint8Array {
  body.room(rows * width);
  if (nulls === 0) {
    body.bytes.set(bytes, body.length);
    body.length += rows * width;
    return bytes;
  }
  const out = body.bytes;
  let o = body.length;
  for (let i = 0; i < rows; i++) {
    if (!valid[i]) continue;
    for (let k = i * width, end = k + width; k < end; k++) out[o++] = bytes[k]!;
  }
  body.length = o;
  return bytes;
}

/** Text values PLAIN (a 4-byte length, then the bytes), each compared for min and max on the way. */
function plainText(chunk: Chunk, bytes: Uint8Array, offsets: Int32Array, valid: Uint8Array, rows: number): void {
  body.room(offsets[rows]! + rows * 4);
  const out = body.bytes;
  let o = body.length;
  let min = -1;
  let max = -1;
  for (let i = 0; i < rows; i++) {
    if (!valid[i]) continue;
    const from = offsets[i]!;
    const to = offsets[i + 1]!;
    const n = to - from;
    out[o++] = n & 0xff;
    out[o++] = (n >>> 8) & 0xff;
    out[o++] = (n >>> 16) & 0xff;
    out[o++] = n >>> 24;
    if (n < 32) {
      for (let k = from; k < to; k++) out[o++] = bytes[k]!;
    } else {
      out.set(bytes.subarray(from, to), o);
      o += n;
    }
    if (min < 0) {
      min = max = i;
    } else {
      // Most values differ from the current bounds in their first byte.
      const first = n > 0 ? bytes[from]! : -1;
      const minFirst = offsets[min + 1]! > offsets[min]! ? bytes[offsets[min]!]! : -1;
      if (first < minFirst || (first === minFirst && compareText(bytes, offsets, i, min) < 0)) min = i;
      const maxFirst = offsets[max + 1]! > offsets[max]! ? bytes[offsets[max]!]! : -1;
      if (first > maxFirst || (first === maxFirst && compareText(bytes, offsets, i, max) > 0)) max = i;
    }
  }
  body.length = o;
  if (min >= 0) textStatistics(chunk, bytes.subarray(offsets[min]!, offsets[min + 1]!), bytes.subarray(offsets[max]!, offsets[max + 1]!));
}

/**
 * Bytes `from … to` of `source` appended to `body` (room made by the caller): a loop for short
 * values, which most are — a `subarray` per value costs more than the copy.
 */
function copyBytes(source: Uint8Array, from: number, to: number): void {
  const out = body.bytes;
  let o = body.length;
  if (to - from < 32) {
    for (let i = from; i < to; i++) out[o++] = source[i]!;
  } else {
    out.set(source.subarray(from, to), o);
    o += to - from;
  }
  body.length = o;
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

function textStatistics(chunk: Chunk, min: Uint8Array, max: Uint8Array): void {
  if (min.length > MAX_STATISTIC_BYTES || max.length > MAX_STATISTIC_BYTES) return;
  chunk.min = min.slice();
  chunk.max = max.slice();
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

function int64Bytes(v: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigInt64(0, v, true);
  return out;
}

/**
 * A text column as a dictionary page and a page of indices; false, writing nothing, when its
 * distinct values pass arrow-rs's dictionary page limit (a listed column's values are few).
 */
function writeTextDictionary(out: ByteSink, codec: ParquetCodec, chunk: Chunk, vector: Vector & { kind: 'string' | 'json' }, rows: number, nulls: number): boolean {
  const { bytes, offsets, valid } = vector;
  const buf = asBuffer(bytes);
  const ids = new Map<string, number>();
  const firsts: number[] = [];
  const indices = new Int32Array(rows - nulls);
  let n = 0;
  let dictionaryBytes = 0;
  for (let i = 0; i < rows; i++) {
    if (!valid[i]) continue;
    // latin1: one character per byte, so equal keys are equal bytes.
    const key = latin1Slice(buf, offsets[i]!, offsets[i + 1]!);
    let id = ids.get(key);
    if (id === undefined) {
      id = firsts.length;
      ids.set(key, id);
      firsts.push(i);
      dictionaryBytes += 4 + offsets[i + 1]! - offsets[i]!;
      if (dictionaryBytes > MAX_DICTIONARY_BYTES) return false;
    }
    indices[n++] = id;
  }
  // Every row null: a PLAIN page of levels says so without an empty dictionary.
  if (firsts.length === 0) return false;
  let min = -1;
  let max = -1;
  body.reset();
  for (const i of firsts) {
    body.u32(offsets[i + 1]! - offsets[i]!);
    body.room(offsets[i + 1]! - offsets[i]!);
    copyBytes(bytes, offsets[i]!, offsets[i + 1]!);
    if (min < 0 || compareText(bytes, offsets, i, min) < 0) min = i;
    if (max < 0 || compareText(bytes, offsets, i, max) > 0) max = i;
  }
  chunk.dictionaryAt = out.length;
  let sizes = writePage(out, codec, PAGE.DICTIONARY, firsts.length, ENCODING.PLAIN);
  chunk.uncompressed += sizes.uncompressed;
  chunk.compressed += sizes.compressed;
  chunk.dataAt = out.length;
  body.reset();
  definitionLevels(valid, rows, nulls);
  dictionaryIndices(indices, n, firsts.length);
  sizes = writePage(out, codec, PAGE.DATA, rows, ENCODING.RLE_DICTIONARY);
  chunk.uncompressed += sizes.uncompressed;
  chunk.compressed += sizes.compressed;
  chunk.encodings = [ENCODING.PLAIN, ENCODING.RLE, ENCODING.RLE_DICTIONARY];
  if (min >= 0) textStatistics(chunk, bytes.subarray(offsets[min]!, offsets[min + 1]!), bytes.subarray(offsets[max]!, offsets[max + 1]!));
  return true;
}

/** Dictionary indices into `body`: their bit width, then bit-packed runs (RLE_DICTIONARY). */
function dictionaryIndices(indices: Int32Array, n: number, entries: number): void {
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

/** A column whose every value is the same: a one-entry dictionary and one RLE run of index 0. */
function writeConstant(out: ByteSink, codec: ParquetCodec, leaf: Leaf, rows: number, plain: Uint8Array, statistic: Uint8Array | null): Chunk {
  const chunk: Chunk = { leaf, encodings: [ENCODING.PLAIN, ENCODING.RLE, ENCODING.RLE_DICTIONARY], values: rows, start: out.length, dictionaryAt: out.length, dataAt: 0, uncompressed: 0, compressed: 0, nulls: 0, min: rows ? statistic : null, max: rows ? statistic : null, nans: null };
  body.reset();
  if (rows > 0) body.raw(plain);
  let sizes = writePage(out, codec, PAGE.DICTIONARY, rows > 0 ? 1 : 0, ENCODING.PLAIN);
  chunk.uncompressed += sizes.uncompressed;
  chunk.compressed += sizes.compressed;
  chunk.dataAt = out.length;
  body.reset();
  body.byte(1); // bit width
  if (rows > 0) {
    body.varint(rows * 2);
    body.byte(0);
  }
  sizes = writePage(out, codec, PAGE.DATA, rows, ENCODING.RLE_DICTIONARY);
  chunk.uncompressed += sizes.uncompressed;
  chunk.compressed += sizes.compressed;
  return chunk;
}

function writeFileIds(out: ByteSink, codec: ParquetCodec, fileId: bigint, rows: number): Chunk {
  const value = int64Bytes(fileId);
  return writeConstant(out, codec, LINEAGE_LEAVES[0]!, rows, value, value);
}

function writeSourceFiles(out: ByteSink, codec: ParquetCodec, name: Uint8Array, rows: number): Chunk {
  const plain = new Uint8Array(4 + name.length);
  new DataView(plain.buffer).setUint32(0, name.length, true);
  plain.set(name, 4);
  return writeConstant(out, codec, LINEAGE_LEAVES[1]!, rows, plain, name.length <= MAX_STATISTIC_BYTES ? name : null);
}

/**
 * `_source_record` DELTA_BINARY_PACKED (blocks of 128 values, 4 miniblocks of 32): line numbers
 * rise by small steps, so most miniblocks take a few bits a value or none.
 */
function writeSourceRecords(out: ByteSink, codec: ParquetCodec, numbers: ArrayLike<number>, rows: number): Chunk {
  const chunk: Chunk = { leaf: LINEAGE_LEAVES[2]!, encodings: [ENCODING.DELTA_BINARY_PACKED], values: rows, start: out.length, dictionaryAt: -1, dataAt: out.length, uncompressed: 0, compressed: 0, nulls: 0, min: null, max: null, nans: null };
  body.reset();
  body.varint(128);
  body.varint(4);
  body.varint(rows);
  zigzagVarint(body, rows > 0 ? numbers[0]! : 0);
  const deltas = new Float64Array(128);
  for (let at = 1; at < rows; at += 128) {
    const count = Math.min(128, rows - at);
    let minDelta = Infinity;
    for (let k = 0; k < count; k++) {
      deltas[k] = numbers[at + k]! - numbers[at + k - 1]!;
      if (deltas[k]! < minDelta) minDelta = deltas[k]!;
    }
    zigzagVarint(body, minDelta);
    const widthsAt = body.length;
    body.room(4);
    body.length += 4;
    for (let m = 0; m < 4; m++) {
      const from = m * 32;
      let width = 0;
      if (from < count) {
        let top = 0;
        for (let k = from; k < Math.min(from + 32, count); k++) top = Math.max(top, deltas[k]! - minDelta);
        while (2 ** width <= top) width++;
        packBits(deltas, from, Math.min(from + 32, count), minDelta, width);
      }
      body.bytes[widthsAt + m] = width;
    }
  }
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < rows; i++) {
    const v = numbers[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (rows > 0) {
    chunk.min = int64Bytes(BigInt(min));
    chunk.max = int64Bytes(BigInt(max));
  }
  const sizes = writePage(out, codec, PAGE.DATA, rows, ENCODING.DELTA_BINARY_PACKED);
  chunk.uncompressed = sizes.uncompressed;
  chunk.compressed = sizes.compressed;
  return chunk;
}

/** A signed safe integer as a zigzag ULEB128. */
function zigzagVarint(sink: ByteSink, n: number): void {
  sink.varint(n >= 0 ? n * 2 : -n * 2 - 1);
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

function writeFooter(out: ByteSink, codec: ParquetCodec, columns: Column[], chunks: Chunk[], rows: number): void {
  const f = new ThriftWriter(2048);
  f.i32(1, 1); // version
  f.list(2, T.STRUCT, chunks.length + 1);
  f.element();
  f.string(4, 'arrow_schema');
  f.i32(5, chunks.length);
  f.end();
  for (const { leaf } of chunks) {
    f.element();
    f.i32(1, leaf.type);
    f.i32(3, leaf.optional ? 1 : 0);
    f.string(4, leaf.name);
    if (leaf.logical === 'string') f.i32(6, CONVERTED.UTF8);
    else if (leaf.logical === 'date') f.i32(6, CONVERTED.DATE);
    else if (leaf.logical === 'timestamp') f.i32(6, CONVERTED.TIMESTAMP_MICROS);
    if (leaf.logical) {
      f.struct(10); // LogicalType
      if (leaf.logical === 'string') {
        f.struct(1);
        f.end();
      } else if (leaf.logical === 'date') {
        f.struct(6);
        f.end();
      } else {
        f.struct(8); // TimestampType
        f.bool(1, true);
        f.struct(2); // TimeUnit
        f.struct(2); // MICROS
        f.end();
        f.end();
        f.end();
      }
      f.end();
    }
    f.end();
  }
  f.i64(3, rows);
  f.list(4, T.STRUCT, 1);
  f.element(); // RowGroup
  f.list(1, T.STRUCT, chunks.length);
  let total = 0;
  let compressed = 0;
  for (const chunk of chunks) {
    total += chunk.uncompressed;
    compressed += chunk.compressed;
    f.element(); // ColumnChunk
    f.i64(2, chunk.start);
    f.struct(3); // ColumnMetaData
    f.i32(1, chunk.leaf.type);
    f.list(2, T.I32, chunk.encodings.length);
    for (const e of chunk.encodings) f.zigzag(e);
    f.list(3, T.BINARY, 1);
    const name = Buffer.from(chunk.leaf.name, 'utf8');
    f.varint(name.length);
    f.raw(name);
    f.i32(4, CODEC[codec]!);
    f.i64(5, chunk.values);
    f.i64(6, chunk.uncompressed);
    f.i64(7, chunk.compressed);
    f.i64(9, chunk.dataAt);
    if (chunk.dictionaryAt >= 0) f.i64(11, chunk.dictionaryAt);
    f.struct(12); // Statistics
    const signed = chunk.leaf.type !== TYPE.BYTE_ARRAY && chunk.leaf.type !== TYPE.BOOLEAN;
    if (chunk.max && chunk.min && signed) {
      // The deprecated fields too, for readers older than min_value/max_value (signed order only).
      f.binary(1, chunk.max);
      f.binary(2, chunk.min);
    }
    f.i64(3, chunk.nulls);
    if (chunk.max && chunk.min) {
      f.binary(5, chunk.max);
      f.binary(6, chunk.min);
      f.bool(7, true); // is_max_value_exact
      f.bool(8, true); // is_min_value_exact
    }
    if (chunk.nans !== null) f.i64(9, chunk.nans);
    f.end();
    f.end();
    f.end();
  }
  f.i64(2, total);
  f.i64(3, rows);
  f.i64(5, 4);
  f.i64(6, compressed);
  f.end();
  f.list(5, T.STRUCT, 1);
  f.element(); // KeyValue
  f.string(1, 'ARROW:schema');
  f.string(2, arrowSchemaText(columns));
  f.end();
  f.string(6, PARQUET_CREATED_BY);
  f.list(7, T.STRUCT, chunks.length);
  for (let i = 0; i < chunks.length; i++) {
    f.element(); // ColumnOrder
    f.struct(1); // TYPE_ORDER
    f.end();
    f.end();
  }
  f.end();
  out.raw(f.view());
}
