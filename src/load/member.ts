/**
 * A file in a load unit: its claim, its state, and what its stages found. The stages themselves
 * (route → check → judge → COPY and Parquet → table) run in unit.ts; the helpers they use for one
 * file are here.
 *
 * States: pending → staged (its rows are in the unit's transaction) → loaded (committed and
 * settled); or pending → failed (a data error: quarantined), skipped (its content was loaded
 * before), deferred (its content is already in this unit: it comes again alone), retry (an
 * infrastructure error, or it changed while read: the file is left and looked at again).
 */
import path from 'node:path';
import type { Claim } from '../claim/claim.js';
import type { CompiledDataset } from '../compile.js';
import { contentError } from '../errors.js';
import type { Dropped, StageSeconds } from '../events.js';
import type { CheckedBatch, CheckedFile, ReadDigest } from '../validate/check.js';
import { checkFile, verdict } from '../validate/check.js';
import { checkInThread, checkThreadInUse } from '../validate/check-remote.js';
import { encodeCopyBinary } from '../write/copy-binary.js';
import { FileOutputs } from '../write/outputs.js';
import { parquetHolders } from '../db/files.js';
import { joinWhere, ledgerPath } from '../source/places.js';
import { instanceAlive } from '../instance.js';
import type { CopySink } from '../write/parquet.js';
import type { CopyLoad } from '../write/copy-in.js';
import type { LoadContext } from './context.js';
import { CopyFeed } from './copy-feed.js';
import { SentRows } from './refused.js';

export type MemberState = 'pending' | 'staged' | 'loaded' | 'failed' | 'skipped' | 'deferred' | 'retry';

export interface Member {
  readonly claim: Claim;
  state: MemberState;
  /** Why it failed (a DataError), is retried (an infrastructure error) or was deferred. */
  error: unknown;
  /** Routed to the unit's dataset (a route failure is quarantined without a dataset). */
  routed: boolean;
  /** Something of it is in the unit's transaction: it cannot end otherwise without a rollback. */
  inTransaction: boolean;
  /** Its rows could not be taken out of a shared transaction: it comes again alone. */
  alone: boolean;
  checked: CheckedFile | null;
  outputs: FileOutputs | null;
  /** Where its rows came from in the file, to name a row PostgreSQL refuses. */
  sent: SentRows;
  rows: number;
  /** The first load of the same content: skipped as its repeat, or loaded again (deliveries.ts). */
  earlier: string | null;
  /** What it replaces (deliveries.ts `scopeOf`); null when it replaces no whole delivery. */
  scope: string | null;
  /** Parquet files of the loads it replaced: retired once it commits. */
  retired: string[];
  parquetPath: string | null;
  rejectsFile: string | null;
  seconds: StageSeconds;
}

export function newMember(claim: Claim): Member {
  return {
    claim,
    state: 'pending',
    error: null,
    routed: false,
    inTransaction: false,
    alone: false,
    checked: null,
    outputs: null,
    sent: new SentRows(),
    rows: 0,
    earlier: null,
    scope: null,
    retired: [],
    parquetPath: null,
    rejectsFile: null,
    seconds: zeroSeconds(),
  };
}

/** Back to pending, with nothing of the attempt left (another way of loading the unit follows). */
export async function resetMember(member: Member): Promise<void> {
  await member.outputs?.abort();
  Object.assign(member, { ...newMember(member.claim), routed: member.routed });
}

export function digestOf(member: Member): ReadDigest {
  return member.checked!.digest();
}

export function droppedOf(member: Member): Dropped {
  const stats = member.checked?.stats;
  return { null_rows: stats?.droppedNullRows ?? 0, duplicate_rows: stats?.droppedDuplicateRows ?? 0 };
}

/** The file read, prepared and checked batch by batch (a small one in one read). */
export function checkMember(ctx: LoadContext, member: Member, dataset: CompiledDataset): CheckedFile {
  const { arrival } = member.claim;
  const options = { batchRows: ctx.config.processing.batchRows, limits: ctx.config.limits };
  const keepOriginals = dataset.onInvalidRow === 'skip_row';
  const input = arrival.source.open(arrival);
  // A local file is checked in the check thread while a daemon runs it: the same stage on the other core.
  if (input.path !== undefined && checkThreadInUse()) return checkInThread(input.path, input.size, arrival.relative, dataset, options, keepOriginals);
  return checkFile(input, arrival.relative, dataset, options, keepOriginals);
}

/** Every checked batch of a file (files that share a transaction are bounded in size). */
export async function readWhole(checked: CheckedFile): Promise<CheckedBatch[]> {
  const all: CheckedBatch[] = [];
  try {
    for await (const batch of checked.batches) all.push(batch);
  } catch (error) {
    throw contentError(error, 'read', `after ${checked.locator} ${all.at(-1)?.typed.numbers.at(-1) ?? 0}`);
  }
  return all;
}

