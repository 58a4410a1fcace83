/**
 * Small files of one dataset ready at the same time share one transaction, each in its own
 * savepoint (load/unit.ts): through a running daemon on real folders and PostgreSQL.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ITEM_DATASETS } from '../helpers/datasets.js';
import { createTestEnv, waitFor, type LogLine, type TestEnv } from '../helpers/env.js';
import { parquetCodecs, readParquetFile } from '../helpers/parquet.js';
import { crashParquetThread } from '../../src/write/parquet.js';

let env: TestEnv | null = null;
afterEach(async () => {
  await env?.cleanup();
  env = null;
});

const HEADER = 'id,name,price,active,born,seen,size';
const good = (i: number) => `${HEADER}\n${i},item ${i},${i % 50}.5,true,2020-01-01,2024-01-02T03:04:05Z,S\n${i + 1000},second ${i},1,no,,,M\n`;
const BAD: Record<string, string> = {
  'items-g-07.csv': `${HEADER}\n7,ok,1,true,,,S\n8,neg,-4,true,,,S\n9,big,1,true,,,XL\n`, // two values the schema refuses
  'items-g-21.csv': `${HEADER}\n21,ragged,1\n`, // a row with too few fields
  'items-g-40.csv': `${HEADER}\n40,,1,true,2023-02-29,,S\n`, // empty required name, an impossible date
};

/** A quarantine report without what differs between two runs (ids, times). */
async function report(e: TestEnv, name: string) {
  const text = await readFile(path.join(e.folders.failed, 'items-csv', `${name}.error.json`), 'utf8');
  const { file_id, failed_at, ...rest } = JSON.parse(text) as Record<string, unknown>;
  void file_id;
  void failed_at;
  return rest;
}

async function outcomes(e: TestEnv, names: string[]): Promise<Map<string, LogLine>> {
  const lines = new Map<string, LogLine>();
  for (const name of names) lines.set(name, await e.outcome(name));
  return lines;
}

it('50 small files at once: 47 loaded in shared transactions, the 3 bad ones quarantined with the reports they get alone', async () => {
  // Alone first (groups off): the reports to expect.
  const alone = await createTestEnv({ datasets: ITEM_DATASETS, processing: { group_max_files: 1 } });
  let expected: Record<string, unknown>;
  try {
    await alone.start();
    for (const [name, content] of Object.entries(BAD)) await alone.drop(name, content);
    const lines = await outcomes(alone, Object.keys(BAD));
    expect([...lines.values()].every((l) => l.event === 'failed' && l['group'] === undefined)).toBe(true);
    expected = Object.fromEntries(await Promise.all(Object.keys(BAD).map(async (n) => [n, await report(alone, n)])));
  } finally {
    await alone.cleanup();
  }

  env = await createTestEnv({ datasets: ITEM_DATASETS });
  const names: string[] = [];
  // In input/ before the daemon starts: its first scan finds all 50 waiting at once.
  for (let i = 1; i <= 50; i++) {
    const name = `items-g-${String(i).padStart(2, '0')}.csv`;
    names.push(name);
    await env.drop(name, BAD[name] ?? good(i));
  }
  await env.start();
  const lines = await outcomes(env, names);
  const loaded = names.filter((n) => lines.get(n)!.event === 'loaded');
  const failed = names.filter((n) => lines.get(n)!.event === 'failed');
  expect(failed.sort()).toEqual(Object.keys(BAD).sort());
  expect(loaded).toHaveLength(47);
  // They did share transactions.
  expect(loaded.some((n) => Number(lines.get(n)!['group']) > 1)).toBe(true);
  for (const name of Object.keys(BAD)) expect(await report(env, name)).toEqual(expected[name]);
  const { rows } = await env.pool.query<{ n: number; files: number }>('SELECT count(*)::int AS n, count(DISTINCT _file_id)::int AS files FROM shop.items_csv');
  expect(rows[0]).toEqual({ n: 94, files: 47 });
  expect((await env.files('input')).length).toBe(0);
  expect((await env.files('archive', 'items-csv')).length).toBe(47);
  expect((await env.files('parquet', 'items-csv')).filter((f) => f.endsWith('.parquet'))).toHaveLength(47);
});

