/**
 * The load: a unit of one or more claimed files of one dataset, loaded in one transaction. Every
 * file goes through the same stages (`stage`): route → read, prepare and check → judge (changed
 * since seen? its content already loaded, or already in this unit?) → rows into COPY and Parquet →
 * the table's side (COPY's end, the mode, after-load SQL, checks). Then, for the files staged, the
 * unit's end: their Parquet files recorded in the ledger (outside the transaction, before their
 * renames, so recovery knows their owner), renamed, their folder made durable, their ledger rows
 * marked loaded, COMMIT — and the outcome module settles them.
 *
 * How a unit loads (`LoadPlan`) is what differs between one file and several:
 * - one file streams: its rows go to COPY while it is read, its verdict comes after its last row;
 * - several files share the transaction: each is read and judged to its end before its rows go in,
 *   so a bad file never interrupts a COPY, and each is quarantined with the report it gets alone;
 *   - appended without SQL after it, their rows share one COPY, encoded by the Parquet thread;
 *   - otherwise each file has its own COPY inside a SAVEPOINT, to be rolled back alone.
 * A row the table refuses, or content loaded before, cannot be taken out of a shared COPY: the
 * transaction is dropped and the files still pending load again one savepoint each.
 *
 * Exactly once: before the COMMIT nothing of the unit is durable; after it, every loaded file's
 * ledger row says loaded, and a file not yet moved is finished at its next claim, not reloaded.
 */
import type { CompiledDataset } from '../compile.js';
import { isObjectWhere, joinWhere, ledgerPath } from '../source/places.js';
import { loadedWithContents, markLoaded, recordParquetPaths, supersede } from '../db/files.js';
import { DataError } from '../errors.js';
import { fsyncPath } from '../lib/fs-now.js';
import { settleLoaded, settleMember } from '../outcome/outcome.js';
import type { CheckedBatch } from '../validate/check.js';
import { beforeCopy } from '../write/modes.js';
import type { CopyLoad } from '../write/copy-in.js';
import { qualifiedTable, startCopy } from '../write/postgres.js';
import { LoadTransaction } from '../write/transaction.js';
import type { LoadContext } from './context.js';
import { CopyFeed } from './copy-feed.js';
import { judgeDelivery, scopeOf } from './deliveries.js';
import {
  checkMember,
  digestOf,
  loadableRows,
  openOutputs,
  readWhole,
  resetMember,
  sendRows,
  stageClock,
  throwVerdict,
  zeroSeconds,
  type Member,
} from './member.js';
import { rejectedByDatabase, SentRows } from './refused.js';
import { finishTable, forgetTableOn, lockTable, verifyTable } from './table.js';
import { route } from '../route/route.js';

export interface LoadPlan {
  /** Each file is read and judged to its end before its rows go to COPY. */
  judgeFirst: boolean;
  /** One COPY for every file's rows, encoded by the Parquet thread; else a COPY per file. */
  sharedCopy: boolean;
  /** Each file in its own SAVEPOINT, so one that fails after its rows went in is taken out alone. */
  savepoints: boolean;
}

const ONE_FILE: LoadPlan = { judgeFirst: false, sharedCopy: false, savepoints: false };
const SHARED_COPY: LoadPlan = { judgeFirst: true, sharedCopy: true, savepoints: false };
const SAVEPOINTS: LoadPlan = { judgeFirst: true, sharedCopy: false, savepoints: true };

/** One COPY serves several files only when a file's load is nothing but its rows: appended, no SQL after it. */
export function sharesCopy(dataset: CompiledDataset): boolean {
  return dataset.table.mode === 'append' && dataset.afterLoad.length === 0 && dataset.checks.length === 0;
}

export function planFor(dataset: CompiledDataset | null, files: number): LoadPlan {
  if (dataset === null || files === 1) return ONE_FILE;
  return sharesCopy(dataset) ? SHARED_COPY : SAVEPOINTS;
}

/**
 * Loads the unit: each member ends loaded, failed, skipped or deferred (settled by the outcome
 * module), or retry (its error says why); an infrastructure error of the unit itself is thrown,
 * leaving the members it caught pending or staged. `dataset`: what the files were routed to when
 * the unit was formed (null when that failed: the file's own route says why).
 */
