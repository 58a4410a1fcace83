/**
 * Encodes a batch of vectors (vectors.ts) as an Arrow IPC stream — the form parquet-wasm reads —
 * one typed column per schema column (int64, float64, bool, utf8, date32, timestamp(µs, UTC), JSON
 * columns as JSON text) and the lineage columns PostgreSQL gets too: `_file_id`, `_source_file`,
 * `_source_record`, so a lake reader can trace a row to its file and line.
 *
 * The schema message is built once per column list by apache-arrow and kept; a batch's message is
 * written here with Arrow's own generated flatbuffer code, and its body is the vectors' bytes
 * copied into one buffer (validity repacked into bitmaps, booleans into bits): cheaper than an
 * apache-arrow Table per file (BENCHMARKS.md, "Why the code is shaped as it is"). tests/unit/arrow.test.ts reads what this writes back through
 * apache-arrow and through parquet-wasm.
 */
import { endianness } from 'node:os';
import * as arrow from 'apache-arrow';
import { Builder } from 'flatbuffers';
import { Buffer as BufferRegion } from 'apache-arrow/fb/buffer';
import { FieldNode } from 'apache-arrow/fb/field-node';
import { Message } from 'apache-arrow/fb/message';
import { MessageHeader } from 'apache-arrow/fb/message-header';
import { MetadataVersion } from 'apache-arrow/fb/metadata-version';
import { RecordBatch } from 'apache-arrow/fb/record-batch';
import type { Column, ColumnKind } from '../columns.js';
import type { Vector } from './vectors.js';
import { unreachable } from '../lib/unreachable.js';

// Vectors hold int64 halves in little-endian order, as Arrow requires.
if (endianness() !== 'LE') throw new Error('loadbay writes Arrow buffers for little-endian machines only');

/** The file a batch comes from, for the lineage columns. */
export interface Lineage {
  fileId: string;
  sourceFile: string;
}

/** What the encoder needs of a batch (a ThreadBatch, parquet-thread.ts). */
export interface ArrowBatch {
  length: number;
  numbers: ArrayLike<number>;
  vectors: Vector[];
}

function arrowType(kind: ColumnKind): arrow.DataType {
  switch (kind) {
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
    default:
      return unreachable(kind, 'column kind');
  }
}

/** A Parquet file's columns: the dataset's, then the lineage columns at the end, as in the table. */
export function arrowSchema(columns: Column[]): arrow.Schema {
  return new arrow.Schema([
    ...columns.map((c) => new arrow.Field(c.name, arrowType(c.kind), true)),
    new arrow.Field('_file_id', new arrow.Int64(), false),
    new arrow.Field('_source_file', new arrow.Utf8(), false),
    new arrow.Field('_source_record', new arrow.Int64(), false),
  ]);
}

/** Schema messages by column list; a handful of datasets, rebuilt after a reload changes one. */
const schemaMessages = new Map<string, Uint8Array>();

/** The encapsulated schema message opening a stream for `columns` (continuation, length, flatbuffer). */
export function schemaMessage(columns: Column[]): Uint8Array {
  const key = JSON.stringify(columns.map((c) => [c.name, c.kind]));
  let message = schemaMessages.get(key);
  if (!message) {
    const stream = arrow.tableToIPC(new arrow.Table(arrowSchema(columns)), 'stream');
    const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
    if (view.getInt32(0, true) !== -1) throw new Error('apache-arrow wrote a stream without a continuation marker');
    message = stream.slice(0, 8 + view.getInt32(4, true));
    if (schemaMessages.size >= 64) schemaMessages.clear();
    schemaMessages.set(key, message);
  }
  return message;
}

const pad8 = (n: number) => (n + 7) & ~7;

/** One buffer of the body: its length, and how to write it at an offset of the output. */
interface Region {
  length: number;
  write(out: Uint8Array, at: number): void;
}

const bytesOf = (a: ArrayBufferView, length: number): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, length);
const copy = (source: Uint8Array): Region => ({ length: source.length, write: (out, at) => out.set(source, at) });
const EMPTY: Region = { length: 0, write: () => undefined };

/** A validity bitmap, or no buffer when every row has a value (as Arrow writes it). */
function validity(valid: Uint8Array, length: number, nulls: number): Region {
  if (nulls === 0) return EMPTY;
  return { length: (length + 7) >> 3, write: (out, at) => packBits(valid, length, out, at) };
}

function packBits(bytes: Uint8Array, length: number, out: Uint8Array, at: number): void {
  for (let i = 0; i < length; i++) if (bytes[i]) out[at + (i >> 3)]! |= 1 << (i & 7);
}

function countNulls(valid: Uint8Array, length: number): number {
  let nulls = 0;
  for (let i = 0; i < length; i++) if (!valid[i]) nulls++;
  return nulls;
}

/** The buffers of one column (validity, then offsets and bytes, or values), as Arrow orders them. */
function columnRegions(vector: Vector, length: number, nulls: number): Region[] {
  const bits = validity(vector.valid, length, nulls);
  switch (vector.kind) {
    case 'integer':
    case 'timestamp':
    case 'number':
      return [bits, copy(bytesOf(vector.data, length * 8))];
    case 'date':
      return [bits, copy(bytesOf(vector.data, length * 4))];
    case 'boolean':
      return [bits, { length: (length + 7) >> 3, write: (out, at) => packBits(vector.data, length, out, at) }];
    case 'string':
    case 'json':
      return [bits, copy(bytesOf(vector.offsets, (length + 1) * 4)), copy(vector.bytes.subarray(0, vector.offsets[length]))];
    default:
      return unreachable(vector, 'vector kind');
  }
}

