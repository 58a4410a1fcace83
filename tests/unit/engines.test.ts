/**
 * The two engines on whole files: generated datasets — every prepare step, every schema keyword
 * the fast path compiles, extra_columns, flatten — and generated files (CSV, JSONL, JSON) go through
 * the fast engine (CSV cells → column kernels, or the value kernels for JSON) and through the record
 * path, called directly. Both must give the same rows with the same values as the Parquet encoder
 * writes them, the same problems (line, field, value, rule, message), the same dropped-row counts
 * and the same verdict — or the same error. The fast engine runs a third time in the check thread
 * (validate/check-remote.ts), as the daemon runs it on local files: the same again, batch for batch.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as arrow from 'apache-arrow';
import fc from 'fast-check';
import { compileDataset, type CompiledDataset } from '../../src/compile.js';
import { DEFAULT_LIMITS } from '../../src/config/load.js';
import { resolveDataset } from '../../src/config/dataset.js';
import type { UserDataset, UserStep } from '../../src/config/types.js';
import { DataError } from '../../src/errors.js';
import { checkFile, verdict } from '../../src/validate/check.js';
import { jsonText } from '../../src/read/json-values.js';
import { batchStream } from '../../src/write/arrow.js';
import { storedValues } from '../helpers/parquet.js';
import { localFile } from '../../src/source/folder/file-input.js';
import { checkInThread, useCheckThread } from '../../src/validate/check-remote.js';

let dir: string;
let releaseThread: () => Promise<void>;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'loadbay-engines-'));
  releaseThread = useCheckThread();
});
afterAll(async () => {
  await releaseThread();
  await rm(dir, { recursive: true, force: true });
});

/** The properties a generated schema draws from: every kind, each keyword of the compiled set. */
const PROPERTIES: Record<string, fc.Arbitrary<Record<string, unknown>>> = {
  id: fc.constantFrom({ type: 'integer' }, { type: 'integer', minimum: 1 }, { type: 'integer', maximum: 50, multipleOf: 1 }),
  amount: fc.constantFrom({ type: 'number' }, { type: 'number', exclusiveMinimum: 0, maximum: 1e6 }, { type: ['number', 'null'], multipleOf: 0.5 }, { type: 'number', exclusiveMaximum: 100 }),
  flag: fc.constantFrom({ type: 'boolean' }, { type: 'boolean', enum: [true] }, { type: 'boolean', const: false }),
  name: fc.constantFrom({ type: 'string' }, { type: 'string', minLength: 2, maxLength: 5 }, { type: 'string', pattern: '^[a-z]+$' }, { type: ['string', 'null'] }, { description: 'any', type: 'string', examples: ['x'] }),
  size: fc.constantFrom({ enum: ['s', 'm', 'l'] }, { type: 'string', enum: ['S', 'M', 'L', 'é'] }, { const: 'm' }),
  mail: fc.constantFrom({ type: 'string', format: 'email' }, { type: 'string', format: 'uuid' }, { type: 'string', format: 'ipv4', maxLength: 11 }),
  day: fc.constantFrom({ type: 'string', format: 'date' }, { type: 'string', format: 'date', enum: ['2024-02-29', '2024-01-01'] }),
  seen: fc.constantFrom({ type: 'string', format: 'date-time' }, { type: ['string', 'null'], format: 'date-time' }),
  year: fc.constantFrom({ type: 'integer' }, { type: 'string' }),
};
const NAMES = Object.keys(PROPERTIES);

/** Spellings of a property's name as a file may have it (other cases and shapes for `headers`, others for `rename`). */
const headerOf = (name: string) => fc.constantFrom(name, name, name.toUpperCase(), name === 'seen' ? 'SeenAt' : `${name[0]!.toUpperCase()}${name.slice(1)}`, `raw_${name}`);

const columns = fc.oneof(fc.constant<true>(true), fc.uniqueArray(fc.constantFrom(...NAMES, 'Name', 'other'), { minLength: 1, maxLength: 3 }));
const step: fc.Arbitrary<UserStep> = fc.oneof(
  fc.constantFrom<UserStep>({ headers: 'lowercase' }, { headers: 'snake_case' }, { drop_duplicate_rows: true }),
  fc.constantFrom(...NAMES).map((n): UserStep => ({ rename: { [`raw_${n}`]: n, SeenAt: 'seen' } })),
  columns.map((c): UserStep => ({ trim: c })),
  fc.constantFrom<UserStep>({ null_values: ['', 'NA', '-'] }, { null_values: ['NA'] }),
  columns.map((c): UserStep => ({ lowercase_values: c })),
  columns.map((c): UserStep => ({ uppercase_values: c })),
  columns.map((c): UserStep => ({ drop_rows_with_nulls: c })),
  fc.constantFrom<UserStep>({ add_columns: { from_file_name: 'f-(?<year>\\d{4})', values: { size: 'm' } } }, { add_columns: { values: { name: 'const' } } }),
  fc.uniqueArray(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 6 }).map((c): UserStep => ({ select: c })),
  fc.uniqueArray(fc.constantFrom(...NAMES, 'other'), { minLength: 1, maxLength: 2 }).map((c): UserStep => ({ exclude: c })),
);
/** Steps only the record path runs on CSV (the value kernels run them on JSON records). */
const recordStep = fc.constantFrom<UserStep>({ defaults: { flag: true, name: 'none' } }, { add_columns: { values: { id: 7 } } });

