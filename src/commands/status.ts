/**
 * `loadbay status`: what the daemon has done, from `logs/conversion.log` and the folders (an input
 * in object storage: its first page of keys), so it works while the daemon runs and without a
 * database connection.
 */
import { createReadStream } from 'node:fs';
import { opendir } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type pg from 'pg';
import type { Config } from '../config/types.js';
import { isIgnoredName } from '../source/folder/watcher.js';
import { specialKind } from '../source/folder/special.js';
import { errorMessage } from '../errors.js';
import { print, printJson, table } from './output.js';
import { connectForCommand } from './tables.js';
import { filesInProgress } from '../db/files.js';
import { connectObjectStorage } from '../source/sources.js';
import { listPages } from '../source/s3/listing.js';
import type { S3Location } from '../source/s3/location.js';
import type { S3Connection } from '../source/s3/client.js';

const OUTCOMES = ['loaded', 'failed', 'skipped'] as const;
/** File names `waiting` lists at most (the counts per input stay exact): a backlog of 100,000 files is not a 100,000-line answer. */
export const MAX_WAITING_NAMES = 1000;

export interface Status {
  today: Record<string, number>;
  overall: Record<string, number>;
  rows_loaded: { today: number; overall: number };
  /** The first MAX_WAITING_NAMES files waiting, by name; `inputs` has the counts. */
  waiting: string[];
  /** Each input (a folder, or an s3:// prefix: its first page of keys) and how many files wait there. */
  inputs: Array<{ input: string; waiting: number; more: boolean; error?: string }>;
  /** Datasets whose table another session holds locked: their files wait (since, why). */
  datasets_waiting: Array<{ dataset: string; since: string; reason: string }>;
  /** What in input/ is not a regular file (a FIFO, a socket, a device): never loaded, left alone. */
  ignored: Array<{ file: string; reason: string }>;
  /** Files in input/ whose last event is `retrying` or `held`, with the reason. */
  stuck: Array<{ file: string; event: string; reason: string; at: string }>;
  last_error: Record<string, unknown> | null;
  /** Files an instance holds right now (ledger row `processing` and its claim lock taken), or why unknown. */
  in_progress: Array<{ file: string; attempts: number; instance: string; since: string }> | string;
}

/** `pool`: the daemon's own connections (for /api/status); without it a short-lived connection. */
export async function readStatus(config: Config, pool?: pg.Pool): Promise<Status> {
  return (await collectStatus(config, pool)).status;
}

