/**
 * The flat-line scanner (read/json-flat.ts) against JSON.parse as loadbay reads a line
 * (jsonl.ts' parseLine, with exact numbers): on generated lines — valid and broken JSON, every
 * escape, numbers at and past a double's edges, white space, repeated, unknown and escaped keys,
 * nested values — a line the scanner reads must be one parseLine reads, to the same value in every
 * column (−0, BigInt and DecimalText included) and with no key outside the columns. Then whole
 * files through checkFile, scanner on (the value engine) and off (the record path, ajv per record):
 * the same rows, problems and rejected originals.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { compileDataset, type CompiledDataset } from '../../src/compile.js';
import { DEFAULT_LIMITS } from '../../src/config/load.js';
import { resolveDataset } from '../../src/config/dataset.js';
import type { UserDataset } from '../../src/config/types.js';
import { cellValue, FlatScanner, VALUE } from '../../src/read/json-flat.js';
import { DecimalText, jsonText } from '../../src/read/json-values.js';
import { parseLine } from '../../src/read/jsonl.js';
import { localFile } from '../../src/source/folder/file-input.js';
import { checkFile, verdict } from '../../src/validate/check.js';
import { KernelRows } from '../../src/validate/row-sink.js';
import { DataError } from '../../src/errors.js';
import type { RawBatch, ScannedCells } from '../../src/read/types.js';
import type { Vector } from '../../src/write/vectors.js';

const NAMES = ['id', 'name', 'amount', 'flag', 'note', '__proto__', 'é k'];

/** What a value is, exactly: its type with it, −0 apart from 0, a DecimalText by its text. */
function shown(v: unknown): unknown {
  if (v === undefined) return 'undefined';
  if (typeof v === 'bigint') return `bigint ${v}`;
  if (typeof v === 'number') return Object.is(v, -0) ? 'number -0' : `number ${v}`;
  if (v instanceof DecimalText) return `decimal ${v.text} ${v.value}`;
  if (typeof v === 'string') return `string ${JSON.stringify(v)}`;
  return v;
}

/** The scanner on one line: the row it gives, or null. */
function scanned(scanner: FlatScanner, rows: unknown[][], line: string): unknown[] | null {
  const before = rows.length;
  // In place, as the reader scans: the line's UTF-8 between others, its break after it.
  const first = Buffer.from('{"id":0}\n');
  const own = Buffer.from(line);
  const buf = Buffer.concat([first, own, Buffer.from('\n{"id":"x"}')]);
  const ok = scanner.scan(buf, first.length, first.length + own.length, 1);
  expect(rows.length).toBe(before + (ok ? 1 : 0));
  return ok ? rows[rows.length - 1]! : null;
}

function scannerOver(names: readonly string[], maxKeys = 1000): { scanner: FlatScanner; rows: unknown[][] } {
  const rows: unknown[][] = [];
  const sink = { row: (cells: ScannedCells, _line: number, buf: Buffer) => rows.push(names.map((_, c) => cellValue(cells, c, buf))), record: () => undefined };
  return { scanner: new FlatScanner(names, maxKeys, sink), rows };
}

// ---- generated lines ------------------------------------------------------------------------------

