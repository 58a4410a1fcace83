/**
 * The table's side of a load: the table made or checked before the first file of a dataset, and,
 * after a file's rows went into COPY, COPY ended and counted, the table mode applied, the
 * after-load SQL and the checks run — all inside the load's transaction.
 */
import path from 'node:path';
import type pg from 'pg';
import type { Claim } from '../claim/claim.js';
import type { CompiledDataset } from '../compile.js';
import { HeldError } from '../errors.js';
import { fileConstants } from '../prepare/prepare.js';
import type { Locator } from '../read/types.js';
import { runChecks } from '../write/checks.js';
import { afterCopy } from '../write/modes.js';
import type { CopyLoad } from '../write/copy-in.js';
import { COLUMNS_SQL, ensureTable, qualifiedTable, tableDifferences, type ExistingColumn } from '../write/postgres.js';
import type { LoadTransaction } from '../write/transaction.js';
import type { LoadContext } from './context.js';

/**
 * SQLSTATEs that mean the table changed under us (dropped — with its schema: 3F000 —, a column
 * gone or retyped): check it again before the next attempt.
 */
export const TABLE_CHANGED = new Set(['42P01', '3F000', '42703', '42804']);

/** Forgets that a dataset's table was checked when `error` says it changed. */
export function forgetTableOn(ctx: LoadContext, dataset: CompiledDataset, error: unknown): void {
  if (TABLE_CHANGED.has((error as { code?: string }).code ?? '')) ctx.verifiedTables.delete(dataset.name);
}

/** Creates or checks the dataset's table once per process (again after a load says it changed). */
export async function verifyTable(ctx: LoadContext, dataset: CompiledDataset): Promise<void> {
  if (ctx.verifiedTables.has(dataset.name)) return;
  const added = await ensureTable(ctx.pool, dataset, ctx.config.processing.lockTimeoutMs);
  if (added.length > 0) {
    const table = `${dataset.table.schema}.${dataset.table.name}`;
    ctx.log.info(`evolve: added column${added.length > 1 ? 's' : ''} ${added.join(', ')} to ${table}`, { dataset: dataset.name });
  }
  ctx.verifiedTables.add(dataset.name);
}

/**
 * First in a load's transaction, before any row: the table locked against changes and its columns
 * compared with what the rows are encoded for. COPY BINARY sends each value in the binary form of
 * the column type loadbay knows, so a column whose type was changed behind loadbay's back would
 * read those bytes as another type (a double's bytes as a bigint): such a table holds the dataset
 * with the column, the type the rows are encoded for and the table's type now. ROW EXCLUSIVE (what
 * COPY takes anyway) makes an ALTER TABLE wait for this load, so what was compared is what COPY
 * meets. A lock not granted within `processing.lock_timeout_ms` fails with 55P03: the dataset waits
 * (work/worker.ts), instead of this worker.
 */
export async function lockTable(tx: LoadTransaction, dataset: CompiledDataset, lockTimeoutMs: number): Promise<void> {
  const table = qualifiedTable(dataset);
  // Replacing loads of one table take turns: under READ COMMITTED a second transaction's DELETE
  // does not see the rows a first one has inserted but not committed, so two files loaded at once
  // would both keep their rows. Before the lock timeout: waiting for another load of the same
  // table is not waiting for a stranger's lock.
  if (dataset.table.mode === 'replace') await tx.client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`loadbay:replace:${table}`]);
  const literal = `'${table.replace(/'/g, "''")}'`;
  // One round trip: the timeout, the lock, the columns as they are now.
  const results = (await tx.client.query(
    `SET LOCAL lock_timeout = ${Math.floor(lockTimeoutMs)}; LOCK TABLE ${table} IN ROW EXCLUSIVE MODE; ${COLUMNS_SQL.replace('$1', literal)}`,
  )) as unknown as Array<{ rows: ExistingColumn[] }>;
  const differences = tableDifferences(dataset, table, results[2]!.rows);
  if (differences.length > 0) {
    throw new HeldError(`the table changed behind loadbay's back, nothing was loaded: ${differences.join('; ')}`);
  }
}

/**
 * Who holds a lock on the dataset's table that a load would wait for: for the reason its dataset
 * waits. Sessions, not their queries (another application's SQL may hold what a log must not).
 */
export async function lockHolders(pool: pg.Pool, dataset: CompiledDataset): Promise<string> {
  const table = qualifiedTable(dataset);
  const { rows } = await pool.query<{ pid: number; mode: string; application: string | null; seconds: number | null }>(
    `SELECT l.pid, l.mode, nullif(a.application_name, '') AS application,
            extract(epoch FROM now() - coalesce(a.xact_start, a.query_start))::int AS seconds
       FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'relation' AND l.relation = to_regclass($1) AND l.granted AND l.pid <> pg_backend_pid()
        AND l.mode IN ('ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock')
      ORDER BY seconds DESC NULLS LAST LIMIT 3`,
    [table],
  );
  const who = rows.map((r) => `pid ${r.pid}${r.application ? ` (${r.application})` : ''} holds ${r.mode}${r.seconds !== null ? ` for ${r.seconds} s` : ''}`);
  return `table ${table} is locked by another session${who.length ? `: ${who.join('; ')}` : ' (a row lock or a lock released since)'}`;
}

/** After a file's rows: COPY ends, the table mode applies, after-load SQL (models), checks. */
export async function finishTable(tx: LoadTransaction, copy: CopyLoad, dataset: CompiledDataset, claim: Claim, locator: Locator, rows: number): Promise<void> {
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
