/**
 * The core pipeline through the running daemon: real folders, the fs.watch watcher, PostgreSQL and Parquet.
 */
import { readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Daemon } from '../../src/daemon.js';
import { ITEM_DATASETS, ITEMS_CSV, ITEMS_RECORDS } from '../helpers/datasets.js';
import { createTestEnv, waitFor, type TestEnv } from '../helpers/env.js';
import { columnTypes, dictionaryColumns, readParquetFile } from '../helpers/parquet.js';

let env: TestEnv;
let daemon: Daemon;

beforeAll(async () => {
  env = await createTestEnv({ datasets: ITEM_DATASETS });
  daemon = await env.start();
});

afterAll(async () => {
  await env.cleanup();
});

interface ItemRow {
  id: string;
  name: string;
  price: number | null;
  active: boolean | null;
  born: string | null;
  seen: string | null;
  size: string | null;
  _source_file: string;
  _source_record: string;
  _file_id: string;
}

async function rows(table: string, file: string): Promise<ItemRow[]> {
  const result = await env.pool.query<ItemRow>(
    `SELECT id, name, price, active, born::text AS born, to_char(seen AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS seen,
            size, _source_file, _source_record, _file_id
       FROM ${table} WHERE _source_file = $1 ORDER BY id`,
    [file],
  );
  return result.rows;
}

const expectedRows = [
  { id: '1', name: 'Widget', price: 9.5, active: true, born: '2020-02-29', seen: '2024-01-02T03:04:05.123456', size: 'S' },
  { id: '2', name: 'Gadget, large', price: 12, active: false, born: null, seen: '2024-01-02T01:04:05.000000', size: 'L' },
  { id: '3', name: 'multi\nline', price: 0, active: true, born: '1999-12-31', seen: null, size: 'M' },
];

const jsonl = ITEMS_RECORDS.map((r) => JSON.stringify(r)).join('\n') + '\n';
const json = JSON.stringify(ITEMS_RECORDS);

describe.each([
  ['items-a.csv', ITEMS_CSV, 'shop.items_csv', 'items-csv', [2, 3, 4]],
  ['items-b.csv.gz', gzipSync(ITEMS_CSV), 'shop.items_csv', 'items-csv', [2, 3, 4]],
  ['items-c.jsonl', jsonl, 'shop.items_jsonl', 'items-jsonl', [1, 2, 3]],
  ['items-d.jsonl.gz', gzipSync(jsonl), 'shop.items_jsonl', 'items-jsonl', [1, 2, 3]],
  ['items-e.json', json, 'shop.items_json', 'items-json', [1, 2, 3]],
  ['items-f.json.gz', gzipSync(json), 'shop.items_json', 'items-json', [1, 2, 3]],
] as const)('%s', (file, content, table, dataset, sourceRecords) => {
  it('is loaded into PostgreSQL with types and lineage, written as typed Parquet, and archived', async () => {
    await env.drop(file, content);
    const line = await env.outcome(file);
    expect(line).toMatchObject({ event: 'loaded', dataset, rows: 3, table });
    expect(line['duration_ms']).toEqual(expect.any(Number));

    const loaded = await rows(table, file);
    expect(loaded.map(({ _source_file, _source_record, _file_id, ...rest }) => rest)).toEqual(expectedRows);
    expect(loaded.map((r) => Number(r._source_record))).toEqual([...sourceRecords]);
    expect(new Set(loaded.map((r) => r._file_id)).size).toBe(1);

    expect(await env.files('input')).toEqual([]);
    expect(await env.files('archive', dataset)).toContain(file);

    const parquetFile = path.join(env.root, String(line['parquet']));
    expect(path.basename(parquetFile)).toMatch(new RegExp(`^${file.replace(/\./g, '\\.')}-[0-9a-f]{8}\\.parquet$`));
    const parquet = await readParquetFile(parquetFile);
    expect(columnTypes(parquet)).toEqual({
      id: 'Int64',
      name: 'Utf8',
      price: 'Float64',
      active: 'Bool',
      born: 'Date32<DAY>',
      seen: 'Timestamp<MICROSECOND, UTC>',
      size: 'Utf8',
      _file_id: 'Int64',
      _source_file: 'Utf8',
      _source_record: 'Int64',
    });
    const first = parquet.get(0)!.toJSON();
    expect(first['id']).toBe(1n);
    expect(first['price']).toBe(9.5);
    expect(first['active']).toBe(true);
    expect(first['born']).toBe(Date.UTC(2020, 1, 29));
    // Arrow returns timestamps as float milliseconds; the microseconds survive in the fraction.
    expect(Math.round((first['seen'] as number) * 1000)).toBe(Date.UTC(2024, 0, 2, 3, 4, 5) * 1000 + 123456);
    expect(parquet.get(1)!.toJSON()['born']).toBeNull();
    // The lineage PostgreSQL has, in the lake too.
    expect([...parquet.getChild('_source_record')!].map(Number)).toEqual([...sourceRecords]);
    expect(String(parquet.get(0)!.toJSON()['_file_id'])).toBe(String(loaded[0]!._file_id));
    expect(parquet.get(2)!.toJSON()['_source_file']).toBe(file);
    expect(parquet.numRows).toBe(3);
    // A dictionary where values repeat: the text the schema lists (size: enum) and the lineage constants.
    expect(await dictionaryColumns(parquetFile)).toEqual(['_file_id', '_source_file', 'size']);
  });
});

