#!/usr/bin/env node
/**
 * loadbay benchmark (`npm run bench`, `npm run bench -- --large`, `npm run bench -- --smoke`).
 * Generates its data deterministically under bench/.work, starts a PostgreSQL (embedded, or
 * BENCH_DATABASE_URL) and the real loadbay daemon (the built CLI, watching a folder), and prints
 * one table per workload: loadbay's figure, the baseline's figure from the same run against the
 * same server, and their ratio. Each figure is the median of --runs runs (default 3).
 *
 * Baselines use `psql \copy` (postgresql-client; installed with apt-get when missing and root).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, writeFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createGzip } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import pg from 'pg';
import { startThrowawayPostgres } from './postgres.mjs';
import { dataIn } from './data.mjs';

const args = process.argv.slice(2);
const SMOKE = args.includes('--smoke');
const LARGE = args.includes('--large');
const RUNS = SMOKE ? 1 : Number(args[args.indexOf('--runs') + 1] || 3) || 3;
const only = args.includes('--only') ? args[args.indexOf('--only') + 1].split(',') : null;
const want = (name) => !only || only.includes(name);
const BIG_ROWS = SMOKE ? 2_000 : 1_000_000;
const SMALL_FILES = SMOKE ? 9 : 999;
const LATENCY_FILES = SMOKE ? 5 : 200;

const PROJECT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const WORK = process.env.BENCH_WORK ? path.resolve(process.env.BENCH_WORK) : path.join(PROJECT, 'bench', '.work');
// --no-baseline: loadbay's figures only (no psql needed) — what the smoke test in `npm test` runs.
const NO_BASELINE = args.includes('--no-baseline');
const CLI = path.join(PROJECT, 'dist', 'cli.js');
// BENCH_NODE: the node binary that runs the daemon (default: the one running this script), e.g.
// BENCH_NODE=/usr/bin/node to compare Node versions on the same build.
const NODE = process.env.BENCH_NODE || process.execPath;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const percentile = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)];

// ---- data: bench/data.mjs (shared with bench/s3-load.mjs) ---------------------------------------
const { BIG_SCHEMA, BIG_DDL, STUDENT_HEADER, bigRow, writeLines, makeBigCsv, makeSmallFiles } = dataIn(WORK, SMALL_FILES);

// ---- servers --------------------------------------------------------------------------------------
function ensurePsql() {
  if (spawnSync('psql', ['--version']).status === 0) return 'psql';
  if (process.getuid?.() === 0) {
    console.log('bench: psql missing; installing postgresql-client with apt-get');
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
    spawnSync('apt-get', ['install', '-y', '-qq', 'postgresql-client'], { stdio: 'inherit' });
    if (spawnSync('psql', ['--version']).status === 0) return 'psql';
  }
  throw new Error('the baselines need psql: apt-get install postgresql-client');
}

async function startPostgres() {
  if (process.env.BENCH_DATABASE_URL) return { url: process.env.BENCH_DATABASE_URL, stop: async () => {} };
  const server = await startThrowawayPostgres(path.join(WORK, 'pg'), ['-c', 'max_wal_size=4GB']);
  serverPid = readFileSync(path.join(WORK, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0].trim();
  return server;
}

// ---- loadbay under test -------------------------------------------------------------------------
async function loadbayProject(datasets) {
  const root = path.join(WORK, 'project');
  await rm(root, { recursive: true, force: true });
  await mkdir(path.join(root, 'config', 'datasets'), { recursive: true });
  // BENCH_PROCESSING: extra `processing:` settings to try, e.g. "batch_rows: 2000, concurrency: 6".
  const processing = process.env.BENCH_PROCESSING ? `processing: { ${process.env.BENCH_PROCESSING} }\n` : '';
  await writeFile(path.join(root, 'config', 'loadbay.yaml'), `root: ..\nhttp: { port: 0 }\n${processing}`);
  for (const [name, text] of Object.entries(datasets)) await writeFile(path.join(root, 'config', 'datasets', name), text);
  await mkdir(path.join(root, 'input'), { recursive: true });
  await mkdir(path.join(root, 'staging'), { recursive: true });
  return root;
}

async function startLoadbay(root, url) {
  // BENCH_NODE_ARGS: extra node flags for the daemon, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  // The daemon runs with the node flags `npm start` and the Dockerfile use (docs/operations.md, Memory).
  // BENCH_DAEMON_FLAGS replaces those flags (to A/B them); BENCH_NODE_ARGS adds to them.
  const flags = process.env.BENCH_DAEMON_FLAGS ?? '--max-old-space-size=1024 --initial-old-space-size=128 --max-semi-space-size=4 --single-threaded-gc';
  const nodeArgs = [...flags.split(' '), ...(process.env.BENCH_NODE_ARGS ?? '').split(' ')].filter(Boolean);
  const child = spawn(NODE, [...nodeArgs, CLI, 'start', '--config', path.join(root, 'config', 'loadbay.yaml')], {
    env: { ...process.env, DATABASE_URL: url },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  // BENCH_DAEMON_OUT: a file that gets the daemon's stdout too (with --trace-gc, say).
  const tee = process.env.BENCH_DAEMON_OUT ? createWriteStream(process.env.BENCH_DAEMON_OUT, { flags: 'a' }) : null;
  child.stdout.on('data', (d) => {
    if (out.length < 1_000_000) out += d;
    tee?.write(d);
  });
  const deadline = Date.now() + 30_000;
  while (!/watching/.test(out)) {
    if (Date.now() > deadline) throw new Error(`loadbay did not start: ${out}`);
    await sleep(20);
  }
  const exit = once(child, 'exit');
  return {
    pid: child.pid,
    async peakRssMb() {
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
      return Number(/VmHWM:\s+(\d+)/.exec(status)[1]) / 1024;
    },
    async stop() {
      child.kill('SIGTERM');
      await exit;
    },
  };
}

async function loadedLines(root) {
  const text = await readFile(path.join(root, 'logs', 'conversion.log'), 'utf8').catch(() => '');
  // Only complete lines: the daemon may be in the middle of writing the last one.
  return text
    .split('\n')
    .slice(0, -1)
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .filter((l) => l.event === 'loaded' || l.event === 'failed' || l.event === 'skipped');
}

async function waitOutcomes(root, count, timeoutMs = 600_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lines = await loadedLines(root);
    if (lines.length >= count) {
      const failed = lines.filter((l) => l.event !== 'loaded');
      if (failed.length) throw new Error(`bench file ${failed[0].event}: ${failed[0].file}: ${failed[0].reason}`);
      return lines;
    }
    if (Date.now() > deadline) throw new Error(`timed out: ${lines.length}/${count} outcomes`);
    await sleep(10);
  }
}

async function resetDatabase(client, tables) {
  await client.query('DROP SCHEMA IF EXISTS loadbay CASCADE');
  for (const t of tables) await client.query(`DROP TABLE IF EXISTS ${t}`);
  await client.query('CHECKPOINT');
}

const dataset = (name, match, format, table, schema, extra = '') =>
  `name: ${name}\nmatch: ${JSON.stringify(match)}\nformat: ${format}\ntable: ${table}\n${extra}schema: ${JSON.stringify(schema)}\n`;

function psqlCopy(psql, url, table, file, options) {
  execFileSync(psql, [url, '-v', 'ON_ERROR_STOP=1', '-q', '-c', `\\copy ${table} FROM '${file}' WITH (${options})`]);
}

/**
 * The second baseline a data engineer would script: DuckDB converts the CSV to zstd Parquet, then
 * psql \copy loads it. @duckdb/node-api is installed on demand under bench/.work/duckdb (it is not
 * a dependency of loadbay). Returns null when it cannot be installed.
 */
