/** Each prepare step on its own, then the order they run in. */
import { resolveDataset } from '../../src/config/dataset.js';
import type { UserDataset } from '../../src/config/types.js';
import type { Problem } from '../../src/errors.js';
import fc from 'fast-check';
import { makeCellPreparer } from '../../src/prepare/cells.js';
import { makePreparer } from '../../src/prepare/prepare.js';
import type { CellBatch } from '../../src/read/csv-cells.js';
import { snakeCase } from '../../src/prepare/compile-steps.js';
import type { UserStep } from '../../src/config/types.js';
import { compileDataset } from '../../src/compile.js';

function prepare(
  steps: UserStep[],
  records: Record<string, unknown>[],
  options: Partial<UserDataset> = {},
  fileName = 'file.csv',
) {
  const properties = options.schema?.['properties'] ?? {
    a: { type: 'string' },
    b: { type: 'string' },
    n: { type: 'integer' },
  };
  const dataset = compileDataset(resolveDataset(
    '/cfg/d.yaml',
    { name: 'd', match: '*', format: 'csv', table: 't', extra_columns: 'ignore', ...options, prepare: steps, schema: { properties } },
  ));
  const batch = { records: records.map((r) => ({ ...r })), numbers: records.map((_, i) => i + 2), problems: [] as Problem[] };
  const preparer = makePreparer(dataset, fileName, 1_000_000);
  preparer(batch, 'line');
  return { ...batch, stats: preparer.stats };
}

it('snake_case and lowercase header normalisation', () => {
  expect(['Pstatus', 'skaterStats', 'Full Name', 'G1', 'HTTPServer', ' a-b '].map(snakeCase)).toEqual([
    'pstatus',
    'skater_stats',
    'full_name',
    'g1',
    'http_server',
    'a_b',
  ]);
  const result = prepare([{ headers: 'lowercase' }], [{ A: 'x', B: 'y' }]);
  expect(result.records).toEqual([{ a: 'x', b: 'y' }]);
});

it('reports two headers that collide after normalisation, naming both', () => {
  const result = prepare([{ headers: 'lowercase' }], [{ Name: 'x', NAME: 'y' }]);
  expect(result.records).toEqual([]);
  expect(result.problems).toEqual([
    expect.objectContaining({ line: 2, field: 'name', message: 'columns "Name" and "NAME" both become "name" after headers: lowercase' }),
  ]);
});

it('renames, trims, maps null values and changes case', () => {
  const result = prepare(
    [{ rename: { first: 'a' } }, { trim: true }, { null_values: ['NA', '-'] }, { uppercase_values: ['a'] }, { lowercase_values: true }],
    [{ first: '  Ab ', b: 'NA', n: ' 7 ' }, { first: 'x', b: ' Q ', n: '-' }],
  );
  expect(result.records).toEqual([
    { a: 'ab', n: 7 },
    { a: 'x', b: 'q' },
  ]);
});

it('drops rows with nulls and duplicate rows, and counts them', () => {
  const result = prepare(
    [{ drop_rows_with_nulls: ['a'] }, { drop_duplicate_rows: true }],
    [{ a: '1', b: 'x' }, { a: '', b: 'y' }, { a: '1', b: 'x' }, { a: '2', b: '' }],
  );
  expect(result.records).toEqual([{ a: '1', b: 'x' }, { a: '2' }]);
  expect(result.numbers).toEqual([2, 5]);
  expect(result.stats).toEqual({ droppedNullRows: 1, droppedDuplicateRows: 1 });
  const all = prepare([{ drop_rows_with_nulls: true }], [{ a: '1', b: 'x' }, { a: '2', b: '' }]);
  expect(all.records).toEqual([{ a: '1', b: 'x' }]);
});

it('fills defaults and adds columns from the file name and constants, typed by the schema', () => {
  const schema = { properties: { a: { type: 'string' }, start_year: { type: 'integer' }, end_year: { type: 'integer' }, source: { type: 'string' } } };
  const result = prepare(
    [{ defaults: { a: 'none' } }, { add_columns: { from_file_name: 'events_(?<start_year>\\d{4})_(?<end_year>\\d{4})', values: { source: 'api' } } }],
    [{ a: '' }, { a: 'x' }],
    { schema, format: 'jsonl' },
    'events_1896_1900.jsonl.gz',
  );
  expect(result.records).toEqual([
    { a: 'none', start_year: 1896, end_year: 1900, source: 'api' },
    { a: 'x', start_year: 1896, end_year: 1900, source: 'api' },
  ]);
  expect(() => prepare([{ add_columns: { from_file_name: 'x_(?<year>\\d+)' } }], [{ a: '1' }], {}, 'other.csv')).toThrow(
    'the file name "other.csv" does not match add_columns.from_file_name x_(?<year>\\d+)',
  );
});

it('selects and excludes columns', () => {
  expect(prepare([{ select: ['a'] }], [{ a: '1', b: '2' }]).records).toEqual([{ a: '1' }]);
  expect(prepare([{ exclude: ['a'] }], [{ a: '1', b: '2' }]).records).toEqual([{ b: '2' }]);
});

