/**
 * The column kernels (validate/kernels.ts) against ajv, the authority: for generated schemas using
 * every keyword and format of the compiled set, and generated CSV values — unicode, -0, 1e308,
 * NaN-looking text, integer limits, leap days and leap seconds, time zones, fractions below the
 * microsecond — a kernel must pass a value exactly when the record path (coercion + the dataset's
 * ajv validator + the target limits) passes it, and must produce the same typed value.
 */
import fc from 'fast-check';
import { resolveDataset } from '../../src/config/dataset.js';
import type { UserDataset } from '../../src/config/types.js';
import type { CellView } from '../../src/prepare/cells.js';
import { coerceText } from '../../src/prepare/coerce.js';
import type { CellBatch } from '../../src/read/csv-cells.js';
import { runKernels } from '../../src/validate/kernels.js';
import { runValueKernels } from '../../src/validate/value-kernels.js';
import { compileDataset, type CompiledDataset } from '../../src/compile.js';

const planOf = (dataset: CompiledDataset) => dataset.plan;
import { makeValidator } from '../../src/validate/validate.js';
import { vectorsFromRecords, type Vector } from '../../src/write/vectors.js';


function datasetFor(property: Record<string, unknown>, required: boolean, format: 'csv' | 'jsonl' = 'csv') {
  const user: UserDataset = {
    name: 'k',
    match: 'k-*',
    format,
    table: 'public.k',
    schema: { type: 'object', ...(required ? { required: ['v'] } : {}), properties: { v: property } },
  };
  return compileDataset(resolveDataset('/virtual/k.yaml', user));
}

function viewOf(values: string[]): CellView {
  const bufs = values.map((v) => Buffer.from(v, 'utf8'));
  const buf = Buffer.concat(bufs);
  const starts = new Int32Array(values.length);
  const ends = new Int32Array(values.length);
  let o = 0;
  bufs.forEach((b, i) => {
    starts[i] = o;
    ends[i] = o += b.length;
  });
  const batch: CellBatch = {
    header: ['v'],
    width: 1,
    buf,
    rows: values.length,
    starts,
    ends,
    escaped: new Uint8Array(values.length),
    lines: Float64Array.from(values.map((_, i) => i + 2)),
    problems: [],
    quote: 34,
  };
  return { batch, names: ['v'], fields: [0], constants: [undefined], overrides: new Map(), rows: Int32Array.from(values.map((_, i) => i)), count: values.length };
}

/** The value at row `i` of a vector, comparable across both paths. */
function valueAt(v: Vector, i: number): unknown {
  if (!v.valid[i]) return null;
  if (v.kind === 'string' || v.kind === 'json') return Buffer.from(v.bytes.subarray(v.offsets[i]!, v.offsets[i + 1]!)).toString();
  const x = (v as { data: ArrayLike<number | bigint> }).data[i]!;
  return typeof x === 'bigint' ? x : Object.is(x, -0) ? 0 : x;
}

function compare(property: Record<string, unknown>, required: boolean, values: string[]): void {
  const dataset = datasetFor(property, required);
  const plan = planOf(dataset);
  if (plan.engine !== 'columnar') throw new Error(`not columnar: ${'reason' in plan ? plan.reason : plan.engine}`);
  const { typed, failed } = runKernels(viewOf(values), plan.kernels);
  const kind = dataset.columns[0]!.kind;
  const records = values.map((text) => ({ v: text === '' ? undefined : coerceText(text, kind) }));
  const batch = { records: records.map((r) => ({ ...r })), numbers: values.map((_, i) => i + 2), problems: [] };
  makeValidator(dataset)(batch, 'line');
  const passedByAjv = batch.numbers.map((n) => n - 2);
  const passedByKernel = values.map((_, i) => i).filter((i) => !failed.includes(i));
  expect({ property, values: passedByKernel.map((i) => values[i]) }).toEqual({ property, values: passedByAjv.map((i) => values[i]) });
  const expected = vectorsFromRecords(dataset.columns, batch.records, batch.numbers);
  for (let i = 0; i < typed.length; i++) expect([values[passedByKernel[i]!], valueAt(typed.vectors[0]!, i)]).toEqual([values[passedByKernel[i]!], valueAt(expected.vectors[0]!, i)]);
}