async function duckdbConverter() {
  const dir = path.join(WORK, 'duckdb');
  const entry = path.join(dir, 'node_modules', '@duckdb', 'node-api', 'lib', 'index.js');
  if (!existsSync(entry)) {
    console.log('bench: installing @duckdb/node-api for the DuckDB baseline (bench/.work/duckdb)');
    await mkdir(dir, { recursive: true });
    const npm = spawnSync('npm', ['install', '--prefix', dir, '--no-save', '--no-audit', '--no-fund', '--loglevel=error', '@duckdb/node-api'], { stdio: 'inherit' });
    if (npm.status !== 0 || !existsSync(entry)) return null;
  }
  const { DuckDBInstance } = await import(pathToFileURL(entry).href);
  return async (csv, parquet) => {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    await connection.run(`COPY (SELECT * FROM read_csv('${csv}')) TO '${parquet}' (FORMAT parquet, COMPRESSION zstd)`);
    connection.closeSync?.();
  };
}

// ---- workloads ----------------------------------------------------------------------------------
/**
 * One file through a freshly started daemon. With `warmup` (a smaller file of the same dataset),
 * that one is loaded first, so the timed file meets a daemon that has run before — JIT-compiled
 * code, its Parquet thread started — as a long-running daemon would be.
 */
async function timeOneFile(url, client, root, file, name, table, warmup = null) {
  const lb = await startLoadbay(root, url);
  try {
    if (warmup) {
      await execCopy(warmup, path.join(root, 'staging', path.basename(warmup)));
      await rename(path.join(root, 'staging', path.basename(warmup)), path.join(root, 'input', path.basename(warmup)));
      await waitOutcomes(root, 1);
    }
    const staged = path.join(root, 'staging', name);
    await execCopy(file, staged);
    const cpu0 = { loadbay: cpuSeconds(lb.pid), server: serverCpuSeconds(), threads: threadCpu(lb.pid) };
    const started = Date.now();
    await rename(staged, path.join(root, 'input', name));
    const line = (await waitOutcomes(root, warmup ? 2 : 1)).at(-1);
    const ms = Date.parse(line.timestamp) - started;
    const threads = threadCpu(lb.pid);
    for (const [tid, t] of threads) t.cpu -= cpu0.threads.get(tid)?.cpu ?? 0;
    const cpu = { loadbay: cpuSeconds(lb.pid) - cpu0.loadbay, server: serverCpuSeconds() - cpu0.server, threads };
    return { ms, rows: line.rows, rss: await lb.peakRssMb(), cpu, stages: line.stage_seconds };
  } finally {
    await lb.stop();
    await rm(path.join(root, 'logs'), { recursive: true, force: true });
    await rm(path.join(root, 'archive'), { recursive: true, force: true });
    await rm(path.join(root, 'output_parquet'), { recursive: true, force: true });
    await resetDatabase(client, [table]);
  }
}

