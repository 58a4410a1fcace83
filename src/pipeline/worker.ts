/**
 * A worker: a small loop that takes a finished file from the queue — with the small files of the
 * same dataset waiting behind it, as a group sharing one transaction — claims, processes, and on
 * an infrastructure or held error parks each file with jittered exponential backoff (the file
 * itself is not touched). After pg-boss's worker: no hot loop, nothing thrown out of it.
 */
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { claimFile, claimFiles, type Claim } from '../claim/claim.js';
import type { WorkQueue } from '../claim/queue.js';
import { closeVanished, recordAttemptError } from '../db/files.js';
import { classify, errorMessage, isKnownTransient, isFileSystemError } from '../errors.js';
import { abortableSleep, backoffDelay } from '../lib/sleep.js';
import type { CompiledDataset as Dataset } from '../compile.js';
import { route } from '../route/route.js';
import type { StableFile } from '../watch/stability.js';
import { processFile, type PipelineContext } from './process-file.js';
import { processGroup } from './process-group.js';

/**
 * A file the system will not let loadbay read or move (permissions, a read-only or full target) is
 * retried with backoff like any infrastructure error, and from this attempt on reported as `held`
 * with the reason, at the slow interval, until someone fixes it.
 */
export const HOLD_AFTER_ATTEMPTS = 5;

async function vanished(file: string): Promise<boolean> {
  return lstat(file).then(
    () => false,
    (error: NodeJS.ErrnoException) => error.code === 'ENOENT',
  );
}

export function relativeToInput(inputDir: string, file: string): string {
  return path.relative(inputDir, file).split(path.sep).join('/');
}

/** What a worker's steps share: the pipeline, the queue, how to look at a file again, attempts so far. */
interface Loop {
  ctx: PipelineContext;
  queue: WorkQueue;
  requeue: (file: string) => void;
  failures: Map<string, number>;
}

export async function runWorker(ctx: PipelineContext, queue: WorkQueue, requeue: (file: string) => void): Promise<void> {
  const loop: Loop = { ctx, queue, requeue, failures: new Map() };
  for (;;) {
    const item = await queue.take();
    if (!item) return;
    const grouped = await groupOf(ctx, queue, item);
    if (grouped) await processTogether(loop, grouped.dataset, [item, ...grouped.items]);
    else await processAlone(loop, item);
  }
}

/**
 * Small files of the same dataset already waiting behind `item`, within the group bounds; null
 * when there are none (or `item` is not a small file, or must go alone).
 */
async function groupOf(ctx: PipelineContext, queue: WorkQueue, item: StableFile): Promise<{ dataset: Dataset; items: StableFile[] } | null> {
  const { groupMaxFiles, groupMaxBytes, groupFileMaxBytes, groupWaitMs } = ctx.config.processing;
  if (groupMaxFiles <= 1 || item.size > groupFileMaxBytes || queue.alone.has(item.file)) return null;
  const datasetOf = (file: string) => {
    try {
      return route(ctx.config.datasets, relativeToInput(ctx.config.folders.input, file));
    } catch {
      return null;
    }
  };
  const dataset = datasetOf(item.file);
  if (!dataset) return null;
  // Files of a burst arrive one by one: the first waits a moment for the others (latency: + this).
  if (groupWaitMs > 0) await abortableSleep(groupWaitMs, ctx.signal);
  let bytes = item.size;
  const items = queue.takeMore((other) => {
    if (other.size > groupFileMaxBytes || bytes + other.size > groupMaxBytes || queue.alone.has(other.file)) return false;
    if (datasetOf(other.file) !== dataset) return false;
    bytes += other.size;
    return true;
  }, groupMaxFiles - 1);
  return items.length > 0 ? { dataset, items } : null;
}

const arrivalOf = (ctx: PipelineContext, item: StableFile) => ({
  file: item.file,
  relative: relativeToInput(ctx.config.folders.input, item.file),
  size: item.size,
  mtimeMs: item.mtimeMs,
});

async function processAlone(loop: Loop, item: StableFile): Promise<void> {
  const { ctx } = loop;
  const arrival = arrivalOf(ctx, item);
  let claim: Claim | null = null;
  try {
    claim = await claimFile(ctx.pool, arrival, ctx.instanceId);
    if (claim) {
      ctx.log.event('claimed', { file: arrival.relative, file_id: claim.fileId, attempt: claim.attempts });
      await processFile(ctx, claim);
    }
    settled(loop, item);
  } catch (error) {
    await failed(loop, item, claim, error);
  } finally {
    await claim?.release();
  }
}

