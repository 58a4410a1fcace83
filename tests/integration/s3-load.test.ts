/**
 * A bucket in the load path, through the running daemon against the test run's S3 server: objects
 * loaded, archived and quarantined in the bucket (reports beside them), several inputs at once,
 * Parquet and archive in a bucket (and the retirement of superseded Parquet there), rejects and
 * exports in a bucket.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ITEM_DATASETS, ITEMS_CSV } from '../helpers/datasets.js';
import { createTestEnv, waitFor, type TestEnv } from '../helpers/env.js';
import { readParquetFile } from '../helpers/parquet.js';
import { s3Section, useBucket } from '../helpers/s3.js';

const bucket = useBucket();
let env: TestEnv | null = null;
afterEach(async () => {
  await env?.cleanup();
  env = null;
});

async function count(sql: string): Promise<number> {
  const { rows } = await env!.pool.query<{ n: number }>(sql);
  return rows[0]!.n;
}

/** An object of the bucket as a local file (to read Parquet back). */
async function download(key: string): Promise<string> {
  const file = path.join(env!.root, `downloaded-${path.basename(key)}`);
  await writeFile(file, await bucket().get(key));
  return file;
}

const BAD_CSV = 'id,name,price\n1,ok,1\n2,,2\n3,fine,-5\n';

it('a bucket as input: objects loaded, archived and quarantined in the bucket, each report beside its object', async () => {
  const b = bucket();
  env = await createTestEnv({
    datasets: ITEM_DATASETS,
    folders: { input: `s3://${b.name}/in/`, archive: `s3://${b.name}/archive/`, failed: `s3://${b.name}/failed/` },
    s3: s3Section(),
  });
  await b.put('in/items-good.csv', ITEMS_CSV);
  await b.put('in/sub/items-bad.csv', BAD_CSV);
  await b.put('in/nothing-matches.txt', 'x');
  await b.put('in/.hidden.csv', 'ignored');
  const etag = await b.put('in/items-twice.csv', ITEMS_CSV.replace('Widget', 'Widget 2'));
  await env.start();

  const loaded = await env.outcome('items-good.csv', 'loaded');
  expect(loaded).toMatchObject({ dataset: 'items-csv', rows: 3, input: `s3://${b.name}/in/` });
  const failed = await env.outcome('sub/items-bad.csv', 'failed');
  expect(failed).toMatchObject({ dataset: 'items-csv', stage: 'validate', quarantined_as: `s3://${b.name}/failed/items-csv/sub/items-bad.csv` });
  await env.outcome('nothing-matches.txt', 'failed');
  await env.outcome('items-twice.csv', 'loaded');

  expect(await b.keys()).toEqual([
    'archive/items-csv/items-good.csv',
    'archive/items-csv/items-twice.csv',
    'failed/_unmatched/nothing-matches.txt',
    'failed/_unmatched/nothing-matches.txt.error.json',
    'failed/items-csv/sub/items-bad.csv',
    'failed/items-csv/sub/items-bad.csv.error.json',
    'in/.hidden.csv',
  ]);
  expect((await b.get('archive/items-csv/items-good.csv')).toString()).toBe(ITEMS_CSV);
  const report = JSON.parse((await b.get('failed/items-csv/sub/items-bad.csv.error.json')).toString()) as Record<string, unknown>;
  expect(report).toMatchObject({ file: 'sub/items-bad.csv', dataset: 'items-csv', stage: 'validate', quarantined_as: 'items-csv/sub/items-bad.csv', problem_count: 2 });
  expect(report['problems']).toEqual(
    expect.arrayContaining([expect.objectContaining({ line: 3, field: 'name' }), expect.objectContaining({ line: 4, field: 'price', value: '-5' })]),
  );

  // The ledger names objects by URL, with the ETag they were loaded at.
  const { rows } = await env.pool.query<{ path: string; status: string; object_etag: string }>(
    `SELECT path, status, object_etag FROM loadbay.files WHERE path LIKE 's3://%' ORDER BY path`,
  );
  expect(rows).toEqual([
    { path: `s3://${b.name}/in/items-good.csv`, status: 'loaded', object_etag: expect.stringMatching(/^".+"$/) },
    { path: `s3://${b.name}/in/items-twice.csv`, status: 'loaded', object_etag: etag },
    { path: `s3://${b.name}/in/nothing-matches.txt`, status: 'failed', object_etag: expect.any(String) },
    { path: `s3://${b.name}/in/sub/items-bad.csv`, status: 'failed', object_etag: expect.any(String) },
  ]);
  expect(await count('SELECT count(*)::int AS n FROM shop.items_csv')).toBe(6);
  // The listing position moved past everything settled.
  let position: string | undefined;
  await waitFor(async () => (position = (await env!.pool.query<{ start_after: string }>('SELECT start_after FROM loadbay.s3_listings')).rows[0]?.start_after) === 'in/sub/items-bad.csv', {
    message: 'the listing position past the last key',
  }).catch((error: unknown) => Promise.reject(new Error(`${String(error)} (it stayed at ${position})`)));
});

