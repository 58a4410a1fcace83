/**
 * The Parquet thread: a worker thread that turns Arrow IPC batches into Parquet files with
 * parquet-wasm (zstd), so that encoding runs on another core while the main thread reads,
 * validates and feeds COPY. Requests come from parquet.ts, one reply per request, in order per file.
 */
import { parentPort } from 'node:worker_threads';
import { openParquetFile, type ParquetFileWriter } from './parquet-file.js';

export type ThreadRequest =
  | { seq: number; op: 'open'; id: number; tmpPath: string }
  | { seq: number; op: 'write'; id: number; ipc: Uint8Array }
  | { seq: number; op: 'finish'; id: number }
  | { seq: number; op: 'abort'; id: number };

export type ThreadReply = { seq: number; ok: true } | { seq: number; ok: false; error: SerializedError };

export interface SerializedError {
  message: string;
  code?: string;
  errno?: number;
  syscall?: string;
  stack?: string;
}

const writers = new Map<number, ParquetFileWriter>();

async function handle(request: ThreadRequest): Promise<void> {
  if (request.op === 'open') {
    writers.set(request.id, openParquetFile(request.tmpPath));
    return;
  }
  const writer = writers.get(request.id);
  if (request.op === 'abort') {
    writers.delete(request.id);
    await writer?.abort();
    return;
  }
  if (!writer) throw new Error(`no open Parquet file #${request.id} in this thread (it was restarted)`);
  if (request.op === 'write') {
    await writer.write(request.ipc);
  } else {
    writers.delete(request.id);
    await writer.finish();
  }
}

function serialize(error: unknown): SerializedError {
  const e = error as NodeJS.ErrnoException;
  return { message: e?.message ?? String(error), code: e?.code, errno: e?.errno, syscall: e?.syscall, stack: e?.stack };
}

parentPort!.on('message', (request: ThreadRequest) => {
  handle(request).then(
    () => parentPort!.postMessage({ seq: request.seq, ok: true } satisfies ThreadReply),
    (error: unknown) => parentPort!.postMessage({ seq: request.seq, ok: false, error: serialize(error) } satisfies ThreadReply),
  );
});
