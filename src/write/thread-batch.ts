/**
 * How a batch of vectors crosses to the Parquet thread: packed into one ArrayBuffer, which is
 * transferred, and unpacked there into views of it — one buffer costs far less to transfer than a
 * batch's dozens of typed arrays one by one (BENCHMARKS.md, "Why the code is shaped as it is"). The copy also leaves the caller's vectors its
 * own once `packBatch` returns.
 */
import type { ColumnKind, FixedKind } from '../columns.js';
import type { TypedBatch, Vector } from './vectors.js';
import { SparePool } from '../lib/spare-pool.js';
import { unreachable } from '../lib/unreachable.js';

/**
 * A batch as it crosses to the thread: its arrays in the first `bytes` of `buffer`.
 * `textBytes`: the bytes of each text column (0 for others).
 */
export interface PackedBatch {
  length: number;
  buffer: ArrayBuffer;
  bytes: number;
  textBytes: number[];
}

/** Buffers the thread has given back, packed into again (a few suffice: the batches in flight). */
const spares = new SparePool((bytes) => new ArrayBuffer(Math.ceil(bytes / 8) * 8));

/**
 * Where buffers go back to when another thread packs the batches (the check thread, while a daemon
 * runs it): true when it took the buffer.
 */
let packer: ((buffer: ArrayBuffer) => boolean) | null = null;
export function setPacker(take: ((buffer: ArrayBuffer) => boolean) | null): void {
  packer = take;
}

export function returnSpare(buffer: ArrayBuffer): void {
  if (!packer?.(buffer)) spares.give(buffer);
}

const pad8 = (n: number) => (n + 7) & ~7;

/** The size of a value of each fixed-width kind, in bytes. */
const WIDTH: Record<FixedKind, number> = { integer: 8, timestamp: 8, number: 8, boolean: 1, date: 4 };

/** Where each array of the batch sits in the buffer, in the order both sides walk it. */
function layout(kinds: ColumnKind[], length: number, textBytes: number[]): { at: number[]; size: number } {
  const at: number[] = [];
  let size = pad8(length * 8); // the line numbers, first
  for (let i = 0; i < kinds.length; i++) {
    const kind = kinds[i]!;
    at.push(size);
    size += pad8(length); // validity
    if (kind === 'string' || kind === 'json') size += pad8((length + 1) * 4) + pad8(textBytes[i]!);
    else size += pad8(length * WIDTH[kind]);
  }
  return { at, size };
}

const bytesOf = (a: ArrayBufferView, length: number) => new Uint8Array(a.buffer, a.byteOffset, length);

export function packBatch(batch: TypedBatch): PackedBatch {
  const { length, vectors } = batch;
  const kinds = vectors.map((v) => v.kind);
  const textBytes = vectors.map((v) => ('bytes' in v ? v.offsets[length]! : 0));
  const { at, size } = layout(kinds, length, textBytes);
  const buffer = spares.take(size);
  const out = new Uint8Array(buffer, 0, size);
  out.set(bytesOf(batch.numbers, length * 8), 0);
  for (let i = 0; i < vectors.length; i++) {
    const v = vectors[i]!;
    let o = at[i]!;
    out.set(v.valid.subarray(0, length), o);
    o += pad8(length);
    if ('bytes' in v) {
      out.set(bytesOf(v.offsets, (length + 1) * 4), o);
      out.set(v.bytes.subarray(0, textBytes[i]), o + pad8((length + 1) * 4));
    } else {
      out.set(bytesOf(v.data, length * WIDTH[v.kind]), o);
    }
  }
  return { length, buffer, bytes: size, textBytes };
}

/**
 * Batches that are views of a packed buffer they came in (from the check thread): the Parquet writer
 * hands that buffer on as it is (`takePacked`), and the batch's vectors are gone after that.
 */
const packedBatches = new WeakMap<TypedBatch, PackedBatch>();

/**
 * The batch, as views of `packed`, which goes on with it (`takePacked`). The vectors' views are
 * made when first read: a batch that only passes through to the Parquet thread never needs them,
 * and a few dozen views per batch, alive while the batch waits, were the main thread's largest
 * share of promoted garbage in bursts of small files (BENCHMARKS.md).
 */
export function unpackToPass(packed: PackedBatch, kinds: ColumnKind[]): TypedBatch {
  let vectors: Vector[] | null = null;
  const batch: TypedBatch = {
    length: packed.length,
    numbers: new Float64Array(packed.buffer, 0, packed.length),
    get vectors() {
      return (vectors ??= unpackBatch(packed, kinds).vectors);
    },
  };
  packedBatches.set(batch, packed);
  return batch;
}

/** True when the batch's vectors leave with its buffer once written (see `unpackToPass`). */
export function isPassed(batch: TypedBatch): boolean {
  return packedBatches.has(batch);
}

/** The buffer the batch came in, once: the caller sends it on. */
export function takePacked(batch: TypedBatch): PackedBatch | undefined {
  const packed = packedBatches.get(batch);
  packedBatches.delete(batch);
  return packed;
}

/** Views of a packed batch's buffer, as vectors of the columns' kinds. */
export function unpackBatch(packed: PackedBatch, kinds: ColumnKind[]): TypedBatch {
  const { length, buffer, bytes, textBytes } = packed;
  const { at, size } = layout(kinds, length, textBytes);
  if (size !== bytes || bytes > buffer.byteLength) throw new Error(`a packed batch of ${bytes} bytes (in ${buffer.byteLength}) where its layout says ${size}`);
  const vectors = kinds.map((kind, i): Vector => {
    let o = at[i]!;
    const valid = new Uint8Array(buffer, o, length);
    o += pad8(length);
    switch (kind) {
      case 'integer':
      case 'timestamp':
        return { kind, valid, data: new BigInt64Array(buffer, o, length), words: new Int32Array(buffer, o, length * 2) };
      case 'number':
        return { kind, valid, data: new Float64Array(buffer, o, length) };
      case 'boolean':
        return { kind, valid, data: new Uint8Array(buffer, o, length) };
      case 'date':
        return { kind, valid, data: new Int32Array(buffer, o, length) };
      case 'string':
      case 'json':
        return { kind, valid, offsets: new Int32Array(buffer, o, length + 1), bytes: new Uint8Array(buffer, o + pad8((length + 1) * 4), textBytes[i]) };
      default:
        return unreachable(kind, 'column kind');
    }
  });
  return { length, numbers: new Float64Array(buffer, 0, length), vectors };
}
