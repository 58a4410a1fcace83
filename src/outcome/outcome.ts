/**
 * Where a file's outcome is decided: for each — loaded, skipped, failed, deferred, retrying, held,
 * vanished — the ledger is written, the file moved by its source, and exactly one typed event
 * emitted (the conversion log, metrics, console, notifications and tests listen to those).
 *
 * The ledger learns of a failure before the file moves (should that update fail, the file is still
 * in input/ and simply fails again; the other order could leave a quarantined file whose ledger row
 * says "processing" for ever); a loaded file is moved first and then marked settled (a crash in
 * between finds the ledger saying loaded: the file is moved, not loaded again: `recover`).
 */
import { createHash } from 'node:crypto';
import type { Claim } from '../claim/claim.js';
import type { Dataset } from '../config/types.js';
import { closeVanished, markLoadedSettled, markSettled, recordAttemptError } from '../db/files.js';
import { recordQuarantined } from '../db/quarantine.js';
import { classify, DataError, errorMessage, holdsWhenRepeated, isFileSystemError, isKnownTransient, s3RefusedReason } from '../errors.js';
import type { LoadedEvent } from '../events.js';
import { fsyncPath } from '../lib/fs-now.js';
import { backoffDelay } from '../lib/sleep.js';
import type { LoadContext } from '../load/context.js';
import { digestOf, droppedOf, type Member } from '../load/member.js';
import { retireParquet, retireSuperseded } from '../load/reconcile.js';
import type { Arrival } from '../source/source.js';
import { ledgerPath } from '../source/places.js';

/** The statement_timeout loadbay's sessions run with. */
async function statementTimeout(claim: Claim | null): Promise<string> {
  if (!claim) return 'unknown';
  const { rows } = await claim.client.query<{ statement_timeout: string }>('SHOW statement_timeout');
  return rows[0]?.statement_timeout ?? 'unknown';
}

/**
 * A file the system will not let loadbay read or move (permissions, a read-only or full target), a
 * load cancelled each time, a request S3 refuses as sent (errors.ts `holdsWhenRepeated`) is retried
 * with backoff like any infrastructure error, and from this attempt on reported as `held` with the
 * reason, at the slow interval, until someone fixes it.
 */
export const HOLD_AFTER_ATTEMPTS = 5;

const fileRef = (claim: Claim) => ({ file: claim.arrival.relative, ...inputOf(claim.arrival), file_id: claim.fileId, attempt: claim.attempts });

/** An arrival of any input but the first local folder says which (`input`: the folder or s3:// prefix). */
export function inputOf(arrival: Arrival): { input?: string } {
  return arrival.id === arrival.relative ? {} : { input: arrival.source.name };
}

/** A member that ended before its unit's commit: quarantined, skipped or deferred (a retry is the worker's). */
export async function settleMember(ctx: LoadContext, member: Member, dataset: Dataset | null, started: number): Promise<void> {
  const { claim } = member;
  if (member.state === 'failed') await failed(ctx, claim, dataset, member.error as DataError, started);
  else if (member.state === 'skipped') await skipped(ctx, member, dataset!, started);
  else if (member.state === 'deferred') {
    ctx.log.event('deferred', { ...fileRef(claim), dataset: dataset!.name, reason: errorMessage(member.error) });
  }
}

/** A data error: the file to the quarantine with its report, the ledger told first. */
export async function failed(ctx: LoadContext, claim: Claim, dataset: Dataset | null, error: DataError, started: number): Promise<void> {
  const { arrival } = claim;
  // A file refused before it was read (no dataset matched) is hashed now: its report names its content too.
  const digest: DataError['digest'] = error.digest ?? (error.stage === 'route' && !arrival.source.refusal(arrival) ? await digestOfArrival(arrival).catch(() => null) : null);
  const details = { fileId: claim.fileId, sha256: digest?.sha256 ?? null, bytes: digest?.bytes ?? null, read: digest?.read };
  const quarantined = await arrival.source.quarantine(arrival, dataset?.name ?? null, error, details, (report) =>
    markSettled(claim.client, claim.fileId, 'failed', { dataset: dataset?.name ?? null, sha256: digest?.sha256 ?? null, error: report }),
  );
  ctx.log.event('failed', {
    ...fileRef(claim),
    dataset: dataset?.name ?? null,
    stage: error.stage,
    reason: error.message,
    problem_count: error.problemCount,
    problems: error.problems.slice(0, 5),
    ...(digest?.read ? { read: digest.read } : {}),
    quarantined_as: quarantined,
    duration_ms: Date.now() - started,
  });
}

/** Its content was loaded before (on_duplicate: skip): archived, nothing loaded. */
async function skipped(ctx: LoadContext, member: Member, dataset: Dataset, started: number): Promise<void> {
  const { claim } = member;
  const digest = digestOf(member);
  const earlier = member.earlier!;
  await claim.arrival.source.archive(claim.arrival, dataset, true);
  await markSettled(claim.client, claim.fileId, 'skipped', { dataset: dataset.name, sha256: digest.sha256, duplicateOf: earlier });
  ctx.log.event('skipped', {
    ...fileRef(claim),
    dataset: dataset.name,
    reason: `same content as file ${earlier}, already loaded`,
    duplicate_of: earlier,
    bytes: digest.bytes,
    duration_ms: Date.now() - started,
  });
}

