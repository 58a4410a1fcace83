/**
 * A worker: a small loop that takes a finished file from the queue, claims it, processes it, and on
 * an infrastructure or held error parks it with jittered exponential backoff (the file itself is
 * not touched). After pg-boss's worker: no hot loop, nothing thrown out of it.
 */
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { claimFile, type Claim } from '../claim/claim.js';
import type { WorkQueue } from '../claim/queue.js';
import { closeVanished, recordAttemptError } from '../db/files.js';
import { classify, errorMessage, isKnownTransient, isFileSystemError } from '../errors.js';
import { backoffDelay } from '../lib/sleep.js';
import { processFile, type PipelineContext } from './process-file.js';

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

export async function runWorker(ctx: PipelineContext, queue: WorkQueue, requeue: (file: string) => void): Promise<void> {
  const failures = new Map<string, number>();
  for (;;) {
    const item = await queue.take();
    if (!item) return;
    const relative = relativeToInput(ctx.config.folders.input, item.file);
    let claim: Claim | null = null;
    try {
      claim = await claimFile(ctx.pool, { file: item.file, relative, size: item.size, mtimeMs: item.mtimeMs }, ctx.instanceId);
      if (claim) {
        ctx.log.event('claimed', { file: relative, file_id: claim.fileId, attempt: claim.attempts });
        await processFile(ctx, claim);
      }
      failures.delete(item.file);
      queue.done(item.file);
    } catch (error) {
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
        failures.delete(item.file);
        queue.done(item.file);
        await claim.release();
        continue;
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
    } finally {
      await claim?.release();
    }
  }
}
