/**
 * Parquet output as the pipeline sees it: `openParquetWriter` takes batches of vectors (vectors.ts),
 * packs each into one buffer (thread-batch.ts) and transfers it to the Parquet thread
 * (parquet-thread.ts), which builds the Arrow IPC stream (arrow.ts), encodes it with parquet-wasm
 * and writes the file. Measured on the 1M-row benchmark file: parquet-wasm's encoding is ~1.8 s of
 * CPU that overlaps the reading, validation and COPY on the main thread.
 *
 * One thread serves every file of the process; it starts on first use and ends when the last user
 * (`useParquetThread`) lets go. If it dies, the requests in flight fail as infrastructure errors
 * (the files are retried) and the next file starts a new thread.
 */
import { unlink } from 'node:fs/promises';
import { fsyncPath, renameNow } from '../lib/fs-now.js';
import { Worker } from 'node:worker_threads';
import type { Column } from '../columns.js';
import type { Config } from '../config/types.js';
import type { Lineage } from './arrow.js';
import type { TypedBatch } from './vectors.js';
import type { SerializedError, ThreadReply, ThreadRequest } from './parquet-thread.js';
import { packBatch, returnSpare, takePacked, type PackedBatch } from './thread-batch.js';

export interface ParquetWriter {
  /**
   * Copies the batch for the Parquet thread: the caller's vectors are its own again on return —
   * except a batch that came packed (thread-batch.ts `unpackToPass`), which goes as it is and
   * whose vectors are gone.
   */
  write(batch: TypedBatch): Promise<void>;
  /** Ends the file, flushes it to disk; the temporary file is complete afterwards. */
  finish(): Promise<void>;
  /** Renames the finished file into place. */
  commit(finalPath: string): Promise<void>;
  /** Stops writing and removes the temporary file. Safe to call at any point, more than once. */
  abort(): Promise<void>;
}

// Compiled: dist/write/parquet-thread.js beside this file. Under ts-jest this module runs from
// src/ as TypeScript, which a worker cannot load, so the thread comes from dist/ (`npm test` builds
// first).
const here = new URL(import.meta.url);
const THREAD_ENTRY = here.pathname.endsWith('.ts')
  ? new URL('../../dist/write/parquet-thread.js', here)
  : new URL('./parquet-thread.js', here);

/** Where the rows a request asked the thread to encode for COPY go: the rows, or why they never will. */
export interface CopySink {
  /** `encoded`: the whole of a buffer transferred from the thread, the sink's own from now on. */
  rows(encoded: Buffer, count: number): void;
  failed(error: Error): void;
}

type Pending = { resolve: () => void; reject: (error: Error) => void; copy?: CopySink };
type Request = ThreadRequest extends infer R ? (R extends ThreadRequest ? Omit<R, 'seq'> : never) : never;

class ParquetThread {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  private nextId = 0;
  users = 0;

  newId(): number {
    return ++this.nextId;
  }