const numberish = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }).map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
  fc.constantFrom(
    '0', '-0', '+5', '007', '1.0', '1.5', '.5', '5.', '-.5', '1e3', '1E-3', '2.5e+2', '1e308', '1e309', '1e999', '-1e999', '4.9e-324',
    '9007199254740991', '9007199254740992', '9007199254740993', '-9007199254740993', '9223372036854775807', '9223372036854775808',
    '-9223372036854775808', '-9223372036854775809', '0.1', '0.30000000000000004', '123456789012345', '1234567890123456', '12345.678901234',
    'NaN', 'Infinity', '-Infinity', '0x10', '1_000', ' 1', '1 ', '', '+', '-', '.', 'e5', '1e', '١٢', '１',
  ),
);
const numericRules = fc.record(
  {
    minimum: fc.constantFrom(-5, 0, 0.5, 10),
    maximum: fc.constantFrom(0, 10, 100.25, 2 ** 60),
    exclusiveMinimum: fc.constantFrom(-1, 0, 1.5),
    exclusiveMaximum: fc.constantFrom(0, 100, 1e300),
    multipleOf: fc.constantFrom(1, 2, 0.5, 0.01, 0.1, 3, 1e-8),
    enum: fc.constantFrom([1, 2, 3], [0, 1.5, -2], [5, 'x', true, null]),
    const: fc.constantFrom(0, 1, 1.5, -0),
  },
  { requiredKeys: [] },
);

it('integer and number kernels pass exactly what ajv passes, with the same values', () => {
  fc.assert(
    fc.property(fc.constantFrom('integer', 'number'), numericRules, fc.boolean(), fc.array(numberish, { minLength: 1, maxLength: 8 }), (type, rules, required, values) => {
      compare({ type, ...rules }, required, values);
    }),
    { numRuns: 600 },
  );
});

it('boolean kernels pass exactly what ajv passes', () => {
  const text = fc.oneof(fc.constantFrom('true', 'false', 'T', 'f', 'YES', 'No', 'y', 'N', '1', '0', 'tRuE', 'FALSE', 'maybe', '', 'truee', 'ｔrue', 'K', 'ı', ' true'), fc.string({ maxLength: 5 }));
  fc.assert(
    fc.property(fc.record({ enum: fc.constantFrom([true], [false, 'x']), const: fc.boolean() }, { requiredKeys: [] }), fc.boolean(), fc.array(text, { minLength: 1, maxLength: 8 }), (rules, required, values) => {
      compare({ type: 'boolean', ...rules }, required, values);
    }),
    { numRuns: 300 },
  );
});

const unicode = fc.string({ unit: 'binary', maxLength: 8 });
const stringRules = fc.record(
  {
    minLength: fc.constantFrom(0, 1, 2, 5),
    maxLength: fc.constantFrom(0, 1, 3, 16),
    pattern: fc.constantFrom('^[a-z]+$', '\\d', '^.{2}$', '^\\p{L}+$', 'é', '^$|x'),
    enum: fc.constantFrom(['a', 'b'], ['größe', '😀', 'x'], [1, 'a', null]),
    const: fc.constantFrom('a', '😀'),
    format: fc.constantFrom('email', 'uuid', 'ipv4', 'time', 'uri', 'hostname'),
  },
  { requiredKeys: [] },
);

it('string kernels (lengths in code points, pattern, enum, const, formats, NUL) pass exactly what ajv passes', () => {
  const text = fc.oneof(
    unicode,
    fc.constantFrom('a', 'b', 'ab', 'größe', '😀', '😀😀', 'a\u0000b', 'x', '12', 'é', 'e\u0301', '', ' ', 'user@example.com', '1.2.3.4', '256.1.1.1',
      '123e4567-e89b-12d3-a456-426614174000', '12:34:56Z', '23:59:60Z', '12:34:56+01:00', 'http://x.org/a?b', 'host.example'),
  );
  fc.assert(
    fc.property(stringRules, fc.boolean(), fc.array(text, { minLength: 1, maxLength: 8 }), (rules, required, values) => {
      compare({ type: 'string', ...rules }, required, values);
    }),
    { numRuns: 600 },
  );
});

