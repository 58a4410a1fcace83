/**
 * The COPY binary encoder (write/copy-binary.ts), which writes a column at a time at a cursor per
 * row, against a plain row-at-a-time encoder written here from PostgreSQL's documentation ("COPY —
 * Binary Format"; int8, float8, bool, date, timestamptz, text, jsonb send functions): for
 * generated batches of every column kind — NULLs anywhere, int64 and timestamp edges beyond 2^53,
 * dates both sides of 2000, -0, empty, long and non-ASCII text — the bytes must be the same.
 */
import fc from 'fast-check';
import type { ColumnKind } from '../../src/columns.js';
import { encodeCopyBinary } from '../../src/write/copy-binary.js';
import { vectorOf, type Value } from '../helpers/vectors.js';

const KINDS: ColumnKind[] = ['integer', 'timestamp', 'number', 'boolean', 'date', 'string', 'json'];

const valueOf = (kind: ColumnKind): fc.Arbitrary<Value> => {
  switch (kind) {
    case 'integer':
      return fc.oneof(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.bigInt({ min: -1000n, max: 1000n }));
    case 'timestamp':
      // µs since 1970, within what PostgreSQL takes, inside and outside ±2^53.
      return fc.oneof(fc.bigInt({ min: -210_000_000_000_000_000n, max: 9_000_000_000_000_000_000n }), fc.bigInt({ min: -(2n ** 53n), max: 2n ** 53n }));
    case 'number':
      return fc.double({ noNaN: true, noDefaultInfinity: true });
    case 'boolean':
      return fc.boolean();
    case 'date':
      return fc.integer({ min: -2_000_000, max: 2_000_000 });
    case 'string':
      return fc.oneof(fc.string({ unit: 'binary', maxLength: 8 }), fc.string({ unit: 'grapheme', minLength: 20, maxLength: 60 }));
    case 'json':
      return fc.json({ maxDepth: 2 });
  }
};

/** One field as PostgreSQL's binary send functions give it: length word, then the value. */
function field(kind: ColumnKind, v: Value): Buffer {
  if (v === null) return Buffer.from([0xff, 0xff, 0xff, 0xff]);
  let value: Buffer;
  switch (kind) {
    case 'integer':
    case 'timestamp':
      value = Buffer.alloc(8);
      value.writeBigInt64BE(kind === 'integer' ? (v as bigint) : (v as bigint) - 946_684_800_000_000n);
      break;
    case 'number':
      value = Buffer.alloc(8);
      value.writeDoubleBE(v as number);
      break;
    case 'boolean':
      value = Buffer.from([v ? 1 : 0]);
      break;
    case 'date':
      value = Buffer.alloc(4);
      value.writeInt32BE((v as number) - 10_957);
      break;
    case 'string':
      value = Buffer.from(v as string, 'utf8');
      break;
    case 'json':
      value = Buffer.concat([Buffer.from([1]), Buffer.from(v as string, 'utf8')]);
      break;
  }
  const length = Buffer.alloc(4);
  length.writeInt32BE(value.length);
  return Buffer.concat([length, value]);
}

function reference(kinds: ColumnKind[], columns: Value[][], numbers: number[], fileId: bigint, sourceFile: string): Buffer {
  const parts: Buffer[] = [];
  numbers.forEach((n, r) => {
    const count = Buffer.alloc(2);
    count.writeInt16BE(kinds.length + 3);
    parts.push(count, ...kinds.map((k, c) => field(k, columns[c]![r]!)), field('integer', fileId), field('string', sourceFile), field('integer', BigInt(n)));
  });
  return Buffer.concat(parts);
}

describe('COPY binary encoder', () => {
  test('writes what a row-at-a-time encoder from the documentation writes', () => {
    const batches = fc.integer({ min: 0, max: 30 }).chain((rows) =>
      fc.record({
        columns: fc.array(
          fc.constantFrom(...KINDS).chain((kind) => fc.tuple(fc.constant(kind), fc.array(fc.option(valueOf(kind), { freq: 4 }), { minLength: rows, maxLength: rows }))),
          { minLength: 1, maxLength: 10 },
        ),
        numbers: fc.array(fc.integer({ min: 1, max: 2 ** 45 }), { minLength: rows, maxLength: rows }),
        fileId: fc.bigInt({ min: 1n, max: 2n ** 63n - 1n }),
        sourceFile: fc.oneof(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 10 }), fc.string({ unit: 'grapheme', minLength: 24, maxLength: 40 })),
      }),
    );
    fc.assert(
      fc.property(batches, (b) => {
        const kinds = b.columns.map(([kind]) => kind);
        const values = b.columns.map(([, v]) => v);
        const typed = { length: b.numbers.length, numbers: Float64Array.from(b.numbers), vectors: b.columns.map(([kind, v]) => vectorOf(kind, v)) };
        const encoded = encodeCopyBinary(typed, { fileId: String(b.fileId), sourceFile: b.sourceFile });
        expect(encoded.equals(reference(kinds, values, b.numbers, b.fileId, b.sourceFile))).toBe(true);
      }),
      { numRuns: 400 },
    );
  });
});
