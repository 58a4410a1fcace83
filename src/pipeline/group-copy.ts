/**
 * The fast way for a group of small files of an append dataset: one transaction, one COPY for all
 * their rows, one round of ledger writes. Each file is read and checked to its end first (a file
 * whose data fails is quarantined with its own report and its rows never reach COPY), then it
 * goes to the Parquet thread in one message while the next file is read: the thread writes its
 * Parquet file and encodes its rows for COPY, which come back in order and follow the previous
 * file's in the same COPY (CopyFeed; work taken off this thread, the busier one). At the end: COPY
 * ends, one query asks whether any content was loaded before, the Parquet files are recorded,
 * renamed and their folder fsync'd once, the ledger rows say loaded in one statement, COMMIT.
 *
 * Without savepoints a refused row or an earlier load of the same content cannot be taken out of
 * the COPY: the transaction is dropped and the caller loads the files again one savepoint each
 * (process-group.ts), which gives each file the outcome and report it gets alone. Both are rare;
 * the common group pays no savepoint.
 */
import path from 'node:path';
import type { Claim } from '../claim/claim.js';
import type { CompiledDataset as Dataset } from '../compile.js';
import { loadedWithContents, markLoaded, recordParquetPaths } from '../db/files.js';
import { DataError } from '../errors.js';
import { fsyncPath } from '../lib/fs-now.js';
import type { CheckedBatch, CheckedFile } from '../validate/check.js';
import { beforeCopy } from '../write/modes.js';
import { FileOutputs } from '../write/outputs.js';
import type { CopySink } from '../write/parquet.js';
import { qualifiedTable, startCopy, type CopyLoad } from '../write/postgres.js';
import { LoadTransaction } from '../write/transaction.js';
import {
  checkArrival,
  droppedOf,
  failFile,
  openOutputs,
  readWhole,
  rejectedByDatabase,
  routeMember,
  SentRows,
  stageClock,
  TABLE_CHANGED,
  throwIfChanged,
  throwVerdict,
  type LoadResult,
  type PipelineContext,
} from './process-file.js';
import type { MemberOutcome } from './process-group.js';

/** One COPY serves a group only when a file's load is nothing but its rows: appended, no SQL after it. */
export function sharesCopy(dataset: Dataset): boolean {
  return dataset.table.mode === 'append' && dataset.afterLoad.length === 0 && dataset.checks.length === 0;
}

export interface SharedCopyResult {
  /** Committed: the files to settle, with what was loaded of each. */
  staged: Array<{ index: number; result: LoadResult }>;
  /** Not committed, and why: the files still without an outcome go the savepoint way. */
  fallback: string | null;
}

/**
 * Rows sent to the Parquet thread and not yet in COPY before the group's next file waits: a few
 * dozen small files' worth. It bounds the batches waiting in the thread and the encoded rows
 * waiting for PostgreSQL (~12 MB for 33 columns), and lets COPY pace the reading, as it did when
 * the rows were encoded here.
 */
const MAX_ROWS_AHEAD = 20_000;

/**
 * The group's COPY, fed with rows the Parquet thread encodes (outputs.ts `copy`): they come back
 * batch after batch in the order the batches were written and go into COPY in that order. Every
 * batch written brings its rows or the thread's failure, so waiting for them always ends.
 */
class CopyFeed implements CopySink {
  private writes: Promise<void> = Promise.resolve();
  private sent = 0;
  private settled = 0;
  private rowsAhead = 0;
  private failure: unknown = null;
  private closed = false;
  private wake: (() => void) | null = null;
  constructor(private readonly copy: CopyLoad) {}

  /** A batch of `count` rows is being written (its rows will come back). */
  expect(count: number): void {
    this.sent++;
    this.rowsAhead += count;
  }

  rows(encoded: Buffer, count: number): void {
    if (this.closed) return; // the load was dropped
    this.writes = this.writes.then(async () => {
      await this.copy.write(encoded);
      this.rowsAhead -= count;
      this.settled++;
      this.poke();
    });
    this.writes.catch((error: unknown) => this.fail(error));
  }

  failed(error: Error): void {
    this.fail(error);
  }

  /**
   * Between files (nothing of the group held back by its writer then): waits while too many rows
   * are on their way; throws COPY's or the thread's error.
   */
  async room(): Promise<void> {
    while (this.rowsAhead >= MAX_ROWS_AHEAD && this.failure === null) await this.change();
    if (this.failure !== null) throw this.failure;
  }

  /** Once every file of the group is finishing: all rows in COPY; throws COPY's or the thread's error. */
  async written(): Promise<void> {
    while (this.settled < this.sent && this.failure === null) await this.change();
    if (this.failure !== null) throw this.failure;
  }

  close(): void {
    this.closed = true;
  }

  private fail(error: unknown): void {
    this.failure ??= error;
    this.poke();
  }

  private change(): Promise<void> {
    return new Promise<void>((resolve) => (this.wake = resolve));
  }

