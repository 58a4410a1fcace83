/**
 * The Parquet thread: a worker thread that turns batches of vectors (each packed into one
 * transferred buffer, thread-batch.ts) into Parquet files — a one-batch file written from the
 * vectors (parquet-direct.ts), a larger one as Arrow IPC streamed through parquet-wasm
 * (parquet-file.ts) — so that this work runs on another core while the main thread reads and
 * validates.
 * For a group load it also encodes each batch's rows as COPY binary and sends them back ahead of
 * its reply. Requests come from parquet.ts, one reply per request, in order.
 */
import { parentPort } from 'node:worker_threads';
import type { Column } from '../columns.js';
import type { Config } from '../config/types.js';
import type { Lineage } from './arrow.js';
import { encodeCopyBinary } from './copy-binary.js';
import { directParquet } from './parquet-direct.js';
import { encodeParquet, openParquetFile, writeParquetFile, type ParquetFileWriter } from './parquet-file.js';
import { unpackBatch, type PackedBatch } from './thread-batch.js';
import { emptyVector, type TypedBatch } from './vectors.js';

/**
 * One message per step of a file, to keep thread wake-ups few (each costs ~0.35 ms here): `write`
 * opens the file when it carries `tmpPath` (the first one does), adds a batch when it carries `ipc`,
 * and ends the file when `finish` is set — a small file is a single message.
 */
export type ThreadRequest =
  | { seq: number; op: 'write'; id: number; tmpPath?: string; compression?: Config['parquet']; dictionary?: string[]; columns?: Column[]; lineage?: Lineage; batch?: PackedBatch; copy?: boolean; finish: boolean }
  | { seq: number; op: 'abort'; id: number };

/**
 * `spare`: the request's packed buffer, read and given back for the next batch (thread-batch.ts).
 * `copy`: the batch's rows as COPY binary, for a request that asked (`copy`), sent ahead of the
 * request's own reply — requests are taken in order and encoded before anything is awaited, so
 * these come in the order the batches were sent.
 */
export type ThreadReply =
  | { seq: number; ok: true; spare?: ArrayBuffer }
  | { seq: number; ok: false; error: SerializedError }
  | { seq: number; copy: ArrayBuffer; rows: number };

export interface SerializedError {
  message: string;
  code?: string;
  errno?: number;
  syscall?: string;
  stack?: string;
}

const writers = new Map<number, { file: ParquetFileWriter; columns: Column[]; lineage: Lineage }>();

/**
 * A request's batch (an empty batch when it has none) unpacked from its buffer and, when the
 * request asks, its rows sent first to the main thread as COPY binary (in their own buffer,
 * transferred) — before anything is awaited, so in request order.
 */
function requestBatch(request: ThreadRequest & { op: 'write' }, columns: Column[], lineage: Lineage): TypedBatch {
  const batch: TypedBatch = request.batch
    ? unpackBatch(request.batch, columns.map((c) => c.kind))
    : { length: 0, numbers: new Float64Array(0), vectors: columns.map((c) => emptyVector(c.kind, 0)) };
  if (request.copy) {
    const rows = encodeCopyBinary(batch, lineage);
    // Its own buffer (copy-binary.ts); were it ever a slice, only its own bytes may cross.
    const whole = rows.byteOffset === 0 && rows.byteLength === rows.buffer.byteLength;
    const copy = (whole ? rows.buffer : rows.buffer.slice(rows.byteOffset, rows.byteOffset + rows.byteLength)) as ArrayBuffer;
    parentPort!.postMessage({ seq: request.seq, copy, rows: batch.length } satisfies ThreadReply, [copy]);
  }
  return batch;
}

/**
 * A whole file in one message, encoded in one go: from the vectors here (parquet-direct.ts), or by
 * parquet-wasm for a codec that writer does not have. Synchronous, so the batch's views are
 * garbage before the file is written, not kept (and promoted) across the write's awaits.
 */
function wholeFile(request: ThreadRequest & { op: 'write' }): Uint8Array {
  const [codec, dictionary, columns, lineage] = [request.compression!.smallFileCompression, request.dictionary ?? [], request.columns!, request.lineage!];
  const batch = requestBatch(request, columns, lineage);
  return directParquet(columns, batch, lineage, codec, dictionary) ?? encodeParquet(codec, dictionary, columns, batch, lineage);
}

async function handle(request: ThreadRequest): Promise<void> {
  if (request.op === 'abort') {
    const writer = writers.get(request.id);
    writers.delete(request.id);
    await writer?.file.abort();
    return;
  }
  if (request.tmpPath !== undefined && request.finish) {
    await writeParquetFile(request.tmpPath, wholeFile(request));
    return;
  }
  if (request.tmpPath !== undefined) {
    const [codec, dictionary, columns, lineage] = [request.compression!.compression, request.dictionary ?? [], request.columns!, request.lineage!];
    const file = openParquetFile(request.tmpPath, codec, dictionary, columns, lineage);
    writers.set(request.id, { file, columns, lineage });
  }
  const writer = writers.get(request.id);
  if (!writer) throw new Error(`no open Parquet file #${request.id} in this thread (it was restarted)`);
  if (request.batch) await writer.file.write(requestBatch(request, writer.columns, writer.lineage));
  if (request.finish) {
    writers.delete(request.id);
    await writer.file.finish();
  }
}

function serialize(error: unknown): SerializedError {
  const e = error as NodeJS.ErrnoException;
  return { message: e?.message ?? String(error), code: e?.code, errno: e?.errno, syscall: e?.syscall, stack: e?.stack };
}

parentPort!.on('message', (request: ThreadRequest) => {
  handle(request).then(
    () => {
      // The batch was copied into its IPC stream: its buffer goes back to be packed into again.
      const spare = request.op === 'write' ? request.batch?.buffer : undefined;
      parentPort!.postMessage({ seq: request.seq, ok: true, spare } satisfies ThreadReply, spare ? [spare] : []);
    },
    (error: unknown) => parentPort!.postMessage({ seq: request.seq, ok: false, error: serialize(error) } satisfies ThreadReply),
  );
});
