/**
 * Finding quarantined files and their reports. Through the ledger: a failed file's row holds its
 * report, so a file dropped into input/ under a report's name (`x.error.json`, with any content) is
 * only ever a quarantined file of its own. When the ledger cannot be reached (`loadbay failed list`
 * with the database down), from output_failed/: a report counts only when it names the file beside
 * it and no trusted report names it as its quarantined file. Either way a report is checked
 * (report.ts) before use, and what does not pass is listed as skipped, never a crash.
 *
 * output_failed may be a prefix in object storage: a file is then named by its URL, and whether it
 * is still there is a HeadObject (a few at a time).
 */
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/types.js';
import { quarantineRow, quarantineRows, type QuarantineFilter, type QuarantineRow, type Resubmission } from '../db/quarantine.js';
import { statNow } from '../lib/fs-now.js';
import { isObjectWhere, joinWhere, newPlaces, statWhere, type Places, type Where } from '../source/places.js';
import { MAX_REPORT_BYTES, checkReport, parseReport, REPORT_SUFFIX, type FailureReport } from './report.js';
import { UNMATCHED } from '../outcome/settle.js';

type Queryable = Parameters<typeof quarantineRows>[0];

export interface QuarantinedFile {
  /** The ledger id (from the report itself when the ledger could not be asked). */
  id: string | null;
  /** The quarantined file, relative to output_failed/ (the report's `quarantined_as`). */
  path: string;
  /** Where the file and its report beside it are: absolute paths, or s3:// URLs. */
  file: Where;
  reportPath: Where;
  /** The name the ledger knows its arrival by (which input it came from); null when read from disk. */
  arrival: string | null;
  /** How to reach the file (and the input it goes back to). */
  places: Places;
  report: FailureReport;
  /** The file is still in output_failed/ (a regular file, not a link). */
  present: boolean;
  resubmission: Resubmission | null;
  resubmissionOf: QuarantineRow['resubmissionOf'];
}

export interface Quarantine {
  files: QuarantinedFile[];
  source: 'ledger' | 'disk';
  /** What was not taken for a report, and why. */
  skipped: string[];
}

/** Inside output_failed/, or null for a path that would leave it. */
function inFailed(config: Config, relative: string): Where | null {
  if (isObjectWhere(config.folders.failed)) {
    const segments = relative.split('/');
    return relative === '' || segments.some((s) => s === '' || s === '.' || s === '..') ? null : joinWhere(config.folders.failed, relative);
  }
  const full = path.resolve(config.folders.failed, relative);
  return full.startsWith(config.folders.failed + path.sep) ? full : null;
}

function isPresent(file: string): boolean {
  return statNow(file)?.isFile() ?? false;
}

/** Places for a caller that names no bucket: local folders only (a bare configuration may lack its root). */
export function localPlaces(config: Pick<Config, 'root'>): Places {
  return newPlaces(config.root ?? process.cwd(), null, 'loadbay');
}

async function fromRow(config: Config, places: Places, row: QuarantineRow, skipped: string[]): Promise<QuarantinedFile | null> {
  const checked = checkReport(row.report);
  if ('error' in checked) {
    skipped.push(`file ${row.id} (${row.path}): ${checked.error}`);
    return null;
  }
  const { report } = checked;
  const file = inFailed(config, report.quarantined_as);
  if (!file) {
    skipped.push(`file ${row.id} (${row.path}): quarantined_as leaves output_failed/`);
    return null;
  }
  return {
    id: row.id,
    path: report.quarantined_as,
    file,
    reportPath: `${file}${REPORT_SUFFIX}`,
    arrival: row.path,
    places,
    report,
    present: isObjectWhere(file) ? (await statWhere(places, file)) !== null : isPresent(file),
    resubmission: row.resubmission,
    resubmissionOf: row.resubmissionOf,
  };
}