const space = fc.constantFrom('', '', '', ' ', '  ', '\t', '\u00a0');
const key = fc.oneof(
  fc.constantFrom(...NAMES).map((k) => JSON.stringify(k)),
  fc.constantFrom('"other"', '"i\\u0064"', '"na\\"me"', '"ID"', '""', '"id', 'id', '"__proto__"', '"constructor"'),
);
/** Literals at the edges: each is also tried alone, in every place of a line (below). */
const NUMBER_EDGES = [
  '-0', '0', '0.0', '-0.0', '1.0', '1e2', '1E+2', '1e-2', '-1.5e3', '0.1', '0.10000000000000001', '1.00000000000000001',
  '123456789012345', '1234567890123456', '-999999999999999', '0.000000000000001', '9007199254740993', '9223372036854775807',
  '12345678901234567890', '1e999', '-1e999', '1e-400', '4.9e-324', '1.7976931348623157e308', '123456789012345.6',
  '01', '-01', '-', '1.', '.5', '+1', '1e', '1e+', '1E-', '0x10', '1.2.3', '--1', 'NaN', 'Infinity', '1_000', '-.5', '1.e5', '0e', '00',
];
const STRING_EDGES = [
  '"a\\"b"', '"\\\\"', '"\\/"', '"\\b\\f\\n\\r\\t"', '"\\u00e9\\u0041"', '"\\ud83d\\ude00"', '"\\ud800"', '"\\uDFFF x"', '"x\\u00"', '"\\x41"',
  '"\\u12G4"', '"\\U0041"', '"\\a"', '"\\ "', '"\\\'"', '"a\\', '"unterminated', '"a\\"', '"é"', '""', '"\\\\\\""', '"x" "y"', '"\\u0000"', '"\\u002F\\u005c"',
];
const LITERAL_EDGES = ['true', 'false', 'null', 'tru', 'nul', 'True', 'falsey', 'nulll', 'truefalse', '{}', '[]', '[1,2]', '{"a":1}'];
const numberText = fc.oneof(
  fc.integer({ min: -1000, max: 1_000_000 }).map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => (Object.is(d, -0) ? '-0' : String(d))),
  fc.constantFrom(...NUMBER_EDGES),
  fc.tuple(fc.integer({ min: 0, max: 99999 }), fc.integer({ min: 0, max: 9999999 }), fc.integer({ min: 0, max: 20 })).map(([a, b, z]) => `${a}.${'0'.repeat(z)}${b}`),
);
const stringText = fc.oneof(
  fc.string({ maxLength: 8 }).map((s) => JSON.stringify(s)),
  fc.string({ unit: 'binary', maxLength: 6 }).map((s) => JSON.stringify(s)),
  fc.constantFrom(...STRING_EDGES),
  fc.constantFrom('"unterminated', '"a\\"', '"tab\there"', '"nul\u0000"', '"é"', '"2024-01-01T00:00:00Z"', '""', '"\\\\\\""'),
);
const value = fc.oneof(
  { weight: 4, arbitrary: numberText },
  { weight: 4, arbitrary: stringText },
  { weight: 2, arbitrary: fc.constantFrom('true', 'false', 'null', 'tru', 'nul', 'True', 'falsey', 'nulll') },
  { weight: 1, arbitrary: fc.constantFrom('{}', '[]', '[1,2]', '{"a":1}', '{"a":[{"b":null}]}', '"[not nested]"') },
);
const anyMember = fc.tuple(space, key, space, fc.constantFrom(':', ':', ':', ''), space, value, space).map((parts) => parts.join(''));
/** A member most JSON writers would write: a column's name, a value JSON.parse reads. */
const cleanValue = fc.oneof(
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
  fc.constantFrom('-0', '1e2', '0.10000000000000001', '9007199254740993', '12345678901234567890', '1.5E-3'),
  fc.string({ maxLength: 10 }).map((s) => JSON.stringify(s)),
  fc.constantFrom('true', 'false', 'null', '"a\\"b"', '"\\ud83d\\ude00"'),
);
const cleanMember = fc.tuple(fc.constantFrom(...NAMES), fc.constantFrom(':', ': ', ' : '), cleanValue).map(([k, colon, v]) => `${JSON.stringify(k)}${colon}${v}`);
const member = fc.oneof({ weight: 3, arbitrary: cleanMember }, { weight: 1, arbitrary: anyMember });
const line = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(space, fc.array(member, { maxLength: 6 }), space, fc.constantFrom(',', ',', ',', ', ', ' ,'), space).map(([a, members, b, comma, c]) => `${a}{${members.join(comma)}}${b}${c}`) },
  { weight: 1, arbitrary: fc.tuple(fc.array(member, { maxLength: 4 }), fc.constantFrom('{', '{,', '', '[', '{}}', '{},')).map(([members, broken]) => (broken.startsWith('{') ? `{${members.join(',')}${broken.slice(1)}` : `${broken}${members.join(',')}}`)) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '[]', '5', '"x"', 'null', '{}', '{ }', '{"id":1}{"id":2}', '{"id":1,}', '{"id":1 "name":"x"}') },
);