/** The status, and for the text each input's first five waiting files by their names in it. */
async function collectStatus(config: Config, pool?: pg.Pool): Promise<{ status: Status; first: string[][] }> {
  const today = new Date().toISOString().slice(0, 10);
  const status: Status = {
    today: Object.fromEntries(OUTCOMES.map((o) => [o, 0])),
    overall: Object.fromEntries(OUTCOMES.map((o) => [o, 0])),
    rows_loaded: { today: 0, overall: 0 },
    waiting: [],
    inputs: [],
    datasets_waiting: [],
    ignored: [],
    stuck: [],
    last_error: null,
    in_progress: [],
  };
  const lastEvent = new Map<string, Record<string, unknown>>();
  const datasetsWaiting = new Map<string, { dataset: string; since: string; reason: string }>();
  const log = path.join(config.folders.logs, 'conversion.log');
  const stream = createReadStream(log);
  stream.on('error', () => undefined);
  try {
    for await (const text of createInterface({ input: stream, crlfDelay: Infinity })) {
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        continue;
      }
      const event = String(line['event'] ?? '');
      const isToday = String(line['timestamp'] ?? '').startsWith(today);
      if ((OUTCOMES as readonly string[]).includes(event)) {
        status.overall[event]!++;
        if (isToday) status.today[event]!++;
        if (event === 'loaded') {
          status.rows_loaded.overall += Number(line['rows'] ?? 0);
          if (isToday) status.rows_loaded.today += Number(line['rows'] ?? 0);
        }
      }
      if (['failed', 'retrying', 'held', 'waiting', 'dataset_waiting'].includes(event)) status.last_error = line;
      if (event === 'dataset_waiting') {
        const dataset = String(line['dataset']);
        const since = datasetsWaiting.get(dataset)?.since ?? String(line['timestamp']);
        datasetsWaiting.set(dataset, { dataset, since, reason: String(line['reason'] ?? '') });
      }
      if (event === 'dataset_resumed') datasetsWaiting.delete(String(line['dataset']));
      // Only a file whose last word is retrying or held is kept: memory follows the files stuck, not the log's length.
      if (typeof line['file'] === 'string') {
        if (event === 'retrying' || event === 'held') lastEvent.set(line['file'], line);
        else lastEvent.delete(line['file']);
      }
    }
  } catch {
    // no log yet
  }
  const s3 = config.inputs.some((i) => i.location) ? connectObjectStorage(config) : null;
  /** Each input's waiting files: as `waiting` shows them, and by their names in the input. */
  const waitingIn: Array<Array<{ shown: string; relative: string }>> = [];
  try {
    for (const [i, input] of config.inputs.entries()) {
      const found = input.location ? await waitingObjects(s3!, input.location) : await waitingFiles(input.folder, (relative) => lastEvent.has(relative));
      for (const ignored of found.ignored ?? []) status.ignored.push(i === 0 ? ignored : { ...ignored, file: `${path.relative(config.root, input.folder) || '.'}/${ignored.file}` });
      const name = input.location ? input.location.url : `${path.relative(config.root, input.folder) || '.'}/`;
      status.inputs.push({ input: name, waiting: found.count, more: found.more, ...(found.error ? { error: found.error } : {}) });
      waitingIn[i] = [];
      for (const relative of found.names) {
        const last = lastEvent.get(relative);
        if (last && (last['event'] === 'retrying' || last['event'] === 'held')) {
          status.stuck.push({ file: relative, event: String(last['event']), reason: String(last['reason'] ?? ''), at: String(last['timestamp']) });
        } else if (status.waiting.length < MAX_WAITING_NAMES) {
          const shown = i === 0 ? relative : `${name}${relative}`;
          status.waiting.push(shown);
          waitingIn[i]!.push({ shown, relative });
        }
      }
    }
  } finally {
    s3?.close();
  }
  status.datasets_waiting = [...datasetsWaiting.values()];
  status.in_progress = await inProgress(config, pool);
  if (Array.isArray(status.in_progress)) {
    const busy = new Set(status.in_progress.map((p) => p.file));
    status.waiting = status.waiting.filter((file) => !busy.has(file));
    waitingIn.forEach((names, i) => (waitingIn[i] = names.filter((name) => !busy.has(name.shown))));
  }
  return { status, first: waitingIn.map((names) => names.slice(0, 5).map((name) => name.relative)) };
}

const byFile = (a: { file: string }, b: { file: string }) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0);

/**
 * The files in a local input folder, by their paths inside it, and what is there but no regular
 * file: every file counted; the stuck ones (retrying, held) and the first MAX_WAITING_NAMES others
 * (in name order) named.
 */
async function waitingFiles(dir: string, stuck: (relative: string) => boolean): Promise<{ names: string[]; count: number; more: boolean; error?: string; ignored: Status['ignored'] }> {
  const names: string[] = [];
  const stuckNames: string[] = [];
  const ignored: Status['ignored'] = [];
  let count = 0;
  try {
    for await (const entry of await opendir(dir, { recursive: true })) {
      if (isIgnoredName(entry.name)) continue;
      const relative = path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join('/');
      const kind = specialKind(entry);
      if (kind && ignored.length < MAX_WAITING_NAMES) ignored.push({ file: relative, reason: `${kind}, not a regular file: left alone` });
      if (!entry.isFile()) continue;
      count++;
      if (stuck(relative)) stuckNames.push(relative);
      else names.push(relative);
      // Kept sorted and cut back now and then: memory stays at about twice the cap, whatever the count.
      if (names.length >= 2 * MAX_WAITING_NAMES) names.sort().splice(MAX_WAITING_NAMES);
    }
  } catch (error) {
    // No folder (yet) is nothing waiting; anything else (a sub-folder it may not read) is said.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      names.sort().splice(MAX_WAITING_NAMES);
      ignored.sort(byFile);
      return { names: [...stuckNames, ...names], count, more: true, error: errorMessage(error), ignored };
    }
  }
  names.sort().splice(MAX_WAITING_NAMES);
  ignored.sort(byFile);
  return { names: [...stuckNames, ...names], count, more: false, ignored };
}

