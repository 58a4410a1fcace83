/**
 * Several small files of one dataset that are ready at the same time, loaded in one transaction.
 * An append dataset's group goes through one COPY (group-copy.ts); any other — or a group that one
 * COPY cannot take (a row the table refuses, content loaded before) — stages each file inside its
 * own SAVEPOINT (checked to its end before its COPY starts), one COMMIT for all. Either way a file
 * whose data fails is quarantined with the same report as when loaded alone and the others commit
 * together; an infrastructure error rolls the group back and every file not yet settled is retried,
 * as a single file would be. After the commit the group is settled together: the files moved, each
 * folder fsync'd once, one ledger update.
 *
 * Exactly once holds as for one file: before the COMMIT nothing of the group is durable (its
 * Parquet files are recorded in the ledger before their rename, so recovery knows their owner);
 * after it, every file's ledger row says loaded and a file not yet moved is finished, not reloaded.
 */
import path from 'node:path';
import type { Claim } from '../claim/claim.js';
import { fsyncPath } from '../lib/fs-now.js';
import type { CompiledDataset as Dataset } from '../compile.js';
import { DataError, errorMessage } from '../errors.js';
import { LoadTransaction } from '../write/transaction.js';
import { markLoadedSettled } from '../db/files.js';
import { settleLoaded } from '../settle/changed.js';
import { loadSharedCopy, sharesCopy } from './group-copy.js';
import {
  DeferError,
  failFile,
  rejectedByDatabase,
  reportLoaded,
  routeMember,
  SentRows,
  settleLoad,
  stageLoad,
  TABLE_CHANGED,
  type LoadResult,
  type Outcome,
  type PipelineContext,
} from './process-file.js';

export type MemberOutcome = Outcome | 'deferred';

export interface GroupResult {
  /** What happened to each claim (by its position); null: not settled, see `errors`. */
  outcomes: Array<MemberOutcome | null>;
  /** Per claim, the infrastructure error that left it unsettled (the group's, or its own after the commit). */
  errors: unknown[];
  /** Claims to try alone next time: the server refused a row of theirs and the group could not go on. */
  alone: number[];
}

export async function processGroup(ctx: PipelineContext, dataset: Dataset, claims: Claim[]): Promise<GroupResult> {
  const started = Date.now();
  const errors: unknown[] = claims.map(() => null);
  const outcomes: Array<MemberOutcome | null> = claims.map(() => null);
  let staged: Array<{ index: number; result: LoadResult }> = [];
  try {
    let rest = claims.map((_, index) => index);
    if (sharesCopy(dataset)) {
      const shared = await loadSharedCopy(ctx, dataset, claims, started, outcomes);
      staged = shared.staged;
      if (shared.fallback) ctx.log.debug(`group of ${claims.length} ${dataset.name} files: one savepoint per file (${shared.fallback})`);
      rest = shared.fallback ? rest.filter((index) => outcomes[index] === null) : [];
    }
    if (rest.length > 0) staged = await loadBySavepoints(ctx, dataset, claims, rest, started, outcomes);
  } catch (error) {
    const cause = error instanceof GroupError ? error.cause : error;
    for (const [index, outcome] of outcomes.entries()) if (outcome === null) errors[index] = cause;
    return { outcomes, errors, alone: error instanceof GroupError ? error.alone : [] };
  }
  await settleGroup(ctx, dataset, claims, staged, started, { outcomes, errors });
  return { outcomes, errors, alone: [] };
}

/** An infrastructure error of the savepoint way, with the files that should come again alone. */
class GroupError extends Error {
  constructor(
    override readonly cause: unknown,
    readonly alone: number[],
  ) {
    super(errorMessage(cause));
  }
}

/**
 * The claims at `indices`, each staged in its own savepoint of one transaction: files settled on
 * the way (quarantined, deferred, skipped as duplicates) get their outcome in `outcomes`; returns
 * the committed ones to settle.
 */