it('in a group, a file the table refuses is quarantined with its line, a copy of a file in the group is skipped after it, the rest commit', async () => {
  // Files found at the start all wait the window (none taken at once for its ctime), so they are one group.
  env = await createTestEnv({ datasets: ITEM_DATASETS, processing: { renamed_is_finished: false } });
  const first = await env.start();
  await env.drop('items-h-00.csv', good(100));
  await env.outcome('items-h-00.csv', 'loaded');
  await env.pool.query('ALTER TABLE shop.items_csv ADD CONSTRAINT cheap CHECK (price < 40)');
  await first.stop();
  const names = ['items-h-01.csv', 'items-h-02.csv', 'items-h-03.csv', 'items-h-04.csv', 'items-h-05.csv'];
  const contents = [good(1), `${HEADER}\n2,pricey,99,true,,,S\n`, good(3), good(3), good(5)];
  // Waiting together when the daemon starts again: one group.
  for (const [i, name] of names.entries()) await env.drop(name, contents[i]!);
  await env.start();
  const lines = await outcomes(env, names);
  expect(Math.max(...['items-h-01.csv', 'items-h-05.csv'].map((n) => Number(lines.get(n)!['group'] ?? 1)))).toBeGreaterThan(1);
  expect(lines.get('items-h-02.csv')).toMatchObject({ event: 'failed', stage: 'load' });
  expect(lines.get('items-h-02.csv')!.problems?.[0]).toMatchObject({ line: 2, rule: expect.stringMatching(/^postgres 23514 \(cheap\)/) });
  const copies = ['items-h-03.csv', 'items-h-04.csv'].map((n) => lines.get(n)!.event).sort();
  expect(copies).toEqual(['loaded', 'skipped']);
  expect(lines.get('items-h-01.csv')).toMatchObject({ event: 'loaded', rows: 2 });
  expect(lines.get('items-h-05.csv')).toMatchObject({ event: 'loaded', rows: 2 });
  const { rows } = await env.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM shop.items_csv WHERE _source_file LIKE 'items-h-%'");
  expect(rows[0]!.n).toBe(2 + 2 + 2 + 2); // h-00, h-01, one of h-03/04, h-05
});

it('a burst holding a copy of a file loaded before: the copy is skipped as its duplicate, the others load together', async () => {
  // Files found at the start all wait the window (none taken at once for its ctime), so they are one group.
  env = await createTestEnv({ datasets: ITEM_DATASETS, processing: { renamed_is_finished: false } });
  const first = await env.start();
  await env.drop('items-k-00.csv', good(500));
  const earlier = await env.outcome('items-k-00.csv', 'loaded');
  await first.stop();
  // Waiting together at the next start: one group, whose one COPY cannot take the copy.
  const names = ['items-k-01.csv', 'items-k-02.csv', 'items-k-03.csv', 'items-k-04.csv'];
  const contents = [good(501), good(500), good(503), good(504)];
  for (const [i, name] of names.entries()) await env.drop(name, contents[i]!);
  await env.start();
  const lines = await outcomes(env, names);
  expect(lines.get('items-k-02.csv')).toMatchObject({ event: 'skipped', duplicate_of: earlier.file_id });
  for (const name of ['items-k-01.csv', 'items-k-03.csv', 'items-k-04.csv']) expect(lines.get(name)).toMatchObject({ event: 'loaded', rows: 2, group: 3 });
  const { rows } = await env.pool.query<{ n: number; files: number }>(
    "SELECT count(*)::int AS n, count(DISTINCT _file_id)::int AS files FROM shop.items_csv WHERE _source_file LIKE 'items-k-%'",
  );
  expect(rows[0]).toEqual({ n: 8, files: 4 }); // k-00, k-01, k-03, k-04: the copy's rows are not there twice
  const ledger = await env.pool.query<{ path: string; status: string }>("SELECT path, status FROM loadbay.files WHERE path LIKE 'items-k-%' ORDER BY path");
  expect(ledger.rows.map((r) => `${r.path} ${r.status}`)).toEqual([
    'items-k-00.csv loaded',
    'items-k-01.csv loaded',
    'items-k-02.csv skipped',
    'items-k-03.csv loaded',
    'items-k-04.csv loaded',
  ]);
  expect((await env.files('parquet', 'items-csv')).filter((f) => f.endsWith('.parquet'))).toHaveLength(4);
});