describe('the flat-line scanner reads a line as JSON.parse does', () => {
  test('generated lines: what it reads has the same values; what it refuses is left to JSON.parse', () => {
    const { scanner, rows } = scannerOver(NAMES);
    let read = 0;
    let refused = 0;
    fc.assert(
      fc.property(line, (text) => {
        if (!text.isWellFormed()) return; // the reader offers checked UTF-8 only: a lone surrogate is no UTF-8
        const row = scanned(scanner, rows, text);
        const parsed = parseLine(text, 1, DEFAULT_LIMITS);
        if (row === null) {
          refused++;
          return;
        }
        read++;
        expect({ text, parsed: 'record' in parsed ? 'record' : parsed.problem.message }).toEqual({ text, parsed: 'record' });
        const record = (parsed as { record: Record<string, unknown> }).record;
        expect(Object.keys(record).filter((k) => !NAMES.includes(k))).toEqual([]);
        const expected = NAMES.map((name) => shown(Object.hasOwn(record, name) ? record[name] : undefined));
        expect({ text, values: row.map(shown) }).toEqual({ text, values: expected });
      }),
      { numRuns: 4000 },
    );
    // Neither side may be empty: the lines must exercise both.
    expect(read).toBeGreaterThan(400);
    expect(refused).toBeGreaterThan(400);
  });

  test('every edge literal, first, between and last in a line, alone or repeated', () => {
    const { scanner, rows } = scannerOver(NAMES);
    for (const literal of [...NUMBER_EDGES, ...STRING_EDGES, ...LITERAL_EDGES]) {
      for (const text of [`{"id":${literal}}`, `{"id":${literal},"name":"x"}`, `{"name":1,"amount":${literal},"flag":true}`, `{ "note" : ${literal} }`, `{"id":1,"id":${literal}}`, `{"id":${literal},"id":2}`]) {
        const row = scanned(scanner, rows, text);
        const parsed = parseLine(text, 1, DEFAULT_LIMITS);
        // A line of scalars JSON.parse reads, the scanner reads too (only nested values are left).
        const scalar = !literal.startsWith('{') && !literal.startsWith('[');
        expect({ text, read: row !== null }).toEqual({ text, read: 'record' in parsed && scalar });
        if (row === null) continue;
        expect({ text, parsed: 'record' in parsed ? 'record' : parsed.problem.message }).toEqual({ text, parsed: 'record' });
        const record = (parsed as { record: Record<string, unknown> }).record;
        expect({ text, values: row.map(shown) }).toEqual({ text, values: NAMES.map((name) => shown(Object.hasOwn(record, name) ? record[name] : undefined)) });
      }
    }
  });

  test('the lines writers write are read, in any key order, with spaces', () => {
    const { scanner, rows } = scannerOver(NAMES);
    const records = [
      { id: 1, name: 'a', amount: 1.5, flag: true, note: null },
      { note: 'say "hi"\n\ttab \\ / é 😀', flag: false, id: -0, amount: 1e-7 },
      { amount: 12345678901234567890, id: 9007199254740993n },
      {},
    ];
    for (const record of records) {
      const text = jsonText(record);
      expect(scanned(scanner, rows, text)).not.toBeNull();
      expect(scanned(scanner, rows, JSON.stringify(JSON.parse(text), null, 1).replaceAll('\n', ' '))).not.toBeNull();
    }
    const row = scanned(scanner, rows, '{"id":9007199254740993,"amount":0.10000000000000001,"note":"\\u00e9\\ud800"}')!;
    expect(row[0]).toBe(9007199254740993n);
    expect(row[2]).toBeInstanceOf(DecimalText);
    expect(row[4]).toBe('é\ud800');
  });

  test('a line it read that prepare then refuses is a data error that says so (quarantined, not retried)', () => {
    const dataset = compileDataset(flatDataset({ schema: { type: 'object', properties: { id: { type: 'integer', minimum: 5 } } } }));
    if (dataset.plan.engine !== 'values') throw new Error('not on the value kernels');
    const refuse = (batch: RawBatch) => {
      batch.records = [];
      batch.numbers = [];
    };
    const sink = new KernelRows(dataset.columns, dataset.plan.kernels, ['id'], {}, refuse, (text) => JSON.parse(text) as Record<string, unknown>, false);
    const line = Buffer.from('{"id":1}\n');
    const cells: ScannedCells = { kinds: Uint8Array.of(VALUE), starts: new Int32Array(1), ends: new Int32Array(1), values: [1], scratch: Buffer.alloc(0) };
    sink.row(cells, 3, line, 0, 8); // fails minimum: its record is read again and prepared
    let error: unknown = null;
    try {
      sink.take();
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(DataError);
    expect(error).toMatchObject({ stage: 'read', message: expect.stringContaining("line 3: loadbay's flat-line scanner read this line but prepare refused it") });
    expect((error as DataError).problems).toEqual([expect.objectContaining({ line: 3, rule: 'internal: flat-line scanner' })]);
  });

  test('it refuses what it must leave to JSON.parse', () => {
    const { scanner, rows } = scannerOver(NAMES, 3);
    for (const text of [
      '{"id":1,"name":"x","amount":2,"flag":true}', // four keys, over the three given
      '{"other":1}', // a key the columns do not have: extra_columns decides
      '{"i\\u0064":1}', // an escaped key
      '{"id":{"a":1}}', // nested
      '{"id":[1]}',
      '{"id":1e999}', // out of a double's range: a problem JSON.parse's reader words
      '{"id":01}',
      '{"id":1}x',
      ' ',
    ]) {
      expect({ text, row: scanned(scanner, rows, text) }).toEqual({ text, row: null });
    }
  });

  test('a line with a control character is left to JSON.parse (which reads a tab between values, refuses one in a string)', () => {
    const { scanner, rows } = scannerOver(['a']);
    expect(scanned(scanner, rows, '{"a":"x"}')).toEqual(['x']);
    for (const text of ['{"a":"x\ty"}', '{"a":"\u0000"}', '{"a":"x\ry"}', '{"a":"\u001f"}', '{"a":1}\r', '{\t"a":1}', '{"a":"x\\\ty"}']) {
      expect({ text, row: scanned(scanner, rows, text) }).toEqual({ text, row: null });
    }
  });
});

// ---- whole files: the value engine with the scanner against the record path ----------------------

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'loadbay-flat-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function valueAt(v: Vector, i: number): unknown {
  if (!v.valid[i]) return null;
  if (v.kind === 'string' || v.kind === 'json') return Buffer.from(v.bytes.subarray(v.offsets[i]!, v.offsets[i + 1]!)).toString();
  const x = (v as { data: ArrayLike<number | bigint> }).data[i]!;
  return typeof x === 'bigint' ? `${x}n` : Object.is(x, -0) ? '-0' : x;
}