  /**
   * `copy`: takes the batch's rows as COPY binary, when the request asks the thread for them; told
   * if the request fails before they came.
   */
  request(message: Request, transfer: ArrayBuffer[] = [], copy?: CopySink): Promise<void> {
    const worker = this.start();
    const seq = ++this.seq;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(seq, { resolve, reject, copy });
      if (this.pending.size === 1) worker.ref(); // keep the process alive while work is in flight
      worker.postMessage({ ...message, seq }, transfer);
    });
  }

  async stop(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    this.fail(worker, new Error('the Parquet thread was stopped'));
    await worker.terminate();
  }

  /** Terminates the thread without failing its requests first: they fail from the `exit` event. */
  async crash(): Promise<void> {
    await this.worker?.terminate();
  }

  /** Starts the thread now (it loads and compiles parquet-wasm), so the first file does not wait for it. */
  warm(): void {
    this.start();
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(THREAD_ENTRY, { name: 'parquet' });
    worker.unref();
    worker.on('message', (reply: ThreadReply) => {
      const pending = this.pending.get(reply.seq);
      if (!pending) return;
      if ('copy' in reply) {
        const sink = pending.copy;
        pending.copy = undefined; // they came: a later failure of the request is not theirs
        sink?.rows(Buffer.from(reply.copy), reply.rows);
        return;
      }
      this.pending.delete(reply.seq);
      if (this.pending.size === 0) worker.unref();
      if (reply.ok) {
        if (reply.spare) returnSpare(reply.spare);
        pending.resolve();
      }
      else failed(pending, deserialize(reply.error));
    });
    worker.on('error', (error) => this.fail(worker, error));
    worker.on('exit', (code) => this.fail(worker, new Error(`the Parquet thread exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }

  private fail(worker: Worker, error: Error): void {
    if (this.worker !== worker) return;
    this.worker = null;
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) failed(p, error);
  }
}

/** A request failed: its promise rejects, and rows it was to encode for COPY will not come. */
function failed(pending: Pending, error: Error): void {
  pending.copy?.failed(error);
  pending.reject(error);
}

const thread = new ParquetThread();

/** Registers a user of the Parquet thread; the returned function lets go (the last one stops it). */
export function useParquetThread(): () => Promise<void> {
  thread.users++;
  thread.warm();
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    if (--thread.users === 0) await thread.stop();
  };
}

function deserialize(error: SerializedError): Error {
  const result = new Error(error.message) as NodeJS.ErrnoException;
  if (error.code !== undefined) result.code = error.code;
  if (error.errno !== undefined) result.errno = error.errno;
  if (error.syscall !== undefined) result.syscall = error.syscall;
  if (error.stack) result.stack = `${error.stack}\n    (in the Parquet thread)`;
  return result;
}

/** Batches sent to the Parquet thread and not yet taken by it, before `write()` waits. */
const MAX_IN_FLIGHT = 4;

/**
 * `compression`: the configuration's `parquet:` (codecs for a file of several batches and for a
 * one-piece file). `copy`: the thread also encodes each batch's rows as COPY binary (with the same
 * lineage) and hands them there, batch after batch in the order written — work taken off the main
 * thread, which reads and checks the files (BENCHMARKS.md, "Many small files").
 */
export async function openParquetWriter(
  tmpPath: string,
  columns: Column[],
  lineage: Lineage,
  compression: Config['parquet'],
  copy?: CopySink,
): Promise<ParquetWriter> {
  // A dictionary pays where values repeat: the lineage constants and text the schema lists. For
  // other text, hashing every value into a dictionary that is often dropped cost the encoding more
  // than it saved in size (BENCHMARKS.md, "Parquet writer settings").
  const dictionary = [...columns.filter((c) => c.categorical).map((c) => c.name), '_file_id', '_source_file'];
  const id = thread.newId();
  // Each batch is held until the next one (or finish) comes, and goes with it: the file is opened
  // by its first message, and a one-batch file costs a single message to the thread.
  let held: PackedBatch | null = null;
  let opened = false;
  /** Written in one message: the thread wrote it without an fsync (parquet-file.ts). */
  let onePiece = false;
  let inflight: Promise<void> = Promise.resolve();
  /** Requests the thread has not answered yet, oldest first. */
  const pending: Array<Promise<void>> = [];
  let failure: unknown = null;
  const send = (finish: boolean): Promise<void> => {
    const batch = held;
    held = null;
    const first = !opened;
    opened = true;
    onePiece = first && finish;
    const encode = copy !== undefined && batch !== null && batch.length > 0;
    inflight = thread.request(
      { op: 'write', id, finish, ...(first ? { tmpPath, compression, dictionary, columns, lineage } : {}), ...(batch ? { batch } : {}), ...(encode ? { copy: true } : {}) },
      batch ? [batch.buffer] : [],
      encode ? copy : undefined,
    );
    inflight.catch((error: unknown) => (failure ??= error));
    return inflight;
  };
  return {
    async write(batch) {
      if (failure) throw failure;
      // Packed into one buffer, which moves to the thread (thread-batch.ts); the thread builds
      // the Arrow batch from it. A batch that came packed goes on in its own buffer.
      const own = takePacked(batch) ?? packBatch(batch);
      // The previous batch goes now. Up to MAX_IN_FLIGHT batches may wait in the thread, so neither
      // side waits for the other batch by batch; beyond that, the caller waits (memory stays bounded).
      if (held) pending.push(send(false));
      held = own;
      while (pending.length > MAX_IN_FLIGHT) await pending.shift();
    },
    async finish() {
      const finished = send(true);
      await Promise.all(pending.splice(0));
      await finished;
      if (onePiece) await fsyncPath(tmpPath);
    },
    async commit(finalPath) {
      renameNow(tmpPath, finalPath);
    },
    async abort() {
      held = null;
      await Promise.all(pending.splice(0).map((p) => p.catch(() => undefined)));
      await inflight.catch(() => undefined); // a finish in flight would recreate the file otherwise
      if (opened) await thread.request({ op: 'abort', id }).catch(() => undefined);
      await unlink(tmpPath).catch(() => undefined); // also when the thread is gone
    },
  };
}

/** Ends the Parquet thread abruptly, as a crash would: for the failure tests. */
export async function crashParquetThread(): Promise<void> {
  await thread.crash();
}