describe('a file with invalid records', () => {
  it('is quarantined with a report naming line, field, value and rule; the daemon goes on', async () => {
    const bad = [
      'id,name,price,active,born,seen,size',
      '1,ok,1,true,,,S',
      '2,bad price,-4,true,,,S',
      '3,,1,true,,,XL',
      '4,bad date,1,true,2021-02-30,,S',
      '5,ragged,1',
    ].join('\n');
    await env.drop('items-bad.csv', bad);
    const line = await env.outcome('items-bad.csv');
    // The earliest stage with a problem names the failure: the ragged row is a read problem.
    expect(line).toMatchObject({ event: 'failed', dataset: 'items-csv', stage: 'read' });
    expect(line.problems?.length).toBeGreaterThan(0);

    const failed = await env.files('failed', 'items-csv');
    expect(failed).toEqual(['items-bad.csv', 'items-bad.csv.error.json']);
    const report = JSON.parse(await readFile(path.join(env.folders.failed, 'items-csv', 'items-bad.csv.error.json'), 'utf8'));
    expect(report).toMatchObject({ file: 'items-bad.csv', dataset: 'items-csv', stage: 'read', problem_count: 5 });
    expect(report.problems.map((p: { line: number }) => p.line)).toEqual([3, 4, 4, 5, 6]);
    expect(report.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(report.problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ line: 6, rule: 'columns', message: 'line 6 has 3 fields, the header has 7' }),
        expect.objectContaining({ line: 3, field: 'price', value: '-4', rule: 'minimum: must be >= 0' }),
        // An empty CSV field is NULL, i.e. absent: the schema's `required` catches it.
        expect.objectContaining({ line: 4, field: 'name', rule: 'required: value missing' }),
        expect.objectContaining({ line: 4, field: 'size', value: '"XL"', rule: 'enum: must be one of "S", "M", "L"' }),
        expect.objectContaining({ line: 5, field: 'born', value: '"2021-02-30"', rule: 'format: must match format "date"' }),
      ]),
    );
    // Nothing of the bad file reached the table: all rows or none.
    expect(await rows('shop.items_csv', 'items-bad.csv')).toEqual([]);

    await env.drop('items-after-bad.csv', ITEMS_CSV.replace('Widget', 'Widget after'));
    expect(await env.outcome('items-after-bad.csv')).toMatchObject({ event: 'loaded', rows: 3 });
  });

  it('never overwrites an earlier quarantined file of the same name', async () => {
    await env.drop('items-twice.csv', 'id,name\n0,zero\n');
    await env.outcome('items-twice.csv');
    await env.drop('items-twice.csv', 'id,name\n-1,minus\n');
    await waitForCount(() => failedLines('items-twice.csv'), 2);
    expect(await env.files('failed', 'items-csv')).toEqual(
      expect.arrayContaining(['items-twice.csv', 'items-twice.csv.error.json', 'items-twice-2.csv', 'items-twice-2.csv.error.json']),
    );
  });
});