it('several inputs at once: a local folder and a bucket prefix, each routed by its own relative paths', async () => {
  const b = bucket();
  env = await createTestEnv({ datasets: ITEM_DATASETS, folders: { input: ['input', `s3://${b.name}/feeds/`] }, s3: s3Section() });
  await env.start();
  await env.drop('items-local.csv', ITEMS_CSV);
  await b.put('feeds/items-remote.csv', ITEMS_CSV.replace('Widget', 'Remote'));
  // The same name in both: two arrivals, told apart by their input.
  await env.drop('items-both.csv', ITEMS_CSV.replace('Widget', 'Local both'));
  await b.put('feeds/items-both.csv', ITEMS_CSV.replace('Widget', 'Remote both'));
  const local = await env.outcome('items-local.csv', 'loaded');
  expect(local['input']).toBeUndefined(); // the first local input keeps its events as before
  expect(await env.outcome('items-remote.csv', 'loaded')).toMatchObject({ input: `s3://${b.name}/feeds/` });
  await waitForLoaded(4);
  const { rows } = await env.pool.query<{ path: string }>(`SELECT path FROM loadbay.files WHERE status = 'loaded' ORDER BY path`);
  expect(rows.map((r) => r.path)).toEqual(['items-both.csv', 'items-local.csv', `s3://${b.name}/feeds/items-both.csv`, `s3://${b.name}/feeds/items-remote.csv`]);
  // Archived locally (archive/ is a local folder here), one copy each, the second name numbered.
  expect((await env.files('archive', 'items-csv')).sort()).toEqual(['items-both-2.csv', 'items-both.csv', 'items-local.csv', 'items-remote.csv']);
  expect(await b.keys('feeds/')).toEqual([]);
  expect(await count("SELECT count(*)::int AS n FROM shop.items_csv WHERE name IN ('Local both', 'Remote both', 'Remote', 'Widget')")).toBe(4);
});