export async function loadUnit(ctx: LoadContext, dataset: CompiledDataset | null, members: Member[], started: number): Promise<void> {
  const plan = planFor(dataset, members.length);
  const fallback = await new UnitLoad(ctx, dataset, plan, started).run(members);
  if (fallback === null) return;
  ctx.log.debug(`${members.length} ${dataset?.name} files: one savepoint per file (${fallback})`);
  const pending = members.filter((m) => m.state === 'pending' || m.state === 'staged');
  for (const member of pending) await resetMember(member);
  await new UnitLoad(ctx, dataset, SAVEPOINTS, started).run(pending);
}

/** A shared COPY cannot go on: the unit loads again one savepoint per file. */
class Fallback extends Error {}

class UnitLoad {
  private tx: LoadTransaction | null = null;
  private copy: CopyLoad | null = null;
  private feed: CopyFeed | null = null;
  /** Rows in the shared COPY so far. */
  private copied = 0;
  private committed = false;
  /** Contents (sha256) of the files whose rows go into this transaction. */
  private readonly contents = new Set<string>();

  constructor(
    private readonly ctx: LoadContext,
    private readonly dataset: CompiledDataset | null,
    private readonly plan: LoadPlan,
    private readonly started: number,
  ) {}

  /** Returns why a shared COPY gave up (the caller loads the rest by savepoints), or null. */
  async run(members: Member[]): Promise<string | null> {
    let staged: Member[] = [];
    try {
      for (const [index, member] of members.entries()) await this.stageMember(member, index);
      staged = members.filter((m) => m.state === 'staged');
      if (staged.length === 0) return null;
      const dataset = this.dataset!;
      if (this.plan.sharedCopy) await this.endSharedCopy(dataset, staged);
      await this.commit(dataset, staged);
    } catch (error) {
      if (this.dataset) forgetTableOn(this.ctx, this.dataset, error);
      if (error instanceof Fallback) return error.message;
      // A row the table refuses: loaded one savepoint per file, the refusing file is found.
      const refused = this.plan.sharedCopy && this.dataset ? rejectedByDatabase(error, this.dataset, new SentRows(), 'the files') : null;
      if (refused) return refused.message;
      throw error;
    } finally {
      if (!this.committed) {
        this.feed?.close();
        this.tx?.abort();
        await Promise.all(members.map((m) => (m.state === 'staged' || m.state === 'pending' ? m.outputs?.abort() : undefined)));
      }
    }
    await settleLoaded(this.ctx, this.dataset!, staged, this.started);
    return null;
  }

  /** The stages of one file; a data error (or a change) settles it alone, anything else ends the unit. */
  private async stageMember(member: Member, index: number): Promise<void> {
    const savepoint = this.plan.savepoints ? `file_${index}` : null;
    try {
      await this.stage(member, savepoint);
    } catch (error) {
      const dataError =
        error instanceof DataError ? error : this.plan.sharedCopy ? null : rejectedByDatabase(error, this.dataset!, member.sent, member.claim.arrival.relative);
      if (!dataError) throw error;
      member.state = 'failed';
      member.error = dataError;
    }
    if (member.state === 'staged') return;
    await this.takeOut(member, savepoint);
    try {
      await settleMember(this.ctx, member, member.routed ? this.dataset : null, this.started);
    } catch (error) {
      // Not quarantined or archived (a full disk, say): the file is left and comes again.
      member.state = 'retry';
      member.error = error;
    }
  }