const day = fc.record({ y: fc.integer({ min: 0, max: 9999 }), m: fc.integer({ min: 0, max: 13 }), d: fc.integer({ min: 0, max: 32 }) }).map(
  ({ y, m, d }) => `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`,
);

it('date kernels pass exactly what ajv passes (leap days, impossible days, other shapes) with the same days', () => {
  const text = fc.oneof(day, fc.constantFrom('2024-02-29', '2023-02-29', '1900-02-29', '2000-02-29', '2024-1-01', '20240101', '2024-01-01T00:00:00Z', '0000-01-01', '9999-12-31', '2024-02-30 '));
  fc.assert(
    fc.property(fc.record({ enum: fc.constantFrom(['2024-02-29', 'x']), maxLength: fc.constantFrom(9, 10) }, { requiredKeys: [] }), fc.boolean(), fc.array(text, { minLength: 1, maxLength: 8 }), (rules, required, values) => {
      compare({ type: 'string', format: 'date', ...rules }, required, values);
    }),
    { numRuns: 400 },
  );
});

it('date-time kernels pass exactly what ajv passes (leap seconds, zones, fractions) with the same microseconds', () => {
  const time = fc.record({
    h: fc.integer({ min: 0, max: 24 }),
    mi: fc.integer({ min: 0, max: 60 }),
    s: fc.integer({ min: 0, max: 61 }),
    frac: fc.constantFrom('', '.0', '.5', '.123', '.123456', '.1234565', '.1234575', '.9999996', '.0000005', '.'),
    t: fc.constantFrom('T', 't', ' ', 'X'),
    zone: fc.constantFrom('Z', 'z', '+01:00', '-05:30', '+23:59', '+24:00', '+0100', '+01', '', '-00:00'),
  });
  const stamp = fc.tuple(day, time).map(([d, { h, mi, s, frac, t, zone }]) => `${d}${t}${String(h).padStart(2, '0')}:${String(mi).padStart(2, '0')}:${String(s).padStart(2, '0')}${frac}${zone}`);
  const text = fc.oneof(
    stamp,
    fc.constantFrom('2016-12-31T23:59:60Z', '2016-12-31T23:59:60.5Z', '2016-12-31T23:59:60.000Z', '2017-01-01T00:59:60+01:00', '2016-12-31T22:59:60Z',
      '1969-12-31T23:59:59.999999Z', '0000-01-01T00:00:00Z', '9999-12-31T23:59:59.999999Z', '2024-02-29T12:00:00Z', '2023-02-29T12:00:00Z'),
  );
  fc.assert(
    fc.property(fc.boolean(), fc.array(text, { minLength: 1, maxLength: 8 }), (required, values) => {
      compare({ type: 'string', format: 'date-time' }, required, values);
    }),
    { numRuns: 600 },
  );
});

it('sends a schema outside the compiled set to the record path and says why', () => {
  expect(planOf(datasetFor({ type: 'string', oneOf: [{ const: 'a' }] }, false))).toMatchObject({ engine: 'records', reason: 'property "v" uses oneOf' });
  expect(planOf(datasetFor({ type: 'object' }, false))).toMatchObject({ engine: 'records', reason: expect.stringContaining('JSON') });
  expect(planOf(datasetFor({ type: 'string', format: 'int32' }, false))).toMatchObject({ engine: 'records' });
  expect(planOf(datasetFor({ type: 'integer', minimum: 1 }, true))).toMatchObject({ engine: 'columnar' });
});

// ---- JSON values (the value kernels of JSON and JSONL datasets) ----------------------------------