async function outcome(dataset: CompiledDataset, file: string, batchRows = 7) {
  const keep = dataset.onInvalidRow === 'skip_row';
  const checked = checkFile(localFile(file), path.basename(file), dataset, { batchRows, limits: DEFAULT_LIMITS }, keep);
  const rows: unknown[][] = [];
  const problems: unknown[] = [];
  const originals: unknown[] = [];
  for await (const batch of checked.batches) {
    for (const [n, list] of [...batch.rejected].sort(([a], [b]) => Number(a) - Number(b))) {
      problems.push(...list);
      if (batch.originals && typeof n === 'number' && batch.originals.has(n)) originals.push([n, jsonText(batch.originals.get(n))]);
    }
    for (let r = 0; r < batch.typed.length; r++) rows.push([batch.typed.numbers[r], ...batch.typed.vectors.map((v) => valueAt(v, r))]);
  }
  return { rows, problems, originals, verdict: verdict(checked, dataset, rows.length)?.message ?? null };
}

const SCHEMAS = [
  { id: { type: 'integer' }, name: { type: ['string', 'null'], maxLength: 4 }, amount: { type: 'number', minimum: 0 }, flag: { type: 'boolean' }, note: { type: 'string' } },
  { id: { type: ['integer', 'null'] }, name: { enum: ['a', 'b', 'é'] }, amount: { type: ['number', 'null'] }, note: { type: 'string', format: 'date-time' } },
];

/** A JSONL dataset named flat, with `user`'s settings over the test's defaults. */
function flatDataset(user: Partial<UserDataset>) {
  return resolveDataset(path.join(dir, 'flat.yaml'), { name: 'flat', match: '*', format: 'jsonl', table: 'f.t', on_empty: 'load', ...user } as UserDataset);
}