export function loadableRows(batches: CheckedBatch[]): number {
  return batches.reduce((n, b) => n + (b.loadable ? b.typed.length : 0), 0);
}

/** The file's verdict after its last batch: the data error that rejects it, thrown. */
export function throwVerdict(checked: CheckedFile, dataset: CompiledDataset, rows: number): void {
  const rejection = verdict(checked, dataset, rows);
  if (rejection) {
    rejection.digest = checked.digest();
    throw rejection;
  }
}

/**
 * The file's Parquet file (and rejects file, under `on_invalid_row: skip_row`), open under
 * temporary names. `copy`: the Parquet thread encodes the rows for COPY too and hands them there.
 */
export function openOutputs(ctx: LoadContext, member: Member, dataset: CompiledDataset, copy?: CopySink): Promise<FileOutputs> {
  const { claim } = member;
  return FileOutputs.open({
    places: ctx.places,
    parquetDir: joinWhere(ctx.config.folders.parquet, dataset.name),
    rejectsDir: dataset.onInvalidRow === 'skip_row' ? joinWhere(ctx.config.folders.failed, dataset.name) : null,
    stagingDir: path.join(ctx.places.staging, dataset.name),
    orphaned: (parquet) => parquetOrphaned(ctx, ledgerPath(ctx.places, parquet), claim.fileId),
    relative: claim.arrival.relative,
    columns: dataset.columns,
    lineage: lineageOf(member),
    locator: member.checked!.locator,
    tag: `${ctx.instanceId}.${claim.fileId}`,
    compression: ctx.config.parquet,
    copy,
  });
}

/**
 * Whether the object at a Parquet key is an orphan: no other ledger row loaded it, and none that
 * recorded it is being loaded by a running instance (this file's own earlier attempts are this
 * row's: the claim is ours).
 */
async function parquetOrphaned(ctx: LoadContext, parquetPath: string, fileId: string): Promise<boolean> {
  for (const row of await parquetHolders(ctx.pool, parquetPath, fileId)) {
    if (row.status === 'loaded') return false;
    if (row.status === 'processing' && (await instanceAlive(ctx.pool, row.instance_id))) return false;
  }
  return true;
}

function lineageOf(member: Member) {
  return { fileId: member.claim.fileId, sourceFile: member.claim.arrival.relative };
}

/**
 * read → prepare → validate, batch by batch: rejected records to the rejects file, the rows to
 * Parquet and to COPY — encoded here, or, for a unit's shared COPY (a CopyFeed), by the Parquet
 * thread. Reading goes on after the file is known to be rejected, to count its problems. Returns
 * the rows sent.
 */
export async function sendRows(member: Member, source: AsyncIterable<CheckedBatch>, copy: CopyLoad | CopyFeed): Promise<number> {
  const batches = source[Symbol.asyncIterator]();
  try {
    return await sendBatches(member, batches, copy);
  } catch (error) {
    // Stopped before its end (COPY refused a row, a full disk): the reader must let go of the file
    // too — in the check thread it would otherwise wait for the next request for ever.
    await batches.return?.(undefined).catch(() => undefined);
    throw error;
  }
}

async function sendBatches(member: Member, batches: AsyncIterator<CheckedBatch>, copy: CopyLoad | CopyFeed): Promise<number> {
  const checked = member.checked!;
  const outputs = member.outputs!;
  const locator = checked.locator;
  const lineage = lineageOf(member);
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
    member.sent.add(rows, typed.numbers);
    rows += typed.length;
    if (copy instanceof CopyFeed) {
      copy.expect(typed.length);
      await outputs.write(typed);
      continue;
    }
    let encoded: Buffer;
    try {
      encoded = encodeCopyBinary(typed, lineage);
    } catch (error) {
      throw contentError(error, 'load', span);
    }
    // COPY is encoded first: the Parquet writer copies the vectors for its thread.
    const written = outputs.write(typed).catch((error: unknown) => Promise.reject(contentError(error, 'load', span)));
    await Promise.all([written, copy.write(encoded, true)]);
  }
}

/** No time spent yet in any stage. */
export function zeroSeconds(): StageSeconds {
  return { read_validate: 0, copy: 0, parquet: 0, commit: 0 };
}

/** Where a load's time went: laps of read/validate, COPY's end, Parquet's end, commit. */
export function stageClock(seconds: StageSeconds) {
  let last = performance.now();
  return {
    lap(stage: keyof StageSeconds) {
      const now = performance.now();
      seconds[stage] = Math.round(now - last) / 1000;
      last = now;
    },
  };
}
