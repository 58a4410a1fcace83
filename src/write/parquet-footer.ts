/**
 * A Parquet file's footer (FileMetaData, parquet.thrift): the schema — as arrow-rs writes it for
 * the Arrow schema arrow.ts declares, with that schema as `ARROW:schema` too, so Arrow readers get
 * the same types from either writer — and each row group's column chunks with their offsets,
 * sizes, encodings and statistics.
 */
import { isUtf8 } from 'node:buffer';
import type { Column } from '../columns.js';
import type { ParquetCodec } from '../config/types.js';
import { PARQUET_CREATED_BY } from '../lib/version.js';
import { schemaMessage } from './arrow.js';
import { codecId, CONVERTED, ENCODING, TYPE, type Leaf } from './parquet-format.js';
import type { Chunk } from './parquet-pages.js';
import { T, ThriftWriter } from './thrift.js';

/**
 * Text bounds longer than this are cut, as arrow-rs cuts them (parquet-wasm's files carry the
 * same): the minimum to its longest prefix at a character boundary, the maximum to a prefix whose
 * last character is raised by one — still a bound, no longer exact.
 */
const MAX_STATISTIC_BYTES = 64;

/** A text minimum as the statistics keep it, and whether it is exact. */
function truncatedMin(value: Uint8Array): [Uint8Array, boolean] {
  if (value.length <= MAX_STATISTIC_BYTES) return [value, true];
  if (!isUtf8(value)) return [value.slice(0, MAX_STATISTIC_BYTES), false];
  for (let at = MAX_STATISTIC_BYTES; at >= 1; at--) if (!continuation(value[at]!)) return [value.slice(0, at), false];
  return [value, true];
}

/** A text maximum as the statistics keep it, and whether it is exact (a value no prefix bounds stays whole). */
function truncatedMax(value: Uint8Array): [Uint8Array, boolean] {
  if (value.length <= MAX_STATISTIC_BYTES) return [value, true];
  if (!isUtf8(value)) {
    const bytes = value.slice(0, MAX_STATISTIC_BYTES);
    for (let at = bytes.length - 1; at >= 0; at--) {
      if (bytes[at]! < 0xff) {
        bytes[at]!++;
        return [bytes, false];
      }
      bytes[at] = 0;
    }
    return [value, true];
  }
  let split = MAX_STATISTIC_BYTES;
  while (split > MAX_STATISTIC_BYTES - 3 && continuation(value[split]!)) split--;
  const characters = Array.from(new TextDecoder().decode(value.subarray(0, split)));
  for (let i = characters.length - 1; i >= 0; i--) {
    const code = characters[i]!.codePointAt(0)! + 1;
    // Not into the surrogates or past Unicode, and not one byte longer in UTF-8.
    if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff) || utf8Length(code) !== utf8Length(code - 1)) continue;
    return [Buffer.from(characters.slice(0, i).join('') + String.fromCodePoint(code), 'utf8'), false];
  }
  return [value, true];
}

const continuation = (byte: number) => (byte & 0xc0) === 0x80;
const utf8Length = (code: number) => (code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4);

/** A column chunk as written: where its pages start. */
export interface PlacedChunk {
  chunk: Chunk;
  start: number;
  dictionaryAt: number;
  dataAt: number;
}

export interface RowGroup {
  rows: number;
  chunks: PlacedChunk[];
}

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

function schemaElement(f: ThriftWriter, leaf: Leaf): void {
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

function columnChunk(f: ThriftWriter, codec: ParquetCodec, placed: PlacedChunk): void {
  const { chunk } = placed;
  f.element(); // ColumnChunk
  f.i64(2, placed.start);
  f.struct(3); // ColumnMetaData
  f.i32(1, chunk.leaf.type);
  let encodings = chunk.encodings;
  // Levels and dictionary indices are RLE/bit-packed.
  if (chunk.leaf.optional || encodings & (1 << ENCODING.RLE_DICTIONARY)) encodings |= 1 << ENCODING.RLE;
  let count = 0;
  for (let e = 0; e < 16; e++) if (encodings & (1 << e)) count++;
  f.list(2, T.I32, count);
  for (let e = 0; e < 16; e++) if (encodings & (1 << e)) f.zigzag(e);
  f.list(3, T.BINARY, 1);
  f.text(chunk.leaf.name);
  f.i32(4, codecId(codec));
  f.i64(5, chunk.values);
  f.i64(6, chunk.uncompressed);
  f.i64(7, chunk.compressed);
  f.i64(9, placed.dataAt);
  if (placed.dictionaryAt >= 0) f.i64(11, placed.dictionaryAt);
  f.struct(12); // Statistics
  if (chunk.min && chunk.max) {
    if (chunk.leaf.type !== TYPE.BYTE_ARRAY && chunk.leaf.type !== TYPE.BOOLEAN) {
      // The deprecated fields too, for readers older than min_value/max_value (signed order only).
      f.binary(1, chunk.max);
      f.binary(2, chunk.min);
    }
    f.i64(3, chunk.nulls);
    const [max, maxExact] = chunk.leaf.type === TYPE.BYTE_ARRAY ? truncatedMax(chunk.max) : [chunk.max, true];
    const [min, minExact] = chunk.leaf.type === TYPE.BYTE_ARRAY ? truncatedMin(chunk.min) : [chunk.min, true];
    f.binary(5, max);
    f.binary(6, min);
    f.bool(7, maxExact); // is_max_value_exact
    f.bool(8, minExact); // is_min_value_exact
  } else {
    f.i64(3, chunk.nulls);
  }
  if (chunk.nans !== null) f.i64(9, chunk.nans);
  f.end();
  f.end();
  f.end();
}

/** The footer: FileMetaData, then its length and the magic number (a view, valid until the next call). */
export function footer(columns: Column[], leaves: Leaf[], codec: ParquetCodec, groups: RowGroup[]): Uint8Array {
  const f = writer;
  f.reset();
  f.i32(1, 1); // version
  f.list(2, T.STRUCT, leaves.length + 1);
  f.element();
  f.string(4, 'arrow_schema');
  f.i32(5, leaves.length);
  f.end();
  for (const leaf of leaves) schemaElement(f, leaf);
  f.i64(3, groups.reduce((n, g) => n + g.rows, 0));
  f.list(4, T.STRUCT, groups.length);
  for (const group of groups) {
    f.element(); // RowGroup
    f.list(1, T.STRUCT, group.chunks.length);
    for (const placed of group.chunks) columnChunk(f, codec, placed);
    f.i64(2, group.chunks.reduce((n, p) => n + p.chunk.uncompressed, 0));
    f.i64(3, group.rows);
    f.i64(5, group.chunks[0]!.start);
    f.i64(6, group.chunks.reduce((n, p) => n + p.chunk.compressed, 0));
    f.end();
  }
  f.list(5, T.STRUCT, 1);
  f.element(); // KeyValue
  f.string(1, 'ARROW:schema');
  f.string(2, arrowSchemaText(columns));
  f.end();
  f.string(6, PARQUET_CREATED_BY);
  f.list(7, T.STRUCT, leaves.length);
  for (let i = 0; i < leaves.length; i++) {
    f.element(); // ColumnOrder
    f.struct(1); // TYPE_ORDER
    f.end();
    f.end();
  }
  f.end();
  const length = f.length;
  f.u32(length);
  f.raw(MAGIC);
  return f.view();
}

/** One footer at a time in the thread: the view `footer` returns is valid until the next. */
const writer = new ThriftWriter(4096);

export const MAGIC = new Uint8Array([0x50, 0x41, 0x52, 0x31]); // "PAR1"