/** The group's files claimed on one connection and loaded in one transaction (process-group.ts). */
async function processTogether(loop: Loop, dataset: Dataset, items: StableFile[]): Promise<void> {
  const { ctx, queue, requeue } = loop;
  let group: Awaited<ReturnType<typeof claimFiles>>;
  try {
    group = await claimFiles(ctx.pool, items.map((item) => arrivalOf(ctx, item)), ctx.instanceId);
  } catch (error) {
    for (const item of items) await failed(loop, item, null, error);
    return;
  }
  try {
    const members: Array<{ item: StableFile; claim: Claim }> = [];
    for (const [index, item] of items.entries()) {
      const claim = group.claims[index];
      if (!claim) {
        settled(loop, item); // another instance has it, or it changed: it is seen again
        continue;
      }
      ctx.log.event('claimed', { file: claim.arrival.relative, file_id: claim.fileId, attempt: claim.attempts });
      if (!claim.unsettled) {
        members.push({ item, claim });
        continue;
      }
      // Loaded before but not moved: finished alone (nothing to load).
      try {
        await processFile(ctx, claim);
        settled(loop, item);
      } catch (error) {
        await failed(loop, item, claim, error);
      }
    }
    if (members.length === 0) return;
    const result = await processGroup(ctx, dataset, members.map((m) => m.claim));
    for (const [index, { item, claim }] of members.entries()) {
      const outcome = result.outcomes[index];
      if (outcome === 'deferred') {
        // Its content is in this group: it comes again alone, after the commit, as a duplicate.
        queue.alone.add(item.file);
        queue.retryLater(item.file, 0, requeue, item);
      } else if (outcome) {
        settled(loop, item);
      } else {
        if (result.alone.includes(index)) queue.alone.add(item.file);
        await failed(loop, item, claim, result.errors[index]);
      }
    }
  } finally {
    await group.release();
  }
}

function settled(loop: Loop, item: StableFile): void {
  loop.failures.delete(item.file);
  loop.queue.alone.delete(item.file);
  loop.queue.done(item.file);
}

/**
 * An infrastructure or held error: the file is left where it is and looked at again after a
 * backoff; a file deleted while in hand closes its ledger row instead.
 */
async function failed(loop: Loop, item: StableFile, claim: Claim | null, error: unknown): Promise<void> {
  const { ctx, queue, requeue, failures } = loop;
  const relative = relativeToInput(ctx.config.folders.input, item.file);
  if (claim && (await vanished(item.file))) {
    // Deleted from input/ while in hand. Before the commit nothing was loaded (the transaction
    // rolled back): the row is closed as vanished. After it, the load stands: the row is settled.
    const closed = await closeVanished(claim.client, claim.fileId, errorMessage(error)).catch(() => null);
    const loaded = closed === 'loaded';
    ctx.log.event('vanished', {
      file: relative,
      file_id: claim.fileId,
      reason: loaded ? 'deleted from input/ after its rows were loaded; nothing to archive' : 'deleted from input/ before it was loaded; nothing was loaded',
    });
    settled(loop, item);
    return;
  }
  const attempt = Math.max(claim?.attempts ?? 0, (failures.get(item.file) ?? 0) + 1);
  failures.set(item.file, attempt);
  let kind = classify(error);
  if (kind === 'transient' && isFileSystemError(error) && attempt >= HOLD_AFTER_ATTEMPTS) kind = 'held';
  const { retryInitialMs, retryMaxMs } = ctx.config.processing;
  const delay = kind === 'held' ? retryMaxMs : backoffDelay(attempt, retryInitialMs, retryMaxMs);
  const reason = errorMessage(error);
  ctx.log.event(kind === 'held' ? 'held' : 'retrying', {
    file: relative,
    file_id: claim?.fileId ?? null,
    attempt,
    reason,
    next_delay_ms: delay,
  });
  if (kind === 'transient' && !isKnownTransient(error) && !isFileSystemError(error)) {
    // Not a known infrastructure error: the stack helps find a bug (LOADBAY_LOG_LEVEL=debug).
    ctx.log.debug(`unexpected error processing ${relative}`, { stack: (error as Error).stack });
  }
  if (claim) {
    await recordAttemptError(claim.client, claim.fileId, kind, reason).catch(() => undefined);
  }
  queue.retryLater(item.file, delay, requeue, item);
}
