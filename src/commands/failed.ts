/**
 * `loadbay failed list | show | retry`: the quarantine for the people who fix files. The quarantined
 * files are found through the ledger (quarantine/quarantined.ts); with the database out of reach, from
 * the reports in output_failed/, each checked, saying so. `retry` moves files back into the input
 * they came from (a local folder or a bucket prefix), keeps each old report in
 * `output_failed/<dataset>/.history/` and records it in the ledger.
 */
import path from 'node:path';
import type pg from 'pg';
import type { Config } from '../config/types.js';
import { recordResubmission } from '../db/quarantine.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { readLines } from '../quarantine/lines.js';
import { fitName } from '../outcome/move.js';
import { diskQuarantine, ledgerQuarantine, type Quarantine, type QuarantinedFile } from '../quarantine/quarantined.js';
import { idInInput, inputFolderOf } from '../source/inputs.js';
import { baseOfWhere, freeWhere, isObjectWhere, joinWhere, ledgerPath, newPlaces, relativeWhere, statWhere, type Places, type Where } from '../source/places.js';
import { connectObjectStorage } from '../source/sources.js';
import { moveItem } from '../source/transfer.js';
import type { FailureReport } from '../outcome/settle.js';
import { BY_HAND_FOLDER } from '../route/route.js';
import { oneLine, parseSince, print, printJson, table, UsageError } from './output.js';
import { connectForCommand } from './tables.js';

export type { QuarantinedFile } from '../quarantine/quarantined.js';

/** Characters of an offending line shown (the console and `failed show`). */
const SHOWN_CHARS = 300;
/** Bytes read (decompressed) to find the offending lines at most: a line past them shows "not found". */
const READ_LIMIT = 1024 * 1024 * 1024;

interface Found {
  quarantine: Quarantine;
  client: pg.Client | null;
}

/** A command's places: a connection to object storage when a setting names a bucket. */
async function withPlaces<T>(config: Config, work: (places: Places) => Promise<T>): Promise<T> {
  const s3 = connectObjectStorage(config);
  try {
    return await work(newPlaces(config.root, s3, `cli-${process.pid}`));
  } finally {
    s3?.close();
  }
}

/** The open quarantine from the ledger, or from output_failed/ when the ledger cannot be asked. */
async function openQuarantine(config: Config, places: Places, filter: { dataset?: string; since?: string } = {}): Promise<Found> {
  const since = filter.since ? parseSince(filter.since) : undefined;
  const client = await connectForCommand(config);
  let why: string;
  if (typeof client === 'string') {
    why = client;
  } else {
    try {
      return { quarantine: await ledgerQuarantine(config, client, { dataset: filter.dataset, since }, places), client };
    } catch (error) {
      why = (error as { code?: string }).code === '42P01' ? 'no ledger in this database yet' : errorMessage(error);
      await client.end().catch(() => undefined);
    }
  }
  process.stderr.write(`loadbay: the ledger cannot be asked (${why}): the reports in output_failed/ are listed, each checked\n`);
  return { quarantine: await diskQuarantine(config, { dataset: filter.dataset, since }, places), client: null };
}

function warnSkipped(quarantine: Quarantine): void {
  for (const reason of quarantine.skipped.slice(0, 20)) process.stderr.write(`loadbay: skipped ${reason}\n`);
}

export async function failedList(config: Config, options: { dataset?: string; since?: string; json?: boolean }): Promise<void> {
  const { quarantine, client } = await withPlaces(config, (places) => openQuarantine(config, places, options));
  await client?.end().catch(() => undefined);
  warnSkipped(quarantine);
  const files = [...quarantine.files].reverse(); // oldest first, like a log
  if (options.json) return printJson(files.map((f) => ({ path: f.path, ...f.report, file_id: f.id })));
  if (files.length === 0) return print('no quarantined files');
  print(
    table(
      ['time', 'dataset', 'file', 'stage', 'reason'],
      files.map((f) => [f.report.failed_at.replace(/\.\d+Z$/, 'Z'), f.report.dataset ?? '_unmatched', f.path, f.report.stage, oneLine(f.report.reason)]),
    ),
  );
}

function findIn(config: Config, quarantine: Quarantine, name: string): QuarantinedFile {
  const wanted = name.replace(/\.error\.json$/, '');
  const matches = quarantine.files.filter(
    (f) => f.path === wanted || path.basename(f.path) === wanted || f.file === path.resolve(wanted) || f.file === path.resolve(config.folders.failed, wanted),
  );
  if (matches.length === 0) throw new UsageError(`no quarantined file "${name}" (see: loadbay failed list)`);
  return matches[0]!; // the newest
}

export async function failedShow(config: Config, name: string, options: { json?: boolean }): Promise<void> {
  return withPlaces(config, (places) => showOne(config, places, name, options));
}

