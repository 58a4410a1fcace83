/** Pure stages: coercion, validation, COPY encoding, naming, error handling, config resolution. */
import { appendFile, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { columnsFromSchema } from '../../src/columns.js';
import { resolveDataset } from '../../src/config/dataset.js';
import { compileDataset } from '../../src/compile.js';
import { classify, DataError, HeldError, redact, redactDeep, type Problem } from '../../src/errors.js';
import { makePreparer } from '../../src/prepare/prepare.js';
import { coerceText, Unloadable } from '../../src/prepare/coerce.js';
import { fitName, numbered } from '../../src/outcome/move.js';
import { makeValidator } from '../../src/validate/validate.js';
import { Stabilizer, type StableFile } from '../../src/source/folder/stability.js';
import { dateToDays, timestampMicros } from '../../src/write/time.js';
import { COPY_BINARY_HEADER, encodeCopyBinary } from '../../src/write/copy-binary.js';
import { vectorsFromRecords } from '../../src/write/vectors.js';
import { backoffDelay } from '../../src/lib/sleep.js';
import { withoutClosingSemicolon } from '../../src/lib/sql.js';

const dataset = compileDataset(resolveDataset(
  '/cfg/t.yaml',
  {
    name: 't',
    match: '*.csv',
    format: 'csv',
    table: 's.t',
    schema: {
      type: 'object',
      required: ['id'],
      properties: {
        id: { type: 'integer' },
        score: { type: ['number', 'null'] },
        ok: { type: 'boolean' },
        day: { type: 'string', format: 'date' },
        at: { type: 'string', format: 'date-time' },
        tags: { type: 'array' },
        note: { type: 'string', maxLength: 5 },
      },
    },
  },
));

describe('columns', () => {
  it('maps JSON Schema types to PostgreSQL types', () => {
    expect(dataset.columns.map((c) => [c.name, c.pgType])).toEqual([
      ['id', 'bigint'],
      ['score', 'double precision'],
      ['ok', 'boolean'],
      ['day', 'date'],
      ['at', 'timestamp with time zone'],
      ['tags', 'jsonb'],
      ['note', 'text'],
    ]);
  });

  it('refuses lineage names and unions of types', () => {
    expect(() => columnsFromSchema({ properties: { _source_file: { type: 'string' } } })).toThrow(/reserved/);
    expect(() => columnsFromSchema({ properties: { a: { type: ['string', 'integer'] } } })).toThrow(/exactly one type/);
  });

  it('infers a column type from enum or const, and maps an untyped property to text (CSV) or JSON', () => {
    const schema = { properties: { e: { enum: ['S', 'M'] }, n: { enum: [1, 2.5, null] }, c: { const: 3 }, any: {}, both: { type: ['object', 'array', 'null'] } } };
    const kinds = (format: 'csv' | 'json') => Object.fromEntries(columnsFromSchema(schema, format).map((c) => [c.name, c.kind]));
    expect(kinds('csv')).toEqual({ e: 'string', n: 'number', c: 'integer', any: 'string', both: 'json' });
    expect(kinds('json')).toMatchObject({ any: 'json' });
    expect(() => columnsFromSchema({ properties: { a: { enum: [1, 'one'] } } })).toThrow('/schema/properties/a: the enum/const values are of several types (integer, string); give a "type"');
  });
});

describe('prepare and validate', () => {
  it('coerces CSV text to the declared types, leaving what does not parse for the validator', () => {
    expect(coerceText('42', 'integer')).toBe(42);
    expect(coerceText('4.5', 'integer')).toBe('4.5');
    expect(coerceText('99999999999999999999', 'integer')).toBe(99999999999999999999n);
    expect(coerceText('9007199254740993', 'integer')).toBe(9007199254740993n);
    expect(coerceText('1e999', 'number')).toEqual(new Unloadable('1e999', expect.stringContaining('outside the range of a 64-bit float')));
    expect(coerceText('1e-400', 'number')).toEqual(new Unloadable('1e-400', expect.stringContaining('too small for a 64-bit float')));
    // One rule for both formats: any number text whose value is whole is an integer, white space around skipped.
    expect(['1.0', '300.00', '1e3', ' 12 ', '\t-7\n', '+5', '-0.0'].map((t) => coerceText(t, 'integer'))).toEqual([1, 300, 1000, 12, -7, 5, 0]);
    expect(['1.5', '1.00000000000000001', '0x10', '1_000', 'NaN', '١٢'].map((t) => coerceText(t, 'integer'))).toEqual(['1.5', '1.00000000000000001', '0x10', '1_000', 'NaN', '١٢']);
    expect(['on', 'OFF', ' yes ', '\tF\n'].map((t) => coerceText(t, 'boolean'))).toEqual([true, false, true, false]);
    expect(['tru', 'of', 'o'].map((t) => coerceText(t, 'boolean'))).toEqual(['tru', 'of', 'o']);
    expect(coerceText('-1.5e3', 'number')).toBe(-1500);
    expect(coerceText('Yes', 'boolean')).toBe(true);
    expect(coerceText('0', 'boolean')).toBe(false);
    expect(coerceText('maybe', 'boolean')).toBe('maybe');
    expect(coerceText('["a"]', 'json')).toEqual(['a']);
  });

  it('reports each problem with line, field, shortened value and rule', () => {
    const batch = {
      records: [
        { id: '7', score: '', ok: 'y', day: '2024-02-30', at: '2024-01-01T00:00:00Z', note: 'fine' },
        { id: 'x', note: 'far too long' + 'z'.repeat(200) },
        { id: '3', extra: '1' },
      ] as Record<string, unknown>[],
      numbers: [2, 3, 4],
      problems: [] as Problem[],
    };
    makePreparer(dataset, 't.csv', 1_000_000)(batch, 'line');
    expect(batch.problems).toEqual([
      expect.objectContaining({ line: 4, field: 'extra', rule: 'extra_columns' }),
    ]);
    makeValidator(dataset)(batch, 'line');
    expect(batch.records).toEqual([]);
    const fields = batch.problems.map((p) => [p.line, p.field, p.rule]);
    expect(fields).toEqual([
      [4, 'extra', 'extra_columns'],
      [2, 'day', 'format: must match format "date"'],
      [3, 'id', 'type: must be integer'],
      [3, 'note', 'maxLength: must NOT have more than 5 characters'],
    ]);
    const long = batch.problems.find((p) => p.field === 'note')!;
    expect(long.value!.length).toBeLessThanOrEqual(80);
    expect(long.value!.endsWith('…')).toBe(true);
  });

  it('with extra_columns: keep, judges the kept columns as the file has them (additionalProperties, patternProperties)', () => {
    const keep = (schema: Record<string, unknown>) =>
      compileDataset(resolveDataset('/cfg/k.yaml', { name: 'k', match: '*', format: 'jsonl', table: 's.k', extra_columns: 'keep', schema: { type: 'object', properties: { id: { type: 'integer' } }, ...schema } }));
    for (const [schema, bad] of [[{ additionalProperties: { type: 'boolean' } }, 'x'], [{ patternProperties: { '^n_': { type: 'integer' } } }, 'n_a']] as const) {
      const dataset = keep(schema);
      const batch = { records: [{ id: 1, x: true }, { id: 2, x: 5, n_a: 'text' }] as Record<string, unknown>[], numbers: [1, 2], problems: [] as Problem[] };
      makePreparer(dataset, 'k.jsonl', 1_000_000)(batch, 'line');
      makeValidator(dataset)(batch, 'line');
      expect(batch.numbers).toEqual([1]);
      expect(batch.problems.map((p) => p.field)).toContain(bad);
      expect(batch.records[0]).toEqual({ id: 1, _extra: { x: true } });
    }
  });

  it('rejects values PostgreSQL cannot store even when the schema allows them', () => {
    const batch = { records: [{ id: 1, note: 'a\u0000b' }, { id: 1e20 }], numbers: [1, 2], problems: [] as Problem[] };
    makeValidator(dataset)(batch, 'record');
    expect(batch.problems.map((p) => [p.record, p.field, p.rule.split(':')[0]])).toEqual([
      [1, 'note', 'text'],
      [2, 'id', 'range'],
    ]);
  });
});

describe('COPY binary and Arrow values', () => {
  it('encodes a row as COPY binary: 8-byte integers, NULL as length -1, jsonb version 1, text as UTF-8, lineage last', () => {
    expect(COPY_BINARY_HEADER.subarray(0, 11).toString('latin1')).toBe('PGCOPY\n\xff\r\n\0');
    const typed = vectorsFromRecords(dataset.columns, [{ id: 1, ok: false, tags: ['x\ty'], note: 'n' }], [5]);
    const out = encodeCopyBinary(typed, { fileId: '9', sourceFile: 'dir/f.csv' });
    let o = 0;
    const int16 = () => ((o += 2), out.readInt16BE(o - 2));
    const int32 = () => ((o += 4), out.readInt32BE(o - 4));
    const bytes = (n: number) => ((o += n), out.subarray(o - n, o));
    expect(int16()).toBe(dataset.columns.length + 3);
    const fields: Array<Buffer | null> = [];
    for (let f = 0; f < dataset.columns.length + 3; f++) {
      const n = int32();
      fields.push(n < 0 ? null : bytes(n));
    }
    expect(o).toBe(out.length);
    const byName = Object.fromEntries([...dataset.columns.map((c) => c.name), '_file_id', '_source_file', '_source_record'].map((name, i) => [name, fields[i]]));
    expect(byName['id']!.readBigInt64BE()).toBe(1n);
    expect(byName['ok']).toEqual(Buffer.from([0]));
    expect(byName['tags']![0]).toBe(1);
    expect(JSON.parse(byName['tags']!.subarray(1).toString())).toEqual(['x\ty']);
    expect(byName['note']!.toString()).toBe('n');
    expect(byName['_file_id']!.readBigInt64BE()).toBe(9n);
    expect(byName['_source_file']!.toString()).toBe('dir/f.csv');
    expect(byName['_source_record']!.readBigInt64BE()).toBe(5n);
    expect(Object.values(byName).filter((v) => v === null).length).toBe(dataset.columns.length - 4);
  });

  it('converts dates to days and timestamps to microseconds', () => {
    expect(dateToDays('1970-01-02')).toBe(1);
    expect(dateToDays('1969-12-31')).toBe(-1);
    expect(timestampMicros('2024-01-01T00:00:00.123456+01:00')).toBe(Date.UTC(2023, 11, 31, 23) * 1000 + 123456);
    expect(timestampMicros('2024-01-01T00:00:00Z')).toBe(Date.UTC(2024, 0, 1) * 1000);
  });
});

describe('small helpers', () => {
  it('numbers quarantined names before the first extension', () => {
    expect(numbered('/x/a.csv.gz', 1)).toBe('/x/a.csv.gz');
    expect(numbered('/x/a.csv.gz', 2)).toBe('/x/a-2.csv.gz');
    expect(numbered('/x/.hidden', 3)).toBe('/x/.hidden-3');
  });

  it('shortens names that would not fit 255 bytes, keeping extensions and telling long names apart', () => {
    expect(fitName('short.csv', 20)).toBe('short.csv');
    const long = `${'é'.repeat(150)}.csv.gz`; // 300 bytes
    const fitted = fitName(long, 20);
    expect(Buffer.byteLength(fitted)).toBeLessThanOrEqual(235);
    expect(fitted).toMatch(/^é+~[0-9a-f]{8}\.csv\.gz$/);
    expect(fitName(`${'é'.repeat(150)}x.csv.gz`, 20)).not.toBe(fitted);
  });

  it('classifies errors and redacts passwords', () => {
    expect(classify(new DataError('read', 'x'))).toBe('data');
    expect(classify(new HeldError('x'))).toBe('held');
    expect(classify(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe('transient');
    expect(redact('connect postgres://me:pa%40ss@db:5432/x failed')).toBe('connect postgres://me:***@db:5432/x failed');
  });

  it.each([
    ['postgres://alice:p@ssS3cretC@host/db', 'postgres://alice:***@host/db'],
    ['postgresql://alice:a:b:c@host:5432/db', 'postgresql://alice:***@host:5432/db'],
    ['postgres://al%40ice:p%3Ass%2Fw@host/db', 'postgres://al%40ice:***@host/db'],
    ['postgres://alice@host/db?password=S3cret&sslmode=require', 'postgres://alice@host/db?password=***&sslmode=require'],
    ['postgres://host/db?sslmode=require&sslpassword=S3cret', 'postgres://host/db?sslmode=require&sslpassword=***'],
    ["host=db user=alice password='S3 cret' dbname=x", 'host=db user=alice password=*** dbname=x'],
    ['host=db password=S3cret dbname=x', 'host=db password=*** dbname=x'],
    ['error: connect ECONNREFUSED (url postgres://u:S3cret@10.0.0.1:1/db)', 'error: connect ECONNREFUSED (url postgres://u:***@10.0.0.1:1/db)'],
  ])('redacts %s', (text, expected) => {
    expect(redact(text)).toBe(expected);
    expect(redact(text)).not.toMatch(/S3|cret|p@ss|a:b:c|p%3A/);
  });

  it('redacts strings nested in objects and arrays, leaving other values as they are', () => {
    const when = new Date(0);
    const fields = {
      reason: 'postgres://u:S3cret@db/x refused',
      details: { causes: [{ url: 'postgres://u:S3cret@db/x' }, 'password=S3cret'], count: 3, ok: true, none: null },
      when,
    };
    const out = redactDeep(fields);
    expect(JSON.stringify(out)).not.toContain('S3cret');
    expect(out.details.count).toBe(3);
    expect(out.details.ok).toBe(true);
    expect(out.details.none).toBeNull();
    expect(out.when).toBe(when);
    expect(fields.reason).toContain('S3cret'); // the caller's object is not changed
    let deep: unknown = 'password=S3cret';
    for (let i = 0; i < 20; i++) deep = { deep };
    expect(JSON.stringify(redactDeep(deep))).not.toContain('S3cret');
  });

  it('takes a query its closing semicolon off, with the spaces and comments after it (views and exports wrap it)', () => {
    expect(withoutClosingSemicolon('SELECT 1;')).toBe('SELECT 1');
    expect(withoutClosingSemicolon('SELECT 1 ; -- the note\n  ')).toBe('SELECT 1');
    expect(withoutClosingSemicolon("SELECT ';' AS s")).toBe("SELECT ';' AS s");
    expect(withoutClosingSemicolon('SELECT 1\n-- no semicolon')).toBe('SELECT 1\n-- no semicolon');
  });

  it('backs off exponentially with jitter, capped', () => {
    for (let attempt = 1; attempt <= 10; attempt++) {
      const delay = backoffDelay(attempt, 100, 1000);
      const cap = Math.min(1000, 100 * 2 ** (attempt - 1));
      expect(delay).toBeGreaterThanOrEqual(cap / 2);
      expect(delay).toBeLessThanOrEqual(cap);
    }
  });
});

describe('Stabilizer', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'loadbay-stable-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reports a file only after it stops changing for the window, once', async () => {
    const file = path.join(dir, 'growing.txt');
    await writeFile(file, 'a');
    const stable: StableFile[] = [];
    const stabilizer = new Stabilizer(300, (f) => stable.push(f), () => undefined, () => undefined);
    stabilizer.notify(file);
    for (let i = 0; i < 6; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      await appendFile(file, 'b');
      stabilizer.notify(file); // repeated events for a tracked path change nothing
      expect(stable).toEqual([]);
    }
    const finished = Date.now();
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => stable.length > 0 && (clearInterval(poll), resolve()), 10);
    });
    expect(Date.now() - finished).toBeGreaterThanOrEqual(250);
    expect(stable).toEqual([expect.objectContaining({ file, size: 7 })]);
    stabilizer.close();
  });

  it('takes a file whose ctime is after its mtime (renamed in, or its times set after its data) at once, without the window', async () => {
    const file = path.join(dir, 'copied.txt');
    await writeFile(file, 'data');
    // As cp -p or rsync leave it: the data, then an older mtime set (which sets ctime to now).
    const past = new Date(Date.now() - 60_000);
    await utimes(file, past, past);
    const stable: StableFile[] = [];
    const windowMs = 60_000; // were the window applied, the test would time out
    const stabilizer = new Stabilizer(windowMs, (f) => stable.push(f), () => undefined, () => undefined);
    const reported = new Promise<void>((resolve) => {
      const poll = setInterval(() => stable.length > 0 && (clearInterval(poll), resolve()), 10);
    });
    stabilizer.notify(file);
    await reported;
    expect(stable).toEqual([expect.objectContaining({ file, size: 4 })]);
    stabilizer.close();
  });

  it('with renamed_is_finished off, such a file waits for the window too', async () => {
    const file = path.join(dir, 'copied-2.txt');
    await writeFile(file, 'data');
    const past = new Date(Date.now() - 60_000);
    await utimes(file, past, past);
    const stable: StableFile[] = [];
    const stabilizer = new Stabilizer(200, (f) => stable.push(f), () => undefined, () => undefined, false);
    const started = Date.now();
    stabilizer.notify(file);
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => stable.length > 0 && (clearInterval(poll), resolve()), 10);
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    stabilizer.close();
  });
});