/** `_file_id`: the file's id in every row. */
function fileIds(fileId: bigint, length: number): Region {
  return {
    length: length * 8,
    write: (out, at) => new BigInt64Array(out.buffer, out.byteOffset + at, length).fill(fileId),
  };
}

/** `_source_file`: the file's name in every row — offsets, then the name written once and doubled. */
function sourceFiles(name: Uint8Array, length: number): Region[] {
  return [
    { length: (length + 1) * 4, write: (out, at) => {
      const offsets = new Int32Array(out.buffer, out.byteOffset + at, length + 1);
      for (let i = 0; i <= length; i++) offsets[i] = i * name.length;
    } },
    { length: name.length * length, write: (out, at) => {
      const end = at + name.length * length;
      if (length === 0) return;
      out.set(name, at);
      for (let filled = name.length; at + filled < end; filled *= 2) out.copyWithin(at + filled, at, Math.min(at + filled, end - filled));
    } },
  ];
}

/** `_source_record`: each row's line or record number, as int64. */
function sourceRecords(numbers: ArrayLike<number>, length: number): Region {
  return {
    length: length * 8,
    write: (out, at) => {
      const words = new Int32Array(out.buffer, out.byteOffset + at, length * 2);
      for (let i = 0; i < length; i++) {
        const v = numbers[i]!;
        words[2 * i] = v % 4294967296;
        words[2 * i + 1] = Math.floor(v / 4294967296);
      }
    },
  };
}

/**
 * Where a stream may be written instead of a new buffer: the Parquet thread hands parquet-wasm each
 * stream once (it copies it into its own memory) and writes the next one over it: a fresh buffer
 * per file is garbage in ArrayBuffers, which makes V8 collect that thread's heap (BENCHMARKS.md, "Why the code is shaped as it is").
 */
export interface Scratch {
  buffer: Uint8Array;
}

/**
 * An IPC stream of one record batch: the schema message, the batch's message and body, the end
 * marker. Buffers sit at 8-byte boundaries of the body, as the format requires. With `scratch`, the
 * stream is a view of its buffer (grown when too small), valid until the next call with it.
 */
export function batchStream(columns: Column[], batch: ArrowBatch, lineage: Lineage, scratch?: Scratch): Uint8Array {
  const { length, vectors } = batch;
  const nodes: { length: number; nulls: number }[] = [];
  const regions: Region[] = [];
  for (const vector of vectors) {
    const nulls = countNulls(vector.valid, length);
    nodes.push({ length, nulls });
    regions.push(...columnRegions(vector, length, nulls));
  }
  const name = Buffer.from(lineage.sourceFile, 'utf8');
  nodes.push({ length, nulls: 0 }, { length, nulls: 0 }, { length, nulls: 0 });
  regions.push(EMPTY, fileIds(BigInt(lineage.fileId), length), EMPTY, ...sourceFiles(name, length), EMPTY, sourceRecords(batch.numbers, length));

  const offsets: number[] = [];
  let bodyLength = 0;
  for (const region of regions) {
    offsets.push(bodyLength);
    bodyLength += pad8(region.length);
  }
  const metadata = recordBatchMetadata(length, nodes, regions, offsets, bodyLength);
  const schema = schemaMessage(columns);
  const metaLength = pad8(8 + metadata.length);
  const bodyAt = schema.length + metaLength;
  const size = bodyAt + bodyLength + 8;
  let out: Uint8Array;
  if (scratch) {
    if (scratch.buffer.length < size) scratch.buffer = new Uint8Array(Math.max(size, Math.ceil(scratch.buffer.length * 1.5)));
    out = scratch.buffer.subarray(0, size);
    out.fill(0); // bitmaps are OR-ed in, padding is zero
  } else {
    out = new Uint8Array(size);
  }
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  out.set(schema, 0);
  view.setInt32(schema.length, -1, true);
  view.setInt32(schema.length + 4, metaLength - 8, true);
  out.set(metadata, schema.length + 8);
  for (let i = 0; i < regions.length; i++) regions[i]!.write(out, bodyAt + offsets[i]!);
  view.setInt32(bodyAt + bodyLength, -1, true); // end of stream: continuation marker, length 0
  return out;
}

/** The flatbuffer of a RecordBatch message (Message.fbs), through Arrow's generated code. */
function recordBatchMetadata(length: number, nodes: { length: number; nulls: number }[], regions: Region[], offsets: number[], bodyLength: number): Uint8Array {
  const builder = new Builder(1024);
  // Vectors of structs are written back to front.
  RecordBatch.startNodesVector(builder, nodes.length);
  for (let i = nodes.length - 1; i >= 0; i--) FieldNode.createFieldNode(builder, BigInt(nodes[i]!.length), BigInt(nodes[i]!.nulls));
  const nodesAt = builder.endVector();
  RecordBatch.startBuffersVector(builder, regions.length);
  for (let i = regions.length - 1; i >= 0; i--) BufferRegion.createBuffer(builder, BigInt(offsets[i]!), BigInt(regions[i]!.length));
  const buffersAt = builder.endVector();
  RecordBatch.startRecordBatch(builder);
  RecordBatch.addLength(builder, BigInt(length));
  RecordBatch.addNodes(builder, nodesAt);
  RecordBatch.addBuffers(builder, buffersAt);
  const header = RecordBatch.endRecordBatch(builder);
  Message.startMessage(builder);
  Message.addVersion(builder, MetadataVersion.V5);
  Message.addHeaderType(builder, MessageHeader.RecordBatch);
  Message.addHeader(builder, header);
  Message.addBodyLength(builder, BigInt(bodyLength));
  Message.finishMessageBuffer(builder, Message.endMessage(builder));
  return builder.asUint8Array();
}
