/**
 * `loadbay failed list | show | retry`: the quarantine for the people who fix files. Reads the
 * reports in output_failed/ (no database needed); `retry` moves files back into input/ and keeps
 * each old report in `output_failed/<dataset>/.history/`.
 */
import { createReadStream } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';
import { fitName, freeName, moveFile } from '../outcome/move.js';
import { BY_HAND_FOLDER } from '../route/route.js';
import type { FailureReport } from '../outcome/settle.js';
import { oneLine, parseSince, print, printJson, table, UsageError } from './output.js';

export interface QuarantinedFile {
  /** Path of the quarantined data file, relative to output_failed/. */
  path: string;
  reportPath: string;
  report: FailureReport;
}

export async function listQuarantined(config: Config, filter: { dataset?: string; since?: string } = {}): Promise<QuarantinedFile[]> {
  const since = filter.since ? parseSince(filter.since) : null;
  const found: QuarantinedFile[] = [];
  const entries = await readdir(config.folders.failed, { recursive: true, withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (!entry.isFile() || !entry.name.endsWith('.error.json')) continue;
    const reportPath = path.join(entry.parentPath, entry.name);
    const relative = path.relative(config.folders.failed, reportPath);
    if (relative.split(path.sep).includes('.history')) continue;
    let report: FailureReport;
    try {
      report = JSON.parse(await readFile(reportPath, 'utf8')) as FailureReport;
    } catch {
      continue;
    }
    if (filter.dataset && (report.dataset ?? '_unmatched') !== filter.dataset) continue;
    if (since && new Date(report.failed_at) < since) continue;
    found.push({ path: relative.slice(0, -'.error.json'.length), reportPath, report });
  }
  return found.sort((a, b) => a.report.failed_at.localeCompare(b.report.failed_at));
}

export async function failedList(config: Config, options: { dataset?: string; since?: string; json?: boolean }): Promise<void> {
  const files = await listQuarantined(config, options);
  if (options.json) return printJson(files.map((f) => ({ path: f.path, ...f.report })));
  if (files.length === 0) return print('no quarantined files');
  print(
    table(
      ['time', 'dataset', 'file', 'stage', 'reason'],
      files.map((f) => [f.report.failed_at.replace(/\.\d+Z$/, 'Z'), f.report.dataset ?? '_unmatched', f.path, f.report.stage, oneLine(f.report.reason)]),
    ),
  );
}

async function findOne(config: Config, name: string): Promise<QuarantinedFile> {
  const all = await listQuarantined(config);
  const wanted = name.replace(/\.error\.json$/, '');
  const matches = all.filter(
    (f) => f.path === wanted || path.basename(f.path) === wanted || path.resolve(config.folders.failed, f.path) === path.resolve(wanted),
  );
  if (matches.length === 0) throw new UsageError(`no quarantined file "${name}" (see: loadbay failed list)`);
  return matches[matches.length - 1]!; // the newest
}

export async function failedShow(config: Config, name: string, options: { json?: boolean }): Promise<void> {
  const file = await findOne(config, name);
  const { report } = file;
  if (options.json) return printJson({ path: file.path, ...report });
  const lines = [
    `${file.path} — ${report.stage} failed at ${report.failed_at}`,
    `dataset ${report.dataset ?? '(none matched)'}, file id ${report.file_id ?? '-'}, sha256 ${report.sha256 ?? '-'}`,
    '',
    report.summary ?? report.reason,
  ];
  const offending = await offendingLines(config, file);
  if (offending.length > 0) {
    lines.push('', 'first offending lines:');
    for (const { line, text, problems, marked } of offending) {
      const shown = text === null ? '(line not found)' : marked ? `${text.slice(0, marked.start)}»${text.slice(marked.start, marked.end)}«${text.slice(marked.end)}` : text;
      lines.push(`  ${String(line).padStart(6)} | ${shown}`, ...problems.map((p) => `         ^ ${p.field ? `${p.field}: ` : ''}${p.rule}`));
    }
  }
  print(lines.join('\n'));
}

export interface OffendingLine {
  line: number;
  /** The line as it is in the quarantined file (cut at 300 characters), or null when not found. */
  text: string | null;
  problems: FailureReport['problems'];
  /** Where the first problem's value is in `text`. */
  marked: { start: number; end: number } | null;
}

/** The first five lines with problems, read from the quarantined file, with the bad value located. */
export async function offendingLines(config: Config, file: QuarantinedFile): Promise<OffendingLine[]> {
  const located = file.report.problems.filter((p) => p.line !== undefined);
  if (located.length === 0) return [];
  const wanted = new Map<number, typeof located>();
  for (const p of located) if (wanted.size < 5 || wanted.has(p.line!)) wanted.set(p.line!, [...(wanted.get(p.line!) ?? []), p]);
  const text = await readLines(path.join(config.folders.failed, file.path), new Set(wanted.keys()));
  return [...wanted].map(([line, problems]) => {
    const shown = text.get(line) ?? null;
    const first = problems.find((p) => p.value !== undefined);
    return { line, text: shown, problems, marked: shown === null || !first ? null : locate(shown, first.field, first.value_in_file ?? first.value) };
  });
}

/** Where the offending value is in a line. */
function locate(line: string, field: string | undefined, value: string | undefined): { start: number; end: number } | null {
  if (value === undefined) return null;
  let raw = value;
  try {
    if (value.startsWith('"')) raw = JSON.parse(value) as string;
  } catch {
    // a shortened value: search as it is
  }
  const key = field ? line.indexOf(`"${field}"`) : -1;
  const at = line.indexOf(raw, key === -1 ? 0 : key + field!.length + 2);
  return at === -1 ? null : { start: at, end: at + raw.length };
}

async function readLines(file: string, wanted: Set<number>): Promise<Map<number, string>> {
  const found = new Map<number, string>();
  const last = Math.max(...wanted);
  const source = createReadStream(file);
  source.on('error', () => undefined);
  const input = file.endsWith('.gz') ? source.pipe(createGunzip()) : source;
  input.on('error', () => undefined);
  const reader = createInterface({ input, crlfDelay: Infinity });
  let number = 0;
  try {
    for await (const line of reader) {
      number++;
      if (wanted.has(number)) found.set(number, line.length > 300 ? `${line.slice(0, 299)}…` : line);
      if (number >= last) break;
    }
  } catch {
    // an unreadable file shows what was read
  } finally {
    reader.close();
    source.destroy();
  }
  return found;
}

/**
 * `--all [--dataset D]`: every quarantined file (of D), routed by name again. `FILE… --dataset D`:
 * those files routed to D by hand, whatever their names (into input/_dataset/D/).
 */
export async function failedRetry(
  config: Config,
  log: Logger,
  names: string[],
  options: { all?: boolean; dataset?: string },
): Promise<void> {
  if (!options.all && names.length === 0) throw new UsageError('name the files to retry, or use --all');
  if (options.all && names.length > 0) throw new UsageError('give file names or --all, not both');
  const routeTo = !options.all ? options.dataset : undefined;
  if (routeTo !== undefined && !config.datasets.some((d) => d.name === routeTo)) {
    throw new UsageError(`no dataset "${routeTo}" (datasets: ${config.datasets.map((d) => d.name).join(', ')})`);
  }
  const files = options.all ? await listQuarantined(config, { dataset: options.dataset }) : await Promise.all(names.map((n) => findOne(config, n)));
  for (const file of files) print(`${file.path} → input/${await retryOne(config, log, file, routeTo)}${routeTo ? ` (routed to ${routeTo} by hand)` : ''}`);
  if (files.length === 0) print('nothing to retry');
}

/**
 * Moves one quarantined file back into input/ (its report kept in .history/); returns where, inside
 * input/. With `routeTo`, into input/_dataset/<routeTo>/, which routes it to that dataset.
 */
export async function retryOne(config: Config, log: Logger, file: QuarantinedFile, routeTo?: string): Promise<string> {
  const relative = routeTo ? path.join(BY_HAND_FOLDER, routeTo, path.basename(file.report.file)) : file.report.file;
  const target = await freeName(path.join(config.folders.input, relative));
  const dataset = file.report.dataset ?? '_unmatched';
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const history = path.join(config.folders.failed, dataset, '.history', `${fitName(path.basename(file.path), 40)}.${stamp}.error.json`);
  await moveFile(file.reportPath, history);
  await moveFile(path.join(config.folders.failed, file.path), target);
  const moved = path.relative(config.folders.input, target);
  log.event('retried', {
    file: moved,
    dataset: file.report.dataset,
    ...(routeTo ? { routed_to: routeTo } : {}),
    file_id: file.report.file_id,
    from: file.path,
    report: path.relative(config.root, history),
  });
  return moved;
}
