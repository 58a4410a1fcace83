/**
 * The Arrow IPC encoder (write/arrow.ts), fed as the daemon feeds it — the batch packed into one
 * buffer and unpacked again (write/thread-batch.ts) — against apache-arrow's reader and parquet-wasm: for
 * generated batches of every column kind — nulls anywhere, empty and odd lengths, unicode text,
 * int64 edges, -0 — what the encoder writes must read back, value for value and with the schema's
 * types, through apache-arrow, and again after parquet-wasm has turned it into Parquet and back
 * (the path every Parquet file takes).
 */
import fc from 'fast-check';
import * as arrow from 'apache-arrow';
import * as pq from 'parquet-wasm';
import type { Column, ColumnKind } from '../../src/columns.js';
import { arrowSchema, batchStream, type Lineage, type Scratch } from '../../src/write/arrow.js';
import { isPassed, packBatch, returnSpare, takePacked, unpackBatch, unpackToPass } from '../../src/write/thread-batch.js';
import { valueArbitrary, vectorOf, type Value } from '../helpers/vectors.js';

const KINDS: ColumnKind[] = ['integer', 'timestamp', 'number', 'boolean', 'date', 'string', 'json'];

/** A column of `length` values, about one in four null. */
const columnOf = (length: number) =>
  fc.constantFrom(...KINDS).chain((kind) => fc.tuple(fc.constant(kind), fc.array(fc.option(valueArbitrary(kind), { freq: 4 }), { minLength: length, maxLength: length })));

/** Each row of `column` as the encoder was given it (raw int64 and day numbers, not converted). */
function read(column: arrow.Vector, kind: ColumnKind | 'lineage-int'): Value[] {
  const out: Value[] = [];
  for (const data of column.data) {
    for (let i = 0; i < data.length; i++) {
      if (!data.getValid(i)) out.push(null);
      else if (kind === 'integer' || kind === 'timestamp' || kind === 'lineage-int') out.push((data.values as BigInt64Array)[i]!);
      else if (kind === 'date') out.push((data.values as Int32Array)[i]!);
      else out.push(column.type instanceof arrow.Bool ? Boolean(new arrow.Vector([data]).get(i)) : (new arrow.Vector([data]).get(i) as Value));
    }
  }
  return out;
}

function expectTable(table: arrow.Table, columns: Column[], values: Value[][], lineage: Lineage, numbers: number[]): void {
  const length = numbers.length;
  expect(table.numRows).toBe(length);
  const schema = arrowSchema(columns);
  expect(table.schema.fields.map((f) => [f.name, String(f.type)])).toEqual(schema.fields.map((f) => [f.name, String(f.type)]));
  columns.forEach((c, i) => {
    const got = read(table.getChildAt(i)!, c.kind);
    const want = values[i]!.map((v) => (v === null || typeof v !== 'bigint' ? v : BigInt.asIntN(64, v)));
    expect(got.length).toBe(length);
    got.forEach((v, row) => {
      if (typeof v === 'number') expect(Object.is(v, want[row])).toBe(true);
      else expect(v).toEqual(want[row]);
    });
  });
  const n = columns.length;
  expect(read(table.getChildAt(n)!, 'lineage-int')).toEqual(numbers.map(() => BigInt(lineage.fileId)));
  expect(read(table.getChildAt(n + 1)!, 'string')).toEqual(numbers.map(() => lineage.sourceFile));
  expect(read(table.getChildAt(n + 2)!, 'lineage-int')).toEqual(numbers.map((x) => BigInt(x)));
}

const batchArbitrary = fc
  .integer({ min: 0, max: 40 })
  .chain((length) =>
    fc.record({
      columns: fc.array(columnOf(length), { minLength: 1, maxLength: 8 }),
      numbers: fc.array(fc.integer({ min: 1, max: 2 ** 40 }), { minLength: length, maxLength: length }),
      fileId: fc.bigInt({ min: 1n, max: 2n ** 62n }).map(String),
      sourceFile: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }),
    }),
  );

