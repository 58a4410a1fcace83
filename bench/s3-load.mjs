#!/usr/bin/env node
/**
 * Object storage against a local folder, in one run, on the very same files (bench/data.mjs): the
 * built daemon (`loadbay start`, the flags `npm start` uses) with its input in a local folder, then
 * in a bucket (archive there too), then with input, archive and Parquet in the bucket. The S3 server
 * is the test server (tests/helpers/s3-server.mjs: fauxqs with the conditional writes it lacks) in a
 * process of its own, on this machine.
 *
 *   node bench/s3-load.mjs [--runs 3] [--only big,small,memory] [--rows 1000000] [--files 999] [--large]
 *
 * - big: the 1M-row CSV, the first file of a freshly started daemon, from the moment it is in place
 *   (renamed into input/, or PUT and announced with an event notification on /hooks/s3) until its
 *   `loaded` line: rows committed, Parquet written, the file archived.
 * - small: the 999 small student files waiting when the daemon starts, until the last is settled.
 * - memory: peak RSS of the daemon for the big CSV; with --large, for a ~1 GB object too.
 * The daemon runs with the node flags `npm start` uses (BENCH_DAEMON_FLAGS to change them); the
 * small files' lines give the CPU of loadbay, the S3 server and PostgreSQL during the last run.
 * Figures are medians of --runs; the ratios are bucket / local (target ≤ 1.2×).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile, copyFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { CreateBucketCommand, DeleteObjectsCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createReadStream, readFileSync, readdirSync } from 'node:fs';
import { startThrowawayPostgres } from './postgres.mjs';
import { dataIn } from './data.mjs';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    only: { type: 'string', default: 'big,small,memory' },
    rows: { type: 'string', default: '1000000' },
    files: { type: 'string', default: '999' },
    large: { type: 'boolean', default: false },
  },
});
const RUNS = Number(args.runs);
const ROWS = Number(args.rows);
const FILES = Number(args.files);
const want = (name) => args.only.split(',').includes(name);
const PROJECT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const WORK = process.env.BENCH_WORK ? path.resolve(process.env.BENCH_WORK) : path.join(PROJECT, 'bench', '.work');
const CLI = path.join(PROJECT, 'dist', 'cli.js');
const BUCKET = 'bench';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const fmt = (ms) => `${(ms / 1000).toFixed(2)} s`;
const { BIG_SCHEMA, makeBigCsv, makeSmallFiles } = dataIn(WORK, FILES);

console.log(`${os.cpus().length} CPUs (${os.cpus()[0]?.model}), node ${process.version}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);

// The node flags `npm start` uses (docs/operations.md, Memory), as bench.mjs runs the daemon.
const DAEMON_FLAGS = (process.env.BENCH_DAEMON_FLAGS ?? '--max-old-space-size=1024 --initial-old-space-size=128 --max-semi-space-size=4 --single-threaded-gc').split(' ').filter(Boolean);

/** CPU seconds (user + system) of process `pid` and, with `children`, of every process it started (live, or exited and reaped). */
function cpuSeconds(pid, children = false) {
  let total = 0;
  for (const name of children ? readdirSync('/proc').filter((n) => /^\d+$/.test(n)) : [String(pid)]) {
    try {
      const text = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
      if (Number(name) !== pid && Number(fields[1]) !== pid) continue;
      total += (Number(fields[11]) + Number(fields[12]) + (Number(name) === pid && children ? Number(fields[13]) + Number(fields[14]) : 0)) / 100;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

// ---- servers ------------------------------------------------------------------------------------
const db = await startThrowawayPostgres(path.join(WORK, 'pg-s3'), ['-c', 'max_wal_size=4GB']);
const s3Port = await new Promise((resolve) => {
  const probe = net.createServer();
  probe.listen(0, '127.0.0.1', () => {
    const { port } = probe.address();
    probe.close(() => resolve(port));
  });
});
const s3Server = spawn(
  process.execPath,
  ['--max-old-space-size=8192', '--input-type=module', '-e', `import { startS3Server } from ${JSON.stringify(path.join(PROJECT, 'tests/helpers/s3-server.mjs'))}; await startS3Server({ port: ${s3Port} }); console.log('up');`],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
await once(s3Server.stdout, 'data');
const endpoint = `http://127.0.0.1:${s3Port}`;
const credentials = { AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench-secret', AWS_REGION: 'us-east-1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
const s3 = new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench-secret' }, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
const client = new pg.Client({ connectionString: db.url });
await client.connect();

// ---- the variants ---------------------------------------------------------------------------------
const VARIANTS = {
  local: { folders: '', input: 'local' },
  bucket: { folders: `folders: { input: "s3://${BUCKET}/in/", archive: "s3://${BUCKET}/archive/" }\n`, input: 'bucket' },
  'bucket + lake': { folders: `folders: { input: "s3://${BUCKET}/in/", archive: "s3://${BUCKET}/archive/", parquet: "s3://${BUCKET}/lake/" }\n`, input: 'bucket' },
};
const s3Section = `s3: { endpoint: "${endpoint}", force_path_style: true, region: us-east-1 }\n`;

async function project(variant, datasets) {
  const root = path.join(WORK, 'project-s3');
  await rm(root, { recursive: true, force: true });
  await mkdir(path.join(root, 'config', 'datasets'), { recursive: true });
  await mkdir(path.join(root, 'input'), { recursive: true });
  await mkdir(path.join(root, 'staging'), { recursive: true });
  await writeFile(path.join(root, 'config', 'loadbay.yaml'), `root: ..\nhttp: { port: 0 }\n${VARIANTS[variant].folders}${s3Section}`);
  for (const [name, text] of Object.entries(datasets)) await writeFile(path.join(root, 'config', 'datasets', name), text);
  return root;
}

async function emptyBucket() {
  for (;;) {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key }));
    if (keys.length === 0) return;
    await s3.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: keys } }));
  }
}

