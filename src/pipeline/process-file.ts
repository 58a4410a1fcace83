/**
 * One claimed file, start to finish: route → read → prepare → validate → write Parquet + COPY into
 * PostgreSQL (one transaction, with the ledger row) → settle. Data errors end in quarantine here;
 * infrastructure and held errors are thrown to the worker, which leaves the file and retries.
 */
import { createHash } from 'node:crypto';
import { createReadStream, lstatSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import type { Config, Dataset } from '../config/types.js';
import type { Claim } from '../claim/claim.js';
import { loadedWithContent, markLoaded, markLoadedSettled, markSettled, recordParquetPaths } from '../db/files.js';
import { contentError, DataError, HeldError } from '../errors.js';
import type { Logger } from '../log.js';
import { route } from '../route/route.js';
import { archive, quarantine } from '../settle/settle.js';
import { changedSince, quarantineChanged, settleLoaded, watchArchived } from '../settle/changed.js';
import { checkFile, verdict, type CheckedBatch, type CheckedFile } from '../validate/check.js';
import type { Locator } from '../read/types.js';
import type { Lineage } from '../write/arrow.js';
import { FileOutputs } from '../write/outputs.js';
import type { CopySink } from '../write/parquet.js';
import { LoadTransaction } from '../write/transaction.js';
import { runChecks } from '../write/checks.js';
import { afterCopy, beforeCopy } from '../write/modes.js';
import { fileConstants } from '../prepare/prepare.js';
import { ensureTable, qualifiedTable, startCopy, type CopyLoad } from '../write/postgres.js';
import { encodeCopyBinary } from '../write/copy-binary.js';
import type { Exports } from '../settle/export.js';

export interface PipelineContext {
  config: Config;
  pool: pg.Pool;
  log: Logger;
  instanceId: string;
  /** Datasets whose table was created or checked by this process; cleared when a load says otherwise. */
  verifiedTables: Set<string>;
  /** Aborts when the daemon stops: checks scheduled after a settle are dropped. */
  signal: AbortSignal;
  /** Runs the exports a load triggers. */
  exports: Exports;
}

/** SQLSTATEs that mean the table changed under us: check it again before the next attempt. */
export const TABLE_CHANGED = new Set(['42P01', '42703', '42804']);

export type Outcome = 'loaded' | 'failed' | 'skipped';

/** Creates or checks the dataset's table once per process (again after a load says it changed). */
export async function verifyTable(ctx: PipelineContext, dataset: Dataset): Promise<void> {
  if (ctx.verifiedTables.has(dataset.name)) return;
  const added = await ensureTable(ctx.pool, dataset);
  if (added.length > 0) {
    const table = `${dataset.table.schema}.${dataset.table.name}`;
    ctx.log.info(`evolve: added column${added.length > 1 ? 's' : ''} ${added.join(', ')} to ${table}`, { dataset: dataset.name });
  }
  ctx.verifiedTables.add(dataset.name);
}

export async function processFile(ctx: PipelineContext, claim: Claim): Promise<Outcome> {
  const started = Date.now();
  let dataset: Dataset | null = null;
  try {
    if (claim.unsettled) return await finishUnsettled(ctx, claim, started);
    dataset = await routeFile(ctx, claim);
    let result: LoadResult;
    try {
      result = await load(ctx, claim, dataset);
    } catch (error) {
      if (TABLE_CHANGED.has((error as { code?: string }).code ?? '')) ctx.verifiedTables.delete(dataset.name);
      throw error;
    }
    return await settleLoad(ctx, claim, dataset, result, started);
  } catch (error) {
    if (!(error instanceof DataError)) throw error;
    return await failFile(ctx, claim, dataset, error, started);
  }
}

/** The file's dataset (a symbolic link or a name no dataset matches is a data error); its table made or checked. */
export async function routeFile(ctx: PipelineContext, claim: Claim): Promise<Dataset> {
  const stat = lstatSync(claim.arrival.file); // synchronous: see lib/fs-now.ts
  if (stat.isSymbolicLink()) {
    throw new DataError('route', 'symbolic links are not followed; drop the file itself', [
      { rule: 'symlink', message: 'the path is a symbolic link' },
    ]);
  }
  const dataset = route(ctx.config.datasets, claim.arrival.relative);
  await verifyTable(ctx, dataset);
  return dataset;
}

/** After the commit: the file archived (or skipped as a duplicate), its ledger row settled, its line logged, exports run. */
export async function settleLoad(ctx: PipelineContext, claim: Claim, dataset: Dataset, result: LoadResult, started: number): Promise<Outcome> {
  const { arrival } = claim;
  const base = { file: arrival.relative, file_id: claim.fileId, attempt: claim.attempts };
  const digest = result.digest;
  if (result.duplicateOf) {
    await archive(ctx.config, dataset, arrival.file, arrival.relative);
    await markSettled(claim.client, claim.fileId, 'skipped', { dataset: dataset.name, sha256: digest.sha256, duplicateOf: result.duplicateOf });
    ctx.log.event('skipped', {
      ...base,
      dataset: dataset.name,
      reason: `same content as file ${result.duplicateOf}, already loaded`,
      duplicate_of: result.duplicateOf,
      bytes: digest.bytes,
      duration_ms: Date.now() - started,
    });
    return 'skipped';
  }
  const moved = await settleLoaded(ctx, dataset, arrival);
  await markLoadedSettled(claim.client, [claim.fileId]);
  await reportLoaded(ctx, claim, dataset, result, started, moved);
  return 'loaded';
}

/**
 * After the ledger says settled: the `loaded` line (`group`: how many files shared the
 * transaction), then a file that changed after it was read quarantined with what was loaded of it
 * (or the archived one looked at again a little later), and the exports the load triggers.
 */
export async function reportLoaded(
  ctx: PipelineContext,
  claim: Claim,
  dataset: Dataset,
  result: LoadResult,
  started: number,
  moved: { changed: string | null; archived: string | null },
  group = 1,
): Promise<void> {
  const { arrival } = claim;
  const base = { file: arrival.relative, file_id: claim.fileId, attempt: claim.attempts };
  const { changed, archived } = moved;
  ctx.log.event('loaded', {
    ...base,
    dataset: dataset.name,
    rows: result.rows,
    ...(result.dropped.null_rows || result.dropped.duplicate_rows ? { dropped: result.dropped } : {}),
    ...(result.rejected.rows ? { rejected: result.rejected.rows, rejects: path.relative(ctx.config.root, result.rejected.file ?? '') } : {}),
    bytes: result.digest.bytes,
    duration_ms: Date.now() - started,
    parquet: path.relative(ctx.config.root, result.parquetPath),
    table: `${dataset.table.schema}.${dataset.table.name}`,
    ...(dataset.table.mode !== 'append' ? { mode: dataset.table.mode } : {}),
    ...(result.duplicateOfLoaded ? { duplicate_of: result.duplicateOfLoaded } : {}),
    ...(changed ? { changed_after_read: true } : {}),
    ...(group > 1 ? { group } : {}),
    stage_seconds: result.stageSeconds,
  });
  if (changed) await quarantineChanged(ctx, dataset, changed, result, base);
  else if (archived) watchArchived(ctx, dataset, archived, arrival, result, base);
  // After the commit, not awaited: exports of one target coalesce, and a failure does not undo the load.
  void ctx.exports.after(ctx.config.exports, { dataset: dataset.name, file: arrival.relative, file_id: claim.fileId });
}

/** A data error: the file to output_failed/ with its report, the ledger told first, the line logged. */
export async function failFile(ctx: PipelineContext, claim: Claim, dataset: Dataset | null, error: DataError, started: number): Promise<Outcome> {
  const { arrival } = claim;
  const base = { file: arrival.relative, file_id: claim.fileId, attempt: claim.attempts };
  const digest = error.digest;
  const details = { fileId: claim.fileId, sha256: digest?.sha256 ?? null, bytes: digest?.bytes ?? null };
  // The ledger learns of the failure before the file moves: should that update fail, the file is
  // still in input/ and simply fails again; the other order could leave a quarantined file whose
  // ledger row says "processing" forever.
  const { path: quarantined } = await quarantine(ctx, dataset?.name ?? null, arrival.file, arrival.relative, error, details, (report) =>
    markSettled(claim.client, claim.fileId, 'failed', { dataset: dataset?.name ?? null, sha256: digest?.sha256 ?? null, error: report }),
  );
  ctx.log.event('failed', {
    ...base,
    dataset: dataset?.name ?? null,
    stage: error.stage,
    reason: error.message,
    problem_count: error.problemCount,
    problems: error.problems.slice(0, 5),
    quarantined_as: path.relative(ctx.config.root, quarantined),
    duration_ms: Date.now() - started,
  });
  return 'failed';
}

export interface LoadResult {
  rows: number;
  /** Seconds per stage, for the `loaded` event (and the stage-duration histograms). */
  stageSeconds: StageSeconds;
  /** on_duplicate: load — the earlier load of the same content, loaded again on purpose. */
  duplicateOfLoaded?: string | null;
  rejected: { rows: number; file: string | null };
  dropped: { null_rows: number; duplicate_rows: number };
  digest: { sha256: string; bytes: number };
  parquetPath: string;
  duplicateOf: string | null;
}

/** The load itself: open the transaction → stage the file in it (`stageLoad`) → COMMIT. */
async function load(ctx: PipelineContext, claim: Claim, dataset: Dataset): Promise<LoadResult> {
  const tx = await LoadTransaction.begin(ctx.pool);
  const sent = new SentRows();
  let committed = false;
  try {
    const result = await stageLoad(ctx, tx, claim, dataset, sent);
    if (result.duplicateOf) return result;
    const started = performance.now();
    await tx.commit();
    committed = true;
    result.stageSeconds.commit = Math.round(result.stageSeconds.commit * 1000 + performance.now() - started) / 1000;
    return result;
  } catch (error) {
    throw rejectedByDatabase(error, dataset, sent, claim.arrival.relative) ?? error;
  } finally {
    // On any failure the connection is dropped: the server rolls back.
    if (!committed) tx.abort();
  }
}

/**
 * One file into an open transaction, as its stages: open the outputs → stream the checked batches
 * into COPY and Parquet → the file's verdict, and whether it changed or was loaded before → end
 * COPY, table modes, after-load SQL and checks → outputs into place and the ledger row; not
 * committed. With `whole` (files sharing a transaction), the file is checked to its end and judged
 * before its COPY starts, so a data error never interrupts a COPY. On any failure the outputs are
 * removed; the caller rolls the transaction (or a savepoint) back.
 */
export async function stageLoad(
  ctx: PipelineContext,
  tx: LoadTransaction,
  claim: Claim,
  dataset: Dataset,
  sent: SentRows,
  whole: { staged: Set<string> } | null = null,
): Promise<LoadResult> {
  const { arrival } = claim;
  const clock = stageClock();
  let outputs: FileOutputs | null = null;
  let staged = false;
  try {
    const lineage = { fileId: claim.fileId, sourceFile: arrival.relative };
    const checked = checkArrival(ctx, claim, dataset);
    outputs = await openOutputs(ctx, claim, dataset, checked.locator);
    const groupKey = (sha256: string) => `${dataset.name}\u0000${sha256}`;
    /** Read to its end: changed since it was seen? Its content loaded before (the earlier file id)? */
    const lookAgain = async (): Promise<string | null> => {
      await throwIfChanged(claim);
      const { sha256 } = checked.digest();
      // The same content earlier in this transaction is not committed yet, so the duplicate check
      // cannot see it: this file waits for the group and comes again alone.
      if (whole?.staged.has(groupKey(sha256))) throw new DeferError('the same content is being loaded in this group');
      // On the claim's connection: this one may be in the middle of its COPY.
      return loadedWithContent(claim.client, dataset.name, sha256);
    };
    const skipped = (earlier: string): LoadResult => ({
      rows: 0,
      stageSeconds: clock.seconds,
      rejected: { rows: 0, file: null },
      dropped: droppedOf(checked.stats),
      digest: checked.digest(),
      parquetPath: '',
      duplicateOf: earlier,
    });

    let batches: AsyncIterable<CheckedBatch> = checked.batches;
    let earlier: string | null = null;
    if (whole) {
      const all = await readWhole(checked);
      throwVerdict(checked, dataset, all.reduce((n, b) => n + (b.loadable ? b.typed.length : 0), 0));
      earlier = await lookAgain();
      if (earlier && dataset.onDuplicate === 'skip') return skipped(earlier);
      batches = (async function* () {
        yield* all;
      })();
    }
    const copy = startCopy(tx.client, dataset, await beforeCopy(tx.client, dataset));
    const rows = await streamRows(checked, batches, copy, outputs, sent, lineage);
    clock.lap('read_validate');
    if (!whole) {
      throwVerdict(checked, dataset, rows);
      void outputs.finish(); // the Parquet thread ends the file while COPY ends and the checks run
      earlier = await lookAgain();
      if (earlier && dataset.onDuplicate === 'skip') return skipped(earlier);
    }
    const digest = checked.digest();
    await finishTable(tx, copy, dataset, claim, checked.locator, rows);
    clock.lap('copy');
    await outputs.finish();
    clock.lap('parquet');

    // A deliberate second load of the same content (on_duplicate: load) must not overwrite the first's file.
    const parquetPath = outputs.parquetPath(digest.sha256, earlier ? claim.fileId : null);
    // Recorded (outside the transaction) before the rename, so start-up recovery can tell an
    // orphan of an uncommitted load from a file another instance is about to commit.
    await recordParquetPaths(claim.client, [{ fileId: claim.fileId, parquetPath: path.relative(ctx.config.root, parquetPath) }]);
    // In a group, the Parquet folder is fsync'd once for all its files, before the COMMIT.
    const rejectsFile = await outputs.commit(parquetPath, checked.problems.rejected, !whole);
    await markLoaded(tx.client, [{
      fileId: claim.fileId,
      dataset: dataset.name,
      sha256: digest.sha256,
      rows,
      table: qualifiedTable(dataset),
      parquetPath: path.relative(ctx.config.root, parquetPath),
      duplicateOf: earlier,
    }]);
    clock.lap('commit');
    whole?.staged.add(groupKey(digest.sha256));
    staged = true;
    return {
      rows,
      stageSeconds: clock.seconds,
      rejected: { rows: checked.problems.rejected, file: rejectsFile },
      dropped: droppedOf(checked.stats),
      digest,
      parquetPath,
      duplicateOf: null,
      duplicateOfLoaded: earlier,
    };
  } finally {
    if (!staged) await outputs?.abort();
  }
}

/**
 * The file's Parquet file (and rejects file, under `on_invalid_row: skip_row`), open under
 * temporary names. `copy`: the Parquet thread encodes the rows for COPY too, and hands them there
 * (outputs.ts).
 */
export function openOutputs(ctx: PipelineContext, claim: Claim, dataset: Dataset, locator: Locator, copy?: CopySink): Promise<FileOutputs> {
  return FileOutputs.open({
    parquetDir: path.join(ctx.config.folders.parquet, dataset.name),
    rejectsDir: dataset.onInvalidRow === 'skip_row' ? path.join(ctx.config.folders.failed, dataset.name) : null,
    relative: claim.arrival.relative,
    columns: dataset.columns,
    lineage: { fileId: claim.fileId, sourceFile: claim.arrival.relative },
    locator,
    tag: `${ctx.instanceId}.${claim.fileId}`,
    compression: ctx.config.parquet,
    copy,
  });
}

/** A file of a group, routed again: a data error as for any file, or its dataset gone from under the group (it comes again). */
export async function routeMember(ctx: PipelineContext, claim: Claim, dataset: Dataset): Promise<void> {
  const routed = await routeFile(ctx, claim);
  if (routed !== dataset) throw new Error(`${claim.arrival.relative} is no longer routed to dataset "${dataset.name}"; it will be processed again`);
}

/** The file read, prepared and checked batch by batch (a small one in one read: `size`). */
export function checkArrival(ctx: PipelineContext, claim: Claim, dataset: Dataset): CheckedFile {
  const { arrival } = claim;
  const options = { batchRows: ctx.config.processing.batchRows, limits: ctx.config.limits, size: arrival.size };
  return checkFile(arrival.file, arrival.relative, dataset, options, dataset.onInvalidRow === 'skip_row');
}

/** Read to its end, the file must still be as it was seen; if not, it is read again later. */
export async function throwIfChanged(claim: Claim): Promise<void> {
  if (await changedSince(claim.arrival.file, claim.arrival)) throw new Error('the file changed while it was being read; it will be read again');
}

/** A file that cannot be loaded in this group (its content is already in it): it comes again alone. */
export class DeferError extends Error {}

/** Every checked batch of a file (a small one: files that share a transaction are bounded in size). */
export async function readWhole(checked: CheckedFile): Promise<CheckedBatch[]> {
  const all: CheckedBatch[] = [];
  try {
    for await (const batch of checked.batches) all.push(batch);
  } catch (error) {
    throw contentError(error, 'read', `after ${checked.locator} ${all.at(-1)?.typed.numbers.at(-1) ?? 0}`);
  }
  return all;
}

/** The file's verdict after its last batch: the data error that rejects it, thrown. */
export function throwVerdict(checked: CheckedFile, dataset: Dataset, rows: number): void {
  const rejection = verdict(checked, dataset, rows);
  if (rejection) {
    rejection.digest = checked.digest();
    throw rejection;
  }
}

/**
 * read → prepare → validate, batch by batch, into COPY and Parquet at once (rejected records to
 * the rejects file); returns the rows sent. Reading goes on after the file is known to be rejected,
 * to count its problems.
 */
async function streamRows(checked: CheckedFile, source: AsyncIterable<CheckedBatch>, copy: CopyLoad, outputs: FileOutputs, sent: SentRows, lineage: Lineage): Promise<number> {
  const locator = checked.locator;
  const batches = source[Symbol.asyncIterator]();
  let rows = 0;
  let last = 0;
  for (;;) {
    let next: IteratorResult<CheckedBatch>;
    try {
      next = await batches.next();
    } catch (error) {
      throw contentError(error, 'read', `after ${locator} ${last}`);
    }
    if (next.done) return rows;
    const batch = next.value;
    await outputs.reject(batch.rejected, batch.originals);
    const { typed } = batch;
    if (!batch.loadable || typed.length === 0) continue;
    const span = `${locator}s ${typed.numbers[0]}–${typed.numbers[typed.length - 1]}`;
    last = typed.numbers[typed.length - 1]!;
    let encoded: Buffer;
    try {
      encoded = encodeCopyBinary(typed, lineage);
    } catch (error) {
      throw contentError(error, 'load', span);
    }
    sent.add(rows, typed.numbers);
    rows += typed.length;
    // COPY is encoded first: the Parquet thread takes the vectors' buffers over.
    const written = outputs.write(typed).catch((error: unknown) => Promise.reject(contentError(error, 'load', span)));
    await Promise.all([written, copy.write(encoded)]);
  }
}

/** The table's side after the rows: COPY ends, the table mode applies, after-load SQL (models), checks. */
async function finishTable(tx: LoadTransaction, copy: CopyLoad, dataset: Dataset, claim: Claim, locator: Locator, rows: number): Promise<void> {
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

/** Where a load's time went: read → prepare → validate → COPY write (overlapping), then the ends. */
export interface StageSeconds {
  /** Reading, preparing, validating and sending the rows (COPY and Parquet run alongside). */
  read_validate: number;
  /** Waiting for COPY to end and the after-load SQL and checks. */
  copy: number;
  /** Waiting for the Parquet file to be finished. */
  parquet: number;
  /** Ledger update and COMMIT. */
  commit: number;
}

/** Remembers where the last few batches sent to COPY came from, to name a row PostgreSQL rejects. */
export class SentRows {
  private readonly batches: Array<{ first: number; numbers: ArrayLike<number> }> = [];
  add(first: number, numbers: ArrayLike<number>): void {
    this.batches.push({ first, numbers });
    if (this.batches.length > 16) this.batches.shift();
  }
  /** COPY line (1-based) → line or record number in the file, when still remembered. */
  source(copyLine: number): number | undefined {
    const index = copyLine - 1;
    const batch = this.batches.find((b) => index >= b.first && index < b.first + b.numbers.length);
    return batch?.numbers[index - batch.first];
  }
}

/**
 * A value the table itself refuses (a CHECK or NOT NULL constraint, a unique index, a value out of
 * range: SQLSTATE classes 22 and 23) is the file's fault: a data error at the load stage.
 */
export function rejectedByDatabase(error: unknown, dataset: Dataset, sent: SentRows, file: string): DataError | null {
  const pgError = error as { code?: string; message?: string; where?: string; column?: string; constraint?: string };
  if (typeof pgError.code !== 'string' || !/^2[23]/.test(pgError.code)) return null;
  // Another instance committed the same content first: not the file's fault; the retry skips it.
  if (pgError.constraint === 'files_loaded_content_idx' || pgError.constraint === 'files_first_load_idx') return null;
  const copyLine = Number(/COPY [^,]+, line (\d+)/.exec(pgError.where ?? '')?.[1]);
  const number = Number.isFinite(copyLine) ? sent.source(copyLine) : undefined;
  const locator = dataset.format === 'json' ? 'record' : 'line';
  const column = pgError.column ?? /column (\S+?):/.exec(pgError.where ?? '')?.[1];
  const rule = `postgres ${pgError.code}${pgError.constraint ? ` (${pgError.constraint})` : ''}: ${pgError.message}`;
  const where = number !== undefined ? `${locator} ${number}` : `row ${copyLine || '?'} of ${file}`;
  const message = `PostgreSQL rejected ${where}${column ? `, field "${column}"` : ''}: ${pgError.message}`;
  return new DataError('load', message, [
    { ...(number !== undefined ? { [locator]: number } : {}), ...(column ? { field: column } : {}), rule, message },
  ]);
}

export function stageClock() {
  const seconds: StageSeconds = { read_validate: 0, copy: 0, parquet: 0, commit: 0 };
  let last = performance.now();
  return {
    seconds,
    lap(stage: keyof StageSeconds) {
      const now = performance.now();
      seconds[stage] = Math.round(now - last) / 1000;
      last = now;
    },
  };
}

export function droppedOf(stats: { droppedNullRows: number; droppedDuplicateRows: number }) {
  return { null_rows: stats.droppedNullRows, duplicate_rows: stats.droppedDuplicateRows };
}

/** The ledger says this arrival was loaded but loadbay stopped before moving it: finish that. */
async function finishUnsettled(ctx: PipelineContext, claim: Claim, started: number): Promise<Outcome> {
  const row = claim.unsettled!;
  const dataset = ctx.config.datasets.find((d) => d.name === row.dataset);
  const sha256 = await hashFile(claim.arrival.file);
  if (!dataset || sha256 !== row.sha256) {
    // Not the content that was loaded: close the old record; the next claim starts a new one.
    await markLoadedSettled(claim.client, [claim.fileId]);
    throw new Error('the file in input/ differs from the loaded one with the same name; it will be processed anew');
  }
  await archive(ctx.config, dataset, claim.arrival.file, claim.arrival.relative);
  await markLoadedSettled(claim.client, [claim.fileId]);
  ctx.log.event('loaded', {
    file: claim.arrival.relative,
    file_id: claim.fileId,
    dataset: dataset.name,
    rows: Number(row.rows),
    recovered: true,
    duration_ms: Date.now() - started,
    parquet: row.parquet_path,
  });
  // The load's exports may not have run before the crash: run them now.
  void ctx.exports.after(ctx.config.exports, { dataset: dataset.name, file: claim.arrival.relative, file_id: claim.fileId });
  return 'loaded';
}


function hashFile(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(hash.digest('hex')))
      .on('error', reject);
  });
}
