// The ledger's size per file: inserts `--rows` loaded rows shaped like real ones (path, sha256,
// dataset, table, Parquet path, timestamps) into a throw-away PostgreSQL and prints the bytes per
// row of loadbay.files with its indexes, before and after deleting the older half (what a retention
// job would do) and a VACUUM. Needs the build (npm run build). See docs/scaling.md.
//
//   node bench/ledger-size.mjs [--rows 200000]
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { startThrowawayPostgres } from './postgres.mjs';

const PROJECT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const { values: args } = parseArgs({ options: { rows: { type: 'string', default: '200000' } } });
const { migrate } = await import(path.join(PROJECT, 'dist/db/ledger.js'));
const dir = await mkdtemp(path.join(os.tmpdir(), 'loadbay-ledger-size-'));
const server = await startThrowawayPostgres(path.join(dir, 'data'));
const pool = new pg.Pool({ connectionString: server.url, max: 2 });
try {
  await migrate(pool);
  const rows = Number(args.rows);
  await pool.query(
    `INSERT INTO loadbay.files (path, size, mtime_ms, sha256, dataset, status, rows, table_name, parquet_path, instance_id, settled_at, object_etag)
     SELECT 's3://box-scores/incoming/nhl/2026/game-' || i || '.csv', 50000 + i, 1.7e12 + i, md5(i::text) || md5((i + 1)::text), 'nhl_boxscore', 'loaded',
            400, 'public.nhl_boxscore', 's3://lake/parquet/nhl_boxscore/game-' || i || '-' || left(md5(i::text), 8) || '.parquet', 'loadbay-7d9f8c6b5-x2k4p-1-a1b2c3', now(), '"' || md5(i::text) || '"'
       FROM generate_series(1, $1) AS i`,
    [rows],
  );
  await pool.query('VACUUM ANALYZE loadbay.files');
  const size = async () => Number((await pool.query(`SELECT pg_total_relation_size('loadbay.files') AS b`)).rows[0].b);
  const before = await size();
  console.log(`${rows} loaded rows: ${(before / 1048576).toFixed(1)} MiB with indexes, ${Math.round(before / rows)} bytes per row`);
  const t = performance.now();
  await pool.query('DELETE FROM loadbay.files WHERE id <= $1', [rows / 2]);
  const deleteSeconds = (performance.now() - t) / 1000;
  await pool.query('VACUUM loadbay.files');
  console.log(`deleting the older half: ${deleteSeconds.toFixed(1)} s; after it and VACUUM: ${((await size()) / 1048576).toFixed(1)} MiB (space reused by new rows, not returned to the OS)`);
  await pool.query('VACUUM FULL loadbay.files');
  console.log(`after VACUUM FULL: ${((await size()) / 1048576).toFixed(1)} MiB`);
} finally {
  await pool.end();
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
