/**
 * The table's side of a load: the table made or checked before the first file of a dataset, and,
 * after a file's rows went into COPY, COPY ended and counted, the table mode applied, the
 * after-load SQL and the checks run — all inside the load's transaction.
 */
import path from 'node:path';
import type { Claim } from '../claim/claim.js';
import type { Dataset } from '../config/types.js';
import { HeldError } from '../errors.js';
import { fileConstants } from '../prepare/prepare.js';
import type { Locator } from '../read/types.js';
import { runChecks } from '../write/checks.js';
import { afterCopy } from '../write/modes.js';
import { ensureTable, type CopyLoad } from '../write/postgres.js';
import type { LoadTransaction } from '../write/transaction.js';
import type { LoadContext } from './context.js';

/** SQLSTATEs that mean the table changed under us: check it again before the next attempt. */
export const TABLE_CHANGED = new Set(['42P01', '42703', '42804']);

/** Forgets that a dataset's table was checked when `error` says it changed. */
export function forgetTableOn(ctx: LoadContext, dataset: Dataset, error: unknown): void {
  if (TABLE_CHANGED.has((error as { code?: string }).code ?? '')) ctx.verifiedTables.delete(dataset.name);
}

/** Creates or checks the dataset's table once per process (again after a load says it changed). */
export async function verifyTable(ctx: LoadContext, dataset: Dataset): Promise<void> {
  if (ctx.verifiedTables.has(dataset.name)) return;
  const added = await ensureTable(ctx.pool, dataset);
  if (added.length > 0) {
    const table = `${dataset.table.schema}.${dataset.table.name}`;
    ctx.log.info(`evolve: added column${added.length > 1 ? 's' : ''} ${added.join(', ')} to ${table}`, { dataset: dataset.name });
  }
  ctx.verifiedTables.add(dataset.name);
}

/** After a file's rows: COPY ends, the table mode applies, after-load SQL (models), checks. */
export async function finishTable(tx: LoadTransaction, copy: CopyLoad, dataset: Dataset, claim: Claim, locator: Locator, rows: number): Promise<void> {
  const copied = await copy.end();
  if (copied !== rows) throw new Error(`COPY reported ${copied} rows, ${rows} were sent`);
  await afterCopy(tx.client, dataset, locator, fileConstants(dataset, path.basename(claim.arrival.relative)));
  // Models first, then the tests, as in dbt: a check may look at what after_load built.
  for (const step of dataset.afterLoad) {
    try {
      await tx.client.query(step.sql);
    } catch (error) {
      // The SQL is configuration: the file is held, not blamed.
      throw new HeldError(`after_load ${step.file} of dataset "${dataset.name}" failed: ${(error as Error).message}`);
    }
  }
  await runChecks(tx.client, dataset, claim.fileId);
}