  private poke(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}

interface Member {
  index: number;
  claim: Claim;
  outputs: FileOutputs;
  rows: number;
  rejected: number;
  digest: { sha256: string; bytes: number };
  dropped: LoadResult['dropped'];
  readSeconds: number;
}

/**
 * Files settled on the way — quarantined (`failed`) or `deferred` — get their outcome in `outcomes`
 * (also when an infrastructure error is thrown later); the others stay null.
 */
export async function loadSharedCopy(
  ctx: PipelineContext,
  dataset: Dataset,
  claims: Claim[],
  started: number,
  outcomes: Array<MemberOutcome | null>,
): Promise<SharedCopyResult> {
  const members: Member[] = [];
  const inGroup = new Set<string>();
  const sent = new SentRows();
  let tx: LoadTransaction | null = null;
  let copy: CopyLoad | null = null;
  let feed: CopyFeed | null = null;
  let copied = 0;
  let committed = false;
  try {
    for (const [index, claim] of claims.entries()) {
      const clock = stageClock();
      let routed = false;
      let checked: CheckedFile;
      let all: CheckedBatch[];
      try {
        await routeMember(ctx, claim, dataset);
        routed = true;
        checked = checkArrival(ctx, claim, dataset);
        all = await readWhole(checked);
        throwVerdict(checked, dataset, all.reduce((n, b) => n + (b.loadable ? b.typed.length : 0), 0));
      } catch (error) {
        if (!(error instanceof DataError)) throw error;
        outcomes[index] = await failFile(ctx, claim, routed ? dataset : null, error, started);
        continue;
      }
      await throwIfChanged(claim);
      const digest = checked.digest();
      // The same content twice in one transaction: the duplicate check cannot see the first before
      // the commit, so the second waits for it and comes again alone.
      if (inGroup.has(digest.sha256)) {
        outcomes[index] = 'deferred';
        continue;
      }
      inGroup.add(digest.sha256);
      tx ??= await LoadTransaction.begin(ctx.pool);
      copy ??= startCopy(tx.client, dataset, await beforeCopy(tx.client, dataset));
      const group = (feed ??= new CopyFeed(copy));
      await group.room();
      const outputs = await openOutputs(ctx, claim, dataset, checked.locator, group);
      const member: Member = { index, claim, outputs, rows: 0, rejected: checked.problems.rejected, digest, dropped: droppedOf(checked.stats), readSeconds: 0 };
      members.push(member);
      for (const batch of all) {
        await outputs.reject(batch.rejected, batch.originals);
        const { typed } = batch;
        if (!batch.loadable || typed.length === 0) continue;
        // To the Parquet thread, which writes the rows to Parquet and encodes them for COPY.
        group.expect(typed.length);
        sent.add(copied, typed.numbers);
        copied += typed.length;
        member.rows += typed.length;
        await outputs.write(typed);
      }
      void outputs.finish(); // the Parquet thread writes it while the next file is read
      clock.lap('read_validate');
      member.readSeconds = clock.seconds.read_validate;
    }
    if (!tx || !copy || !feed) return { staged: [], fallback: null };

    const clock = stageClock();
    await feed.written();
    const count = await copy.end();
    if (count !== copied) throw new Error(`COPY reported ${count} rows, ${copied} were sent`);
    clock.lap('copy');
    const earlier = await loadedWithContents(claims[0]!.client, dataset.name, members.map((m) => m.digest.sha256));
    if (dataset.onDuplicate === 'skip' && members.some((m) => earlier.has(m.digest.sha256))) {
      return { staged: [], fallback: 'a file of the group has content loaded before' };
    }
    await Promise.all(members.map((m) => m.outputs.finish()));
    clock.lap('parquet');
    // Recorded (outside the transaction) before the renames: start-up recovery tells an orphan of an
    // uncommitted load from a file another instance is about to commit (pipeline/reconcile.ts).
    const paths = members.map((m) => m.outputs.parquetPath(m.digest.sha256, earlier.has(m.digest.sha256) ? m.claim.fileId : null));
    await recordParquetPaths(
      claims[0]!.client,
      members.map((m, i) => ({ fileId: m.claim.fileId, parquetPath: path.relative(ctx.config.root, paths[i]!) })),
    );
    const rejectsFiles = await Promise.all(members.map((m, i) => m.outputs.commit(paths[i]!, m.rejected, false)));
    await fsyncPath(path.join(ctx.config.folders.parquet, dataset.name));
    await markLoaded(
      tx.client,
      members.map((m, i) => ({
        fileId: m.claim.fileId,
        dataset: dataset.name,
        sha256: m.digest.sha256,
        rows: m.rows,
        table: qualifiedTable(dataset),
        parquetPath: path.relative(ctx.config.root, paths[i]!),
        duplicateOf: earlier.get(m.digest.sha256) ?? null,
      })),
    );
    await tx.commit();
    committed = true;
    clock.lap('commit');
    const staged = members.map((m, i) => ({
      index: m.index,
      result: {
        rows: m.rows,
        stageSeconds: { ...clock.seconds, read_validate: m.readSeconds },
        rejected: { rows: m.rejected, file: rejectsFiles[i] ?? null },
        dropped: m.dropped,
        digest: m.digest,
        parquetPath: paths[i]!,
        duplicateOf: null,
        duplicateOfLoaded: earlier.get(m.digest.sha256) ?? null,
      } satisfies LoadResult,
    }));
    return { staged, fallback: null };
  } catch (error) {
    if (TABLE_CHANGED.has((error as { code?: string }).code ?? '')) ctx.verifiedTables.delete(dataset.name);
    // A row the table refuses: the savepoint way finds whose it is and quarantines that file alone.
    const refused = rejectedByDatabase(error, dataset, sent, 'the group');
    if (refused) return { staged: [], fallback: refused.message };
    throw error;
  } finally {
    if (!committed) {
      feed?.close();
      tx?.abort();
      await Promise.all(members.map((m) => m.outputs.abort()));
    }
  }
}
