/**
 * Builds an Arrow record batch from a batch of vectors (vectors.ts), one typed column per schema
 * column — int64, float64, bool, utf8, date32, timestamp(µs, UTC), JSON columns as JSON text — and
 * the lineage columns PostgreSQL gets too: `_file_id`, `_source_file`, `_source_record`, so a lake
 * reader can trace a row to its file and line. The vectors' buffers become Arrow's as they are;
 * only validity is repacked into bitmaps.
 */
import { endianness } from 'node:os';
import * as arrow from 'apache-arrow';
import type { Column } from '../columns.js';
import type { TypedBatch, Vector } from './vectors.js';

/** Lineage columns at the end of every Parquet file, as in the table. */
export const PARQUET_LINEAGE = ['_file_id', '_source_file', '_source_record'] as const;

export function arrowSchema(columns: Column[]): arrow.Schema {
  return new arrow.Schema([
    ...columns.map((c) => new arrow.Field(c.name, arrowType(c), true)),
    new arrow.Field('_file_id', new arrow.Int64(), false),
    new arrow.Field('_source_file', new arrow.Utf8(), false),
    new arrow.Field('_source_record', new arrow.Int64(), false),
  ]);
}

function arrowType(column: Column): arrow.DataType {
  switch (column.kind) {
    case 'integer':
      return new arrow.Int64();
    case 'number':
      return new arrow.Float64();
    case 'boolean':
      return new arrow.Bool();
    case 'date':
      return new arrow.DateDay();
    case 'timestamp':
      return new arrow.TimestampMicrosecond('UTC');
    case 'string':
    case 'json':
      return new arrow.Utf8();
  }
}

// Vectors hold int64 halves in little-endian order, as Arrow requires.
if (endianness() !== 'LE') throw new Error('loadbay writes Arrow buffers for little-endian machines only');

/** The file a batch comes from, for the lineage columns. */
export interface Lineage {
  fileId: string;
  sourceFile: string;
}

/** The constant lineage columns of a file, built once per file and batch size and shared by its batches. */
const constants = new WeakMap<Lineage, { length: number; fileIds: BigInt64Array; names: Uint8Array; offsets: Int32Array }>();

function lineageConstants(lineage: Lineage, length: number) {
  let c = constants.get(lineage);
  if (!c || c.length < length) {
    const name = Buffer.from(lineage.sourceFile, 'utf8');
    const names = new Uint8Array(name.length * length);
    const offsets = new Int32Array(length + 1);
    for (let i = 0; i < length; i++) {
      names.set(name, i * name.length);
      offsets[i + 1] = (i + 1) * name.length;
    }
    c = { length, fileIds: new BigInt64Array(length).fill(BigInt(lineage.fileId)), names, offsets };
    constants.set(lineage, c);
  }
  const bytes = (c.offsets[length]! - c.offsets[0]!);
  return { fileIds: c.fileIds.subarray(0, length), names: c.names.subarray(0, bytes), offsets: c.offsets.subarray(0, length + 1) };
}

export function toRecordBatch(schema: arrow.Schema, batch: Omit<TypedBatch, 'numbers'> & { numbers: ArrayLike<number> }, lineage: Lineage): arrow.RecordBatch {
  const length = batch.length;
  const children = batch.vectors.map((vector, i) => vectorData(vector, schema.fields[i]!.type, length));
  const n = batch.vectors.length;
  const { fileIds, names, offsets: nameOffsets } = lineageConstants(lineage, length);
  const records = new BigInt64Array(length);
  const words = new Int32Array(records.buffer);
  for (let i = 0; i < length; i++) {
    const v = batch.numbers[i]!;
    words[2 * i] = v % 4294967296;
    words[2 * i + 1] = Math.floor(v / 4294967296);
  }
  children.push(
    arrow.makeData({ type: schema.fields[n]!.type as arrow.Int64, length, nullCount: 0, data: fileIds }),
    arrow.makeData({ type: schema.fields[n + 1]!.type as arrow.Utf8, length, nullCount: 0, valueOffsets: nameOffsets, data: names }),
    arrow.makeData({ type: schema.fields[n + 2]!.type as arrow.Int64, length, nullCount: 0, data: records }),
  );
  const data = arrow.makeData({ type: new arrow.Struct(schema.fields), length, nullCount: 0, children });
  return new arrow.RecordBatch(schema, data);
}

function vectorData(vector: Vector, type: arrow.DataType, length: number): arrow.Data {
  const nullBitmap = new Uint8Array((length + 7) >> 3);
  let nullCount = 0;
  const valid = vector.valid;
  for (let i = 0; i < length; i++) {
    if (valid[i]) nullBitmap[i >> 3]! |= 1 << (i & 7);
    else nullCount++;
  }
  switch (vector.kind) {
    case 'integer':
      return arrow.makeData({ type: type as arrow.Int64, length, nullCount, nullBitmap, data: vector.data });
    case 'timestamp':
      return arrow.makeData({ type: type as arrow.TimestampMicrosecond, length, nullCount, nullBitmap, data: vector.data });
    case 'number':
      return arrow.makeData({ type: type as arrow.Float64, length, nullCount, nullBitmap, data: vector.data });
    case 'boolean': {
      const data = new Uint8Array((length + 7) >> 3);
      for (let i = 0; i < length; i++) if (vector.data[i]) data[i >> 3]! |= 1 << (i & 7);
      return arrow.makeData({ type: type as arrow.Bool, length, nullCount, nullBitmap, data });
    }
    case 'date':
      return arrow.makeData({ type: type as arrow.DateDay, length, nullCount, nullBitmap, data: vector.data });
    case 'string':
    case 'json':
      return arrow.makeData({ type: type as arrow.Utf8, length, nullCount, nullBitmap, valueOffsets: vector.offsets, data: vector.bytes });
  }
}
