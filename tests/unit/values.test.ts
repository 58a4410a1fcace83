/** Value-level conversions: the fast date-time and date formats (same accepted set as ajv-formats) and values into Arrow. */
import { fullFormats } from 'ajv-formats/dist/formats.js';
import { dateFormat, dateTimeFormat } from '../../src/validate/formats.js';
import { timestampMicros } from '../../src/write/time.js';
import { vectorsFromRecords } from '../../src/write/vectors.js';

const timestampToMicros = (value: string) => BigInt(timestampMicros(value));
const LINEAGE = { fileId: '1', sourceFile: 'f.csv' };

const fullDateTime = (fullFormats['date-time'] as { validate: (s: string) => boolean }).validate;
const fullDate = (fullFormats.date as { validate: (s: string) => boolean }).validate;
const fast = (f: typeof dateTimeFormat) => f.validate as (s: string) => boolean;

const EDGE_DATE_TIMES = [
  '2024-03-01T12:34:56Z', '2024-03-01t12:34:56z', '2024-03-01 12:34:56Z', '2024-03-01T12:34:56.1Z',
  '2024-03-01T12:34:56.123456789+01:00', '2024-03-01T12:34:56-23:59', '2024-03-01T12:34:56+24:00',
  '2024-03-01T12:34:56+01:60', '2024-03-01T12:34:56+0100', '2024-03-01T12:34:56+01', '2024-03-01T12:34:56',
  '2024-03-01T12:34:56.Z', '2024-02-29T00:00:00Z', '2023-02-29T00:00:00Z', '1900-02-29T00:00:00Z',
  '2000-02-29T00:00:00Z', '2024-13-01T00:00:00Z', '2024-00-01T00:00:00Z', '2024-04-31T00:00:00Z',
  '2024-04-00T00:00:00Z', '2024-03-01T24:00:00Z', '2024-03-01T23:60:00Z', '2024-03-01T23:59:60Z',
  '2024-03-01T22:59:60-01:00', '2024-03-01T12:34:60Z', '2024-03-01T12:34:56ZZ', '2024-03-01T1:34:56Z',
  '2024-3-01T12:34:56Z', '２０２４-03-01T12:34:56Z', '2024-03-01\t12:34:56Z', '2024-03-01\n12:34:56Z',
  '2024-03-01T12:34:56.123Zx', ' 2024-03-01T12:34:56Z', '2024-03-01T12:34:56 Z', '', 'T', '2024-03-01',
  '+2024-03-01T12:34:56Z', '2024-03-01T12:34:56.5+05:30', '9999-12-31T23:59:59.999999Z', '0000-01-01T00:00:00Z',
];
const EDGE_DATES = ['2024-03-01', '2024-02-29', '2023-02-29', '2024-13-01', '2024-1-01', '2024-01-01T', '', '20240101', '0000-00-00'];

it('agrees with ajv-formats on edge cases', () => {
  for (const s of EDGE_DATE_TIMES) expect([s, fast(dateTimeFormat)(s)]).toEqual([s, fullDateTime(s)]);
  for (const s of EDGE_DATES) expect([s, fast(dateFormat)(s)]).toEqual([s, fullDate(s)]);
});

it('agrees with ajv-formats on random mutations of valid strings', () => {
  let seed = 42;
  const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const alphabet = '0123456789-:.TtZz+ \t';
  for (let n = 0; n < 20_000; n++) {
    const chars = [...EDGE_DATE_TIMES[n % 6]!];
    const edits = 1 + Math.floor(random() * 3);
    for (let e = 0; e < edits; e++) chars[Math.floor(random() * chars.length)] = alphabet[Math.floor(random() * alphabet.length)]!;
    const s = chars.join('');
    expect([s, fast(dateTimeFormat)(s)]).toEqual([s, fullDateTime(s)]);
    const d = s.slice(0, 10);
    expect([d, fast(dateFormat)(d)]).toEqual([d, fullDate(d)]);
  }
});

it('converts date-times to microseconds, keeping digits below the millisecond and the offset', () => {
  expect(timestampToMicros('1970-01-01T00:00:00Z')).toBe(0n);
  expect(timestampToMicros('2024-03-01T12:34:56.123456Z')).toBe(BigInt(Date.UTC(2024, 2, 1, 12, 34, 56, 123)) * 1000n + 456n);
  // Below the microsecond: rounded half to even, as PostgreSQL rounds.
  expect(timestampToMicros('2024-03-01T12:34:56.1234567+01:30')).toBe(BigInt(Date.UTC(2024, 2, 1, 11, 4, 56, 123)) * 1000n + 457n);
  expect(timestampToMicros('2024-03-01T12:34:56.1234565Z')).toBe(BigInt(Date.UTC(2024, 2, 1, 12, 34, 56, 123)) * 1000n + 456n);
  expect(timestampToMicros('2024-03-01T12:34:56.12345651Z')).toBe(BigInt(Date.UTC(2024, 2, 1, 12, 34, 56, 123)) * 1000n + 457n);
  expect(timestampToMicros('2024-03-01T12:34:56.9999996Z')).toBe(BigInt(Date.UTC(2024, 2, 1, 12, 34, 57)) * 1000n);
  expect(timestampToMicros('1969-12-31T23:59:59.999999Z')).toBe(-1n);
  expect(timestampToMicros('2024-03-01 12:34:56-05:00')).toBe(BigInt(Date.UTC(2024, 2, 1, 17, 34, 56)) * 1000n);
  expect(timestampToMicros('2024-03-01T12:34:56+0100')).toBe(BigInt(Date.UTC(2024, 2, 1, 11, 34, 56)) * 1000n);
});