describe('routing', () => {
  it('quarantines a file no dataset matches, listing the patterns tried', async () => {
    await env.drop('nobody-wants-me.txt', 'hello');
    const line = await env.outcome('nobody-wants-me.txt');
    expect(line).toMatchObject({ event: 'failed', stage: 'route', reason: 'no dataset matches' });
    const report = JSON.parse(
      await readFile(path.join(env.folders.failed, '_unmatched', 'nobody-wants-me.txt.error.json'), 'utf8'),
    );
    expect(report.problems.map((p: { message: string }) => p.message)).toEqual(
      expect.arrayContaining(['tried items-csv: items*.csv, items*.csv.gz']),
    );
  });

  it('routes files in sub-folders by their name and keeps the sub-folder in archive/', async () => {
    await env.drop('2024/06/items-sub.jsonl', jsonl.replace(/Widget/g, 'Sub-widget'));
    expect(await env.outcome('2024/06/items-sub.jsonl')).toMatchObject({ event: 'loaded', rows: 3 });
    expect(await env.files('archive', 'items-jsonl')).toContain(path.join('2024', '06', 'items-sub.jsonl'));
  });

  it('ignores dotfiles and partial downloads until they are renamed', async () => {
    await writeFile(path.join(env.folders.input, 'items-partial.csv.part'), ITEMS_CSV);
    await writeFile(path.join(env.folders.input, '.items-hidden.csv'), ITEMS_CSV);
    await env.drop('items-marker.csv', ITEMS_CSV);
    await env.outcome('items-marker.csv');
    await daemon.rescan();
    expect(await env.files('input')).toEqual(['.items-hidden.csv', 'items-partial.csv.part']);
  });

  it('quarantines a symbolic link instead of following it out of input/', async () => {
    await symlink('/etc/hostname', path.join(env.folders.input, 'items-link.csv'));
    const line = await env.outcome('items-link.csv');
    expect(line).toMatchObject({ event: 'failed', stage: 'route' });
    expect(line.reason).toMatch(/symbolic link/);
  });
});

describe('long file names', () => {
  it('loads and quarantines files whose names leave no room for suffixes', async () => {
    const good = `items-${'g'.repeat(240)}.jsonl`;
    const bad = `items-${'b'.repeat(240)}.jsonl`;
    await env.drop(good, '{"id": 901, "name": "long"}\n');
    await env.drop(bad, '{"id": "x"}\n');
    const loaded = await env.outcome(good);
    expect(loaded).toMatchObject({ event: 'loaded', rows: 1 });
    expect(path.basename(String(loaded['parquet']))).toMatch(/^items-g+~[0-9a-f]{8}\.jsonl-[0-9a-f]{8}\.parquet$/);
    const failed = await env.outcome(bad);
    expect(failed).toMatchObject({ event: 'failed', stage: 'validate' });
    const names = await env.files('failed', 'items-jsonl');
    expect(names.some((n) => /^items-b+~[0-9a-f]{8}\.jsonl\.error\.json$/.test(n))).toBe(true);
    expect(names.every((n) => Buffer.byteLength(n) <= 255)).toBe(true);
  });
});

describe('the same content twice', () => {
  it('is loaded once; the second drop is logged as skipped with the first load id', async () => {
    await env.drop('items-dup-1.jsonl', '{"id": 77, "name": "dup"}\n');
    const first = await env.outcome('items-dup-1.jsonl');
    await env.drop('items-dup-2.jsonl', '{"id": 77, "name": "dup"}\n');
    const second = await env.outcome('items-dup-2.jsonl');
    expect(first.event).toBe('loaded');
    expect(second).toMatchObject({ event: 'skipped', duplicate_of: first['file_id'] });
    const { rows: count } = await env.pool.query('SELECT count(*)::int AS n FROM shop.items_jsonl WHERE id = 77');
    expect(count[0].n).toBe(1);
    // The skipped file's Parquet (finished while its duplicate was being checked) is removed.
    const parquet = (await env.files('parquet', 'items-jsonl')).filter((f) => f.includes('items-dup') || f.endsWith('.tmp'));
    expect(parquet).toEqual([expect.stringMatching(/^items-dup-1\.jsonl-[0-9a-f]{8}\.parquet$/)]);
  });
});

async function failedLines(file: string) {
  return (await env.logLines()).filter((l) => l.file === file && l.event === 'failed').length;
}

async function waitForCount(count: () => Promise<number>, expected: number) {
  await waitFor(async () => (await count()) >= expected, { message: `${expected} outcomes` });
}