/** CPU seconds (user + system) of a process, its threads included; `children`: of its waited-for children. */
function cpuSeconds(pid, children = false) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const [user, system] = children ? [fields[13], fields[14]] : [fields[11], fields[12]];
    return (Number(user) + Number(system)) / CLOCK_TICKS;
  } catch {
    return 0; // the process is gone
  }
}
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim()) || 100;

/** CPU seconds per thread of a process: thread id → name and seconds (the main thread is named after the process). */
function threadCpu(pid) {
  const threads = new Map();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      threads.set(tid, { comm: tid === String(pid) ? 'main' : comm, cpu: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS });
    }
  } catch {
    // the process is gone
  }
  return threads;
}

/** The busiest threads of a load, e.g. "main 2.1 s, node 1.2 s, V8 DefaultWorke 0.3 s" (Node names its worker threads `node`). */
function threadSummary(threads) {
  return [...threads.values()].filter(({ cpu }) => cpu >= 0.05).sort((a, b) => b.cpu - a.cpu).map(({ comm, cpu }) => `${comm} ${cpu.toFixed(2)} s`).join(', ');
}

/**
 * CPU seconds of the benchmark's PostgreSQL (the server's share of a load): its postmaster and every
 * backend of it, with the backends that have exited since (psql's ends with it), which the
 * postmaster counts as its waited-for children. Other servers on the machine (another checkout's
 * test run) are not counted. With BENCH_DATABASE_URL, every `postgres` process on the machine.
 */
