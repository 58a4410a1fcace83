/**
 * The last stage: a loaded file goes to `archive/<dataset>/` (or is deleted); a bad file goes to
 * `output_failed/<dataset>/` with `<name>.error.json` beside it. The report is written (fsync'd)
 * before the file moves, so a file in `output_failed/` always has its reason next to it. Reports are
 * found through the ledger (quarantine/quarantined.ts), never by their name alone: an input may be called
 * `x.error.json` too. Any of these folders, and the input, may be in object storage: a move that
 * involves a bucket is copy-then-delete (source/transfer.ts).
 */
import { unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Config, Dataset } from '../config/types.js';
import type { DataError } from '../errors.js';
import { MAX_REPORTED_PROBLEMS } from '../validate/problems.js';
import { fsyncPath, statNow } from '../lib/fs-now.js';
import { fitName, moveFile, numbered, writeFileAtomic } from './move.js';
import { REPORT_SUFFIX, type FailureReport } from '../quarantine/report.js';
import { identityOf, isObjectWhere, joinWhere, objectOf, relativeWhere, s3Of, statWhere, writeTextWhere, type Places, type Where } from '../source/places.js';
import { localMark, moveItem, type Item, type Moved } from '../source/transfer.js';
import { copyAt, deleteObject } from '../source/s3/settle.js';
import { fitKey, MAX_NUMBERED_NAMES, NamesTakenError, numberedKey } from '../source/s3/write.js';

export type { FailureReport } from '../quarantine/report.js';

export const UNMATCHED = '_unmatched';

/**
 * A loaded file to archive/<dataset>/ (or deleted); returns where it went (null: deleted). With
 * `syncFolder` false the caller fsyncs the local folder that changed (`Moved.folder`) once for
 * several files.
 */
export async function archive(places: Places, config: Config, dataset: Dataset, item: Item, relative: string, syncFolder = true): Promise<Moved | null> {
  if (dataset.onSuccess === 'delete') {
    if (isObjectWhere(item.where)) {
      await deleteObject(s3Of(places, item.where), identityOf(item.where, item));
      return null;
    }
    await unlink(item.where);
    if (syncFolder) await fsyncPath(path.dirname(item.where));
    return null;
  }
  return moveItem(places, item, joinWhere(config.folders.archive, dataset.name, relative), { syncFolder });
}

/** Who quarantines: the configuration, and where things are (its writer, this instance, names the report's temporary file). */
export interface QuarantineContext {
  config: Config;
  places: Places;
}

export async function quarantine(
  { config, places }: QuarantineContext,
  datasetName: string | null,
  item: Item,
  relative: string,
  error: DataError,
  details: { fileId: string | null; sha256: string | null; bytes: number | null; read?: Record<string, unknown> | undefined },
  /** Runs after the report is durable and before the file moves (the ledger update). */
  beforeMove: (report: FailureReport) => Promise<void> = async () => undefined,
): Promise<{ path: Where; report: FailureReport }> {
  const wanted = joinWhere(config.folders.failed, datasetName ?? UNMATCHED, relative);
  const local = !isObjectWhere(item.where) && !isObjectWhere(wanted);
  const { target, replace } = local ? { target: quarantineTarget(wanted), replace: true } : await quarantinePlace(places, item, wanted);
  const report: FailureReport = {
    summary: error.summary ?? error.message,
    file: relative,
    file_id: details.fileId,
    dataset: datasetName,
    stage: error.stage,
    reason: error.message,
    problem_count: error.problemCount,
    groups: error.groups,
    problems: error.problems.slice(0, MAX_REPORTED_PROBLEMS), // ProblemLog keeps them without `raw`
    sha256: details.sha256,
    bytes: details.bytes,
    ...(details.read ? { read: details.read } : {}),
    failed_at: new Date().toISOString(),
    quarantined_as: relativeWhere(config.folders.failed, target) ?? relative,
  };
  const text = JSON.stringify(report, null, 2) + '\n';
  if (local) {
    await writeFileAtomic(`${target}${REPORT_SUFFIX}`, text, places.writer);
    await beforeMove(report);
    await moveFile(item.where, target);
  } else {
    // The report reserves the name (a new object is never written over another).
    await writeTextWhere(places, `${target}${REPORT_SUFFIX}`, text, { replace });
    await beforeMove(report);
    await moveItem(places, item, target, { exact: true });
  }
  return { path: target, report };
}

/**
 * The first of `file`, `file-2`, … that is free, and whose report's name does not belong to a
 * quarantined file (an input named `x.csv.error.json`, with its own report beside it): a report
 * never replaces a quarantined file. A report alone, whose file never arrived beside it (a move
 * that failed, retried since), is replaced as before.
 */
function quarantineTarget(wanted: string): string {
  const file = path.join(path.dirname(wanted), fitName(path.basename(wanted), 20));
  for (let n = 1; ; n++) {
    const candidate = numbered(file, n);
    const report = `${candidate}${REPORT_SUFFIX}`;
    if (statNow(candidate) === null && (statNow(report) === null || statNow(`${report}${REPORT_SUFFIX}`) === null)) return candidate;
  }
}

/**
 * The same rule where the file or the quarantine is in object storage, and one more: an earlier
 * copy of this very item (a crash between copy and delete) is its place again, its report replaced.
 * `replace`: a report is there already (alone, or the earlier copy's).
 */
async function quarantinePlace(places: Places, item: Item, wanted: Where): Promise<{ target: Where; replace: boolean }> {
  const exists = (where: Where) => statWhere(places, where).then((s) => s !== null);
  const object = isObjectWhere(wanted) ? objectOf(wanted) : null;
  const fitted = object ? fitKey(object.key) : path.join(path.dirname(wanted), fitName(path.basename(wanted), 20));
  const mark = isObjectWhere(item.where) ? { url: item.where, etag: item.etag ?? '' } : localMark(item);
  for (let n = 1; ; n++) {
    if (object && n > MAX_NUMBERED_NAMES) throw new NamesTakenError(object.bucket, fitted);
    const candidate = object ? `s3://${object.bucket}/${numberedKey(fitted, n)}` : numbered(fitted, n);
    const report = `${candidate}${REPORT_SUFFIX}`;
    // Taken: by a copy a crashed run made of this item (transfer.ts marks them), or by another file.
    const at = object ? await copyAt(s3Of(places, candidate), mark, object.bucket, numberedKey(fitted, n)) : localCopyAt(item, candidate);
    if (at === 'copy') return { target: candidate, replace: true };
    if (at === 'other') continue;
    if (!(await exists(report))) return { target: candidate, replace: false };
    if (!(await exists(`${report}${REPORT_SUFFIX}`))) return { target: candidate, replace: true };
  }
}

/** The local counterpart of `copyAt`: a copy has the item's size and modification time. */
function localCopyAt(item: Item, candidate: string): 'free' | 'copy' | 'other' {
  const there = statNow(candidate);
  if (!there) return 'free';
  return there.size === item.size && Math.round(there.mtimeMs / 1000) === Math.round(item.mtimeMs / 1000) ? 'copy' : 'other';
}
