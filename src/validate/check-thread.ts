/**
 * The check thread: a worker thread that reads, prepares and checks local files (check.ts
 * `checkFile`, the same code the main thread would run) and sends each checked batch back with its
 * vectors packed into one transferred buffer (write/thread-batch.ts), so that the main thread keeps
 * only the transaction, the ledger and the moves. Requests come from check-remote.ts.
 *
 * A file runs at most `AHEAD` batches ahead of what the main thread has taken: memory stays flat in
 * the file's size, and COPY's pace reaches the reading, as it does on the main thread.
 */
import { parentPort } from 'node:worker_threads';
import { compileDataset, type CompiledDataset } from '../compile.js';
import { fileInput, ReadBuffers } from '../source/folder/file-input.js';
import { packBatch, returnSpare } from '../write/thread-batch.js';
import { checkFile, type CheckedFile } from './check.js';
import { AHEAD, decimalPaths, rawDecimalPaths, serializeError, type CheckReply, type CheckRequest } from './check-protocol.js';

/** Compiled datasets by the key the main thread gave them; a reload brings new keys, the least recently used go. */
const datasets = new Map<number, CompiledDataset>();
const MAX_DATASETS = 256;

interface Running {
  credits: number;
  cancelled: boolean;
  wake: (() => void) | null;
}
const running = new Map<number, Running>();
/** Small files are read into these; a file's buffer goes back once its reader has ended or was closed. */
const reads = new ReadBuffers();

/** The request's compiled dataset, most recently used last; null when the thread does not hold it and no `plain` came. */
function datasetOf(request: CheckRequest & { op: 'check' }): CompiledDataset | null {
  let dataset = datasets.get(request.dataset.key);
  if (dataset) {
    datasets.delete(request.dataset.key); // most recently used: evicted last
  } else {
    const plain = request.dataset.plain;
    if (!plain) return null;
    dataset = compileDataset({ ...plain, matches: () => false }, request.dataset.records ? { engine: 'records' } : {});
    if (datasets.size >= MAX_DATASETS) datasets.delete(datasets.keys().next().value!);
  }
  datasets.set(request.dataset.key, dataset);
  return dataset;
}

function post(reply: CheckReply, transfer: ArrayBuffer[] = []): void {
  parentPort!.postMessage(reply, transfer);
}

async function check(request: CheckRequest & { op: 'check' }): Promise<void> {
  const { id } = request;
  const state: Running = { credits: AHEAD, cancelled: false, wake: null };
  running.set(id, state);
  let checked: CheckedFile | null = null;
  const input = fileInput(request.path, request.size, reads);
  try {
    const dataset = datasetOf(request);
    if (!dataset) {
      post({ id, op: 'unknown' });
      return;
    }
    checked = checkFile(input, request.relative, dataset, request.options, request.keepOriginals);
    for await (const batch of checked.batches) {
      const packed = packBatch(batch.typed);
      const kinds = batch.typed.vectors.map((v) => v.kind);
      post({ id, op: 'batch', packed, kinds, rejected: batch.rejected, originals: batch.originals, decimals: decimalPaths(batch.originals), rawDecimals: rawDecimalPaths(batch.rejected), loadable: batch.loadable }, [packed.buffer]);
      state.credits--;
      while (state.credits <= 0 && !state.cancelled) await new Promise<void>((resolve) => (state.wake = resolve));
      if (state.cancelled) return; // the loop's return closes the file's generator
    }
    post({ id, op: 'end', digest: checked.digest(), stats: checked.stats, problems: checked.problems });
  } catch (error) {
    if (!state.cancelled) post({ id, op: 'error', error: serializeError(error), stats: checked?.stats ?? null, problems: checked?.problems ?? null });
  } finally {
    input.release();
    running.delete(id);
  }
}

parentPort!.on('message', (request: CheckRequest) => {
  if (request.op === 'check') {
    void check(request);
    return;
  }
  if (request.op === 'spare') {
    returnSpare(request.buffer);
    return;
  }
  const state = running.get(request.id);
  if (!state) return;
  if (request.op === 'more') state.credits++;
  else state.cancelled = true;
  const wake = state.wake;
  state.wake = null;
  wake?.();
});