function serverCpuSeconds() {
  const postmaster = serverPid;
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'postgres') continue;
      if (postmaster !== null && entry !== postmaster && parentOf(entry) !== postmaster) continue;
      total += cpuSeconds(entry) + cpuSeconds(entry, true);
    } catch {
      // gone meanwhile
    }
  }
  return total;
}
let serverPid = null;
function parentOf(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
}

async function execCopy(from, to) {
  await pipeline((await import('node:fs')).createReadStream(from), createWriteStream(to));
}

const results = [];
/** The baseline's row and the ratio row, or one row saying the baseline was skipped. */
function baselineRows(label, base, mine, target, rate) {
  if (base.length === 0) return [[label, 'skipped (--no-baseline)', '']];
  return [
    [label, `${(median(base) / 1000).toFixed(2)} s`, rate(median(base))],
    ['ratio', `${(median(mine) / median(base)).toFixed(2)}×`, target],
  ];
}
function report(title, rows) {
  results.push({ title, rows });
  console.log(`\n${title}`);
  for (const r of rows) console.log(`  ${r.join(' | ')}`);
}

async function main() {
  await mkdir(WORK, { recursive: true });
  const psql = NO_BASELINE ? null : ensurePsql();
  console.log('bench: generating data');
  const bigCsv = want('big') || want('memory') ? await makeBigCsv(BIG_ROWS, `big-${BIG_ROWS}.csv`) : null;
  const db = await startPostgres();
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  const daemonNode = NODE === process.execPath ? process.version : execFileSync(NODE, ['--version']).toString().trim();
  const machine = `${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, daemon on Node ${daemonNode}, PostgreSQL ${(await client.query('SHOW server_version')).rows[0].server_version}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`;
  console.log(`bench: ${machine}`);
  const fmt = (ms) => `${(ms / 1000).toFixed(2)} s`;
  try {
    // 1. Big CSV
    if (want('big')) {
      const root = await loadbayProject({ 'big.yaml': dataset('big', ['big-*.csv'], 'csv', 'bench.big', BIG_SCHEMA) });
      const base = [];
      const mine = [];
      const warm = [];
      const rss = [];
      const cpu = { loadbay: [], server: [], baseServer: [], psql: [], threads: [], stages: [] };
      const duck = [];
      const duckdb = psql ? await duckdbConverter() : null;
      const warmupCsv = path.join(WORK, 'data', 'big-warmup.csv');
      if (!existsSync(warmupCsv)) await writeFile(warmupCsv, (await readFile(bigCsv, 'utf8').then((t) => t.split('\n').slice(0, 20_001).join('\n'))) + '\n');
      for (let run = 0; run < RUNS; run++) {
        await client.query('CREATE SCHEMA IF NOT EXISTS bench_base');
        await client.query(`DROP TABLE IF EXISTS bench_base.big; CREATE TABLE bench_base.big (${BIG_DDL}); CHECKPOINT`);
        if (psql) {
          const server0 = serverCpuSeconds();
          const psql0 = cpuSeconds(process.pid, true);
          const t = Date.now();
          psqlCopy(psql, db.url, 'bench_base.big', bigCsv, 'FORMAT csv, HEADER');
          base.push(Date.now() - t);
          cpu.baseServer.push(serverCpuSeconds() - server0);
          cpu.psql.push(cpuSeconds(process.pid, true) - psql0);
        }
        if (duckdb) {
          await client.query(`DROP TABLE bench_base.big; CREATE TABLE bench_base.big (${BIG_DDL}); CHECKPOINT`);
          const t = Date.now();
          await duckdb(bigCsv, path.join(WORK, 'data', 'big-duckdb.parquet'));
          psqlCopy(psql, db.url, 'bench_base.big', bigCsv, 'FORMAT csv, HEADER');
          duck.push(Date.now() - t);
        }
        await client.query('DROP TABLE bench_base.big; CHECKPOINT');
        const r = await timeOneFile(db.url, client, root, bigCsv, path.basename(bigCsv), 'bench.big');
        if (r.rows !== BIG_ROWS) throw new Error(`loaded ${r.rows} rows, expected ${BIG_ROWS}`);
        mine.push(r.ms);
        rss.push(r.rss);
        const w = await timeOneFile(db.url, client, root, bigCsv, path.basename(bigCsv), 'bench.big', warmupCsv);
        if (w.rows !== BIG_ROWS) throw new Error(`loaded ${w.rows} rows, expected ${BIG_ROWS}`);
        warm.push(w.ms);
        cpu.loadbay.push(w.cpu.loadbay);
        cpu.server.push(w.cpu.server);
        cpu.threads.push(threadSummary(w.cpu.threads));
        cpu.stages.push(Object.entries(w.stages ?? {}).map(([k, v]) => `${k} ${v} s`).join(', '));
      }
      const size = (await stat(bigCsv)).size / 2 ** 20;
      const cpuRows = [
        ['CPU (running daemon): loadbay process (all threads)', `${median(cpu.loadbay).toFixed(2)} s`, `PostgreSQL during its load: ${median(cpu.server).toFixed(2)} s`],
        ...(cpu.psql.length ? [['CPU: psql', `${median(cpu.psql).toFixed(2)} s`, `PostgreSQL during \\copy: ${median(cpu.baseServer).toFixed(2)} s`]] : []),
        ['CPU by thread (last run)', cpu.threads.at(-1) ?? '', ''],
        ['stages (last run)', cpu.stages.at(-1) ?? '', ''],
      ];
      const rate = (ms) => `${Math.round(BIG_ROWS / (ms / 1000)).toLocaleString('en')} rows/s`;
      const ratio = (label, times) => (base.length ? [[label, `${(median(times) / median(base)).toFixed(2)}×`, 'target ≤ 1.0× (issue 28: ≤ 1.5×)']] : []);
      report(`1. Big CSV: ${BIG_ROWS.toLocaleString('en')} rows, ${size.toFixed(0)} MB (arrival → committed + Parquet + settled)`, [
        ['loadbay, first file after start', fmt(median(mine)), rate(median(mine))],
        ['loadbay, running daemon (after a 20,000-row file)', fmt(median(warm)), rate(median(warm))],
        ...(base.length ? [['psql \\copy', fmt(median(base)), rate(median(base))]] : [['psql \\copy', 'skipped (--no-baseline)', '']]),
        ...ratio('ratio, first file after start', mine),
        ...ratio('ratio, running daemon', warm),
        ...(duck.length
          ? [
              ['DuckDB CSV → zstd Parquet, then psql \\copy', fmt(median(duck)), rate(median(duck))],
              ['ratio to DuckDB + psql, running daemon', `${(median(warm) / median(duck)).toFixed(2)}×`, 'a script that validates nothing'],
            ]
          : []),
        ...cpuRows,
      ]);
      results.at(-1).rssBig = median(rss);
    }

    // 2. Many small files: a burst right after the daemon starts, then another burst (other files)
    // to the running daemon — after the first, the JIT has compiled the pipeline. 2b: the same files
    // as a dataset of 33 text columns without prepare steps, against psql into an all-text table.
    const STUDENT_COLUMNS = STUDENT_HEADER.split(';');
    const typedDdl =
      'school text, sex text, age bigint, address text, famsize text, "Pstatus" text, "Medu" bigint, "Fedu" bigint, "Mjob" text, "Fjob" text, reason text, guardian text, traveltime bigint, studytime bigint, failures bigint, schoolsup text, famsup text, paid text, activities text, nursery text, higher text, internet text, romantic text, famrel bigint, freetime bigint, goout bigint, "Dalc" bigint, "Walc" bigint, health bigint, absences bigint, "G1" bigint, "G2" bigint, "G3" bigint';
    const textDdl = STUDENT_COLUMNS.map((c) => `"${c}" text`).join(', ');
    const textYaml = [
      'name: students',
      'match: "student-*.csv"',
      'format: csv',
      'csv: { delimiter: ";" }',
      'table: bench.students',
      'schema:',
      '  type: object',
      `  required: [${STUDENT_COLUMNS.join(', ')}]`,
      '  properties:',
      ...STUDENT_COLUMNS.map((c) => `    ${c}: { type: string }`),
    ].join('\n') + '\n';
    for (const shape of ['small', 'text']) {
      if (!want(shape)) continue;
      const smallDir = await makeSmallFiles('a');
      const names = (await readdir(smallDir)).filter((f) => f.endsWith('.csv'));
      const laterDir = await makeSmallFiles('b');
      const laterNames = (await readdir(laterDir)).filter((f) => f.endsWith('.csv'));
      const studentDdl = shape === 'text' ? textDdl : typedDdl;
      const studentsYaml =
        shape === 'text' ? textYaml : (await readFile(path.join(PROJECT, 'config', 'datasets', 'students.yaml'), 'utf8')).replace('public.student_data', 'bench.students');
      const root = await loadbayProject({ 'students.yaml': studentsYaml });
      const baseServer = [];
      const base = [];
      const cold = [];
      const warm = [];
      const rss = [];
      for (let run = 0; run < RUNS; run++) {
        await client.query('CREATE SCHEMA IF NOT EXISTS bench_base');
        await client.query(`DROP TABLE IF EXISTS bench_base.students; CREATE TABLE bench_base.students (${studentDdl}); CHECKPOINT`);
        const script = names.map((n) => `\\copy bench_base.students FROM '${path.join(smallDir, n)}' WITH (FORMAT csv, HEADER, DELIMITER ';')`).join('\n');
        await writeFile(path.join(WORK, 'small.sql'), script + '\n');
        if (psql) {
          const server0 = serverCpuSeconds();
          const t = Date.now();
          execFileSync(psql, [db.url, '-v', 'ON_ERROR_STOP=1', '-q', '-f', path.join(WORK, 'small.sql')]);
          base.push(Date.now() - t);
          baseServer.push(serverCpuSeconds() - server0);
        }
        await client.query('DROP TABLE bench_base.students; CHECKPOINT');

        const lb = await startLoadbay(root, db.url);
        try {
          /** Files staged, then renamed into input/ at once; until all are settled. */
          const burst = async (dir, files, before) => {
            for (const n of files) await execCopy(path.join(dir, n), path.join(root, 'staging', n));
            const cpu0 = { loadbay: cpuSeconds(lb.pid), server: serverCpuSeconds(), threads: threadCpu(lb.pid) };
            const t = Date.now();
            for (const n of files) await rename(path.join(root, 'staging', n), path.join(root, 'input', n));
            const lines = (await waitOutcomes(root, before + files.length)).slice(before);
            const threads = threadCpu(lb.pid);
            for (const [tid, th] of threads) th.cpu -= cpu0.threads.get(tid)?.cpu ?? 0;
            return {
              ms: Math.max(...lines.map((l) => Date.parse(l.timestamp))) - t,
              cpu: cpuSeconds(lb.pid) - cpu0.loadbay,
              server: serverCpuSeconds() - cpu0.server,
              threads: threadSummary(threads),
              grouped: lines.filter((l) => l.group > 1).length,
            };
          };
          cold.push(await burst(smallDir, names, 0));
          warm.push(await burst(laterDir, laterNames, names.length));
          rss.push(await lb.peakRssMb());
        } finally {
          await lb.stop();
          for (const d of ['logs', 'archive', 'output_parquet']) await rm(path.join(root, d), { recursive: true, force: true });
          await resetDatabase(client, ['bench.students']);
        }
      }
      const rows = (label, bursts) => {
        const ms = bursts.map((b) => b.ms);
        return [
          [label, fmt(median(ms)), `${(names.length / (median(ms) / 1000)).toFixed(0)} files/s`],
          ...(base.length ? [['ratio', `${(median(ms) / median(base)).toFixed(2)}×`, shape === 'text' ? 'target ≤ 1.0× (issue 28: ≤ 1.6×)' : 'target ≤ 1.0× (issue 28)']] : []),
          ['CPU: loadbay process (all threads)', `${median(bursts.map((b) => b.cpu)).toFixed(2)} s`, `PostgreSQL during its loads: ${median(bursts.map((b) => b.server)).toFixed(2)} s`],
          ['CPU by thread (last run)', bursts.at(-1).threads, `${bursts.at(-1).grouped} of ${names.length} files loaded in groups`],
        ];
      };
      report(`2${shape === 'text' ? 'b' : ''}. Many small files: ${names.length} × 400 rows × 33 ${shape === 'text' ? 'text columns, no prepare steps' : 'columns'}, dropped at once (until all settled)`, [
        ...(base.length
          ? [['psql, one session, one \\copy per file', `${(median(base) / 1000).toFixed(2)} s`, `${(names.length / (median(base) / 1000)).toFixed(0)} files/s; PostgreSQL CPU ${median(baseServer).toFixed(2)} s`]]
          : [['psql, one session, one \\copy per file', 'skipped (--no-baseline)', '']]),
        ...rows('loadbay, running daemon (a second burst, other files)', warm),
        ...rows('loadbay, first burst after start', cold),
        ['peak RSS of the daemon over both bursts', `${median(rss).toFixed(0)} MB`, 'target ≤ 300 MB'],
      ]);
    }

    // 3. Memory
    if (want('memory')) {
      const rows = [];
      const root = await loadbayProject({ 'big.yaml': dataset('big', ['big-*.csv'], 'csv', 'bench.big', BIG_SCHEMA) });
      const small = await timeOneFile(db.url, client, root, bigCsv, path.basename(bigCsv), 'bench.big');
      rows.push([`${BIG_ROWS.toLocaleString('en')}-row CSV`, `${small.rss.toFixed(0)} MB peak RSS`]);
      if (LARGE) {
        const largeRows = 13_000_000;
        const large = await makeBigCsv(largeRows, `big-${largeRows}.csv`);
        const big = await timeOneFile(db.url, client, root, large, path.basename(large), 'bench.big');
        const gb = (await stat(large)).size / 2 ** 30;
        rows.push([`${largeRows.toLocaleString('en')}-row CSV (${gb.toFixed(2)} GB)`, `${big.rss.toFixed(0)} MB peak RSS`, `${fmt(big.ms)}`]);
        rows.push(['ratio large / small', `${(big.rss / small.rss).toFixed(2)}×`, 'target ≤ 1.25×, ≤ 300 MB']);
      } else {
        rows.push(['(run with --large for the ~1 GB file)', '']);
      }
      report('3. Memory: peak RSS of the loadbay process (VmHWM)', rows);
    }

    // 4. Latency
    if (want('latency')) {
      const root = await loadbayProject({
        'one.yaml': dataset('one', ['one-*.csv'], 'csv', 'bench.one', { type: 'object', properties: { id: { type: 'integer' }, v: { type: 'string' } } }),
      });
      const lb = await startLoadbay(root, db.url);
      try {
        // a: written as one-N.csv.part in input/, then renamed (complete when it appears);
        // b: written in place (the stability window applies).
        const ways = {
          renamed: async (name, text) => {
            const part = path.join(root, 'input', `${name}.part`);
            await writeFile(part, text);
            const at = Date.now();
            await rename(part, path.join(root, 'input', name));
            return at;
          },
          'in place': async (name, text) => {
            const at = Date.now();
            await writeFile(path.join(root, 'input', name), text);
            return at;
          },
        };
        let settled = 0;
        for (const [way, drop] of Object.entries(ways)) {
          const dropped = new Map();
          for (let i = 0; i < LATENCY_FILES; i++) {
            const name = `one-${way === 'renamed' ? 'r' : 'w'}${i}.csv`;
            dropped.set(name, await drop(name, `id,v\n${i},${way === 'renamed' ? 'r' : 'w'}${i}\n`));
            await sleep(100);
          }
          settled += LATENCY_FILES;
          const lines = (await waitOutcomes(root, settled)).filter((l) => dropped.has(l.file));
          const latencies = lines.map((l) => Date.parse(l.timestamp) - dropped.get(l.file));
          const renamed = way === 'renamed';
          report(`4${renamed ? 'a' : 'b'}. Latency: ${LATENCY_FILES} one-row files ${renamed ? 'renamed from .part' : 'written in place'}, 100 ms apart, default settings (drop → committed and settled)`, [
            ['p50', `${percentile(latencies, 50)} ms`, renamed ? 'target ≤ 150 ms' : 'target ≤ 400 ms'],
            ['p95', `${percentile(latencies, 95)} ms`, renamed ? '' : 'target ≤ 800 ms'],
            ['max', `${Math.max(...latencies)} ms`, ''],
          ]);
        }
      } finally {
        await lb.stop();
        await resetDatabase(client, ['bench.one']);
      }
    }

    // 5. JSONL.gz
    if (want('jsonl')) {
      const file = path.join(WORK, 'data', `big-${BIG_ROWS}.jsonl.gz`);
      await writeLines(file, BIG_ROWS, (i) => JSON.stringify(bigRow(i + 1)) + '\n', true);
      const root = await loadbayProject({ 'bigj.yaml': dataset('bigj', ['big-*.jsonl.gz'], 'jsonl', 'bench.bigj', BIG_SCHEMA) });
      const mine = [];
      let last = null;
      for (let run = 0; run < RUNS; run++) {
        const r = await timeOneFile(db.url, client, root, file, path.basename(file), 'bench.bigj');
        mine.push(r.ms);
        last = r;
      }
      const rate = BIG_ROWS / (median(mine) / 1000);
      const big = results.find((r) => r.title.startsWith('1.'));
      const csvRate = big ? Number(big.rows[0][2].replace(/[^0-9]/g, '')) : null;
      report(`5. JSONL.gz: ${BIG_ROWS.toLocaleString('en')} records, same schema`, [
        ['loadbay', fmt(median(mine)), `${Math.round(rate).toLocaleString('en')} rows/s`],
        ...(csvRate ? [['vs big CSV', `${(rate / csvRate).toFixed(2)}× its rows/s`, 'target ≥ 0.7× (issue 28)']] : []),
        ['CPU (last run): loadbay process (all threads)', `${last.cpu.loadbay.toFixed(2)} s`, `PostgreSQL during its load: ${last.cpu.server.toFixed(2)} s`],
        ['CPU by thread (last run)', threadSummary(last.cpu.threads), ''],
        ['peak RSS (last run)', `${last.rss.toFixed(0)} MB`, 'target ≤ 300 MB'],
      ]);
    }
  } finally {
    await client.end();
    await db.stop();
  }
  console.log(`\nmachine: ${machine} (at the end: ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}); ${RUNS} run(s) per figure, median`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
