/**
 * Exactly once with objects, through real daemons: one killed (SIGKILL) between the commit of a
 * load and the move of its object, then started again (the load is recovered, not repeated); and
 * two instances with separate local folders sharing one bucket and one ledger (every object loaded
 * exactly once, the lake holding exactly the loaded files' Parquet).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ITEM_DATASETS, ITEMS_CSV } from '../helpers/datasets.js';
import { createTestEnv, PROJECT_ROOT, waitFor, type TestEnv } from '../helpers/env.js';
import { s3Endpoint, s3Section, useBucket } from '../helpers/s3.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const CLI = path.join(PROJECT_ROOT, 'dist', 'cli.js');
const bucket = useBucket();
const envs: TestEnv[] = [];
let proxy: TcpProxy | null = null;
afterEach(async () => {
  for (const env of envs.splice(0).reverse()) await env.cleanup();
  await proxy?.close();
  proxy = null;
});

async function count(env: TestEnv, sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await env.pool.query<{ n: number }>(sql, params);
  return rows[0]!.n;
}

it('killed between the commit and the move of its object: recovered at the next start, not loaded twice', async () => {
  const b = bucket();
  proxy = await startTcpProxy(Number(new URL(s3Endpoint()).port));
  const env = await createTestEnv({
    datasets: ITEM_DATASETS,
    folders: { input: `s3://${b.name}/in/`, archive: `s3://${b.name}/archive/` },
    s3: s3Section({ endpoint: proxy.endpoint }),
  });
  envs.push(env);
  await b.put('in/items-crash.csv', ITEMS_CSV);
  // The archive's copy (a PUT: the only one, Parquet is local here) never reaches the server.
  proxy.holdRequests('PUT ');
  const child = spawn(process.execPath, [CLI, 'start', '--config', env.configFile], { env: { ...process.env, DATABASE_URL: env.url }, stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    await waitFor(async () => proxy!.held > 0 && (await count(env, "SELECT count(*)::int AS n FROM loadbay.files WHERE status = 'loaded' AND settled_at IS NULL")) === 1, {
      message: 'a committed load whose object is being archived',
    });
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
  expect(await count(env, 'SELECT count(*)::int AS n FROM shop.items_csv')).toBe(3);
  expect(await b.keys()).toEqual(['in/items-crash.csv']);

  proxy.behave();
  await env.start();
  expect(await env.outcome('items-crash.csv', 'loaded')).toMatchObject({ recovered: true, rows: 3 });
  expect(await count(env, 'SELECT count(*)::int AS n FROM shop.items_csv')).toBe(3);
  expect(await count(env, "SELECT count(*)::int AS n FROM loadbay.files WHERE status = 'loaded' AND settled_at IS NOT NULL")).toBe(1);
  expect(await b.keys()).toEqual(['archive/items-csv/items-crash.csv']);
});

it('two instances with separate local folders on one bucket: every object loaded exactly once', async () => {
  const b = bucket();
  const folders = { input: `s3://${b.name}/in/`, archive: `s3://${b.name}/archive/`, failed: `s3://${b.name}/failed/`, parquet: `s3://${b.name}/lake/` };
  const first = await createTestEnv({ datasets: ITEM_DATASETS, folders, s3: s3Section(), processing: { group_max_files: 8 } });
  envs.push(first);
  const second = await createTestEnv({ datasets: ITEM_DATASETS, folders, s3: s3Section(), processing: { group_max_files: 8 }, databaseUrl: first.url });
  envs.push(second);
  const expected = { loaded: 0, failed: 0, skipped: 0, rows: 0 };
  const contents: string[] = [];
  for (let i = 0; i < 60; i++) {
    const name = `in/items-${String(i).padStart(3, '0')}.csv`;
    if (i % 12 === 5) {
      await b.put(name, `id,name\n${i},ok\n${i + 1000},\n`); // a name missing: quarantined
      expected.failed++;
    } else if (i % 12 === 7 && contents.length > 0) {
      await b.put(name, contents[0]!); // the same content as an earlier object: skipped
      expected.skipped++;
    } else {
      const rows = 1 + (i % 5);
      const content = ['id,name', ...Array.from({ length: rows }, (_, r) => `${i * 100 + r + 1},item ${i}-${r}`)].join('\n') + '\n';
      contents.push(content);
      await b.put(name, content);
      expected.loaded++;
      expected.rows += rows;
    }
  }
  const daemons = await Promise.all([first.start(), second.start()]);
  await waitFor(async () => (await count(first, 'SELECT count(*)::int AS n FROM loadbay.files WHERE settled_at IS NOT NULL')) >= 60, {
    message: 'every object settled',
    timeoutMs: 60_000,
  });
  const { rows: ledger } = await first.pool.query<{ status: string; n: number; paths: number }>(
    'SELECT status, count(*)::int AS n, count(DISTINCT path)::int AS paths FROM loadbay.files GROUP BY status ORDER BY status',
  );
  expect(ledger).toEqual([
    { status: 'failed', n: expected.failed, paths: expected.failed },
    { status: 'loaded', n: expected.loaded, paths: expected.loaded },
    { status: 'skipped', n: expected.skipped, paths: expected.skipped },
  ]);
  expect(await count(first, 'SELECT count(*)::int AS n FROM shop.items_csv')).toBe(expected.rows);
  expect(await count(first, 'SELECT count(DISTINCT id)::int AS n FROM shop.items_csv')).toBe(expected.rows);
  // Both instances did some of the work (each claims what the other does not hold).
  const { rows: by } = await first.pool.query<{ instance_id: string }>(`SELECT DISTINCT instance_id FROM loadbay.files WHERE status = 'loaded'`);
  expect(by.map((r) => r.instance_id).sort()).toEqual(daemons.map((d) => d.instanceId).sort());
  expect(await b.keys('in/')).toEqual([]);
  expect((await b.keys('archive/')).length).toBe(expected.loaded + expected.skipped);
  expect((await b.keys('failed/')).length).toBe(2 * expected.failed);
  const { rows: parquet } = await first.pool.query<{ parquet_path: string }>(`SELECT parquet_path FROM loadbay.files WHERE status = 'loaded' ORDER BY parquet_path`);
  expect(await b.keys('lake/')).toEqual(parquet.map((r) => r.parquet_path.slice(`s3://${b.name}/`.length)).sort());
});