async function reset(tables) {
  await client.query('DROP SCHEMA IF EXISTS loadbay CASCADE');
  for (const t of tables) await client.query(`DROP TABLE IF EXISTS ${t}`);
  await client.query('CHECKPOINT');
  await emptyBucket();
}

async function startLoadbay(root) {
  const child = spawn(process.execPath, [...DAEMON_FLAGS, CLI, 'start', '--config', path.join(root, 'config', 'loadbay.yaml')], {
    env: { ...process.env, ...credentials, DATABASE_URL: db.url },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d) => {
    if (out.length < 1_000_000) out += d;
  });
  const startedAt = Date.now();
  while (!/watching/.test(out)) {
    if (Date.now() - startedAt > 30_000) throw new Error(`loadbay did not start: ${out}`);
    await sleep(20);
  }
  const exit = once(child, 'exit');
  const httpUrl = /http: (http:\/\/[^/\s]+)/.exec(out)?.[1];
  return {
    pid: child.pid,
    httpUrl,
    watchingAt: Date.now(),
    peakRssMb: async () => Number(/VmHWM:\s+(\d+)/.exec(await readFile(`/proc/${child.pid}/status`, 'utf8'))[1]) / 1024,
    stop: async () => {
      child.kill('SIGTERM');
      await exit;
    },
  };
}

async function outcomes(root, count, timeoutMs = 900_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await readFile(path.join(root, 'logs', 'conversion.log'), 'utf8').catch(() => '');
    const lines = text.split('\n').slice(0, -1).filter(Boolean).map((l) => JSON.parse(l)).filter((l) => ['loaded', 'failed', 'skipped'].includes(l.event));
    if (lines.length >= count) {
      const bad = lines.find((l) => l.event !== 'loaded');
      if (bad) throw new Error(`${bad.file}: ${bad.event}: ${bad.reason}`);
      return lines;
    }
    if (Date.now() > deadline) throw new Error(`timed out: ${lines.length}/${count} outcomes`);
    await sleep(10);
  }
}

/** The file put into the variant's input: renamed into input/, or uploaded and announced as a bucket would. */
async function deliver(variant, root, lb, file, name) {
  if (VARIANTS[variant].input === 'local') {
    const staged = path.join(root, 'staging', name);
    await copyFile(file, staged);
    const at = Date.now();
    await rename(staged, path.join(root, 'input', name));
    return at;
  }
  await new Upload({ client: s3, params: { Bucket: BUCKET, Key: `in/${name}`, Body: createReadStream(file) }, partSize: 8 * 2 ** 20, queueSize: 4 }).done();
  const at = Date.now();
  const event = { Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: BUCKET }, object: { key: `in/${name}` } } }] };
  await fetch(`${lb.httpUrl}/hooks/s3`, { method: 'POST', body: JSON.stringify(event), headers: { 'content-type': 'application/json' } });
  return at;
}

const bigYaml = `name: big\nmatch: ["big-*.csv"]\nformat: csv\ntable: bench.big\nschema: ${JSON.stringify(BIG_SCHEMA)}\n`;

async function bigRun(variant, file) {
  const root = await project(variant, { 'big.yaml': bigYaml });
  await reset(['bench.big']);
  const lb = await startLoadbay(root);
  try {
    const at = await deliver(variant, root, lb, file, path.basename(file));
    const [line] = await outcomes(root, 1);
    return { ms: Date.parse(line.timestamp) - at, rss: await lb.peakRssMb(), stages: line.stage_seconds };
  } finally {
    await lb.stop();
  }
}