it('Parquet: a file written in one piece is snappy, one of several batches zstd; parquet: chooses', async () => {
  const many = (from: number, count: number) => [HEADER, ...Array.from({ length: count }, (_, k) => `${from + k},item ${from + k},1.5,true,2020-01-01,,S`)].join('\n') + '\n';
  const codecsOf = async (e: TestEnv, name: string) => parquetCodecs(path.join(e.root, String((await e.outcome(name, 'loaded'))['parquet'])));
  env = await createTestEnv({ datasets: ITEM_DATASETS, processing: { batch_rows: 100 } });
  await env.start();
  await env.drop('items-p-small.csv', many(1, 100));
  await env.drop('items-p-large.csv', many(1000, 250));
  expect([...(await codecsOf(env, 'items-p-small.csv'))]).toEqual(['SNAPPY']);
  expect([...(await codecsOf(env, 'items-p-large.csv'))]).toEqual(['ZSTD']);
  await env.cleanup();

  env = await createTestEnv({ datasets: ITEM_DATASETS, processing: { batch_rows: 100 }, parquet: { compression: 'gzip', small_file_compression: 'zstd' } });
  await env.start();
  await env.drop('items-p-small.csv', many(1, 100));
  await env.drop('items-p-large.csv', many(1000, 250));
  expect([...(await codecsOf(env, 'items-p-small.csv'))]).toEqual(['ZSTD']);
  expect([...(await codecsOf(env, 'items-p-large.csv'))]).toEqual(['GZIP']);
  const table = await readParquetFile(path.join(env.root, String((await env.outcome('items-p-small.csv', 'loaded'))['parquet'])));
  expect(table.numRows).toBe(100);
  expect(table.getChild('id')!.get(99)).toBe(100n);
});

it('upsert and replace-by-key files waiting together: each through its own stage table, replacing loads take turns, a file with a duplicate key is refused alone', async () => {
  const schema = 'schema:\n  type: object\n  required: [id]\n  properties:\n    id: { type: integer }\n    name: { type: string }\n    day: { type: string, format: date }\n';
  env = await createTestEnv({
    datasets: {
      'u.yaml': `name: u\nmatch: "u-*.csv"\nformat: csv\ntable: { name: m.u, mode: upsert, key: [id] }\n${schema}`,
      'k.yaml': `name: k\nmatch: "k-*.csv"\nformat: csv\ntable: { name: m.k, mode: replace, replace: { key: [day] } }\n${schema}`,
    },
  });
  // In input/ before the daemon starts: each dataset's files are one group.
  const files: Record<string, string> = {
    'u-1.csv': 'id,name\n1,one\n2,two\n',
    'u-2.csv': 'id,name\n2,TWO\n3,three\n',
    'u-3.csv': 'id,name\n4,a\n4,b\n', // the same key twice in one file
    'u-4.csv': 'id,name\n5,five\n',
    'k-1.csv': 'id,day\n1,2024-01-01\n2,2024-01-02\n',
    'k-2.csv': 'id,day\n10,2024-01-01\n',
    'k-3.csv': 'id,day\n20,2024-01-03\n',
  };
  for (const [name, content] of Object.entries(files)) await env.drop(name, content);
  await env.start();
  const lines = await outcomes(env, Object.keys(files));
  expect(lines.get('u-3.csv')).toMatchObject({ event: 'failed', stage: 'load', reason: 'lines 2 and 3 have the same key (id) = [4]' });
  for (const name of ['u-1.csv', 'u-2.csv', 'u-4.csv', 'k-1.csv', 'k-2.csv', 'k-3.csv']) {
    expect(lines.get(name)).toMatchObject({ event: 'loaded', attempt: 1 });
  }
  expect(Math.max(...['u-1.csv', 'k-1.csv'].map((n) => Number(lines.get(n)!['group'] ?? 1)))).toBeGreaterThan(1);
  const log = await readFile(path.join(env.root, 'logs', 'conversion.log'), 'utf8');
  expect(log).not.toContain('"retrying"');
  // u-1 and u-2 both bring id 2: files waiting together have no order (the first scan lists them in
  // the folder's order), so either delivery may be the later one — with its own lineage, never mixed.
  const u = await env.pool.query<{ id: string; name: string; file: string }>('SELECT id, name, _source_file AS file FROM m.u ORDER BY id');
  expect(u.rows.filter((r) => r.id !== '2')).toEqual([
    { id: '1', name: 'one', file: 'u-1.csv' },
    { id: '3', name: 'three', file: 'u-2.csv' },
    { id: '5', name: 'five', file: 'u-4.csv' },
  ]);
  expect([
    { id: '2', name: 'two', file: 'u-1.csv' },
    { id: '2', name: 'TWO', file: 'u-2.csv' },
  ]).toContainEqual(u.rows.find((r) => r.id === '2'));
  // k-1 and k-2 both bring 2024-01-01: whichever loads second replaces the other's rows of that
  // day (files waiting together have no order), never are both kept.
  const k = await env.pool.query<{ day: string; ids: string[] }>('SELECT day::text, array_agg(id::text ORDER BY id) AS ids FROM m.k GROUP BY day ORDER BY day');
  expect(k.rows.map((r) => r.day)).toEqual(['2024-01-01', '2024-01-02', '2024-01-03']);
  expect([['1'], ['10']]).toContainEqual(k.rows[0]!.ids);
  expect(k.rows[2]!.ids).toEqual(['20']);
});

