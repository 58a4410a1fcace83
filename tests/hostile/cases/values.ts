/** Values that must arrive exactly as written, or be refused with the field and the rule. */
import assert from 'node:assert/strict';
import type { HostileCase } from '../corpus.js';

const INT64 = ['9007199254740993', '1234567890123456789', '9223372036854775807', '-9223372036854775808'];

/** The ids in PostgreSQL and in the Parquet file, as text: exactly the digits that were sent. */
function exactInts(table: string, dataset: string, file: string): HostileCase['verify'] {
  return async ({ pool, parquetFile }) => {
    const { rows } = await pool.query(`SELECT id::text AS id FROM ${table} WHERE _source_file = $1 ORDER BY _source_record`, [file]);
    assert.deepEqual(rows.map((r: { id: string }) => r.id), INT64);
    const { readParquetFile } = await import('../../helpers/parquet.js');
    const parquet = await readParquetFile(await parquetFile(dataset, file));
    assert.deepEqual([...parquet.getChild('id')!].map(String), INT64);
  };
}

export const cases: HostileCase[] = [
  {
    file: 'int64.jsonl',
    why: 'integers beyond 2^53 were stored rounded (…993 as …992) and the int64 maximum was refused',
    content: () => INT64.map((id) => `{"id": ${id}}`).join('\n') + '\n',
    expect: { event: 'loaded', rows: 4 },
    verify: exactInts('hostile.jsonl_rows', 'h-jsonl', 'int64.jsonl'),
  },
  {
    file: 'int64.json',
    why: 'the same through the streaming JSON reader',
    content: () => `[${INT64.map((id) => `{"id": ${id}}`).join(',')}]`,
    expect: { event: 'loaded', rows: 4 },
    verify: exactInts('hostile.json_rows', 'h-json', 'int64.json'),
  },
  {
    file: 'int64.csv',
    why: 'in CSV every integer above 2^53 was refused as "must be integer"',
    content: () => `id\n${INT64.join('\n')}\n`,
    expect: { event: 'loaded', rows: 4 },
    verify: exactInts('hostile.csv_rows', 'h-csv', 'int64.csv'),
  },
  {
    file: 'int64-nested.jsonl',
    why: 'a big integer inside a jsonb value must keep its digits too',
    content: () => '{"id": 1, "doc": {"big": 12345678901234567890, "list": [9007199254740993]}}\n',
    expect: { event: 'loaded', rows: 1 },
    verify: async ({ pool }) => {
      const { rows } = await pool.query(`SELECT doc->>'big' AS big, doc->'list'->>0 AS first FROM hostile.jsonl_rows WHERE _source_file = 'int64-nested.jsonl'`);
      assert.deepEqual(rows, [{ big: '12345678901234567890', first: '9007199254740993' }]);
    },
  },
  {
    file: 'int64-over.csv',
    why: 'only what is outside int64 is refused, and the message says so',
    content: () => 'id\n9223372036854775808\n',
    expect: { event: 'failed', stage: 'validate', reason: 'line 2, field "id" = 9223372036854775808: range: outside the 64-bit integer range (-9223372036854775808 to 9223372036854775807)' },
  },
  {
    file: 'int64-over.jsonl',
    why: 'the same below int64 in JSONL',
    content: () => '{"id": -9223372036854775809}\n',
    expect: { event: 'failed', stage: 'validate', reason: /^line 1, field "id" = -9223372036854775809: range: outside the 64-bit integer range/ },
  },
  {
    file: 'infinity.jsonl',
    why: '1e999 became Infinity',
    content: () => '{"id": 1, "amount": 1e999}\n',
    expect: { event: 'failed', stage: 'read', reason: 'line 1: number 1e999 is outside the range of a 64-bit float' },
  },
  {
    file: 'infinity.json',
    why: 'the same in JSON',
    content: () => '[{"id": 1, "amount": -1e400}]',
    expect: { event: 'failed', stage: 'read', reason: 'record 1: number -1e400 is outside the range of a 64-bit float' },
  },
  {
    file: 'infinity.csv',
    why: 'the same in CSV: refused with the reason (it once said only "must be number")',
    content: () => 'id,amount\n1,1e999\n',
    expect: { event: 'failed', stage: 'validate', reason: 'line 2, field "amount" = "1e999": range: outside the range of a 64-bit float (too large; PostgreSQL refuses it)' },
  },
  {
    file: 'leap-second.jsonl',
    why: 'a valid leap second failed in the Parquet conversion and was retried for ever',
    content: () =>
      ['{"id": 1, "seen": "2016-12-31T23:59:60Z"}', '{"id": 2, "seen": "2017-01-01T00:59:60.000+01:00"}'].join('\n') + '\n',
    expect: { event: 'loaded', rows: 2 },
    verify: async ({ pool, parquetFile }) => {
      // PostgreSQL reads :60 as the first instant of the next minute; the Parquet file says the same.
      const { rows } = await pool.query(
        `SELECT round(extract(epoch FROM seen) * 1000)::bigint::text AS ms FROM hostile.jsonl_rows WHERE _source_file = 'leap-second.jsonl' ORDER BY id`,
      );
      const expected = [String(Date.UTC(2017, 0, 1)), String(Date.UTC(2017, 0, 1))];
      assert.deepEqual(rows.map((r: { ms: string }) => r.ms), expected);
      const { readParquetFile } = await import('../../helpers/parquet.js');
      const parquet = await readParquetFile(await parquetFile('h-jsonl', 'leap-second.jsonl'));
      // apache-arrow hands timestamp(µs) values back as milliseconds.
      assert.deepEqual([...parquet.getChild('seen')!].map((v) => String(Number(v))), expected);
    },
  },
  {
    file: 'old-times.jsonl',
    why: 'a timestamp from 1685 to 1714 lost its last microseconds in COPY (shifted to 2000 in doubles past 2^53)',
    content: () =>
      ['1700-03-01T12:34:56.789123Z', '1685-06-01T00:00:00.000001Z', '1500-01-01T00:00:00.999999Z', '2262-04-11T23:47:16.854775Z']
        .map((seen, i) => `{"id": ${i + 1}, "seen": "${seen}"}`)
        .join('\n') + '\n',
    expect: { event: 'loaded', rows: 4 },
    verify: async ({ pool, parquetFile }) => {
      const expected = ['1700-03-01 12:34:56.789123', '1685-06-01 00:00:00.000001', '1500-01-01 00:00:00.999999', '2262-04-11 23:47:16.854775'];
      const { rows } = await pool.query(
        `SELECT to_char(seen AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS t FROM hostile.jsonl_rows WHERE _source_file = 'old-times.jsonl' ORDER BY id`,
      );
      assert.deepEqual(rows.map((r: { t: string }) => r.t), expected);
      // The Parquet file holds the same microseconds since 1970.
      const micros = (pg: string) => { const [d, frac] = pg.split('.'); return BigInt(Date.parse(`${d!.replace(' ', 'T')}Z`)) * 1000n + BigInt(frac!); };
      const { readParquetFile } = await import('../../helpers/parquet.js');
      const parquet = await readParquetFile(await parquetFile('h-jsonl', 'old-times.jsonl'));
      const seen = parquet.getChild('seen')!.data[0]!.values as BigInt64Array;
      assert.deepEqual([...seen], expected.map(micros));
    },
  },
  {
    file: 'leap-fraction.jsonl',
    why: 'ajv accepts 23:59:60.5Z, PostgreSQL does not: refused at validation with the field, not at COPY',
    content: () => '{"id": 1, "seen": "2016-12-31T23:59:60.5Z"}\n',
    expect: { event: 'failed', stage: 'validate', reason: /^line 1, field "seen" = "2016-12-31T23:59:60.5Z": range: a leap second with a fraction/ },
  },
  {
    file: 'no-clock.jsonl',
    why: 'ajv-formats takes 24:59:00+01:00 for a leap second (23:59 UTC); converting it threw and failed the whole file',
    content: () => '{"id": 1, "seen": "2024-01-01T00:00:00Z"}\n{"id": 2, "seen": "2016-12-31T24:59:00+01:00"}\n',
    expect: { event: 'failed', stage: 'validate', reason: /^line 2, field "seen" = "2016-12-31T24:59:00\+01:00": range: not a time of day/ },
  },
  {
    file: 'no-clock.csv',
    why: 'the same value in a CSV file',
    content: () => 'id,seen\n1,2024-01-01T00:00:00Z\n2,2016-12-31T24:59:00+01:00\n',
    expect: { event: 'failed', stage: 'validate', reason: /^line 3, field "seen" = "2016-12-31T24:59:00\+01:00": range: not a time of day/ },
  },
  {
    file: 'dedupe-rows.csv',
    why: 'drop_duplicate_rows dropped rows on a 64-bit hash; now a SHA-256 digest decides',
    content: () => 'id,name\n1,a\n1,a\n2,b\n1,a\n',
    expect: { event: 'loaded', rows: 2 },
  },
  {
    file: 'int-forms.jsonl',
    why: 'JSON integers written with a fraction or an exponent went through a double (…993.0 stored as …992, the int64 maximum .0 refused)',
    content: () => ['9007199254740993.0', '12345678901234567890e-1', '9223372036854775807.0', '1e3'].map((id) => `{"id": ${id}}`).join('\n') + '\n',
    expect: { event: 'loaded', rows: 4 },
    verify: async ({ pool }) => {
      const { rows } = await pool.query(`SELECT id::text AS id FROM hostile.jsonl_rows WHERE _source_file = 'int-forms.jsonl' ORDER BY _source_record`);
      assert.deepEqual(rows.map((r: { id: string }) => r.id), ['9007199254740993', '1234567890123456789', '9223372036854775807', '1000']);
    },
  },
  {
    file: 'int-not-whole.jsonl',
    why: 'a number that is not whole as written loaded as an integer when its double was (1.00000000000000001 as 1)',
    content: () => '{"id": 1.00000000000000001}\n',
    expect: { event: 'failed', stage: 'validate', reason: /^line 1, field "id" = 1\.00000000000000001: type: must be integer \(1\.00000000000000001 is not a whole number/ },
  },
  {
    file: 'int-forms.csv',
    why: 'CSV took fewer integer spellings than JSON (1.0 refused) and refused the white space PostgreSQL skips',
    content: () => 'id\n1.0\n300.00\n" 12 "\n1e3\n',
    expect: { event: 'loaded', rows: 4 },
    verify: async ({ pool }) => {
      const { rows } = await pool.query(`SELECT id::text AS id FROM hostile.csv_rows WHERE _source_file = 'int-forms.csv' ORDER BY _source_record`);
      assert.deepEqual(rows.map((r: { id: string }) => r.id), ['1', '300', '12', '1000']);
    },
  },
  {
    file: 'underflow.csv',
    why: 'a number too small for a double was stored as 0',
    content: () => 'id,amount\n1,1e-400\n',
    expect: { event: 'failed', stage: 'validate', reason: 'line 2, field "amount" = "1e-400": range: too small for a 64-bit float (it would be stored as 0; PostgreSQL refuses it)' },
  },
  {
    file: 'year-zero.jsonl',
    why: 'year 0000, which PostgreSQL refuses, was stored shifted (as 1 BC or into year 1)',
    content: () => '{"id": 1, "seen": "0000-06-01T00:00:00Z"}\n',
    expect: { event: 'failed', stage: 'validate', reason: /^line 1, field "seen" = "0000-06-01T00:00:00Z": range: year 0000/ },
  },
  {
    file: 'offset-16.csv',
    why: 'an offset of +16:00 (PostgreSQL stops at ±15:59) landed on the previous day',
    content: () => 'id,seen\n1,2024-01-01T00:00:00+16:00\n',
    expect: { event: 'failed', stage: 'validate', reason: /^line 2, field "seen" = "2024-01-01T00:00:00\+16:00": range: a UTC offset of \+16:00/ },
  },
  {
    file: 'unicode-space.jsonl',
    why: 'a Unicode space as the date/time separator (ajv\'s \\s takes it, PostgreSQL does not) was loaded',
    content: () => '{"id": 1, "seen": "2024-01-01\u00a000:00:00Z"}\n',
    expect: { event: 'failed', stage: 'validate', reason: /^line 1, field "seen" = .*: date-time: U\+00A0 between the date and the time/ },
  },
  {
    file: 'sub-micro.jsonl',
    why: 'digits below the microsecond were rounded on their decimal digits, not as PostgreSQL rounds them (.0001255 stored as .000126)',
    content: () => '{"id": 1, "seen": "2024-06-15T12:34:56.0001255Z"}\n',
    expect: { event: 'loaded', rows: 1 },
    verify: async ({ pool, parquetFile }) => {
      const { rows } = await pool.query(`SELECT (seen = '2024-06-15T12:34:56.0001255Z'::timestamptz) AS same, to_char(seen AT TIME ZONE 'UTC', 'US') AS us FROM hostile.jsonl_rows WHERE _source_file = 'sub-micro.jsonl'`);
      assert.deepEqual(rows, [{ same: true, us: '000125' }]);
      const { readParquetFile, storedValues } = await import('../../helpers/parquet.js');
      const micros = storedValues(await readParquetFile(await parquetFile('h-jsonl', 'sub-micro.jsonl')), 'seen')[0] as bigint;
      assert.equal(micros % 1_000_000n, 125n);
    },
  },
  {
    file: 'bom-text.csv',
    why: 'a leading U+FEFF in a text value looked dropped in Parquet: the file holds it (apache-arrow\'s JavaScript reader drops it when decoding)',
    content: () => 'id,name\n1,\ufeffabc\n2,\ufeff\n',
    expect: { event: 'loaded', rows: 2 },
    verify: async ({ pool, parquetFile }) => {
      const { rows } = await pool.query(`SELECT name FROM hostile.csv_rows WHERE _source_file = 'bom-text.csv' ORDER BY id`);
      assert.deepEqual(rows.map((r: { name: string }) => r.name), ['\ufeffabc', '\ufeff']);
      const { readParquetFile, storedValues } = await import('../../helpers/parquet.js');
      assert.deepEqual(storedValues(await readParquetFile(await parquetFile('h-csv', 'bom-text.csv')), 'name'), ['\ufeffabc', '\ufeff']);
    },
  },
];