  private async stage(member: Member, savepoint: string | null): Promise<void> {
    const { ctx, plan } = this;
    const dataset = await this.route(member);
    const clock = stageClock(member.seconds);
    const checked = (member.checked = checkMember(ctx, member, dataset));
    let batches: AsyncIterable<CheckedBatch> = checked.batches;
    if (plan.judgeFirst) {
      const all = await readWhole(checked);
      throwVerdict(checked, dataset, loadableRows(all));
      if (await this.judge(member, dataset)) return;
      batches = (async function* () {
        yield* all;
      })();
    }
    const tx = await this.transaction(dataset);
    if (savepoint) await tx.savepoint(savepoint);
    member.inTransaction = true;
    if (plan.sharedCopy) this.copy ??= startCopy(tx.client, dataset, await beforeCopy(tx.client, dataset));
    const feed = plan.sharedCopy ? (this.feed ??= new CopyFeed(this.copy!)) : null;
    await feed?.room();
    const copy = feed ?? startCopy(tx.client, dataset, await beforeCopy(tx.client, dataset));
    try {
      member.outputs = await openOutputs(ctx, member, dataset, feed ?? undefined);
      member.rows = await sendRows(member, batches, copy);
      this.copied += member.rows;
      clock.lap('read_validate');
      if (!plan.judgeFirst) {
        throwVerdict(checked, dataset, member.rows);
        void member.outputs.finish(); // the Parquet thread ends the file while COPY ends and the checks run
        if (await this.judge(member, dataset)) return;
      }
      if (feed) {
        void member.outputs.finish(); // written while the next file is read
      } else {
        await finishTable(tx, copy as CopyLoad, dataset, member.claim, checked.locator, member.rows);
        clock.lap('copy');
        await member.outputs.finish();
        clock.lap('parquet');
      }
    } catch (error) {
      // Taken out by its savepoint: a COPY still open would keep ROLLBACK TO waiting behind it.
      if (savepoint && !feed) await (copy as CopyLoad).abort(`${member.claim.arrival.relative} was taken out of the load`);
      throw error;
    }
    if (savepoint) await tx.release(savepoint);
    member.state = 'staged';
  }

  /** The file's dataset (a data error when none, or a symbolic link); its table made or checked. */
  private async route(member: Member): Promise<CompiledDataset> {
    const { arrival } = member.claim;
    const refusal = arrival.source.refusal(arrival);
    if (refusal) throw refusal;
    const dataset = route(this.ctx.config.datasets, arrival.relative);
    member.routed = true;
    await verifyTable(this.ctx, dataset);
    if (dataset !== this.dataset) throw new Error(`${arrival.relative} is no longer routed to dataset "${this.dataset?.name}"; it will be processed again`);
    return dataset;
  }

  /**
   * Read to its end: is it still as it was seen, is its content already in this unit, was it
   * loaded before? True when the file ends here (retry, deferred or skipped).
   */
  private async judge(member: Member, dataset: CompiledDataset): Promise<boolean> {
    const { arrival } = member.claim;
    if (!arrival.source.versionedReads && (await arrival.source.state(arrival)) !== 'same') {
      member.state = 'retry';
      member.error = new Error('the file changed while it was being read; it will be read again');
      return true;
    }
    const { sha256 } = digestOf(member);
    // Not committed yet, so the ledger cannot see it: the file waits and comes again alone.
    if (this.contents.has(sha256)) {
      member.state = 'deferred';
      member.error = new Error('its content is being loaded by another file of the same group; it comes again alone');
      return true;
    }
    this.contents.add(sha256);
    if (this.plan.sharedCopy) return false; // asked once for all at the end
    member.scope = scopeOf(dataset, arrival.relative);
    const verdict = await judgeDelivery(member.claim.client, dataset, sha256, member.scope);
    member.earlier = verdict.skipAs ?? verdict.earlier;
    if (verdict.skipAs) {
      member.state = 'skipped';
      return true;
    }
    return false;
  }

  /** A file that ends otherwise than staged takes what it put into the transaction with it. */
  private async takeOut(member: Member, savepoint: string | null): Promise<void> {
    await member.outputs?.abort();
    if (!member.inTransaction) return;
    member.inTransaction = false;
    if (savepoint) {
      try {
        await this.tx!.rollbackTo(savepoint);
      } catch (error) {
        // The connection would not take it (after a refused COPY, say): the unit is retried, this file alone.
        member.alone = true;
        throw error;
      }
      return;
    }
    if (this.plan.sharedCopy) throw new Fallback(`${member.claim.arrival.relative} cannot be taken out of the shared COPY`);
    // A unit of one: its transaction goes with it.
    this.tx?.abort();
    this.tx = null;
  }