/** The first page of keys under an input prefix (status lists no more: `more` says there are). */
async function waitingObjects(s3: S3Connection, location: S3Location): Promise<{ names: string[]; count: number; more: boolean; error?: string; ignored?: Status['ignored'] }> {
  try {
    const pages = listPages(s3, location);
    const first = await pages.next();
    await pages.return();
    const listed = first.done ? [] : first.value;
    const names = listed.map((o) => o.key.slice(location.prefix.length)).filter((name) => !isIgnoredName(name));
    return { names, count: names.length, more: listed.length >= s3.settings.listPageSize };
  } catch (error) {
    return { names: [], count: 0, more: false, error: errorMessage(error) };
  }
}

/** From the ledger: `processing` rows whose claim lock (see claim/claim.ts) some instance holds. */
async function inProgress(config: Config, pool?: pg.Pool): Promise<Status['in_progress']> {
  const client = pool ?? (await connectForCommand(config));
  if (typeof client === 'string') return `unknown (${client})`;
  try {
    const rows = await filesInProgress(client);
    return rows.map((r) => ({ file: r.path, attempts: r.attempts, instance: r.instance_id, since: r.updated_at.toISOString() }));
  } catch (error) {
    return (error as { code?: string }).code === '42P01' ? [] : `unknown (${errorMessage(error)})`;
  } finally {
    if (!pool) await (client as pg.Client).end().catch(() => undefined);
  }
}

export async function statusCommand(config: Config, options: { json?: boolean }): Promise<void> {
  const { status, first } = await collectStatus(config);
  if (options.json) return printJson(status);
  const lines = [
    table(
      ['', ...OUTCOMES, 'rows loaded'],
      [
        ['today', ...OUTCOMES.map((o) => String(status.today[o])), String(status.rows_loaded.today)],
        ['overall', ...OUTCOMES.map((o) => String(status.overall[o])), String(status.rows_loaded.overall)],
      ],
    ),
    `in progress: ${typeof status.in_progress === 'string' ? status.in_progress : `${status.in_progress.length}${status.in_progress.length ? ` (${status.in_progress.slice(0, 5).map((p) => p.file).join(', ')})` : ''}`}`,
    ...status.inputs.map(
      (i, n) => `waiting in ${i.input}: ${i.waiting}${i.more ? '+' : ''}${first[n]!.length ? ` (${first[n]!.join(', ')}${i.waiting > 5 ? ', …' : ''})` : ''}${i.error ? ` — cannot list: ${i.error}` : ''}`,
    ),
    ...status.datasets_waiting.map((d) => `dataset ${d.dataset} waiting since ${d.since}: ${d.reason}`),
    ...(status.ignored.length ? [`not regular files, left alone: ${status.ignored.length} (${status.ignored.slice(0, 5).map((i) => `${i.file}: ${i.reason.split(',')[0]}`).join('; ')}${status.ignored.length > 5 ? '; …' : ''})`] : []),
    `retrying or held: ${status.stuck.length}`,
    ...status.stuck.slice(0, 10).map((s) => `  ${s.file}: ${s.event} since ${s.at}: ${s.reason}`),
    `last error: ${status.last_error ? `${String(status.last_error['timestamp'])} ${String(status.last_error['event'])} ${String(status.last_error['file'] ?? '')}: ${String(status.last_error['reason'] ?? '')}` : 'none'}`,
  ];
  print(lines.join('\n'));
}
