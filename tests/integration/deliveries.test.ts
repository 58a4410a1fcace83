/**
 * The latest delivery wins, and the Parquet folder tells the table's story: for each mode, what a
 * file identical to an earlier one does (A→A, A→B→A), and DuckDB over `output_parquet/<dataset>/`
 * reading exactly the rows of the table after a replace — superseded files retired into
 * `_superseded/`, also when a crash came between the commit and the retirement.
 */
import path from 'node:path';
import { createTestEnv, waitFor, type TestEnv } from '../helpers/env.js';
import { duckdbRows } from '../helpers/parquet.js';

let env: TestEnv | null = null;
afterEach(async () => {
  await env?.cleanup();
  env = null;
});

const schema = `schema:
  type: object
  required: [id]
  properties:
    id: { type: integer }
    v: { type: string }
`;
const DATASETS = {
  // replace by key, the key from the file name: games_<day>.csv
  'games.yaml': `name: games\nmatch: "games_*.csv"\nformat: csv\nprepare:\n  - add_columns:\n      from_file_name: 'games_(?<day>\\d+)(-\\w+)?\\.csv'\ntable: { name: d.games, mode: replace, replace: { key: [day] } }\n${schema.replace('    v: { type: string }', '    v: { type: string }\n    day: { type: integer }')}`,
  'snap.yaml': `name: snap\nmatch: "snap-*.csv"\nformat: csv\ntable: { name: d.snap, mode: replace, replace: table }\n${schema}`,
  'up.yaml': `name: up\nmatch: "up-*.csv"\nformat: csv\ntable: { name: d.up, mode: upsert, key: [id] }\n${schema}`,
  'log.yaml': `name: log\nmatch: "log-*.csv"\nformat: csv\ntable: d.log\n${schema}`,
};

const A = 'id,v\n1,a\n2,a\n';
const B = 'id,v\n1,b\n3,b\n';

async function start(): Promise<TestEnv> {
  env = await createTestEnv({ datasets: DATASETS, processing: { group_wait_ms: 0 } });
  await env.start();
  return env;
}

const outcomesOf = async (name: string) =>
  (await env!.logLines()).filter((l) => l.file === name && ['loaded', 'failed', 'skipped'].includes(l.event));

/** Drops the file (a name may come again) and waits for this delivery's outcome line. */
async function deliver(name: string, content: string): Promise<string> {
  const before = (await outcomesOf(name)).length;
  await env!.drop(name, content);
  const lines = await waitFor(async () => {
    const now = await outcomesOf(name);
    return now.length > before ? now : null;
  }, { message: `an outcome for delivery ${before + 1} of ${name}` });
  return lines[before]!.event;
}

const table = async (sql: string) => (await env!.pool.query(sql)).rows;
const parquet = (dataset: string, columns = ['id::INTEGER AS id', 'v']) => duckdbRows(path.join(env!.folders.parquet, dataset), columns, 'id');

it('replace by key: A, B, A leaves A (the latest delivery wins); A, A skips the second; the Parquet folder holds the table rows', async () => {
  await start();
  expect(await deliver('games_1.csv', A)).toBe('loaded');
  expect(await deliver('games_2.csv', 'id,v\n9,other\n')).toBe('loaded');
  // The same day again, corrected, then the first version again: each replaces the day's rows.
  expect(await deliver('games_1.csv', B)).toBe('loaded');
  expect(await deliver('games_1.csv', A)).toBe('loaded');
  const rows = await table('SELECT id::int, v FROM d.games ORDER BY id');
  expect(rows).toEqual([{ id: 1, v: 'a' }, { id: 2, v: 'a' }, { id: 9, v: 'other' }]);
  expect(await parquet('games')).toEqual(rows);
  // Identical to the current delivery of day 1: nothing changes, it is skipped.
  expect(await deliver('games_1.csv', A)).toBe('skipped');
  expect((await outcomesOf('games_1.csv')).at(-1)!.reason).toMatch(/same content as file \d+, already loaded/);
  expect(await env!.files('parquet', 'games/_superseded')).toHaveLength(2);
  const ledger = await table("SELECT path, status, duplicate_of IS NOT NULL AS repeat FROM loadbay.files WHERE dataset = 'games' ORDER BY id");
  expect(ledger.map((r) => `${r.status}${r.repeat ? ' (repeat)' : ''}`)).toEqual(['loaded', 'loaded', 'loaded', 'loaded (repeat)', 'skipped (repeat)']);
});