async function smallRun(variant, dir, names) {
  const students = (await readFile(path.join(PROJECT, 'config', 'datasets', 'students.yaml'), 'utf8')).replace('public.student_data', 'bench.students');
  const root = await project(variant, { 'students.yaml': students });
  await reset(['bench.students']);
  if (VARIANTS[variant].input === 'local') {
    for (const name of names) await copyFile(path.join(dir, name), path.join(root, 'input', name));
  } else {
    let next = 0;
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (next < names.length) {
        const name = names[next++];
        await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `in/${name}`, Body: await readFile(path.join(dir, name)) }));
      }
    }));
  }
  const postmaster = Number(readFileSync(path.join(WORK, 'pg-s3', 'postmaster.pid'), 'utf8').split('\n')[0]);
  const lb = await startLoadbay(root);
  const before = { loadbay: cpuSeconds(lb.pid), s3: cpuSeconds(s3Server.pid), postgres: cpuSeconds(postmaster, true) };
  try {
    const lines = await outcomes(root, names.length);
    const cpu = { loadbay: cpuSeconds(lb.pid) - before.loadbay, s3: cpuSeconds(s3Server.pid) - before.s3, postgres: cpuSeconds(postmaster, true) - before.postgres };
    return { ms: Math.max(...lines.map((l) => Date.parse(l.timestamp))) - lb.watchingAt, rss: await lb.peakRssMb(), cpu };
  } finally {
    await lb.stop();
  }
}

const cpuText = (cpu) => `loadbay ${cpu.loadbay.toFixed(2)}, S3 server ${cpu.s3.toFixed(2)}, PostgreSQL ${cpu.postgres.toFixed(2)}`;

const report = [];
const table = (title, rows) => {
  report.push(`\n${title}\n${rows.map((r) => `  ${r[0].padEnd(44)} ${String(r[1]).padEnd(14)} ${r[2] ?? ''}`).join('\n')}`);
  console.log(report.at(-1));
};

try {
  if (want('big') || want('memory')) {
    const file = await makeBigCsv(ROWS, `big-${ROWS}.csv`);
    const size = (await stat(file)).size / 2 ** 20;
    const results = {};
    for (const variant of Object.keys(VARIANTS)) {
      results[variant] = [];
      for (let i = 0; i < RUNS; i++) results[variant].push(await bigRun(variant, file));
    }
    const ms = (v) => median(results[v].map((r) => r.ms));
    const rss = (v) => median(results[v].map((r) => r.rss));
    table(`Big CSV: ${ROWS.toLocaleString('en')} rows, ${size.toFixed(0)} MB, first file after start (median of ${RUNS})`, [
      ...Object.keys(VARIANTS).map((v) => [`input ${v === 'local' ? 'in a local folder' : v === 'bucket' ? 'in a bucket (archive there)' : 'in a bucket, Parquet too'}`, fmt(ms(v)), `peak RSS ${rss(v).toFixed(0)} MB; stages ${JSON.stringify(results[v].at(-1).stages)}`]),
      ['ratio bucket / local', `${(ms('bucket') / ms('local')).toFixed(2)}×`, 'target ≤ 1.2×'],
      ['ratio bucket + lake / local', `${(ms('bucket + lake') / ms('local')).toFixed(2)}×`, ''],
    ]);
  }
  if (want('small')) {
    const dir = await makeSmallFiles('a');
    const names = (await readdir(dir)).filter((f) => f.endsWith('.csv'));
    const results = {};
    for (const variant of Object.keys(VARIANTS)) {
      results[variant] = [];
      for (let i = 0; i < RUNS; i++) results[variant].push(await smallRun(variant, dir, names));
    }
    const ms = (v) => median(results[v].map((r) => r.ms));
    table(`Many small files: ${names.length} × 400 rows, waiting when the daemon starts, until all settled (median of ${RUNS})`, [
      ...Object.keys(VARIANTS).map((v) => [`input ${v === 'local' ? 'in a local folder' : v === 'bucket' ? 'in a bucket (archive there)' : 'in a bucket, Parquet too'}`, fmt(ms(v)), `${Math.round(names.length / (ms(v) / 1000))} files/s, peak RSS ${median(results[v].map((r) => r.rss)).toFixed(0)} MB; CPU-s ${cpuText(results[v].at(-1).cpu)}`]),
      ['ratio bucket / local', `${(ms('bucket') / ms('local')).toFixed(2)}×`, 'target ≤ 1.2×'],
      ['ratio bucket + lake / local', `${(ms('bucket + lake') / ms('local')).toFixed(2)}×`, ''],
    ]);
  }
  if (want('memory') && args.large) {
    const largeRows = Math.round((ROWS * 1024 ** 3) / (await stat(await makeBigCsv(ROWS, `big-${ROWS}.csv`))).size);
    const file = await makeBigCsv(largeRows, `big-${largeRows}.csv`);
    const rows = [];
    for (const variant of ['local', 'bucket', 'bucket + lake']) {
      const result = await bigRun(variant, file);
      rows.push([`input ${variant === 'local' ? 'in a local folder' : variant === 'bucket' ? 'in a bucket (archive there)' : 'in a bucket, Parquet too'}`, `${result.rss.toFixed(0)} MB`, `in ${fmt(result.ms)}`]);
    }
    table(`Memory: peak RSS of the daemon, a ${((await stat(file)).size / 2 ** 30).toFixed(2)} GB file or object (${largeRows.toLocaleString('en')} rows)`, rows);
  }
} finally {
  await client.end().catch(() => undefined);
  await db.stop().catch(() => undefined);
  s3.destroy();
  s3Server.kill();
  await rm(path.join(WORK, 'project-s3'), { recursive: true, force: true });
}