function compareValues(property: Record<string, unknown>, required: boolean, values: unknown[]): void {
  const dataset = datasetFor(property, required, 'jsonl');
  const plan = planOf(dataset);
  if (plan.engine !== 'values') throw new Error(`not on the value kernels: ${'reason' in plan ? plan.reason : plan.engine}`);
  const records = values.map((v) => (v === undefined ? {} : { v }));
  const numbers = values.map((_, i) => i + 1);
  const { typed, failed } = runValueKernels(dataset.columns, plan.kernels, records.map((r) => ({ ...r })), numbers);
  const batch = { records: records.map((r) => ({ ...r })), numbers: [...numbers], problems: [] };
  makeValidator(dataset)(batch, 'record');
  const passedByAjv = batch.numbers.map((n) => n - 1);
  const passedByKernel = values.map((_, i) => i).filter((i) => !failed.includes(i));
  const show = (i: number) => (typeof values[i] === 'bigint' ? `${String(values[i])}n` : values[i]);
  expect({ property, values: passedByKernel.map(show) }).toEqual({ property, values: passedByAjv.map(show) });
  const expected = vectorsFromRecords(dataset.columns, batch.records, batch.numbers);
  for (let i = 0; i < typed.length; i++) expect([show(passedByKernel[i]!), valueAt(typed.vectors[0]!, i)]).toEqual([show(passedByKernel[i]!), valueAt(expected.vectors[0]!, i)]);
}

const anyJson = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
  fc.constantFrom(0, -0, 1.5, 2 ** 53, 2 ** 63, -(2 ** 63), 1e20, 1e308, 9007199254740993n, 9223372036854775807n, 9223372036854775808n, -9223372036854775809n),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.string({ unit: 'binary', maxLength: 6 }),
  fc.constantFrom('a', '😀', 'a\u0000b', '\ud800', '2024-02-29', '2024-02-30', '2016-12-31T23:59:60Z', '2016-12-31T23:59:60.5Z', '2024-01-01T00:00:00+0100', '1', 'true'),
  fc.constantFrom({}, { a: 1 }, [], [1, 'x'], { __proto__: null, n: 9007199254740993n }),
);

it('value kernels (JSON, JSONL) pass exactly what ajv passes, for every type, null and absence, with the same values', () => {
  const typeOf = fc.constantFrom<unknown>('integer', 'number', 'boolean', 'string', ['integer', 'null'], ['string', 'null'], ['number', 'null'], ['boolean', 'null'], undefined);
  const property = fc.oneof(
    fc.tuple(typeOf, numericRules).map(([type, rules]) => ({ ...(type === undefined ? {} : { type }), ...rules })),
    fc.tuple(fc.constantFrom<unknown>('string', ['string', 'null']), stringRules).map(([type, rules]) => ({ type, ...rules })),
    fc.constantFrom<Record<string, unknown>>(
      { type: 'string', format: 'date' }, { type: ['string', 'null'], format: 'date-time' }, { type: 'string', format: 'date-time', maxLength: 20 },
      { type: 'object' }, { type: 'array' }, { type: ['object', 'array'] }, { type: ['object', 'null'] }, {},
      { enum: ['a', 'b', null] }, { enum: [1, 2] }, { const: true }, { type: 'boolean', enum: [true] },
    ),
  );
  fc.assert(
    fc.property(property, fc.boolean(), fc.array(anyJson, { minLength: 1, maxLength: 8 }), (p, required, values) => {
      try {
        compareValues(p, required, values);
      } catch (error) {
        if (/not on the value kernels|must have type|exactly one type|several types/.test(String(error))) return; // a schema columns.ts or the plan refuses
        throw error;
      }
    }),
    { numRuns: 1500 },
  );
});

