/**
 * A local file read, prepared and checked in the check thread (check-thread.ts) rather than on the
 * main thread: the same `CheckedFile`, batch for batch, problem for problem, error for error
 * (check-protocol.ts), so the load's stages (load/unit.ts) run unchanged whichever does the work.
 * The main thread then keeps the transaction, the ledger and the moves, and the two cores share a
 * burst of files (BENCHMARKS.md, "Both cores").
 *
 * One thread serves the process; it starts with the daemon (`useCheckThread`) and ends with it. A
 * file is sent when its batches are first asked for, and at most `AHEAD` batches wait for the main
 * thread. If the thread dies, the files in it fail as infrastructure errors (they are retried) and
 * the next file starts a new thread.
 */
import { Worker } from 'node:worker_threads';
import type { CompiledDataset } from '../compile.js';
import type { PrepareStats } from '../prepare/steps.js';
import type { ReadOptions } from '../read/types.js';
import { setPacker, unpackToPass } from '../write/thread-batch.js';
import type { CheckedBatch, CheckedFile, ReadDigest } from './check.js';
import { deserializeError, reviveDecimals, reviveRawDecimals, type CheckReply, type CheckRequest, type PlainDataset } from './check-protocol.js';
import { ProblemLog } from './problems.js';

// Compiled: dist/validate/check-thread.js beside this file; under ts-jest, from dist/ as for the
// Parquet thread (write/parquet.ts).
const here = new URL(import.meta.url);
const THREAD_ENTRY = here.pathname.endsWith('.ts') ? new URL('../../dist/validate/check-thread.js', here) : new URL('./check-thread.js', here);

type Listener = (reply: CheckReply | { id: number; op: 'died'; error: Error }) => void;

class CheckThread {
  private worker: Worker | null = null;
  private readonly listeners = new Map<number, Listener>();
  /** Keys of the datasets this worker has compiled (a new worker knows none). */
  private known = new WeakSet<CompiledDataset>();
  private readonly keys = new WeakMap<CompiledDataset, number>();
  private nextKey = 0;
  private nextId = 0;
  users = 0;

  send(request: Omit<CheckRequest & { op: 'check' }, 'op' | 'id' | 'dataset'>, dataset: CompiledDataset, listener: Listener): number {
    const worker = this.start();
    const id = ++this.nextId;
    let key = this.keys.get(dataset);
    if (key === undefined) this.keys.set(dataset, (key = ++this.nextKey));
    const plain = this.known.has(dataset) ? undefined : plainDataset(dataset);
    this.known.add(dataset);
    this.listeners.set(id, listener);
    if (this.listeners.size === 1) worker.ref(); // keep the process alive while work is in flight
    worker.postMessage({ ...request, op: 'check', id, dataset: { key, plain, records: dataset.plan.engine === 'records' } } satisfies CheckRequest);
    return id;
  }

  tell(request: CheckRequest & { op: 'more' | 'cancel' }): void {
    if (request.op === 'cancel') this.forget(request.id);
    this.worker?.postMessage(request);
  }

  forget(id: number): void {
    if (this.listeners.delete(id) && this.listeners.size === 0) this.worker?.unref();
  }

  /** The thread said it no longer holds this dataset: the next request sends it whole. */
  unknown(dataset: CompiledDataset): void {
    this.known.delete(dataset);
  }

  inFlight(): number {
    return this.listeners.size;
  }

  warm(): void {
    this.start();
  }

  /** A packed buffer the Parquet thread is done with, back to be packed into again. */
  spare(buffer: ArrayBuffer): boolean {
    if (!this.worker) return false;
    this.worker.postMessage({ op: 'spare', buffer } satisfies CheckRequest, [buffer]);
    return true;
  }

  async stop(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    this.fail(worker, new Error('the check thread was stopped'));
    await worker.terminate();
  }