async function showOne(config: Config, places: Places, name: string, options: { json?: boolean }): Promise<void> {
  const { quarantine, client } = await openQuarantine(config, places);
  await client?.end().catch(() => undefined);
  const file = findIn(config, quarantine, name);
  const { report } = file;
  if (options.json) return printJson({ path: file.path, ...report, file_id: file.id });
  const lines = [
    `${file.path} — ${report.stage} failed at ${report.failed_at}`,
    `dataset ${report.dataset ?? '(none matched)'}, file id ${file.id ?? '-'}, sha256 ${report.sha256 ?? '-'}`,
    '',
    report.summary || report.reason,
  ];
  const offending = await offendingLines(file);
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
export async function offendingLines(file: Pick<QuarantinedFile, 'file' | 'report' | 'places'>, count = 5): Promise<OffendingLine[]> {
  const located = file.report.problems.filter((p) => p.line !== undefined && p.line !== null);
  if (located.length === 0) return [];
  const wanted = new Map<number, typeof located>();
  for (const p of located) if (wanted.size < count || wanted.has(p.line!)) wanted.set(p.line!, [...(wanted.get(p.line!) ?? []), p]);
  const text = await readLines(file.file, new Set(wanted.keys()), 4 * SHOWN_CHARS, READ_LIMIT, file.places);
  return [...wanted].map(([line, problems]) => {
    const read = text.get(line);
    const shown = read === undefined ? null : read.text.length > SHOWN_CHARS || read.cut ? `${read.text.slice(0, SHOWN_CHARS - 1)}…` : read.text;
    const first = problems.find((p) => p.value !== undefined && p.value !== null);
    return { line, text: shown, problems, marked: shown === null || !first ? null : locate(shown, first.field, first.value_in_file ?? first.value) };
  });
}

/** Where the offending value is in a line. */
export function locate(line: string, field: string | undefined, value: string | undefined): { start: number; end: number } | null {
  if (value === undefined || value === null) return null;
  let raw = value;
  try {
    if (value.startsWith('"')) raw = JSON.parse(value) as string;
  } catch {
    // a shortened value: search as it is
  }
  if (raw === '') return null;
  const key = field ? line.indexOf(`"${field}"`) : -1;
  const at = line.indexOf(raw, key === -1 ? 0 : key + field!.length + 2);
  return at === -1 ? null : { start: at, end: at + raw.length };
}

export async function failedRetry(
  config: Config,
  log: Logger,
  names: string[],
  options: { all?: boolean; dataset?: string },
): Promise<void> {
  if (!options.all && names.length === 0) throw new UsageError('name the files to retry, or use --all');
  if (options.all && names.length > 0) throw new UsageError('give file names or --all, not both');
  // `--all [--dataset D]`: every quarantined file (of D), routed by name again. `FILE… --dataset D`:
  // those files routed to D by hand, whatever their names (into input/_dataset/D/).
  const routeTo = !options.all ? options.dataset : undefined;
  if (routeTo !== undefined && !config.datasets.some((d) => d.name === routeTo)) {
    throw new UsageError(`no dataset "${routeTo}" (datasets: ${config.datasets.map((d) => d.name).join(', ')})`);
  }
  await withPlaces(config, async (places) => {
    const { quarantine, client } = await openQuarantine(config, places, options.all ? { dataset: options.dataset } : {});
    try {
      warnSkipped(quarantine);
      const files = options.all ? [...quarantine.files].reverse() : names.map((n) => findIn(config, quarantine, n));
      for (const file of files) {
        const to = await retryOne(config, log, file, client, routeTo);
        const shown = isObjectWhere(to) || path.isAbsolute(to) ? to : `input/${to}`;
        print(`${file.path} → ${shown}${routeTo ? ` (routed to ${routeTo} by hand)` : ''}`);
      }
      if (files.length === 0) print('nothing to retry');
    } finally {
      await client?.end().catch(() => undefined);
    }
  });
}

type Connectable = pg.Pool | pg.Client;

/**
 * Moves one quarantined file back into the input it came from (its report kept in .history/) and,
 * with a database, records that in the ledger in the same transaction (a file goes back once);
 * returns the name the ledger will know it by there (a path inside the first input, else an
 * absolute path or an s3:// URL). With `routeTo`, into `_dataset/<routeTo>/`, which routes it to
 * that dataset.
 */
export async function retryOne(config: Config, log: Logger, file: QuarantinedFile, db: Connectable | null, routeTo?: string): Promise<string> {
  const { places } = file;
  const input = inputFolderOf(config, file.arrival);
  const wanted = routeTo ? `${BY_HAND_FOLDER}/${routeTo}/${path.posix.basename(file.report.file)}` : file.report.file;
  const target = await freeWhere(places, joinWhere(input, wanted));
  const relative = relativeWhere(input, target)!;
  const id = idInInput(config, input, relative);
  const dataset = file.report.dataset ?? '_unmatched';
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const history = joinWhere(config.folders.failed, dataset, '.history', `${fitName(baseOfWhere(file.path), 40)}.${stamp}.error.json`);
  const move = async () => {
    await moveWhole(places, file.reportPath, history);
    await moveWhole(places, file.file, target);
  };
  if (db && file.id) await inTransaction(db, async (client) => {
    await recordResubmission(client, { fileId: file.id!, kind: 'retry', input: id });
    await move();
  });
  else await move();
  log.event('retried', {
    file: relative,
    ...(id === relative ? {} : { input: isObjectWhere(input) ? input : `${path.relative(config.root, input) || '.'}/` }),
    dataset: file.report.dataset,
    ...(routeTo ? { routed_to: routeTo } : {}),
    file_id: file.id,
    from: file.path,
    report: ledgerPath(places, history),
  });
  return id;
}

/** A file or object moved as it is now to exactly `to` (copy-then-delete across sides). */
async function moveWhole(places: Places, from: Where, to: Where): Promise<void> {
  const seen = await statWhere(places, from);
  if (!seen) throw Object.assign(new Error(`${from} is gone`), { code: 'ENOENT' });
  await moveItem(places, { where: from, ...seen }, to, { exact: true });
}

/** Runs `work` in a transaction on its own connection (a pool's) or on the client given. */
export async function inTransaction<T>(db: Connectable, work: (client: pg.PoolClient | pg.Client) => Promise<T>): Promise<T> {
  const pooled = 'totalCount' in db;
  const client = pooled ? await (db as pg.Pool).connect() : (db as pg.Client);
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    if (pooled) (client as pg.PoolClient).release();
  }
}