it('replace the table: every delivery supersedes the earlier ones, in Parquet too', async () => {
  await start();
  expect(await deliver('snap-1.csv', A)).toBe('loaded');
  expect(await deliver('snap-2.csv', B)).toBe('loaded');
  expect(await parquet('snap')).toEqual([{ id: 1, v: 'b' }, { id: 3, v: 'b' }]);
  expect(await deliver('snap-3.csv', A)).toBe('loaded');
  const rows = await table('SELECT id::int, v FROM d.snap ORDER BY id');
  expect(rows).toEqual([{ id: 1, v: 'a' }, { id: 2, v: 'a' }]);
  expect(await parquet('snap')).toEqual(rows);
});

it('upsert: A, B, A leaves A\'s values; append: A, B, A skips the third (appending it again would double its rows)', async () => {
  await start();
  expect(await deliver('up-1.csv', A)).toBe('loaded');
  expect(await deliver('up-2.csv', B)).toBe('loaded');
  expect(await deliver('up-3.csv', A)).toBe('loaded');
  expect(await table('SELECT id::int, v FROM d.up ORDER BY id')).toEqual([{ id: 1, v: 'a' }, { id: 2, v: 'a' }, { id: 3, v: 'b' }]);
  expect(await deliver('up-4.csv', A)).toBe('skipped');

  expect(await deliver('log-1.csv', A)).toBe('loaded');
  expect(await deliver('log-2.csv', B)).toBe('loaded');
  expect(await deliver('log-3.csv', A)).toBe('skipped');
  const rows = await table('SELECT id::int, v FROM d.log ORDER BY id, v');
  expect(rows).toHaveLength(4);
  expect(await duckdbRows(path.join(env!.folders.parquet, 'log'), ['id::INTEGER AS id', 'v'], 'id, v')).toEqual(rows);
});

it('two deliveries of one key in one group: the later replaces the earlier, in the table and in Parquet', async () => {
  await start();
  expect(await deliver('games_7.csv', 'id,v\n70,old\n')).toBe('loaded');
  // Waiting together, they load in one transaction, one savepoint each; both carry day 7.
  await Promise.all([env!.drop('games_7-a.csv', 'id,v\n71,a\n'), env!.drop('games_7-b.csv', 'id,v\n72,b\n'), env!.drop('games_8.csv', 'id,v\n80,x\n')]);
  for (const file of ['games_7-a.csv', 'games_7-b.csv', 'games_8.csv']) await env!.outcome(file, 'loaded');
  const rows = await table('SELECT id::int, v FROM d.games ORDER BY id');
  expect(rows.map((r) => r.id)).toEqual([expect.any(Number), 80]);
  expect([71, 72]).toContain(rows[0]!.id);
  expect(await parquet('games')).toEqual(rows);
});

it('a crash between the commit and the retirement: the next start retires the superseded file', async () => {
  await start();
  expect(await deliver('snap-1.csv', A)).toBe('loaded');
  expect(await deliver('snap-2.csv', B)).toBe('loaded');
  // As if loadbay died right after snap-2 committed: snap-1's file still in place, not retired.
  const [retired] = await env!.files('parquet', 'snap/_superseded');
  const { rename } = await import('node:fs/promises');
  await rename(path.join(env!.folders.parquet, 'snap', '_superseded', retired!), path.join(env!.folders.parquet, 'snap', retired!));
  await env!.pool.query("UPDATE loadbay.files SET retired_at = NULL WHERE dataset = 'snap'");
  expect(await parquet('snap')).toHaveLength(4);
  await env!.start(); // a second instance starting retires it (the first keeps running)
  const rows = await table('SELECT id::int, v FROM d.snap ORDER BY id');
  expect(await parquet('snap')).toEqual(rows);
});