it('writes 64-bit integers and timestamps into Arrow exactly, including negative, large and unsafe values', async () => {
  const { batchStream } = await import('../../src/write/arrow.js');
  const { tableFromIPC } = await import('apache-arrow');
  const columns = [
    { name: 'n', kind: 'integer' as const, pgType: 'bigint' },
    { name: 't', kind: 'timestamp' as const, pgType: 'timestamp with time zone' },
  ];
  const ints = [-1, 0, 1, 2 ** 31, -(2 ** 31) - 1, 2 ** 32 + 5, -(2 ** 53 - 1), 2 ** 53 - 1, 2 ** 60, null];
  const times = ['1970-01-01T00:00:00Z', '1969-12-31T23:59:59.999999Z', '2024-03-01T12:34:56.123456+01:00', '9999-12-31T23:59:59.999999Z', '0001-01-01T00:00:00Z', null, null, null, null, null];
  const records = ints.map((n, i) => ({ n: n ?? undefined, t: times[i] ?? undefined }));
  const batch = tableFromIPC(batchStream(columns, vectorsFromRecords(columns, records, records.map((_, i) => i + 1)), LINEAGE));
  expect([...batch.getChild('n')!].map((v) => (v === null ? null : BigInt(v as bigint)))).toEqual(ints.map((n) => (n === null ? null : BigInt(n))));
  const expected = times.map((t) => (t === null ? null : timestampToMicros(t)));
  expect(expected[1]).toBe(-1n);
  const words = batch.getChild('t')!.data[0]!.values as BigInt64Array;
  expect([...words].map((v, i) => (times[i] === null ? null : v))).toEqual(expected);
});

it('writes text columns into Arrow exactly: ASCII, non-ASCII, empty, null and JSON values', async () => {
  const { batchStream } = await import('../../src/write/arrow.js');
  const { tableFromIPC } = await import('apache-arrow');
  const columns = [
    { name: 's', kind: 'string' as const, pgType: 'text' },
    { name: 'j', kind: 'json' as const, pgType: 'jsonb' },
  ];
  const ascii = ['a', '', 'bc', null, 'd,e'];
  const mixed = ['a', 'größe', '', null, '😀 emoji', '\ud800 lone', 'z'];
  for (const texts of [ascii, mixed]) {
    const records = texts.map((s, i) => ({ s: s ?? undefined, j: s === null ? undefined : { i, s } }));
    const batch = tableFromIPC(batchStream(columns, vectorsFromRecords(columns, records, records.map((_, i) => i + 1)), LINEAGE));
    const expected = texts.map((s) => (s === null ? null : Buffer.from(s).toString()));
    expect([...batch.getChild('s')!]).toEqual(expected);
    expect([...batch.getChild('j')!].map((v) => (v === null ? null : JSON.parse(v as string)))).toEqual(
      texts.map((s, i) => (s === null ? null : { i, s })), // JSON text escapes a lone surrogate, so it survives
    );
  }
});

describe('values PostgreSQL reads otherwise, or refuses (issue 29)', () => {
  it('rounds digits below the microsecond as PostgreSQL does: the nearest double of the fraction, times 10^6, ties to even', () => {
    // The double nearest 0.0001255 is a little below it: PostgreSQL stores .000125 (rounding the digits gave .000126).
    expect(timestampToMicros('2024-06-15T12:34:56.0001255Z') % 1_000_000n).toBe(125n);
    expect(timestampToMicros('2024-06-15T12:34:56.0000005Z') % 1_000_000n).toBe(0n);
    expect(timestampToMicros('2024-06-15T12:34:56.0000015Z') % 1_000_000n).toBe(2n);
    expect(timestampToMicros('2016-12-31T23:59:59.9999996Z')).toBe(BigInt(Date.UTC(2017, 0, 1)) * 1000n);
  });

  it('refuses what PostgreSQL refuses and ajv-formats accepts, each with its rule', async () => {
    const { timestampRule, dateRule } = await import('../../src/validate/targets.js');
    expect(dateRule('0000-01-01')).toMatch(/^range: year 0000/);
    expect(timestampRule('0000-12-31T23:00:00-02:00')).toMatch(/^range: year 0000/);
    for (const offset of ['+16:00', '-16:00', '+23:59', '+2359', '-18']) expect(timestampRule(`2024-01-01T00:00:00${offset}`)).toMatch(/^range: a UTC offset of [+-]\d\d:\d\d, beyond PostgreSQL's limit of ±15:59/);
    expect(timestampRule('2024-01-01T00:00:00+15:59')).toBeNull();
    for (const space of ['\u00a0', '\u2003', '\u3000', '\ufeff', '\u2028']) {
      expect(fullDateTime(`2024-01-01${space}00:00:00Z`)).toBe(true);
      expect(timestampRule(`2024-01-01${space}00:00:00Z`)).toMatch(/^date-time: U\+[0-9A-F]{4} between the date and the time/);
    }
    for (const space of [' ', '\t', 'T', 't']) expect(timestampRule(`2024-01-01${space}00:00:00Z`)).toBeNull();
    // A leap second whose fraction rounds to no microsecond is the next minute, as in PostgreSQL.
    expect(timestampRule('2016-12-31T23:59:60.0000004Z')).toBeNull();
    expect(timestampRule('2016-12-31T23:59:60.0000006Z')).toMatch(/leap second with a fraction/);
    const { coerceText } = await import('../../src/prepare/coerce.js');
    expect(coerceText('1e-400', 'number')).toMatchObject({ rule: expect.stringMatching(/too small for a 64-bit float/) });
    expect(coerceText('2e-324', 'number')).toMatchObject({ rule: expect.stringMatching(/too small for a 64-bit float/) });
    expect(coerceText('3e-324', 'number')).toBe(5e-324);
  });
});
