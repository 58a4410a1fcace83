/**
 * Start-up reconciliation of the Parquet folder: a Parquet file whose load never committed is
 * removed when the instance that wrote it is gone; loaded files, files of a running instance and
 * files the ledger does not know stay. Thousands of files are asked about in a few queries.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createLogger } from '../../src/log.js';
import { reconcileParquet } from '../../src/load/reconcile.js';
import { holdInstanceLock } from '../../src/instance.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';

const DATASET = `name: things\nmatch: "things-*.csv"\nformat: csv\ntable: r.things\nschema:\n  type: object\n  properties:\n    id: { type: integer }\n`;

let env: TestEnv;
beforeEach(async () => {
  env = await createTestEnv({ datasets: { 'things.yaml': DATASET } });
  const daemon = await env.start();
  await daemon.stop(); // the ledger exists now
});
afterEach(async () => {
  await env.cleanup();
});

it('removes the Parquet files of loads that never committed, of instances that are gone, and nothing else', async () => {
  const dir = path.join(env.folders.parquet, 'things');
  await mkdir(dir, { recursive: true });
  const relative = (name: string) => path.relative(env.root, path.join(dir, name));
  // 2,500 loaded files (three chunks of questions), then the cases.
  const loaded = Array.from({ length: 2500 }, (_, i) => `loaded-${String(i).padStart(4, '0')}.parquet`);
  const rows: Array<[string, string, string]> = loaded.map((name) => [name, 'loaded', 'gone-host-1-aaa']);
  rows.push(['orphan.parquet', 'processing', 'gone-host-1-aaa']);
  rows.push(['orphan-failed.parquet', 'failed', 'gone-host-1-aaa']);
  rows.push(['running.parquet', 'processing', 'live-host-2-bbb']);
  // One path recorded twice: a loaded row wins over an attempt that never committed.
  rows.push(['twice.parquet', 'processing', 'gone-host-1-aaa'], ['twice.parquet', 'loaded', 'gone-host-1-aaa']);
  // Recorded by a gone instance's attempt and by a running one's, which may be about to commit it.
  rows.push(['twice-live.parquet', 'processing', 'gone-host-1-aaa'], ['twice-live.parquet', 'processing', 'live-host-2-bbb']);
  await env.pool.query(
    `INSERT INTO loadbay.files (path, size, mtime_ms, status, instance_id, parquet_path)
     SELECT 'things-' || n || '.csv', 1, 0, s, i, p FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS t(p, s, i, n)`,
    [rows.map((r) => relative(r[0])), rows.map((r) => r[1]), rows.map((r) => r[2])],
  );
  const names = [...new Set(rows.map((r) => r[0])), 'unknown.parquet', '.x.parquet.gone-host-1-aaa.7.tmp', '.y.parquet.live-host-2-bbb.8.tmp'];
  await Promise.all(names.map((name) => writeFile(path.join(dir, name), 'PAR1')));

  const log = createLogger({ logsDir: env.folders.logs, console: false });
  const release = await holdInstanceLock(env.pool, 'live-host-2-bbb', log);
  try {
    const queries: string[] = [];
    const query = env.pool.query.bind(env.pool);
    const counting = Object.assign(Object.create(env.pool), {
      query: (...args: Parameters<typeof query>) => {
        queries.push(String(args[0]));
        return query(...args);
      },
    });
    expect(await reconcileParquet(counting, env.root, env.folders.parquet, log)).toBe(3);
    const left = (await readdir(dir)).sort();
    expect(left).not.toContain('orphan.parquet');
    expect(left).not.toContain('orphan-failed.parquet');
    expect(left).not.toContain('.x.parquet.gone-host-1-aaa.7.tmp');
    expect(left).toEqual(expect.arrayContaining(['running.parquet', 'twice.parquet', 'twice-live.parquet', 'unknown.parquet', '.y.parquet.live-host-2-bbb.8.tmp', ...loaded]));
    expect(left).toHaveLength(names.length - 3);
    // The ledger is asked in chunks of files, not once per file.
    expect(queries.filter((q) => q.includes('parquet_path = ANY')).length).toBe(3);
  } finally {
    await release();
    await log.close();
  }
});
