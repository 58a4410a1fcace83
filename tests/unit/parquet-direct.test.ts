/**
 * The one-batch Parquet writer (write/parquet-direct.ts) against parquet-wasm, which writes every
 * other file: for generated batches of every column kind — nulls anywhere, repeated and distinct
 * text, dictionary columns, NaN, ±0, int64 edges, long text, line numbers that jump and fall —
 * the file it writes must read back through parquet-wasm as the same Arrow table (types and every
 * value) as parquet-wasm's own file of the same batch, with each codec it has; and DuckDB, a lake
 * reader a user would open the folder with, must see the same schema, rows, row groups and chunk
 * statistics.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import * as arrow from 'apache-arrow';
import * as pq from 'parquet-wasm';
import type { Column, ColumnKind } from '../../src/columns.js';
import type { ParquetCodec } from '../../src/config/types.js';
import type { Lineage } from '../../src/write/arrow.js';
import { directParquet } from '../../src/write/parquet-direct.js';
import { encodeParquet } from '../../src/write/parquet-file.js';
import type { TypedBatch } from '../../src/write/vectors.js';
import { duckdbQuery, storedValues } from '../helpers/parquet.js';
import { valueArbitrary, vectorOf } from '../helpers/vectors.js';

const KINDS: ColumnKind[] = ['integer', 'timestamp', 'number', 'boolean', 'date', 'string', 'json'];
const CODECS: ParquetCodec[] = ['snappy', 'zstd', 'gzip', 'uncompressed'];

const columnOf = (length: number, lake: boolean) =>
  fc.record({
    kind: fc.constantFrom(...KINDS),
    categorical: fc.boolean(),
    nulls: fc.constantFrom(0, 1, 4),
  }).chain(({ kind, categorical, nulls }) =>
    fc.record({
      kind: fc.constant(kind),
      categorical: fc.constant(categorical),
      values: fc.array(nulls === 0 ? valueArbitrary(kind, { special: true, lake }) : fc.option(valueArbitrary(kind, { special: true, lake }), { freq: nulls }), { minLength: length, maxLength: length }),
    }),
  );

const batchOf = (lake: boolean) => fc
  .integer({ min: 1, max: 700 })
  .chain((length) =>
    fc.record({
      columns: fc.array(columnOf(length, lake), { minLength: 1, maxLength: 6 }),
      numbers: fc.oneof(
        fc.integer({ min: 1, max: 2 ** 40 }).map((first) => Array.from({ length }, (_, i) => first + i)),
        fc.array(fc.integer({ min: 1, max: 2 ** 51 }), { minLength: length, maxLength: length }),
      ),
      fileId: fc.bigInt({ min: 1n, max: 2n ** 62n }).map(String),
      sourceFile: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 90 }),
      codec: fc.constantFrom(...CODECS),
      // Pages cut where a text column passes this many bytes: many pages per chunk, merged
      // statistics, a dictionary shared by several pages.
      pageTextBytes: fc.constantFrom(undefined, 1, 40, 300),
    }),
  );

const batchArbitrary = batchOf(false);
type Generated = typeof batchArbitrary extends fc.Arbitrary<infer T> ? T : never;

function files(b: Generated) {
  const columns: Column[] = b.columns.map(({ kind, categorical }, i) => ({ name: `c${i}`, kind, pgType: '', ...(categorical ? { categorical } : {}) }));
  const dictionary = [...columns.filter((c) => c.categorical).map((c) => c.name), '_file_id', '_source_file'];
  const batch = { length: b.numbers.length, numbers: Float64Array.from(b.numbers), vectors: b.columns.map(({ kind, values }) => vectorOf(kind, values)) };
  const lineage: Lineage = { fileId: b.fileId, sourceFile: b.sourceFile };
  const direct = directParquet(columns, batch, lineage, b.codec, dictionary, b.pageTextBytes);
  const wasm = encodeParquet(b.codec, dictionary, columns, batch, lineage);
  return { columns, direct: direct!.slice(), wasm };
}

const tableOf = (parquet: Uint8Array) => arrow.tableFromIPC(pq.readParquet(parquet).intoIPCStream());

function expectSameTable(got: arrow.Table, want: arrow.Table): void {
  expect(got.schema.fields.map((f) => [f.name, String(f.type), f.nullable])).toEqual(want.schema.fields.map((f) => [f.name, String(f.type), f.nullable]));
  expect(got.numRows).toBe(want.numRows);
  for (const field of want.schema.fields) {
    const a = storedValues(got, field.name);
    const b = storedValues(want, field.name);
    expect(a.length).toBe(b.length);
    // The first value that differs (NaN equal to NaN, -0 not equal to 0), named by column and row.
    const i = a.findIndex((v, k) => !(Object.is(v, b[k]) || (v instanceof Uint8Array && b[k] instanceof Uint8Array && Buffer.compare(v, b[k] as Uint8Array) === 0)));
    if (i >= 0) expect([field.name, i, a[i]]).toEqual([field.name, i, b[i]]);
  }
}

describe('one-batch Parquet writer', () => {
  test('parquet-wasm reads the same table from its file as from its own file of the batch, with every codec', () => {
    fc.assert(
      fc.property(batchArbitrary, (b) => {
        const { direct, wasm } = files(b);
        expectSameTable(tableOf(direct), tableOf(wasm));
      }),
      { numRuns: 120 },
    );
  });

  test('a codec it does not have is left to parquet-wasm; an empty batch and far line numbers are written', () => {
    const columns: Column[] = [{ name: 'a', kind: 'integer', pgType: 'bigint' }];
    const one = { length: 1, numbers: Float64Array.of(2), vectors: [vectorOf('integer', [1n])] };
    const none = { length: 0, numbers: new Float64Array(0), vectors: [vectorOf('integer', [])] };
    const lineage = { fileId: '1', sourceFile: 'f.csv' };
    expect(directParquet(columns, one, lineage, 'lz4_raw', [])).toBeNull();
    const empty = tableOf(directParquet(columns, none, lineage, 'snappy', [])!);
    expect(empty.numRows).toBe(0);
    expectSameTable(empty, tableOf(encodeParquet('snappy', [], columns, none, lineage)));
    // Line numbers past 2^51 do not stay exact in doubles' delta arithmetic: that page is PLAIN.
    const far = { length: 3, numbers: Float64Array.of(2 ** 53 - 1, 2, 2 ** 52 + 2), vectors: [vectorOf('integer', [1n, null, 3n])] };
    expect(storedValues(tableOf(directParquet(columns, far, lineage, 'snappy', [])!), '_source_record')).toEqual([2n ** 53n - 1n, 2n, 2n ** 52n + 2n]);
  });

  test('a listed text column whose every row is null is written plain, and reads back null', () => {
    const columns: Column[] = [{ name: 'size', kind: 'string', pgType: 'text', categorical: true }];
    const batch = { length: 3, numbers: Float64Array.of(2, 3, 4), vectors: [vectorOf('string', [null, null, null])] };
    const lineage = { fileId: '7', sourceFile: 'f.jsonl' };
    const table = tableOf(directParquet(columns, batch, lineage, 'snappy', ['size', '_file_id', '_source_file'])!);
    expect(storedValues(table, 'size')).toEqual([null, null, null]);
    expect(storedValues(table, '_source_record')).toEqual([2n, 3n, 4n]);
  });

  test('DuckDB sees the same schema, rows and chunk statistics in both files', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'loadbay-direct-'));
    try {
      const samples = fc.sample(batchOf(true), { numRuns: 40, seed: 42 });
      for (const [k, b] of samples.entries()) {
        const { direct, wasm } = files(b);
        await writeFile(path.join(dir, `direct-${k}.parquet`), direct);
        await writeFile(path.join(dir, `wasm-${k}.parquet`), wasm);
      }
      const of = (file: string) => `'${path.join(dir, file)}'`;
      for (let k = 0; k < samples.length; k++) {
        const [d, w] = [of(`direct-${k}.parquet`), of(`wasm-${k}.parquet`)];
        const schema = (f: string) => duckdbQuery(`SELECT name, type, repetition_type, converted_type, logical_type FROM parquet_schema(${f}) ORDER BY name`);
        expect(await schema(d)).toEqual(await schema(w));
        // Every column, compared as text so NaN, -0 and int64 compare exactly.
        const rows = (f: string) => duckdbQuery(`SELECT COLUMNS(*)::VARCHAR FROM read_parquet(${f}) ORDER BY ALL`);
        expect(await rows(d)).toEqual(await rows(w));
        const statistics = (f: string) =>
          duckdbQuery(`SELECT path_in_schema, num_values, stats_null_count, stats_min_value, stats_max_value, stats_min, stats_max FROM parquet_metadata(${f}) ORDER BY path_in_schema`);
        const [ours, theirs] = [await statistics(d), await statistics(w)];
        // Text bounds past 64 bytes cut as arrow-rs cuts them: the same statistics exactly.
        expect(ours).toEqual(theirs);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  test('text bounds past 64 bytes are cut as parquet-wasm cuts them, at characters that can be raised', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'loadbay-direct-'));
    try {
      const extremes = [
        'é'.repeat(40), // two-byte characters across byte 64
        'a'.repeat(63) + '😀' + 'z', // a four-byte character across byte 64
        '\u{10FFFF}'.repeat(20), // no character can be raised: kept whole
        'b'.repeat(62) + '\uD7FF' + 'c', // raised, it would be a surrogate: the one before is raised
        'x'.repeat(64), // exactly 64 bytes: exact
      ];
      const columns: Column[] = [{ name: 't', kind: 'string', pgType: 'text' }];
      const lineage = { fileId: '3', sourceFile: 'long.jsonl' };
      for (const [k, value] of extremes.entries()) {
        // Alone (it is both min and max), and as the max over a short value.
        for (const values of [[value], ['!', value]]) {
          const batch = { length: values.length, numbers: Float64Array.from(values, (_, i) => i + 1), vectors: [vectorOf('string', values)] };
          const [d, w] = [path.join(dir, `d${k}-${values.length}.parquet`), path.join(dir, `w${k}-${values.length}.parquet`)];
          await writeFile(d, directParquet(columns, batch, lineage, 'snappy', [])!);
          await writeFile(w, encodeParquet('snappy', [], columns, batch, lineage));
          const statistics = (f: string) => duckdbQuery(`SELECT stats_min_value, stats_max_value FROM parquet_metadata('${f}') WHERE path_in_schema = 't'`);
          expect([value, await statistics(d)]).toEqual([value, await statistics(w)]);
        }
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a batch past 65,536 rows: row groups as parquet-wasm cuts them, a listed column past its dictionary limit', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'loadbay-direct-'));
    try {
      const columns: Column[] = [
        { name: 'id', kind: 'integer', pgType: 'bigint' },
        { name: 'size', kind: 'string', pgType: 'text', categorical: true },
        { name: 'code', kind: 'string', pgType: 'text', categorical: true },
        { name: 'x', kind: 'number', pgType: 'double precision' },
      ];
      const lineage = { fileId: '42', sourceFile: 'big.csv' };
      const rows = Array.from({ length: 70_000 }, (_, i) => i);
      const batch: TypedBatch = {
        length: rows.length,
        numbers: Float64Array.from(rows, (r) => r + 2),
        vectors: [
          vectorOf('integer', rows.map((r) => (r % 97 === 0 ? null : BigInt(r) * 3n))),
          vectorOf('string', rows.map((r) => ['S', 'M', 'L', null][r % 4]!)),
          // 70,000 distinct 20-byte codes: past the 1 MiB dictionary in the first row group.
          vectorOf('string', rows.map((r) => `code-${String(r).padStart(15, '0')}`)),
          vectorOf('number', rows.map((r) => (r % 11 === 0 ? Number.NaN : r / 7))),
        ],
      };
      const dictionary = ['size', 'code', '_file_id', '_source_file'];
      for (const codec of ['zstd'] as const) {
        // Pages of ~10,000 rows (200 KB of `code`), so a dictionary serves several pages first.
        const direct = directParquet(columns, batch, lineage, codec, dictionary, 200_000)!;
        const wasm = encodeParquet(codec, dictionary, columns, batch, lineage);
        const [d, w] = [path.join(dir, 'direct.parquet'), path.join(dir, 'wasm.parquet')];
        await writeFile(d, direct);
        await writeFile(w, wasm);
        expectSameTable(tableOf(direct), tableOf(wasm));
        const groups = (f: string) => duckdbQuery(`SELECT row_group_id, row_group_num_rows, path_in_schema, num_values, stats_null_count, stats_min_value, stats_max_value FROM parquet_metadata('${f}') ORDER BY row_group_id, path_in_schema`);
        const [ours, theirs] = [await groups(d), await groups(w)];
        expect(new Set(ours.map((r) => r['row_group_id'])).size).toBe(2);
        expect(ours).toEqual(theirs);
        // The dictionaries: `size` in both row groups; `code` past its limit in the first (its
        // later pages PLAIN), and plain from the start in the second.
        const encodings = await duckdbQuery(`SELECT row_group_id, path_in_schema, encodings FROM parquet_metadata('${d}') WHERE path_in_schema IN ('size', 'code') ORDER BY row_group_id, path_in_schema`);
        expect(encodings.map((r) => [Number(r['row_group_id']), r['path_in_schema'], String(r['encodings']).split(',').map((e) => e.trim()).sort()])).toEqual([
          [0, 'code', ['PLAIN', 'RLE', 'RLE_DICTIONARY']],
          [0, 'size', ['PLAIN', 'RLE', 'RLE_DICTIONARY']],
          [1, 'code', ['PLAIN', 'RLE']],
          [1, 'size', ['PLAIN', 'RLE', 'RLE_DICTIONARY']],
        ]);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
