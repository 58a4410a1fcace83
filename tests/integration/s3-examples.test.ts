/**
 * The shipped example pipelines with `input: s3://…` (and the Parquet lake in the bucket): each
 * sample file put into the bucket reaches the same outcome as the same file dropped into a local
 * input/ (tests/integration/examples.test.ts), with the same rows in every table, and its Parquet
 * object holds the rows of its load.
 */
import { readdir, readFile, rename, writeFile, copyFile } from 'node:fs/promises';
import path from 'node:path';
import { createTestEnv, PROJECT_ROOT, type LogLine, type TestEnv } from '../helpers/env.js';
import { readParquetFile } from '../helpers/parquet.js';
import { s3Section, useBucket } from '../helpers/s3.js';

const bucket = useBucket();
const envs: TestEnv[] = [];
afterEach(async () => {
  for (const env of envs.splice(0)) await env.cleanup();
});

/** What an outcome says that must not depend on where the file came from. */
function essence(line: LogLine) {
  return { event: line.event, dataset: line.dataset, rows: line.rows, dropped: line['dropped'], stage: line.stage, reason: line.reason };
}

it('every example loads from a bucket as it does from a local folder', async () => {
  const b = bucket();
  const local = await createTestEnv();
  envs.push(local);
  const remote = await createTestEnv({ folders: { input: `s3://${b.name}/incoming/`, parquet: `s3://${b.name}/lake/` }, s3: s3Section() });
  envs.push(remote);
  await local.start();
  await remote.start();
  // In the order the examples test drops them: football teams after their competitions.
  const names = (await readdir(path.join(PROJECT_ROOT, 'examples'))).sort((a, b2) => order(a) - order(b2) || a.localeCompare(b2));
  expect(names.length).toBeGreaterThanOrEqual(10);
  for (const name of names) {
    const source = path.join(PROJECT_ROOT, 'examples', name);
    const staged = path.join(local.root, name);
    await copyFile(source, staged);
    await rename(staged, path.join(local.folders.input, name));
    await b.put(`incoming/${name}`, await readFile(source));
    const [here, there] = await Promise.all([local.outcome(name), remote.outcome(name)]);
    expect({ name, ...essence(there) }).toEqual({ name, ...essence(here) });
    expect(there.event).toBe('loaded');
    // The Parquet object holds the load's rows.
    const parquet = String(there['parquet']);
    expect(parquet.startsWith(`s3://${b.name}/lake/${there.dataset}/`)).toBe(true);
    const file = path.join(remote.root, `check-${name}.parquet`);
    await writeFile(file, await b.get(parquet.slice(`s3://${b.name}/`.length)));
    expect((await readParquetFile(file)).numRows).toBe(there.rows);
  }
  // Every table holds the same number of rows either way.
  const tables = await local.pool.query<{ t: string }>(
    `SELECT DISTINCT table_name AS t FROM loadbay.files WHERE status = 'loaded' ORDER BY 1`,
  );
  for (const { t } of tables.rows) {
    const [a, c] = await Promise.all([local.pool.query(`SELECT count(*)::int AS n FROM ${t}`), remote.pool.query(`SELECT count(*)::int AS n FROM ${t}`)]);
    expect({ table: t, rows: c.rows[0].n }).toEqual({ table: t, rows: a.rows[0].n });
  }
  expect(await b.keys('incoming/')).toEqual([]);
});

/** Files whose loads others refer to go first. */
function order(name: string): number {
  if (name.startsWith('competitions')) return 0;
  if (name.startsWith('teams_')) return 1;
  return 2;
}