/** Each row as a file, a few at a time (a file in a bucket is a request each). */
async function fromRows(config: Config, places: Places, rows: QuarantineRow[], skipped: string[]): Promise<Array<QuarantinedFile | null>> {
  const files: Array<QuarantinedFile | null> = new Array(rows.length).fill(null);
  let next = 0;
  const lane = async () => {
    while (next < rows.length) {
      const i = next++;
      files[i] = await fromRow(config, places, rows[i]!, skipped);
    }
  };
  await Promise.all(Array.from({ length: isObjectWhere(config.folders.failed) ? 16 : 1 }, lane));
  return files;
}

/**
 * The quarantined files the ledger knows, newest first. Open ones (the default) are still in
 * output_failed/ and were not sent back; a name used again by a later failure is the later file's.
 */
export async function ledgerQuarantine(config: Config, db: Queryable, filter: QuarantineFilter = {}, places: Places = localPlaces(config)): Promise<Quarantine> {
  const skipped: string[] = [];
  const files: QuarantinedFile[] = [];
  const seen = new Set<string>();
  for (const file of await fromRows(config, places, await quarantineRows(db, filter), skipped)) {
    if (!file) continue;
    if (!file.resubmission && (!file.present || seen.has(file.path))) continue;
    seen.add(file.path);
    files.push(file);
  }
  return { files, source: 'ledger', skipped };
}

/** One quarantined file by ledger id, open or sent back. */
export async function ledgerQuarantined(config: Config, db: Queryable, id: string, places: Places = localPlaces(config)): Promise<QuarantinedFile | null> {
  const row = await quarantineRow(db, id);
  return row ? fromRow(config, places, row, []) : null;
}

/** The reports in output_failed/, for when the ledger cannot be asked: each checked, newest first. */
export async function diskQuarantine(config: Config, filter: { dataset?: string; since?: Date } = {}, places: Places = localPlaces(config)): Promise<Quarantine> {
  const failed = config.folders.failed;
  const skipped: string[] = [];
  if (isObjectWhere(failed)) return { files: [], source: 'disk', skipped: [`${failed}: a quarantine in object storage is found through the ledger only`] };
  const entries = await readdir(failed, { recursive: true, withFileTypes: true }).catch(() => []);
  const candidates: Array<{ reportPath: string; relative: string }> = [];
  for (const entry of entries) {
    if (!entry.isFile() || !entry.name.endsWith(REPORT_SUFFIX)) continue;
    const reportPath = path.join(entry.parentPath, entry.name);
    const relative = path.relative(failed, reportPath);
    if (relative.split(path.sep).includes('.history')) continue;
    candidates.push({ reportPath, relative });
  }
  // A report names the file beside it (`x` for `x.error.json`), a shorter name: taken longest
  // first, a trusted report has already spoken for a candidate that is really a quarantined file.
  candidates.sort((a, b) => b.reportPath.length - a.reportPath.length || a.reportPath.localeCompare(b.reportPath));
  const dataFiles = new Set<string>();
  const files: QuarantinedFile[] = [];
  for (const { reportPath, relative } of candidates) {
    if (dataFiles.has(reportPath)) continue; // a quarantined file that happens to be named *.error.json
    const size = statNow(reportPath)?.size ?? 0;
    const parsed = size > MAX_REPORT_BYTES ? { error: `larger than ${MAX_REPORT_BYTES} bytes` } : parseReport(await readFile(reportPath, 'utf8').catch(() => ''));
    if ('error' in parsed) {
      skipped.push(`${relative}: ${parsed.error}`);
      continue;
    }
    const { report } = parsed;
    const file = inFailed(config, report.quarantined_as);
    if (!file || `${file}${REPORT_SUFFIX}` !== reportPath) {
      skipped.push(`${relative}: not the report of the file beside it (it names ${report.quarantined_as})`);
      continue;
    }
    dataFiles.add(file);
    if (!isPresent(file)) continue;
    if (filter.dataset && (report.dataset ?? UNMATCHED) !== filter.dataset) continue;
    if (filter.since && new Date(report.failed_at) < filter.since) continue;
    files.push({ id: report.file_id, path: report.quarantined_as, file, reportPath, arrival: null, places, report, present: true, resubmission: null, resubmissionOf: null });
  }
  files.sort((a, b) => b.report.failed_at.localeCompare(a.report.failed_at));
  return { files, source: 'disk', skipped };
}