/**
 * Committed: each file archived (its folder made durable once for all), the ledger told in one
 * statement, then each file's `loaded` line. A file that cannot be moved now stays `staged` with
 * the error (the worker retries it; its ledger row says loaded, so it is moved, not loaded again).
 */
export async function settleLoaded(ctx: LoadContext, dataset: Dataset, staged: Member[], started: number): Promise<void> {
  if (staged.length === 0) return;
  const moves = await Promise.all(
    staged.map((member) =>
      member.claim.arrival.source.archive(member.claim.arrival, dataset, false).then(
        (moved) => ({ member, moved }),
        (error: unknown) => {
          member.state = 'retry';
          member.error = error;
          return null;
        },
      ),
    ),
  );
  const settled = moves.filter((m) => m !== null);
  try {
    const folders = new Set(settled.flatMap(({ moved }) => (moved.folder ? [moved.folder] : [])));
    await Promise.all([...folders].map((folder) => fsyncPath(folder)));
    await markLoadedSettled(staged[0]!.claim.client, settled.map(({ member }) => member.claim.fileId));
  } catch (error) {
    for (const { member } of settled) Object.assign(member, { state: 'retry', error });
    return;
  }
  // The Parquet files of the loads these replaced leave the folder, which again holds the table's rows.
  const retired = staged.flatMap((m) => m.retired);
  await retireParquet(staged[0]!.claim.client, ctx.places, retired).catch((error: unknown) =>
    ctx.log.warn(`retiring ${retired.length} superseded Parquet file(s): ${errorMessage(error)}; done at the next start`),
  );
  for (const { member, moved } of settled) {
    member.state = 'loaded';
    try {
      reportLoaded(ctx, member, dataset, started, staged.length, moved.changed !== null);
      const part = { rows: member.rows, digest: digestOf(member) };
      if (moved.changed) await quarantineChanged(ctx, member.claim, dataset, part, moved.changed);
      else if (moved.archived) {
        member.claim.arrival.source.watchArchived(moved.archived, member.claim.arrival, () => {
          void quarantineChanged(ctx, member.claim, dataset, part, moved.archived!).catch((error: unknown) =>
            ctx.log.warn(`after loading ${member.claim.arrival.relative}: ${errorMessage(error)}`),
          );
        });
      }
    } catch (error) {
      ctx.log.warn(`after loading ${member.claim.arrival.relative}: ${errorMessage(error)}`);
    }
    // After the commit, not awaited: exports of one target coalesce, and a failure does not undo the load.
    void ctx.exports.after(ctx.config.exports, { dataset: dataset.name, file: member.claim.arrival.relative, file_id: member.claim.fileId });
  }
}

function reportLoaded(ctx: LoadContext, member: Member, dataset: Dataset, started: number, group: number, changed: boolean): void {
  const { claim } = member;
  const dropped = droppedOf(member);
  const rejected = member.checked!.problems.rejected;
  const event: LoadedEvent = {
    ...fileRef(claim),
    dataset: dataset.name,
    rows: member.rows,
    ...(dropped.null_rows || dropped.duplicate_rows ? { dropped } : {}),
    ...(rejected ? { rejected, rejects: member.rejectsFile ? ledgerPath(ctx.places, member.rejectsFile) : '' } : {}),
    bytes: digestOf(member).bytes,
    ...(digestOf(member).read ? { read: digestOf(member).read } : {}),
    duration_ms: Date.now() - started,
    parquet: ledgerPath(ctx.places, member.parquetPath!),
    table: `${dataset.table.schema}.${dataset.table.name}`,
    ...(dataset.table.mode !== 'append' ? { mode: dataset.table.mode } : {}),
    ...(member.earlier ? { duplicate_of: member.earlier } : {}),
    ...(changed ? { changed_after_read: true as const } : {}),
    ...(group > 1 ? { group } : {}),
    stage_seconds: member.seconds,
  };
  ctx.log.event('loaded', event);
}

/**
 * A producer went on writing after the file was read: the part read stands (loaded); the grown
 * file goes to the quarantine with what was and was not loaded.
 */
async function quarantineChanged(ctx: LoadContext, claim: Claim, dataset: Dataset, part: { rows: number; digest: { sha256: string; bytes: number } }, at: string): Promise<void> {
  const message =
    `the file changed after it was read: its first ${part.digest.bytes} bytes (sha256 ${part.digest.sha256.slice(0, 12)}…, ` +
    `${part.rows} rows) were loaded as file ${claim.fileId}; what was added was not loaded. ` +
    'Deliver new data as a new file, written under a temporary name and renamed into input/ when complete';
  const error = new DataError('settle', message, [{ rule: 'changed after it was read', message }]);
  const details = { fileId: claim.fileId, sha256: part.digest.sha256, bytes: part.digest.bytes };
  // The loaded row learns the report: the console finds quarantined files through the ledger.
  const quarantined = await claim.arrival.source.quarantine(claim.arrival, dataset.name, error, details, (report) => recordQuarantined(ctx.pool, claim.fileId, report), at);
  ctx.log.event('failed', {
    ...fileRef(claim),
    dataset: dataset.name,
    stage: 'settle',
    reason: message,
    problem_count: 1,
    quarantined_as: quarantined,
  });
}

