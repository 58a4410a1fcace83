/**
 * The last stage: a loaded file goes to `archive/<dataset>/` (or is deleted); a bad file goes to
 * `output_failed/<dataset>/` with `<name>.error.json` beside it. The report is written (fsync'd)
 * before the file moves, so a file in `output_failed/` always has its reason next to it. Reports are
 * found through the ledger (quarantine/quarantined.ts), never by their name alone: an input may be called
 * `x.error.json` too.
 */
import { unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Config, Dataset } from '../config/types.js';
import type { DataError } from '../errors.js';
import { MAX_REPORTED_PROBLEMS } from '../validate/problems.js';
import { fsyncPath, statNow } from '../lib/fs-now.js';
import { fitName, freeName, moveFile, numbered, writeFileAtomic } from './move.js';
import { REPORT_SUFFIX, type FailureReport } from '../quarantine/report.js';

export type { FailureReport } from '../quarantine/report.js';

export const UNMATCHED = '_unmatched';

/**
 * A loaded file to archive/<dataset>/ (or deleted); returns where it went. With `syncFolder` false
 * the caller fsyncs the folder that changed (`settledFolder`) once for several files.
 */
export async function archive(config: Config, dataset: Dataset, file: string, relative: string, syncFolder = true): Promise<string | null> {
  if (dataset.onSuccess === 'delete') {
    await unlink(file);
    if (syncFolder) await fsyncPath(path.dirname(file));
    return null;
  }
  const target = await freeName(path.join(config.folders.archive, dataset.name, relative));
  await moveFile(file, target, syncFolder);
  return target;
}

/** The folder whose fsync makes a file's `archive` durable: where it went, or where it was deleted. */
export function settledFolder(file: string, archived: string | null): string {
  return path.dirname(archived ?? file);
}

/** Who quarantines: the configuration, and the instance whose id the report's temporary name carries. */
export interface QuarantineContext {
  config: Config;
  instanceId: string;
}

export async function quarantine(
  { config, instanceId }: QuarantineContext,
  datasetName: string | null,
  file: string,
  relative: string,
  error: DataError,
  details: { fileId: string | null; sha256: string | null; bytes: number | null; read?: Record<string, unknown> | undefined },
  /** Runs after the report is durable and before the file moves (the ledger update). */
  beforeMove: (report: FailureReport) => Promise<void> = async () => undefined,
): Promise<{ path: string; report: FailureReport }> {
  const target = quarantineTarget(path.join(config.folders.failed, datasetName ?? UNMATCHED, relative));
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
    quarantined_as: path.relative(config.folders.failed, target),
  };
  await writeFileAtomic(`${target}${REPORT_SUFFIX}`, JSON.stringify(report, null, 2) + '\n', instanceId);
  await beforeMove(report);
  await moveFile(file, target);
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