it("value kernels take a JSON string's UTF-8 bytes (the flat-line scanner's) as they take the string", () => {
  // What the scanner hands on as bytes: well-formed strings without NUL (json-flat.ts).
  const text = fc.oneof(
    fc.string({ maxLength: 8 }),
    fc.string({ unit: 'grapheme', maxLength: 6 }),
    fc.constantFrom('a', 'b', 'é', '😀', 'ab😀', 'x"y', 'line\nbreak', '\ufffd', 'x\ufffd', '2024-02-29', '2024-02-30', '2024-01-01T00:00:00Z', '2024-01-01T00:00:00.1234567Z', '2016-12-31T23:59:60Z', '1', 'true', ''),
  ).filter((s) => s.isWellFormed() && !s.includes('\u0000'));
  const property = fc.oneof(
    fc.tuple(fc.constantFrom<unknown>('string', ['string', 'null']), stringRules).map(([type, rules]) => ({ type, ...rules })),
    fc.constantFrom<Record<string, unknown>>(
      { type: 'string', format: 'date' }, { type: 'string', format: 'date-time' }, { type: 'string', format: 'date-time', maxLength: 20 }, { type: 'string', format: 'date', enum: ['2024-02-29'] },
      { type: 'string', maxLength: 1 }, { type: 'string', minLength: 2, maxLength: 3 }, { type: ['string', 'null'], minLength: 1 },
      { type: 'string', enum: ['\ud800', 'a'] }, { type: 'string', enum: ['x\udfff', '\ufffd'] },
      { type: 'string', enum: ['a', 'é', '😀', 'x"y'] }, { type: 'string', enum: ['a', 'b'], maxLength: 1 }, { enum: ['a', 'b', null] }, { type: 'string', enum: ['a'], pattern: '^a$' },
      { type: 'integer' }, { type: 'number' }, { type: 'boolean' }, { type: 'object' }, {},
    ),
  );
  fc.assert(
    fc.property(property, fc.array(text, { minLength: 1, maxLength: 8 }), (p, strings) => {
      let plan;
      try {
        plan = planOf(datasetFor(p, false, 'jsonl'));
      } catch (error) {
        if (/must have type|exactly one type|several types/.test(String(error))) return;
        throw error;
      }
      if (plan.engine !== 'values') return;
      const kernel = plan.kernels[0]!;
      const [byValue, byBytes] = [kernel.sink(2), kernel.sink(2)];
      const [failedByValue, failedByBytes] = [new Uint8Array(strings.length), new Uint8Array(strings.length)];
      strings.forEach((s, i) => {
        if (i >= 2) [byValue, byBytes].forEach((sink) => sink.grow(strings.length));
        byValue.add(s, i, failedByValue);
        const bytes = Buffer.from(`"${s}"`);
        byBytes.addText(bytes, 1, bytes.length - 1, i, failedByBytes);
      });
      expect({ p, strings, failed: [...failedByBytes] }).toEqual({ p, strings, failed: [...failedByValue] });
      const [a, b] = [byValue.vector(strings.length), byBytes.vector(strings.length)];
      strings.forEach((s, i) => expect([s, valueAt(b, i)]).toEqual([s, valueAt(a, i)]));
    }),
    { numRuns: 1500 },
  );
});

it('an enum of text with a lone surrogate (no UTF-8 spells it) matches no CSV text, U+FFFD included', () => {
  for (const property of [{ type: 'string', enum: ['\ud800', 'a'] }, { enum: ['x\udfff', 'b'] }]) compare(property, false, ['\ufffd', 'a', 'x\ufffd', 'b', '']);
});

it('a text column whose prepared values are longer than its bytes in the file keeps every value', () => {
  // Lower-casing İ (2 bytes) gives i + U+0307 (3 bytes): the vector outgrows the file's bytes.
  const values = ['İİİİİİİİİİİİİİİİİİİİİİİİİİİİİİİİİİİİİİİİ', 'a', 'İ', '', 'İstanbul'.repeat(20)];
  const view = viewOf(values);
  values.forEach((v, i) => {
    if (v !== '') view.overrides.set(i, v.toLowerCase());
  });
  const plan = planOf(datasetFor({ type: 'string' }, false));
  if (plan.engine !== 'columnar') throw new Error('not columnar');
  const { typed, failed } = runKernels(view, plan.kernels);
  expect(failed).toEqual([]);
  expect(values.map((_, i) => valueAt(typed.vectors[0]!, i))).toEqual(values.map((v) => (v === '' ? null : v.toLowerCase())));
});
