/**
 * Failure paths of a COPY and of sharing a folder: a value the table refuses, a connection killed
 * mid-stream, a statement timeout, and two processes on one input folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { ITEM_DATASETS, ITEMS_CSV } from '../helpers/datasets.js';
import { createTestEnv, PROJECT_ROOT, waitFor, type TestEnv } from '../helpers/env.js';
import { crashParquetThread } from '../../src/write/parquet.js';
import { checkThreadFiles } from '../../src/validate/check-remote.js';

let env: TestEnv;
afterEach(async () => {
  await env?.cleanup();
});

function bigJsonl(rows: number, tag = 'row'): string {
  const lines: string[] = [];
  for (let i = 1; i <= rows; i++) lines.push(`{"id": ${i}, "name": "${tag} ${i}", "price": ${i % 97}}`);
  return lines.join('\n') + '\n';
}

async function count(sql: string): Promise<number> {
  return (await env.pool.query<{ n: number }>(sql)).rows[0]!.n;
}

async function copyBackend(): Promise<number> {
  return waitFor(
    async () =>
      (
        await env.pool.query<{ pid: number }>(
          "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'COPY%' AND state = 'active'",
        )
      ).rows[0]?.pid,
    { message: 'a running COPY', intervalMs: 5 },
  );
}

it('quarantines a file whose row the table refuses, naming the line, and keeps running', async () => {
  env = await createTestEnv({ datasets: ITEM_DATASETS });
  await env.start();
  await env.drop('items-first.csv', ITEMS_CSV);
  await env.outcome('items-first.csv', 'loaded');
  await env.pool.query('ALTER TABLE shop.items_csv ADD CONSTRAINT cheap CHECK (price < 100)');
  await env.drop('items-pricey.csv', 'id,name,price\n10,a,1\n11,b,500\n12,c,2\n');
  const failed = await env.outcome('items-pricey.csv');
  expect(failed).toMatchObject({ event: 'failed', stage: 'load' });
  expect(failed.problems?.[0]).toMatchObject({ line: 3, rule: expect.stringMatching(/^postgres 23514 \(cheap\)/) });
  expect(await count("SELECT count(*)::int AS n FROM shop.items_csv WHERE _source_file = 'items-pricey.csv'")).toBe(0);
  await env.drop('items-cheap.csv', 'id,name,price\n13,d,3\n');
  expect(await env.outcome('items-cheap.csv')).toMatchObject({ event: 'loaded', rows: 1 });
  // No connection was left in the middle of a COPY or a transaction.
  await waitFor(
    async () =>
      (await count(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'loadbay' AND state <> 'idle'",
      )) === 0,
    { message: 'idle loadbay connections' },
  );
});

it('retries a file whose COPY connection is killed mid-stream and loads it exactly once', async () => {
  env = await createTestEnv({ datasets: ITEM_DATASETS, processing: { batch_rows: 500 } });
  await env.start();
  await env.drop('items-killed.jsonl', bigJsonl(150_000));
  const pid = await copyBackend();
  await env.pool.query('SELECT pg_terminate_backend($1)', [pid]);
  const retry = await env.outcome('items-killed.jsonl', 'retrying');
  // Killing the backend surfaces as the server closing the connection, or as EPIPE on the next write.
  expect(retry.reason).toMatch(/terminat|connection|EPIPE|ECONNRESET/i);
  expect(await env.outcome('items-killed.jsonl', 'loaded')).toMatchObject({ rows: 150_000 });
  expect(await count('SELECT count(*)::int AS n FROM shop.items_jsonl')).toBe(150_000);
  expect((await env.files('failed')).length).toBe(0);
  // The attempt that failed mid-file let go of its reader: the check thread holds no file.
  await waitFor(() => checkThreadFiles() === 0, { message: 'the check thread to hold no file', timeoutMs: 5000 });
});

it('retries a file whose Parquet thread dies mid-file and loads it exactly once, leaving no temporary file', async () => {
  env = await createTestEnv({ datasets: ITEM_DATASETS, processing: { batch_rows: 500 } });
  await env.start();
  await env.drop('items-thread.jsonl', bigJsonl(150_000));
  // The thread has the file open once its temporary file exists.
  await waitFor(async () => (await env.files('parquet')).some((f) => f.endsWith('.tmp')), {
    message: 'a Parquet file being written',
    intervalMs: 5,
  });
  await crashParquetThread();
  const retry = await env.outcome('items-thread.jsonl', 'retrying');
  expect(retry.reason).toMatch(/Parquet (thread|file)/);
  expect(await env.outcome('items-thread.jsonl', 'loaded')).toMatchObject({ rows: 150_000 });
  expect(await count('SELECT count(*)::int AS n FROM shop.items_jsonl')).toBe(150_000);
  expect((await env.files('failed')).length).toBe(0);
  expect(await env.files('parquet')).toEqual([expect.stringMatching(/^items-jsonl\/items-thread\.jsonl-[0-9a-f]{8}\.parquet$/)]);
});

it('retries after a statement timeout and loads once the timeout is lifted', async () => {
  env = await createTestEnv({ datasets: ITEM_DATASETS, processing: { batch_rows: 500 } });
  const database = new URL(env.url).pathname.slice(1);
  await env.pool.query(`ALTER DATABASE ${database} SET statement_timeout = '150ms'`);
  await env.start();
  await env.drop('items-slowcopy.jsonl', bigJsonl(150_000, 'slow'));
  const retry = await env.outcome('items-slowcopy.jsonl', 'retrying');
  expect(retry.reason).toMatch(/statement timeout/);
  await env.pool.query(`ALTER DATABASE ${database} RESET statement_timeout`);
  expect(await env.outcome('items-slowcopy.jsonl', 'loaded')).toMatchObject({ rows: 150_000 });
  expect(await count('SELECT count(*)::int AS n FROM shop.items_jsonl')).toBe(150_000);
});

it('two processes on one folder load each of 300 files exactly once', async () => {
  env = await createTestEnv({ datasets: ITEM_DATASETS });
  const cli = path.join(PROJECT_ROOT, 'dist', 'cli.js');
  const start = (): ChildProcess =>
    spawn(process.execPath, [cli, 'start', '--config', env.configFile], {
      env: { ...process.env, DATABASE_URL: env.url },
      stdio: 'ignore',
    });
  const processes = [start(), start()];
  const exits = processes.map((p) => new Promise((resolve) => p.on('exit', resolve)));
  try {
    const files = 300;
    for (let i = 1; i <= files; i++) {
      await env.drop(`batch/items-${i}.csv`, `id,name,price\n${i},n${i},${i % 50}\n${i + 100000},m${i},1\n`);
    }
    await waitFor(
      async () => (await count("SELECT count(*)::int AS n FROM loadbay.files WHERE status = 'loaded' AND settled_at IS NOT NULL")) === files,
      { message: 'all files loaded', timeoutMs: 60_000, intervalMs: 200 },
    );
    expect(await count('SELECT count(*)::int AS n FROM shop.items_csv')).toBe(files * 2);
    expect(await count('SELECT count(DISTINCT id)::int AS n FROM shop.items_csv')).toBe(files * 2);
    expect(await count("SELECT count(*)::int AS n FROM loadbay.files WHERE status <> 'loaded'")).toBe(0);
    expect(await env.files('input')).toEqual([]);
    expect(await env.files('failed')).toEqual([]);
    expect((await env.files('archive', 'items-csv')).length).toBe(files);
    expect((await env.files('parquet', 'items-csv')).length).toBe(files);
  } finally {
    for (const p of processes) p.kill('SIGTERM');
    await Promise.all(exits);
  }
});