async function waitForLoaded(n: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while ((await count(`SELECT count(*)::int AS n FROM loadbay.files WHERE status = 'loaded' AND settled_at IS NOT NULL`)) < n) {
    if (Date.now() > deadline) throw new Error(`fewer than ${n} files loaded`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const REPLACE_DATASET = {
  'scores.yaml': `name: scores
match: "scores*.csv"
format: csv
on_invalid_row: skip_row
table: { name: lake.scores, mode: replace, replace: table }
export: { query: "SELECT count(*) AS n, sum(points) AS points FROM lake.scores", to: "EXPORT_TO" }
schema:
  type: object
  required: [team, points]
  properties:
    team: { type: string }
    points: { type: integer, minimum: 0 }
`,
};

it('Parquet, archive, rejects and an export in a bucket; superseded Parquet retired into _superseded/ there', async () => {
  const b = bucket();
  env = await createTestEnv({
    datasets: { 'scores.yaml': REPLACE_DATASET['scores.yaml'].replace('EXPORT_TO', `s3://${b.name}/exports/scores.csv`) },
    folders: { parquet: `s3://${b.name}/lake/`, archive: `s3://${b.name}/archive/`, failed: `s3://${b.name}/failed/` },
    s3: s3Section(),
  });
  await env.start();
  await env.drop('scores-1.csv', 'team,points\nred,3\nblue,1\ngreen,-1\n');
  const first = await env.outcome('scores-1.csv', 'loaded');
  expect(first).toMatchObject({ rows: 2, rejected: 1, rejects: `s3://${b.name}/failed/scores/scores-1.csv.rejects.jsonl` });
  const firstParquet = String(first['parquet']);
  expect(firstParquet).toMatch(new RegExp(`^s3://${b.name}/lake/scores/scores-1\\.csv-[0-9a-f]{8}\\.parquet$`));
  const table = await readParquetFile(await download(firstParquet.slice(`s3://${b.name}/`.length)));
  expect(table.numRows).toBe(2);
  expect(String(table.getChild('team')!.get(0))).toBe('red');
  const rejects = (await b.get('failed/scores/scores-1.csv.rejects.jsonl')).toString();
  expect(JSON.parse(rejects.trim())).toMatchObject({ line: 4, record: { team: 'green', points: '-1' } });

  await env.drop('scores-2.csv', 'team,points\nred,5\n');
  const second = await env.outcome('scores-2.csv', 'loaded');
  await waitForKeys(b, 'lake/scores/_superseded/', 1);
  expect(await b.keys('lake/')).toEqual([`lake/scores/_superseded/${path.posix.basename(firstParquet)}`, String(second['parquet']).slice(`s3://${b.name}/`.length)]);
  const { rows } = await env.pool.query<{ retired: boolean }>(`SELECT retired_at IS NOT NULL AS retired FROM loadbay.files WHERE parquet_path = $1`, [firstParquet]);
  expect(rows).toEqual([{ retired: true }]);
  expect(await b.keys('archive/')).toEqual(['archive/scores/scores-1.csv', 'archive/scores/scores-2.csv']);
  await waitForKeys(b, 'exports/', 1);
  await waitForText(b, 'exports/scores.csv', 'n,points\n1,5\n');
  expect(await env.files('parquet')).toEqual([]);
  // Nothing left in the staging folder.
  expect((await readdirSafe(path.join(env.root, '.loadbay', 'staging', 'scores'))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
});

async function readdirSafe(dir: string): Promise<string[]> {
  const { readdir } = await import('node:fs/promises');
  return readdir(dir).catch(() => []);
}

async function waitForKeys(b: ReturnType<typeof bucket>, prefix: string, n: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  while ((await b.keys(prefix)).length < n) {
    if (Date.now() > deadline) throw new Error(`fewer than ${n} keys under ${prefix}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function waitForText(b: ReturnType<typeof bucket>, key: string, text: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const now = await b.get(key).then((x) => x.toString(), () => '');
    if (now === text) return;
    if (Date.now() > deadline) throw new Error(`${key} holds ${JSON.stringify(now)}, not ${JSON.stringify(text)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

it('a local input archived into a bucket, and a bucket input archived into a local folder: copy, then delete', async () => {
  const b = bucket();
  env = await createTestEnv({ datasets: ITEM_DATASETS, folders: { input: ['input', `s3://${b.name}/in/`], archive: `s3://${b.name}/archive/` }, s3: s3Section() });
  await env.start();
  await env.drop('items-up.csv', ITEMS_CSV);
  await env.outcome('items-up.csv', 'loaded');
  expect(await env.files('input')).toEqual([]);
  expect((await b.get('archive/items-csv/items-up.csv')).toString()).toBe(ITEMS_CSV);
  await env.cleanup();

  const local = await createTestEnv({ datasets: ITEM_DATASETS, folders: { input: `s3://${b.name}/in/` }, s3: s3Section() });
  env = local;
  await local.start();
  const content = ITEMS_CSV.replace('Widget', 'Down');
  await b.put('in/items-down.csv', content);
  await local.outcome('items-down.csv', 'loaded');
  expect(await readFile(path.join(local.folders.archive, 'items-csv', 'items-down.csv'), 'utf8')).toBe(content);
  expect(await b.keys('in/')).toEqual([]);
});

it('quarantined across sides: an object into a local output_failed/, a local file into a bucket, each with its report', async () => {
  const b = bucket();
  env = await createTestEnv({ datasets: ITEM_DATASETS, folders: { input: `s3://${b.name}/in/` }, s3: s3Section() });
  await env.start();
  await b.put('in/items-down.csv', BAD_CSV);
  expect(await env.outcome('items-down.csv', 'failed')).toMatchObject({ quarantined_as: path.join('output_failed', 'items-csv', 'items-down.csv') });
  expect(await env.files('failed', 'items-csv')).toEqual(['items-down.csv', 'items-down.csv.error.json']);
  expect(await readFile(path.join(env.folders.failed, 'items-csv', 'items-down.csv'), 'utf8')).toBe(BAD_CSV);
  expect(await b.keys()).toEqual([]);
  await env.cleanup();

  env = await createTestEnv({ datasets: ITEM_DATASETS, folders: { failed: `s3://${b.name}/failed/` }, s3: s3Section() });
  await env.start();
  await env.drop('items-up.csv', BAD_CSV);
  expect(await env.outcome('items-up.csv', 'failed')).toMatchObject({ quarantined_as: `s3://${b.name}/failed/items-csv/items-up.csv` });
  expect(await b.keys()).toEqual(['failed/items-csv/items-up.csv', 'failed/items-csv/items-up.csv.error.json']);
  expect((await b.get('failed/items-csv/items-up.csv')).toString()).toBe(BAD_CSV);
  expect(await env.files('input')).toEqual([]);
});