  /** The unit's transaction, begun with its table locked and checked (table.ts `lockTable`). */
  private async transaction(dataset: CompiledDataset): Promise<LoadTransaction> {
    if (this.tx) return this.tx;
    this.tx = await LoadTransaction.begin(this.ctx.pool);
    try {
      await lockTable(this.tx, dataset, this.ctx.config.processing.lockTimeoutMs);
    } catch (error) {
      this.ctx.verifiedTables.delete(dataset.name); // checked again (and evolved) before the next attempt
      throw error;
    }
    return this.tx;
  }

  /** All rows in: COPY ends and is counted; one question for every file's earlier loads. */
  private async endSharedCopy(dataset: CompiledDataset, staged: Member[]): Promise<void> {
    const seconds = zeroSeconds();
    const clock = stageClock(seconds);
    await this.feed!.written();
    const count = await this.copy!.end();
    if (count !== this.copied) throw new Error(`COPY reported ${count} rows, ${this.copied} were sent`);
    clock.lap('copy');
    const earlier = await loadedWithContents(staged[0]!.claim.client, dataset.name, staged.map((m) => digestOf(m).sha256));
    if (dataset.onDuplicate === 'skip' && staged.some((m) => earlier.has(digestOf(m).sha256))) {
      throw new Fallback('a file of the group has content loaded before');
    }
    for (const member of staged) {
      member.earlier = earlier.get(digestOf(member).sha256) ?? null;
      member.seconds.copy = seconds.copy;
    }
  }

  /** The staged files' Parquet files into place and their ledger rows loaded, then COMMIT. */
  private async commit(dataset: CompiledDataset, staged: Member[]): Promise<void> {
    const seconds = zeroSeconds();
    const clock = stageClock(seconds);
    await Promise.all(staged.map((m) => m.outputs!.finish()));
    clock.lap('parquet');
    const relative = (where: string) => ledgerPath(this.ctx.places, where);
    for (const member of staged) {
      // A deliberate second load of the same content (on_duplicate: load) must not overwrite the first's file.
      member.parquetPath = member.outputs!.parquetPath(digestOf(member).sha256, member.earlier ? member.claim.fileId : null);
    }
    // Outside the transaction, before the renames (or uploads): start-up recovery tells an orphan
    // of an uncommitted load from a file another instance is about to commit (reconcile.ts, s3/sweep.ts).
    await recordParquetPaths(
      staged[0]!.claim.client,
      staged.map((m) => ({ fileId: m.claim.fileId, parquetPath: relative(m.parquetPath!) })),
    );
    // Settled all, then the first failure: an upload still in flight when its unit is dropped
    // would escape `abort()`.
    const placed = await Promise.allSettled(staged.map((m) => m.outputs!.commit(m.parquetPath!, m.checked!.problems.rejected, false)));
    for (const [i, result] of placed.entries()) {
      if (result.status === 'rejected') throw result.reason;
      staged[i]!.rejectsFile = result.value;
    }
    const parquetDir = joinWhere(this.ctx.config.folders.parquet, dataset.name);
    if (!isObjectWhere(parquetDir)) await fsyncPath(parquetDir);
    const tx = this.tx!;
    await markLoaded(
      tx.client,
      staged.map((m) => ({
        fileId: m.claim.fileId,
        dataset: dataset.name,
        sha256: digestOf(m).sha256,
        rows: m.rows,
        table: qualifiedTable(dataset),
        parquetPath: relative(m.parquetPath!),
        duplicateOf: m.earlier,
        scope: m.scope,
      })),
    );
    // In the files' order: a later file of the unit replaces an earlier one of the same scope.
    for (const member of staged) {
      if (member.scope !== null) member.retired = await supersede(tx.client, dataset.name, member.scope, member.claim.fileId);
    }
    for (const member of staged) member.outputs!.committed();
    await tx.commit();
    this.committed = true;
    clock.lap('commit');
    for (const member of staged) {
      if (this.plan.judgeFirst) member.seconds.parquet = seconds.parquet;
      member.seconds.commit = seconds.commit;
    }
  }
}