/** A dataset: some properties, required ones, additionalProperties, extra_columns, the steps. */
const dataset = (format: 'csv' | 'jsonl' | 'json') =>
  fc.record({
    names: fc.uniqueArray(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 6 }),
    required: fc.uniqueArray(fc.constantFrom(...NAMES), { maxLength: 2 }),
    schemas: fc.record(PROPERTIES),
    additional: fc.constantFrom(undefined, true, false),
    extra: fc.constantFrom('error', 'ignore', ...(format === 'csv' ? [] : ['keep'])) as fc.Arbitrary<'error' | 'ignore' | 'keep'>,
    steps: fc.array(format === 'csv' ? step : fc.oneof(step, recordStep), { maxLength: 4 }),
    flatten: format === 'csv' ? fc.constant(false) : fc.boolean(),
    skip: fc.boolean(),
  }).map(({ names, required, schemas, additional, extra, steps, flatten, skip }): UserDataset => ({
    name: 'eng',
    match: '*',
    format,
    table: 'e.t',
    flatten,
    prepare: steps,
    extra_columns: extra,
    on_invalid_row: skip ? 'skip_row' : 'reject_file',
    on_empty: 'load',
    schema: {
      type: 'object',
      required: required.filter((r) => names.includes(r)),
      ...(additional === undefined ? {} : { additionalProperties: additional }),
      properties: Object.fromEntries(names.map((n) => [n, schemas[n]!])),
    },
  }));

/** Cell texts: valid values of each kind, their near misses, white space, case, markers of null. */
const text = fc.oneof(
  fc.constantFrom('1', '42', '-3', '007', ' 12 ', '1.0', '1e2', '2.5', '0.1', '-0', '1e999', '1e-400', '99999999999999999999', 'x', ''),
  fc.constantFrom('true', 'FALSE', 'yes', 'on', 'n', 'maybe', 'NA', '-', ' ', '  padded  ', 'abc', 'ABC', 'Größe', 'é', 'İx', 'a,b', 'q"uote', 'line\nbreak'),
  fc.constantFrom('s', 'M', 'l', 'm ', 'user@example.com', '123e4567-e89b-12d3-a456-426614174000', '10.0.0.1', '256.1.1.1'),
  fc.constantFrom('2024-02-29', '2023-02-29', '0000-01-01', '2024-06-15T12:34:56.0001255Z', '2024-01-01 00:00:00+16:00', '2016-12-31T23:59:60Z', '2024-01-01T00:00:00\u00a0Z'),
  fc.string({ maxLength: 6 }),
);
const jsonValue = fc.oneof(
  text,
  fc.integer({ min: -5, max: 60 }),
  fc.constantFrom(1.5, -0, 1e308, 0.1, 2 ** 53 + 2, true, false, null),
  fc.constantFrom('9007199254740993', '1.00000000000000001', '1e3', '12345678901234567890e-1').map((n) => ({ literal: n })),
  fc.dictionary(fc.constantFrom('a', 'b', 'amount'), fc.oneof(fc.integer(), fc.string({ maxLength: 3 })), { maxKeys: 2 }),
);

function csvCell(value: string): string {
  return /[",\r\n]/.test(value) || value.startsWith(' ') ? `"${value.replaceAll('"', '""')}"` : value;
}

/** A JSON value, numbers given as literals written as they are. */
function json(value: unknown): string {
  if (value !== null && typeof value === 'object' && 'literal' in value) return String((value as { literal: string }).literal);
  if (value !== null && typeof value === 'object') return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}:${json(v)}`).join(',')}}`;
  return Object.is(value, -0) ? '-0' : JSON.stringify(value);
}

const file = (format: 'csv' | 'jsonl' | 'json') =>
  fc.record({
    headers: fc.uniqueArray(fc.constantFrom(...NAMES).chain(headerOf), { minLength: 1, maxLength: 7 }),
    rows: fc.array(fc.array(format === 'csv' ? text : jsonValue, { minLength: 7, maxLength: 7 }), { maxLength: 12 }),
    duplicate: fc.boolean(),
  }).map(({ headers, rows, duplicate }) => {
    const body = duplicate && rows.length > 0 ? [...rows, rows[0]!] : rows;
    if (format === 'csv') return [headers.join(','), ...body.map((r) => headers.map((_, i) => csvCell(r[i] as string)).join(','))].join('\n') + '\n';
    const records = body.map((r) => `{${headers.map((h, i) => `${JSON.stringify(h)}:${json(r[i])}`).join(',')}}`);
    return format === 'jsonl' ? records.join('\n') + '\n' : `[${records.join(',\n')}]`;
  });

