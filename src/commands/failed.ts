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
import { fitName, freeName, moveFile } from '../settle/move.js';
import type { FailureReport } from '../settle/settle.js';
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
  const located = report.problems.filter((p) => p.line !== undefined);
  if (located.length > 0) {
    lines.push('', 'first offending lines:');
    const wanted = new Map<number, typeof located>();
    for (const p of located) if (wanted.size < 5 || wanted.has(p.line!)) wanted.set(p.line!, [...(wanted.get(p.line!) ?? []), p]);
    const text = await readLines(path.join(config.folders.failed, file.path), new Set(wanted.keys()));
    for (const [number, problems] of wanted) {
      let shown = text.get(number) ?? '(line not found)';
      for (const p of problems) shown = mark(shown, p.field, p.value);
      lines.push(`  ${String(number).padStart(6)} | ${shown}`, ...problems.map((p) => `         ^ ${p.field ? `${p.field}: ` : ''}${p.rule}`));
    }
  }
  print(lines.join('\n'));
}

/** Marks the offending value in a line: »value«. */
function mark(line: string, field: string | undefined, value: string | undefined): string {
  if (value === undefined) return line;
  const raw = value.startsWith('"') ? (JSON.parse(value) as string) : value;
  const key = field ? line.indexOf(`"${field}"`) : -1;
  const at = line.indexOf(raw, key === -1 ? 0 : key + field!.length + 2);
  return at === -1 ? line : `${line.slice(0, at)}»${raw}«${line.slice(at + raw.length)}`;
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

export async function failedRetry(
  config: Config,
  log: Logger,
  names: string[],
  options: { all?: boolean; dataset?: string },
): Promise<void> {
  if (!options.all && names.length === 0) throw new UsageError('name the files to retry, or use --all');
  if (options.all && names.length > 0) throw new UsageError('give file names or --all, not both');
  const files = options.all ? await listQuarantined(config, { dataset: options.dataset }) : await Promise.all(names.map((n) => findOne(config, n)));
  for (const file of files) {
    const target = await freeName(path.join(config.folders.input, file.report.file));
    const dataset = file.report.dataset ?? '_unmatched';
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const history = path.join(config.folders.failed, dataset, '.history', `${fitName(path.basename(file.path), 40)}.${stamp}.error.json`);
    await moveFile(file.reportPath, history);
    await moveFile(path.join(config.folders.failed, file.path), target);
    const relative = path.relative(config.folders.input, target);
    log.event('retried', { file: relative, dataset: file.report.dataset, file_id: file.report.file_id, from: file.path, report: path.relative(config.root, history) });
    print(`${file.path} → input/${relative}`);
  }
  if (files.length === 0) print('nothing to retry');
}
