/**
 * The last stage: a loaded file goes to `archive/<dataset>/` (or is deleted); a bad file goes to
 * `output_failed/<dataset>/` with `<name>.error.json` beside it. The report is written (fsync'd)
 * before the file moves, so a file in `output_failed/` always has its reason next to it.
 */
import { unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Config, Dataset } from '../config/types.js';
import type { DataError } from '../errors.js';
import { MAX_REPORTED_PROBLEMS, type ProblemGroup } from '../validate/problems.js';
import { fsyncPath } from '../lib/fs-now.js';
import { freeName, moveFile, writeFileAtomic } from './move.js';

export const UNMATCHED = '_unmatched';

export interface FailureReport {
  /** A few lines to read first: the problems grouped by field and rule. */
  summary: string;
  file: string;
  file_id: string | null;
  dataset: string | null;
  stage: DataError['stage'];
  reason: string;
  problem_count: number;
  groups: ProblemGroup[];
  problems: DataError['problems'];
  sha256: string | null;
  bytes: number | null;
  failed_at: string;
  quarantined_as: string;
}

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
  details: { fileId: string | null; sha256: string | null; bytes: number | null },
  /** Runs after the report is durable and before the file moves (the ledger update). */
  beforeMove: (report: FailureReport) => Promise<void> = async () => undefined,
): Promise<{ path: string; report: FailureReport }> {
  const target = await freeName(path.join(config.folders.failed, datasetName ?? UNMATCHED, relative));
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
    failed_at: new Date().toISOString(),
    quarantined_as: path.relative(config.folders.failed, target),
  };
  await writeFileAtomic(`${target}.error.json`, JSON.stringify(report, null, 2) + '\n', instanceId);
  await beforeMove(report);
  await moveFile(file, target);
  return { path: target, report };
}