it('flattens nested objects before the steps, and keeps unknown columns in _extra on request', () => {
  const schema = { properties: { stats_skaterstats_goals: { type: 'integer' }, person_id: { type: 'integer' } } };
  const result = prepare(
    [{ headers: 'lowercase' }],
    [{ person: { id: 7, name: 'N' }, stats: { skaterStats: { goals: 2 } }, tags: ['a'] }],
    { schema, format: 'json', flatten: true, extra_columns: 'keep' },
  );
  expect(result.records).toEqual([{ person_id: 7, stats_skaterstats_goals: 2, _extra: { person_name: 'N', tags: ['a'] } }]);
});

it('rejects an unknown step or a bad regular expression at start-up, naming the step', () => {
  expect(() => prepare([{ lowercase_headers: true } as never], [])).toThrow(/\/prepare\/0: unknown step "lowercase_headers"/);
  expect(() => prepare([{ add_columns: { from_file_name: '(' } }], [])).toThrow(/\/prepare\/0: add_columns.from_file_name: not a valid regular expression/);
});

it('gives records of different shapes in one batch the same treatment (compiled per key list)', () => {
  // Shapes alternate, one of them collides, and odd keys (quotes, __proto__) are plain columns.
  const records = [
    { A: 'X', B: '1' },
    { B: '2', A: 'Y' },
    { Name: 'x', NAME: 'y' },
    { A: 'Z', B: '3' },
    { 'a"b': 'Q', ['__proto__']: 'P' },
  ];
  const schema = { properties: { a: { type: 'string' }, b: { type: 'integer' }, 'a"b': { type: 'string' }, ['__proto__']: { type: 'string' } } };
  const result = prepare([{ headers: 'lowercase' }, { lowercase_values: true }], records, { schema, extra_columns: 'ignore' });
  expect(result.records).toEqual([{ a: 'x', b: 1 }, { b: 2, a: 'y' }, { a: 'z', b: 3 }, JSON.parse('{"a\\"b":"q","__proto__":"p"}')]);
  expect(Object.getPrototypeOf(result.records[3])).toBe(Object.prototype);
  expect(result.numbers).toEqual([2, 3, 5, 6]);
  expect(result.problems).toEqual([expect.objectContaining({ line: 4, field: 'name', rule: 'headers: lowercase' })]);
});

it('handles more distinct shapes than it compiles for, with the same results', () => {
  const records = Array.from({ length: 100 }, (_, i) => ({ [`K${i}`]: ` V${i} `, N: String(i) }));
  const properties = Object.fromEntries([...records.keys()].map((i) => [`k${i}`, { type: 'string' }]));
  const result = prepare([{ headers: 'lowercase' }, { trim: true }, { lowercase_values: true }], records, {
    schema: { properties: { ...properties, n: { type: 'integer' } } },
  });
  expect(result.records).toEqual(records.map((_, i) => ({ [`k${i}`]: `v${i}`, n: i })));
});

describe('drop_rows_with_nulls on CSV cells agrees with the record path', () => {
  // Rows of three text cells, some empty; `null_values` (when listed) turns "NA" into a removed
  // value, which sends the cells path the general way (replaced cells) instead of its fast one.
  const cell = fc.constantFrom('', 'x', 'NA', 'yz', ' ');
  const rowsArb = fc.array(fc.tuple(cell, cell, cell), { minLength: 0, maxLength: 20 });
  const which = fc.constantFrom<true | string[]>(true, ['a'], ['b', 'c'], ['a', 'missing']);
  it.each([[[] as UserStep[]], [[{ null_values: ['NA'] }] as UserStep[]]])('with steps before it: %j', (before) => {
    fc.assert(
      fc.property(rowsArb, which, (rows, columns) => {
        const steps: UserStep[] = [...before, { drop_rows_with_nulls: columns }];
        const properties = { a: { type: 'string' }, b: { type: 'string' }, c: { type: 'string' } };
        const byRecords = prepare(steps, rows.map(([a, b, c]) => ({ a, b, c })), { schema: { properties } });
        const dataset = compileDataset(resolveDataset('/cfg/d.yaml', { name: 'd', match: '*', format: 'csv', table: 't', extra_columns: 'ignore', prepare: steps, schema: { properties } }));
        const view = makeCellPreparer(dataset, dataset.steps, 'file.csv', 1_000_000)(cellBatch(['a', 'b', 'c'], rows));
        const kept = Array.from(view.rows.subarray(0, view.count), (r) => r + 2);
        expect(kept).toEqual(byRecords.numbers);
      }),
      { numRuns: 300 },
    );
  });
});

/** A batch of unquoted cells, as csv-cells.ts would read it (line numbers from 2). */
function cellBatch(header: string[], rows: string[][]): CellBatch {
  const buf = Buffer.from(rows.map((r) => r.join('')).join(''), 'utf8');
  const width = header.length;
  const starts = new Int32Array(rows.length * width);
  const ends = new Int32Array(rows.length * width);
  let o = 0;
  rows.forEach((r, i) => r.forEach((text, f) => {
    starts[i * width + f] = o;
    ends[i * width + f] = o += Buffer.byteLength(text);
  }));
  return { header, width, buf, rows: rows.length, starts, ends, escaped: new Uint8Array(rows.length * width), lines: Float64Array.from(rows, (_, i) => i + 2), problems: [], quote: 34 };
}
