/**
 * A loaded file whose producer went on writing after it had stood still for the stability window:
 * its size and mtime are checked right before the move, on the moved file, and once more a little
 * later (a producer holding the descriptor writes into the archived copy). A changed file is not
 * archived as if all of it were loaded: it goes to output_failed/ with a report of what was loaded.
 */
import { lstatSync } from 'node:fs';
import path from 'node:path';
import type { Arrival } from '../claim/claim.js';
import type { Config, Dataset } from '../config/types.js';
import { DataError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { archive, quarantine, settledFolder } from './settle.js';

export interface SettleContext {
  config: Config;
  /** This instance: temporary names carry it. */
  instanceId: string;
  log: Logger;
  /** Aborts when the daemon stops: the later look is dropped. */
  signal: AbortSignal;
}

/** What was read and loaded of the file. */
export interface ReadPart {
  rows: number;
  digest: { sha256: string; bytes: number };
}

/**
 * Archives (or deletes) a loaded file, unless it changed after it was read: a producer that went on
 * writing after the file had stood still for the stability window. Its size and mtime are checked
 * right before the move and again on the moved file. A changed file is returned (where it is now)
 * instead of being archived as if all of it had been loaded. `folder`: the folder a move changed;
 * with `syncFolder` false the caller fsyncs it (once for several files) before relying on the move.
 */
export async function settleLoaded(
  ctx: SettleContext,
  dataset: Dataset,
  arrival: Arrival,
  syncFolder = true,
): Promise<{ changed: string | null; archived: string | null; folder: string | null }> {
  if (await changedSince(arrival.file, arrival)) return { changed: arrival.file, archived: null, folder: null };
  const archived = await archive(ctx.config, dataset, arrival.file, arrival.relative, syncFolder);
  const folder = settledFolder(arrival.file, archived);
  if (archived && (await changedSince(archived, arrival))) return { changed: archived, archived: null, folder };
  return { changed: null, archived, folder };
}

/** True when the file's size or mtime is no longer what it was when it was read. */
export async function changedSince(file: string, arrival: Arrival): Promise<boolean> {
  const now = lstatSync(file); // synchronous: see lib/fs-now.ts
  return now.size !== arrival.size || now.mtimeMs !== arrival.mtimeMs;
}

/**
 * A producer that still holds the file open writes on into the archived copy (a rename does not
 * close its descriptor). The archived file is looked at once more a little later; grown, it leaves
 * archive/ for output_failed/ with the report of what was and was not loaded.
 */
export const ARCHIVE_RECHECK_MS = 2000;

export function watchArchived(ctx: SettleContext, dataset: Dataset, archived: string, arrival: Arrival, result: ReadPart, base: { file: string; file_id: string }): void {
  // A file finished during a stop: its later look is dropped like the others (an abort listener
  // added now would never run, and the timer would outlive the daemon).
  if (ctx.signal.aborted) return;
  const delay = Math.max(ARCHIVE_RECHECK_MS, 4 * ctx.config.processing.stableWindowMs);
  const timer = setTimeout(() => {
    ctx.signal.removeEventListener('abort', cancel);
    void (async () => {
      if (!(await changedSince(archived, arrival))) return;
      await quarantineChanged(ctx, dataset, archived, result, base);
    })().catch((error: unknown) => ctx.log.warn(`checking ${path.relative(ctx.config.root, archived)} again: ${errorMessage(error)}`));
  }, delay);
  const cancel = () => clearTimeout(timer);
  ctx.signal.addEventListener('abort', cancel, { once: true });
}

/** The loaded part stands; the grown file goes to output_failed/ with what was and was not loaded. */
export async function quarantineChanged(ctx: SettleContext, dataset: Dataset, file: string, result: ReadPart, base: { file: string; file_id: string }): Promise<void> {
  const now = lstatSync(file);
  const message =
    `the file changed after it was read: its first ${result.digest.bytes} bytes (sha256 ${result.digest.sha256.slice(0, 12)}…, ` +
    `${result.rows} rows) were loaded as file ${base.file_id}; it now has ${now.size} bytes, and what was added was not loaded. ` +
    'Deliver new data as a new file, written under a temporary name and renamed into input/ when complete';
  const error = new DataError('settle', message, [{ rule: 'changed after it was read', message }]);
  const details = { fileId: base.file_id, sha256: result.digest.sha256, bytes: result.digest.bytes };
  const { path: quarantined } = await quarantine(ctx, dataset.name, file, base.file, error, details);
  ctx.log.event('failed', {
    ...base,
    dataset: dataset.name,
    stage: 'settle',
    reason: message,
    problem_count: 1,
    quarantined_as: path.relative(ctx.config.root, quarantined),
  });
}