/** Shared by every generated batch, as the Parquet thread shares one. */
const scratch: Scratch = { buffer: new Uint8Array(0) };

type Generated = typeof batchArbitrary extends fc.Arbitrary<infer T> ? T : never;

function encode(b: Generated) {
  const columns: Column[] = b.columns.map(([kind], i) => ({ name: `c${i}`, kind }) as Column);
  const values = b.columns.map(([, v]) => v);
  const lineage = { fileId: b.fileId, sourceFile: b.sourceFile };
  const vectors = b.columns.map(([kind, v]) => vectorOf(kind, v));
  // As in the daemon: packed into one buffer on the main thread (a buffer an earlier batch used,
  // stale bytes and all), unpacked in the Parquet thread and written over the previous stream.
  const packed = packBatch({ length: b.numbers.length, numbers: Float64Array.from(b.numbers), vectors });
  const ipc = batchStream(columns, unpackBatch(packed, columns.map((c) => c.kind)), lineage, scratch);
  returnSpare(packed.buffer);
  return { columns, values, lineage, ipc };
}

describe('Arrow IPC encoder', () => {
  test('apache-arrow reads back every value, null and lineage column', () => {
    fc.assert(
      fc.property(batchArbitrary, (b) => {
        const { columns, values, lineage, ipc } = encode(b);
        expectTable(arrow.tableFromIPC(ipc), columns, values, lineage, b.numbers);
      }),
      { numRuns: 300 },
    );
  });

  test('parquet-wasm writes the stream as Parquet that reads back the same', () => {
    fc.assert(
      fc.property(batchArbitrary, (b) => {
        const { columns, values, lineage, ipc } = encode(b);
        const parquet = pq.writeParquet(pq.Table.fromIPCStream(ipc));
        expectTable(arrow.tableFromIPC(pq.readParquet(parquet).intoIPCStream()), columns, values, lineage, b.numbers);
      }),
      { numRuns: 100 },
    );
  });

  test('a batch that passes through reads as its views, made once and when first read', () => {
    fc.assert(
      fc.property(batchArbitrary, (b) => {
        const kinds = b.columns.map(([kind]) => kind);
        const packed = packBatch({ length: b.numbers.length, numbers: Float64Array.from(b.numbers), vectors: b.columns.map(([kind, v]) => vectorOf(kind, v)) });
        const passed = unpackToPass(packed, kinds);
        expect(Array.from(passed.numbers)).toEqual(b.numbers);
        expect(passed.vectors).toEqual(unpackBatch(packed, kinds).vectors);
        expect(passed.vectors).toBe(passed.vectors);
        expect(isPassed(passed)).toBe(true);
        expect(takePacked(passed)).toBe(packed);
      }),
      { numRuns: 100 },
    );
  });

  test('a batch of thousands of rows: buffers stay aligned, the name repeats exactly', () => {
    const length = 5_001;
    const columns: Column[] = [
      { name: 'n', kind: 'integer' } as Column,
      { name: 'flag', kind: 'boolean' } as Column,
      { name: 'note', kind: 'string' } as Column,
    ];
    const values: Value[][] = [
      Array.from({ length }, (_, i) => (i % 7 === 0 ? null : BigInt(i) * 1_000_003n)),
      Array.from({ length }, (_, i) => (i % 11 === 0 ? null : i % 3 === 0)),
      Array.from({ length }, (_, i) => (i % 13 === 0 ? null : 'ü'.repeat(i % 5))),
    ];
    const numbers = Array.from({ length }, (_, i) => i + 2);
    const lineage = { fileId: '9007199254740993', sourceFile: 'données-2024.csv' };
    const ipc = batchStream(columns, { length, numbers: Float64Array.from(numbers), vectors: columns.map((c, i) => vectorOf(c.kind, values[i]!)) }, lineage);
    expect(ipc.length % 8).toBe(0);
    expectTable(arrow.tableFromIPC(ipc), columns, values, lineage, numbers);
  });
});
