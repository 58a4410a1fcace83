/**
 * Several small files of one dataset that are ready at the same time, loaded in one transaction:
 * each staged inside its own SAVEPOINT (checked to its end before its COPY starts), one COMMIT for
 * all. A file whose data fails rolls back to its savepoint and is quarantined with the same report
 * as when loaded alone; the others commit together. An infrastructure error rolls the whole group
 * back and every file not yet settled is retried, as a single file would be.
 *
 * Exactly once holds as for one file: before the COMMIT nothing of the group is durable (its
 * Parquet files are recorded in the ledger before their rename, so recovery knows their owner);
 * after it, every file's ledger row says loaded and a file not yet moved is finished, not reloaded.
 */
import path from 'node:path';
import type { Claim } from '../claim/claim.js';
import { fsyncDir } from '../settle/move.js';
import type { Dataset } from '../config/types.js';
import { DataError } from '../errors.js';
import { LoadTransaction } from '../write/transaction.js';
import {
  DeferError,
  failFile,
  rejectedByDatabase,
  routeFile,
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
  const outcomes: Array<MemberOutcome | null> = claims.map(() => null);
  const errors: unknown[] = claims.map(() => null);
  const alone: number[] = [];
  const staged: Array<{ index: number; result: LoadResult }> = [];
  let tx: LoadTransaction | null = null;
  let committed = false;
  try {
    tx = await LoadTransaction.begin(ctx.pool);
    const inGroup = { staged: new Set<string>() };
    for (const [index, claim] of claims.entries()) {
      try {
        const routed = await routeFile(ctx, claim);
        if (routed !== dataset) throw new Error(`${claim.arrival.relative} is no longer routed to dataset "${dataset.name}"; it will be processed again`);
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
    if (staged.length > 0) await fsyncDir(path.join(ctx.config.folders.parquet, dataset.name));
    await tx.commit();
    committed = true;
  } catch (error) {
    if (TABLE_CHANGED.has((error as { code?: string }).code ?? '')) ctx.verifiedTables.delete(dataset.name);
    for (const [index, outcome] of outcomes.entries()) if (outcome === null) errors[index] = error;
    return { outcomes, errors, alone };
  } finally {
    if (!committed) tx?.abort();
  }
  // Committed: each file is archived and logged; one that cannot be now is finished at its retry
  // (its ledger row says loaded, so it is moved, not loaded again).
  for (const { index, result } of staged) {
    try {
      outcomes[index] = await settleLoad(ctx, claims[index]!, dataset, result, started, staged.length);
    } catch (error) {
      errors[index] = error;
    }
  }
  return { outcomes, errors, alone };
}