interface Outcome {
  rows: unknown[][];
  problems: unknown[];
  /** The rejected records as read, for the rejects file (under skip_row). */
  originals: unknown[];
  dropped: [number, number];
  verdict: string | null;
  error: string | null;
  digest?: unknown;
}

/**
 * One engine on the file: its rows as the Parquet encoder writes them, its problems, its verdict.
 * `thread`: checked in the check thread.
 */
async function run(target: CompiledDataset, filePath: string, thread = false): Promise<Outcome> {
  const out: Outcome = { rows: [], problems: [], originals: [], dropped: [0, 0], verdict: null, error: null };
  try {
    const options = { batchRows: 4, limits: DEFAULT_LIMITS };
    const input = localFile(filePath);
    const keep = target.onInvalidRow === 'skip_row';
    const checked = thread ? checkInThread(filePath, input.size, path.basename(filePath), target, options, keep) : checkFile(input, path.basename(filePath), target, options, keep);
    let rows = 0;
    for await (const batch of checked.batches) {
      for (const [n, problems] of [...batch.rejected].sort(([a], [b]) => Number(a) - Number(b))) {
        out.problems.push(...problems);
        if (batch.originals && typeof n === 'number') out.originals.push([n, jsonText(batch.originals.get(n) ?? problems.find((p) => 'raw' in p)?.raw ?? null)]);
      }
      if (batch.typed.length === 0) continue;
      rows += batch.typed.length;
      const table = arrow.tableFromIPC(batchStream(target.columns, batch.typed, { fileId: '1', sourceFile: 'f' }));
      const values = [...target.columns.map((c) => storedValues(table, c.name)), storedValues(table, '_source_record')];
      for (let r = 0; r < batch.typed.length; r++) out.rows.push(values.map((column) => show(column[r])));
    }
    out.dropped = [checked.stats.droppedNullRows, checked.stats.droppedDuplicateRows];
    out.verdict = verdict(checked, target, rows)?.message ?? null;
    if (out.verdict === null) out.digest = checked.digest();
  } catch (error) {
    if (!(error instanceof DataError)) throw error;
    out.error = error.message;
  }
  return out;
}

const show = (v: unknown) => (typeof v === 'bigint' ? `${v}n` : Object.is(v, -0) ? '-0' : v);

let files = 0;

async function compare(user: UserDataset, content: string, stats: Map<string, number>): Promise<void> {
  let fast: CompiledDataset;
  let records: CompiledDataset;
  try {
    const resolved = resolveDataset(path.join(dir, 'eng.yaml'), user);
    fast = compileDataset(resolved);
    records = compileDataset(resolved, { engine: 'records' });
  } catch {
    return; // a dataset the configuration refuses (a required name no property has …)
  }
  stats.set(fast.plan.engine, (stats.get(fast.plan.engine) ?? 0) + 1);
  const filePath = path.join(dir, `f-2024-${++files}.${user.format}`);
  await writeFile(filePath, content);
  const [a, b, c] = [await run(fast, filePath), await run(records, filePath), await run(fast, filePath, true)];
  expect(c).toEqual(a);
  stats.set('rows', (stats.get('rows') ?? 0) + a.rows.length);
  stats.set('problems', (stats.get('problems') ?? 0) + a.problems.length);
  stats.set('errors', (stats.get('errors') ?? 0) + (a.error ? 1 : 0));
  stats.set('dropped', (stats.get('dropped') ?? 0) + a.dropped[0] + a.dropped[1]);
  for (const s of user.prepare ?? []) stats.set(Object.keys(s)[0]!, (stats.get(Object.keys(s)[0]!) ?? 0) + 1);
  expect({ engine: fast.plan.engine, steps: user.prepare, schema: user.schema, content, ...a }).toEqual({ engine: fast.plan.engine, steps: user.prepare, schema: user.schema, content, ...b });
}

describe.each(['csv', 'jsonl', 'json'] as const)('%s', (format) => {
  it('the fast engine and the record path give the same rows, problems, counts and verdict', async () => {
    const stats = new Map<string, number>();
    await fc.assert(fc.asyncProperty(dataset(format), file(format), (user, content) => compare(user, content, stats)), { numRuns: Number(process.env["LOADBAY_ENGINES_RUNS"] ?? 250) });
    // The fast engine ran most of them (the rest: datasets the plan sends to records, compared too).
    const fastRuns = stats.get(format === 'csv' ? 'columnar' : 'values') ?? 0;
    if (process.env['LOADBAY_ENGINES_DUMP']) console.log(format, Object.fromEntries(stats));
    expect(fastRuns).toBeGreaterThan(150);
  });
});