  /** Terminates the thread as a crash would: its files fail from the `exit` event. */
  async crash(): Promise<void> {
    await this.worker?.terminate();
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(THREAD_ENTRY, { name: 'check' });
    worker.unref();
    this.known = new WeakSet();
    worker.on('message', (reply: CheckReply) => this.listeners.get(reply.id)?.(reply));
    worker.on('error', (error) => this.fail(worker, error));
    worker.on('exit', (code) => this.fail(worker, new Error(`the check thread exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }

  private fail(worker: Worker, error: Error): void {
    if (this.worker !== worker) return;
    this.worker = null;
    const listeners = [...this.listeners];
    this.listeners.clear();
    for (const [id, listener] of listeners) listener({ id, op: 'died', error });
  }
}

/** The dataset as plain data: its compiled parts are compiled again in the thread, its matcher is not needed there. */
function plainDataset(dataset: CompiledDataset): PlainDataset {
  const { steps: _steps, validators: _validators, plan: _plan, matches: _matches, ...plain } = dataset;
  return plain;
}

const thread = new CheckThread();

/** Registers a user of the check thread (the daemon); the returned function lets go (the last one stops it). */
export function useCheckThread(): () => Promise<void> {
  thread.users++;
  thread.warm();
  setPacker((buffer) => thread.spare(buffer));
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    if (--thread.users > 0) return;
    setPacker(null);
    await thread.stop();
  };
}

/** True while a daemon uses the thread: files are checked there. */
export function checkThreadInUse(): boolean {
  return thread.users > 0;
}

/** Files the check thread is reading for the main thread now (0 when every load has let go of its file). */
export function checkThreadFiles(): number {
  return thread.inFlight();
}

/** Ends the check thread abruptly, as a crash would: for the failure tests. */
export async function crashCheckThread(): Promise<void> {
  await thread.crash();
}

/**
 * The local file at `path` (`size`: as it was seen) checked in the thread. Nothing is sent until its
 * batches are first asked for, so a file whose load ends before it is read costs the thread nothing.
 */
export function checkInThread(path: string, size: number, relative: string, dataset: CompiledDataset, options: ReadOptions, keepOriginals: boolean): CheckedFile {
  const problems = new ProblemLog(dataset.format === 'json' ? 'record' : 'line');
  const stats: PrepareStats = { droppedNullRows: 0, droppedDuplicateRows: 0 };
  let digest: ReadDigest | null = null;
  async function* batches(): AsyncGenerator<CheckedBatch> {
    const replies: Array<Parameters<Listener>[0]> = [];
    let wake: (() => void) | null = null;
    let finished = false;
    const listener: Listener = (reply) => {
      replies.push(reply);
      const w = wake;
      wake = null;
      w?.();
    };
    const request = { path, size, relative, options, keepOriginals };
    let id = thread.send(request, dataset, listener);
    try {
      for (;;) {
        while (replies.length === 0) await new Promise<void>((resolve) => (wake = resolve));
        const reply = replies.shift()!;
        switch (reply.op) {
          case 'batch': {
            thread.tell({ op: 'more', id });
            if (reply.decimals.length > 0) reviveDecimals(reply.originals, reply.decimals);
            if (reply.rawDecimals.length > 0) reviveRawDecimals(reply.rejected, reply.rawDecimals);
            yield { typed: unpackToPass(reply.packed, reply.kinds), rejected: reply.rejected, originals: reply.originals, loadable: reply.loadable };
            break;
          }
          case 'end':
            finished = true;
            Object.assign(problems, reply.problems);
            Object.assign(stats, reply.stats);
            digest = reply.digest;
            return;
          case 'error':
            finished = true;
            if (reply.problems) Object.assign(problems, reply.problems);
            if (reply.stats) Object.assign(stats, reply.stats);
            throw deserializeError(reply.error);
          case 'unknown':
            // Evicted from the thread's cache: sent again, whole this time (before any batch was read).
            thread.forget(id);
            thread.unknown(dataset);
            id = thread.send(request, dataset, listener);
            break;
          case 'died':
            finished = true;
            throw reply.error;
        }
      }
    } finally {
      if (finished) thread.forget(id);
      else thread.tell({ op: 'cancel', id });
    }
  }
  return {
    locator: problems.locator,
    problems,
    stats,
    batches: batches(),
    digest: () => {
      if (!digest) throw new Error('the file was not read to its end');
      return digest;
    },
  };
}