it('the Parquet thread dying in a group load (it encodes the rows for COPY too) fails the group, which is retried: every file once', async () => {
  env = await createTestEnv({ datasets: ITEM_DATASETS });
  await env.start();
  const rowsOf = (i: number) => {
    const lines = [HEADER];
    for (let r = 0; r < 3000; r++) lines.push(`${i * 10_000 + r + 1},item ${i} ${r},${r % 50}.5,true,2020-01-01,2024-01-02T03:04:05Z,S`);
    return lines.join('\n') + '\n';
  };
  // The crash must find the thread at work on the group; when it finds it between two files (the
  // next request then starts a new thread, and nothing fails), the test drops another burst.
  let retried = false;
  let loaded = 0;
  for (let attempt = 0; attempt < 8 && !retried; attempt++) {
    const names: string[] = [];
    for (let i = 1; i <= 30; i++) names.push(`items-t${attempt}-${String(i).padStart(2, '0')}.csv`);
    await Promise.all(names.map((name, i) => env!.drop(name, rowsOf(attempt * 100 + i + 1))));
    // The group's Parquet files stay temporary until it commits: the first one means the thread is at work.
    await waitFor(async () => (await env!.files('parquet', 'items-csv')).some((f) => f.endsWith('.tmp')), { message: 'a Parquet file of the group', intervalMs: 2 });
    await crashParquetThread();
    const lines = await outcomes(env, names);
    expect(names.filter((n) => lines.get(n)!.event !== 'loaded').map((n) => [n, lines.get(n)!.event, lines.get(n)!['reason']])).toEqual([]);
    loaded += names.length;
    retried = (await env.logLines()).some((l) => l.event === 'retrying' && /Parquet (thread|file)/.test(String(l['reason'])));
    // Every file once, each row once, whatever the crash hit.
    const { rows } = await env.pool.query<{ n: number; files: number; ids: number }>(
      'SELECT count(*)::int AS n, count(DISTINCT _file_id)::int AS files, count(DISTINCT id)::int AS ids FROM shop.items_csv',
    );
    expect(rows[0]).toEqual({ n: loaded * 3000, files: loaded, ids: loaded * 3000 });
    const parquet = await env.files('parquet', 'items-csv');
    expect(parquet.filter((f) => f.endsWith('.parquet'))).toHaveLength(loaded);
    expect(parquet.filter((f) => f.endsWith('.tmp'))).toEqual([]);
  }
  expect(retried).toBe(true);
  const first = (await env.files('parquet', 'items-csv')).find((f) => f.endsWith('.parquet'))!;
  expect((await readParquetFile(path.join(env.folders.parquet, 'items-csv', first))).numRows).toBe(3000);
});