/** The ledger says this arrival was loaded but loadbay stopped before moving it: finish that. */
export async function recover(ctx: LoadContext, claim: Claim, started: number): Promise<void> {
  const row = claim.unsettled!;
  const dataset = ctx.config.datasets.find((d) => d.name === row.dataset);
  const { sha256 } = await digestOfArrival(claim.arrival);
  if (!dataset || sha256 !== row.sha256) {
    // Not the content that was loaded: close the old record; the next claim starts a new one.
    await markLoadedSettled(claim.client, [claim.fileId]);
    throw new Error(`the file in ${claim.arrival.source.name} differs from the loaded one with the same name; it will be processed anew`);
  }
  await claim.arrival.source.archive(claim.arrival, dataset, true);
  await markLoadedSettled(claim.client, [claim.fileId]);
  await retireSuperseded(ctx.pool, ctx.places, ctx.log); // what its commit replaced, if the crash came first
  ctx.log.event('loaded', {
    ...fileRef(claim),
    dataset: dataset.name,
    rows: Number(row.rows),
    recovered: true,
    duration_ms: Date.now() - started,
    parquet: row.parquet_path,
  });
  // The load's exports may not have run before the crash: run them now.
  void ctx.exports.after(ctx.config.exports, { dataset: dataset.name, file: claim.arrival.relative, file_id: claim.fileId });
}

/** The arrival's content read whole: its sha256 and size. */
async function digestOfArrival(arrival: Arrival): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of arrival.source.open(arrival).stream()) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

/**
 * An infrastructure or held error: the file is left where it is, the ledger row notes why, and a
 * `retrying` or `held` event says when it is looked at again (returned, in ms). A file gone from
 * its source while in hand closes its ledger row as `vanished` instead (null returned).
 */
export async function retry(ctx: LoadContext, arrival: Arrival, claim: Claim | null, error: unknown, attempt: number, atLeastMs = 0): Promise<number | null> {
  // A source that cannot be asked now (an object store down) is not told to be gone: the error stands.
  if (claim && (await arrival.source.state(arrival).catch(() => 'unknown')) === 'gone') {
    // Before the commit nothing was loaded (the transaction rolled back): the row is closed as
    // vanished. After it, the load stands: the row is settled.
    const closed = await closeVanished(claim.client, claim.fileId, errorMessage(error)).catch(() => null);
    ctx.log.event('vanished', {
      file: arrival.relative,
      ...inputOf(arrival),
      file_id: claim.fileId,
      reason:
        closed === 'loaded'
          ? `deleted from ${arrival.source.name} after its rows were loaded; nothing to archive`
          : `deleted from ${arrival.source.name} before it was loaded; nothing was loaded`,
    });
    return null;
  }
  let kind = classify(error);
  let reason = errorMessage(error);
  const repeated = kind === 'transient' && attempt >= HOLD_AFTER_ATTEMPTS ? holdsWhenRepeated(error) : null;
  if (repeated !== null) kind = 'held';
  if (repeated === 'statement-timeout') {
    // Cancelled again and again: not an administrator's one-off cancel but a statement_timeout
    // shorter than this file's load. Only someone can mend that; the file waits, saying what to raise.
    reason = `${reason}: cancelled on each of ${attempt} attempts; statement_timeout is ${await statementTimeout(claim).catch(() => 'unknown')} for loadbay's connections — raise it for loadbay's role (ALTER ROLE … SET statement_timeout = …) or leave it unset`;
  } else if (repeated === 's3-refused') {
    reason = s3RefusedReason(error, attempt);
  }
  const { retryInitialMs, retryMaxMs } = ctx.config.processing;
  const delay = Math.max(atLeastMs, kind === 'held' ? retryMaxMs : backoffDelay(attempt, retryInitialMs, retryMaxMs));
  ctx.log.event(kind === 'held' ? 'held' : 'retrying', { file: arrival.relative, ...inputOf(arrival), file_id: claim?.fileId ?? null, attempt, reason, next_delay_ms: delay });
  if (kind === 'transient' && !isKnownTransient(error) && !isFileSystemError(error)) {
    // Not a known infrastructure error: the stack helps find a bug (LOADBAY_LOG_LEVEL=debug).
    ctx.log.debug(`unexpected error processing ${arrival.relative}`, { stack: (error as Error).stack });
  }
  if (claim) await recordAttemptError(claim.client, claim.fileId, kind, reason).catch(() => undefined);
  return delay;
}
