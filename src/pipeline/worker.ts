/**
 * A worker: a small loop that takes a finished file from the queue, claims it, processes it, and on
 * an infrastructure or held error parks it with jittered exponential backoff (the file itself is
 * not touched). After pg-boss's worker: no hot loop, nothing thrown out of it.
 */
import path from 'node:path';
import { claimFile, type Claim } from '../claim/claim.js';
import type { WorkQueue } from '../claim/queue.js';
import { LEDGER_SCHEMA } from '../db/ledger.js';
import { classify, errorMessage, isKnownTransient } from '../errors.js';
import { backoffDelay } from '../lib/sleep.js';
import { processFile, type PipelineContext } from './process-file.js';

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
      if (claim) await processFile(ctx, claim);
      failures.delete(item.file);
      queue.done(item.file);
    } catch (error) {
      const kind = classify(error);
      const attempt = claim?.attempts ?? (failures.get(item.file) ?? 0) + 1;
      failures.set(item.file, attempt);
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
      if (kind === 'transient' && !isKnownTransient(error)) {
        // Not a known infrastructure error: log the stack so a bug does not hide behind retries.
        ctx.log.error(`unexpected error processing ${relative}`, { stack: (error as Error).stack });
      }
      if (claim) {
        await claim.client
          .query(`UPDATE ${LEDGER_SCHEMA}.files SET error = $2, updated_at = now() WHERE id = $1`, [
            claim.fileId,
            JSON.stringify({ kind, reason }),
          ])
          .catch(() => undefined);
      }
      queue.retryLater(item.file, delay, requeue);
    } finally {
      await claim?.release();
    }
  }
}