async function loadBySavepoints(
  ctx: PipelineContext,
  dataset: Dataset,
  claims: Claim[],
  indices: number[],
  started: number,
  outcomes: Array<MemberOutcome | null>,
): Promise<Array<{ index: number; result: LoadResult }>> {
  const alone: number[] = [];
  const staged: Array<{ index: number; result: LoadResult }> = [];
  let tx: LoadTransaction | null = null;
  let committed = false;
  try {
    tx = await LoadTransaction.begin(ctx.pool);
    const inGroup = { staged: new Set<string>() };
    for (const index of indices) {
      const claim = claims[index]!;
      try {
        await routeMember(ctx, claim, dataset);
      } catch (error) {
        if (!(error instanceof DataError)) throw error;
        outcomes[index] = await failFile(ctx, claim, null, error, started);
        continue;
      }
      const savepoint = `file_${index}`;
      await tx.savepoint(savepoint);
      const sent = new SentRows();
      try {
        const result = await stageLoad(ctx, tx, claim, dataset, sent, inGroup);
        await tx.release(savepoint);
        if (result.duplicateOf) outcomes[index] = await settleLoad(ctx, claim, dataset, result, started); // skipped: nothing to commit
        else staged.push({ index, result });
      } catch (error) {
        const refused = rejectedByDatabase(error, dataset, sent, claim.arrival.relative);
        const dataError = refused ?? (error instanceof DataError ? error : null);
        if (!dataError && !(error instanceof DeferError)) throw error;
        // The file's own rows and ledger change go; the group goes on. Should the connection not
        // take it (after a refused COPY, say), the group is retried and this file alone.
        try {
          await tx.rollbackTo(savepoint);
        } catch (rollbackError) {
          alone.push(index);
          throw rollbackError;
        }
        if (error instanceof DeferError) outcomes[index] = 'deferred';
        else outcomes[index] = await failFile(ctx, claim, dataset, dataError!, started);
      }
    }
    // The renames of the group's Parquet files made durable at once, before the ledger says loaded.
    if (staged.length > 0) await fsyncPath(path.join(ctx.config.folders.parquet, dataset.name));
    await tx.commit();
    committed = true;
  } catch (error) {
    if (TABLE_CHANGED.has((error as { code?: string }).code ?? '')) ctx.verifiedTables.delete(dataset.name);
    throw new GroupError(error, alone);
  } finally {
    if (!committed) tx?.abort();
  }
  return staged;
}

/**
 * Committed: each file archived (its folder fsync'd once for the group), the ledger told in one
 * statement, then each file's line logged. A file that cannot be moved now is finished at its
 * retry (its ledger row says loaded, so it is moved, not loaded again).
 */
async function settleGroup(
  ctx: PipelineContext,
  dataset: Dataset,
  claims: Claim[],
  staged: Array<{ index: number; result: LoadResult }>,
  started: number,
  into: { outcomes: Array<MemberOutcome | null>; errors: unknown[] },
): Promise<void> {
  if (staged.length === 0) return;
  const moves = await Promise.all(
    staged.map(({ index }) =>
      settleLoaded(ctx, dataset, claims[index]!.arrival, false).then(
        (moved) => ({ moved, error: null }),
        (error: unknown) => ({ moved: null, error }),
      ),
    ),
  );
  const settled: Array<{ index: number; result: LoadResult; moved: NonNullable<(typeof moves)[number]['moved']> }> = [];
  staged.forEach((entry, i) => {
    const { moved, error } = moves[i]!;
    if (moved) settled.push({ ...entry, moved });
    else into.errors[entry.index] = error;
  });
  try {
    const folders = new Set(settled.flatMap(({ moved }) => (moved.folder ? [moved.folder] : [])));
    await Promise.all([...folders].map((folder) => fsyncPath(folder)));
    await markLoadedSettled(claims[0]!.client, settled.map(({ index }) => claims[index]!.fileId));
  } catch (error) {
    for (const { index } of settled) into.errors[index] = error;
    return;
  }
  for (const { index, result, moved } of settled) {
    into.outcomes[index] = 'loaded';
    await reportLoaded(ctx, claims[index]!, dataset, result, started, moved, staged.length).catch((error: unknown) => {
      ctx.log.warn(`after loading ${claims[index]!.arrival.relative}: ${errorMessage(error)}`);
    });
  }
}