describe('files through the value engine (scanner on) and the record path agree', () => {
  /** add_columns: values from the file's name (f-<schema>-…) and the configuration override the lines'. */
  const ADD = [{ add_columns: { from_file_name: 'f-(?<id>\\d+)-', values: { note: '2024-06-01T00:00:00Z' } } }];
  test.each([
    [0, 'error', 'reject_file', false],
    [0, 'ignore', 'skip_row', false],
    [1, 'keep', 'skip_row', false],
    [1, 'error', 'skip_row', false],
    [0, 'error', 'skip_row', true],
    [1, 'keep', 'reject_file', true],
  ] as const)('schema %i, extra_columns: %s, on_invalid_row: %s, add_columns: %s', async (schema, extra, invalid, add) => {
    const resolved = flatDataset({
      ...(add ? { prepare: ADD } : {}),
      extra_columns: extra,
      on_invalid_row: invalid,
      schema: { type: 'object', required: ['id'], properties: SCHEMAS[schema]! },
    });
    const fast = compileDataset(resolved);
    const records = compileDataset(resolved, { engine: 'records' });
    expect(fast.plan.engine === 'values' && fast.plan.flatColumns !== null).toBe(true);
    const good = fc.record({ id: fc.integer({ min: -3, max: 9 }), name: fc.constantFrom('a', 'b', 'é', 'long name', null), amount: fc.constantFrom(0, 1.5, -1, 1e-7, 0.1), flag: fc.boolean(), note: fc.constantFrom('2024-01-01T00:00:00Z', 'x "y"', '2024-02-30T00:00:00Z') }, { requiredKeys: [] }).map((r) => JSON.stringify(r));
    const lines = fc.array(fc.oneof({ weight: 5, arbitrary: good }, { weight: 2, arbitrary: line }, { weight: 1, arbitrary: fc.constantFrom('', '\r', '{"id":1,"note":"a\tb"}', '{"id":2,"extra":{"x":1}}', '{"id":3}\r') }), { maxLength: 30 });
    let files = 0;
    await fc.assert(
      fc.asyncProperty(lines, async (list) => {
        const file = path.join(dir, `f-${schema}-${extra}-${++files}.jsonl`);
        await writeFile(file, list.join('\n') + '\n');
        const [a, b] = [await outcome(fast, file), await outcome(records, file)];
        expect({ lines: list, ...a }).toEqual({ lines: list, ...b });
      }),
      { numRuns: 150 },
    );
  });

  test('add_columns naming a key the schema does not have: the record path, and the same outcome', async () => {
    const resolved = flatDataset({
      prepare: [{ add_columns: { values: { other: 'x' } } }],
      extra_columns: 'error',
      on_invalid_row: 'skip_row',
      schema: { type: 'object', properties: SCHEMAS[0]! },
    });
    const fast = compileDataset(resolved);
    expect(fast.plan.engine === 'values' && fast.plan.flatColumns).toBe(null);
    const file = path.join(dir, 'other.jsonl');
    await writeFile(file, '{"id":1}\n{"id":2,"other":"y"}\n');
    const [a, b] = [await outcome(fast, file), await outcome(compileDataset(resolved, { engine: 'records' }), file)];
    expect(a.problems).toHaveLength(2);
    expect(a).toEqual(b);
  });

  test.each([
    // An optional group that does not match: prepare converts the line's own text, so the record path reads the file.
    ['^ev(?:_(?<year>\\d{4}))?\\.jsonl$', 'ev.jsonl'],
    ['^ev(?:_(?<year>\\d{4}))?\\.jsonl$', 'ev_1999.jsonl'],
    // A group name the configuration's pattern for names does not read: add_columns adds a key the schema lacks.
    ['^(?<year>\\d{4})_(?<región>\\w+)\\.jsonl$', '2001_norte.jsonl'],
  ])('add_columns.from_file_name %s on %s: the same outcome', async (pattern, name) => {
    for (const extra of ['error', 'keep'] as const) {
      const resolved = flatDataset({
        prepare: [{ add_columns: { from_file_name: pattern } }],
        extra_columns: extra,
        on_invalid_row: 'skip_row',
        schema: { type: 'object', properties: { year: { type: 'integer' }, id: { type: 'integer' } } },
      });
      const file = path.join(dir, name);
      await writeFile(file, '{"year":"2024","id":1}\n{"id":2}\n{"year":2025,"id":3}\n');
      const [a, b] = [await outcome(compileDataset(resolved), file), await outcome(compileDataset(resolved, { engine: 'records' }), file)];
      expect(a.rows.length + a.problems.length).toBeGreaterThan(0);
      expect({ extra, ...a }).toEqual({ extra, ...b });
    }
  });

  test('escaped strings: NUL and lone surrogates fail a text column, the rest is its text, on both engines', async () => {
    const resolved = flatDataset({
      on_invalid_row: 'skip_row',
      schema: { type: 'object', required: ['id'], properties: { id: { type: 'integer' }, name: { type: 'string', maxLength: 3 }, note: { type: 'string' }, title: { type: 'string' } } },
    });
    const notes = ['a\\u0000b', '\\u0000', '\\ud800', 'x\\udfff', '\\ud83d\\ude00', '\\u00e9\\u0041\\u20ac', 'tab\\there \\"q\\" \\\\ \\/', 'é😀', '\\u0001\\u001f', 'end\\\\'];
    const names = ['\\ud83d\\ude00\\ud83d\\ude00\\ud83d\\ude00', '\\ud83d\\ude00\\ud83d\\ude00\\ud83d\\ude00\\ud83d\\ude00', 'éé\\u00e9', 'ab\\u0000'];
    const lines = [
      ...notes.map((note, i) => `{"id":${i},"note":"${note}"}`),
      ...names.map((name, i) => `{"id":${100 + i},"name":"${name}"}`),
      // Several long escaped strings in a line: the scratch buffer grows under the ones undone before.
      `{"id":200,"title":"${'a\\"'.repeat(300)}","note":"${'b\\n\\u00e9'.repeat(300)}"}`,
      `{"id":201,"note":"${'\\"'.repeat(2000)}","title":"x\\/"}`,
    ];
    const file = path.join(dir, 'escapes.jsonl');
    await writeFile(file, lines.join('\n') + '\n');
    const [a, b] = [await outcome(compileDataset(resolved), file), await outcome(compileDataset(resolved, { engine: 'records' }), file)];
    expect(a.problems).toHaveLength(6);
    expect(a.rows.find((row) => row[0] === 15)).toEqual([15, '200n', null, 'b\né'.repeat(300), 'a"'.repeat(300)]);
    expect(a).toEqual(b);
  });

  test('batches of thousands of rows (the vectors grow as rows come), a failed row here and there', async () => {
    const resolved = flatDataset({
      on_invalid_row: 'skip_row',
      schema: { type: 'object', required: ['id'], properties: SCHEMAS[0]! },
    });
    const lines = Array.from({ length: 9000 }, (_, i) =>
      i % 997 === 5
        ? `{"id":${i},"amount":-1}`
        : i % 2999 === 2500
          ? `{"id":${i},"nested":{"a":1}}` // JSON.parse reads it, in its place
          : JSON.stringify({ id: i, name: i % 3 ? 'ab' : null, amount: i / 8, flag: i % 2 === 0, note: `n${i} "q" é` }),
    );
    // Read whole; inflated in 64 KiB pieces; streamed in 256 KiB chunks (over 1 MiB, CR LF, a long
    // line): lines and characters cut at every kind of chunk boundary.
    const long = `{"id":-1,"note":"${'é'.repeat(100_000)}"}`;
    for (const [name, content, expected] of [
      ['big.jsonl', lines.join('\n'), 9000 - 10 - 3],
      ['big.jsonl.gz', gzipSync(lines.join('\n') + '\n'), 9000 - 10 - 3],
      ['bigger.jsonl', [long, ...lines, ...lines].join('\r\n'), 2 * (9000 - 10 - 3) + 1],
      ['bom.jsonl', `\ufeff${lines.slice(0, 100).join('\r\n')}\r\n\r\n`, 99],
    ] as const) {
      const file = path.join(dir, name);
      await writeFile(file, content);
      const [a, b] = [await outcome(compileDataset(resolved), file, 4000), await outcome(compileDataset(resolved, { engine: 'records' }), file, 4000)];
      expect({ name, rows: a.rows.length }).toEqual({ name, rows: expected });
      expect(a).toEqual(b);
    }
  });
});
