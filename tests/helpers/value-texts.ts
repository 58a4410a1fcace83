/**
 * Value texts of every column kind for the differential tests against PostgreSQL: the edges that
 * once changed a value silently, and random ones (fast-check). A CSV case is the text of a cell; a
 * JSON case is a JSON literal (the value as JSON writes it) with the text PostgreSQL is given to read.
 */
import fc from 'fast-check';
import type { ColumnKind } from '../../src/columns.js';

export const KINDS = ['integer', 'number', 'boolean', 'string', 'date', 'timestamp', 'json'] as const satisfies readonly ColumnKind[];
export type Kind = (typeof KINDS)[number];

/** The white space PostgreSQL's input functions skip around a number or boolean (C `isspace`). */
export const ASCII_SPACE = [' ', '\t', '\n', '\v', '\f', '\r'];
/** Unicode spaces JavaScript's `\s` matches and PostgreSQL does not. */
export const UNICODE_SPACES = ['\u00a0', '\u2003', '\u3000', '\ufeff', '\u2028', '\u1680', '\u202f'];

const NUMBER_EDGES = [
  '0', '-0', '+0', '1', '-1', '+5', '007', '1.0', '300.00', '-0.0', '1e3', '1E+2', '10e-1', '1e-0', '.5', '5.', '-.5', '1.5', '0.1',
  '9007199254740991', '9007199254740992', '9007199254740993', '9007199254740993.0', '-9007199254740993', '12345678901234567890e-1',
  '123456789012345678.9', '1.00000000000000001', '0.99999999999999999', '9223372036854775807', '9223372036854775807.0',
  '9223372036854775808', '-9223372036854775808', '-9223372036854775808.000', '-9223372036854775809', '922337203685477580.7e1',
  '9.223372036854775807e18', '9.223372036854775808e18', '1e18', '1e19', '1e30', '999999999999999e3', '999999999999999.01',
  '4503599627370497.5', '1e-400', '-1e-400', '2e-324', '3e-324', '4.9e-324', '2.4703282292062328e-324', '2.2250738585072014e-308',
  '1e308', '1.7976931348623157e308', '1.7976931348623158e308', '1.7976931348623159e308', '1e309', '1e999', '-1e999', '0e999',
  '0e-999', '0.000', '1e999999999', '1e-999999999', '0.30000000000000004', '0.10000000000000001', '3.141592653589793238462643383279',
  ' 12', '12 ', '\t12\n', ' 1.5 ', '\v1\f', '\r-3\r', '1 2', '- 1', '', ' ', 'NaN', 'nan', 'Infinity', '-Infinity', 'inf', '0x10', '0b101',
  '0o17', '1_000', '1e', 'e5', '+', '-', '.', '1.2.3', '١٢', '１', '12\u00a0', '\u00a012', '1,5', '0x1p3', '1d', '1f', '--1', '+-1',
];

const BOOLEAN_EDGES = [
  'true', 'false', 'TRUE', 'False', 't', 'f', 'T', 'F', 'yes', 'no', 'YES', 'No', 'y', 'n', 'Y', 'N', 'on', 'off', 'ON', 'Off', '1', '0',
  ' true', 'false ', '\ttrue\n', ' on ', '\voff\f', 'tr', 'tru', 'fa', 'fals', 'ye', 'of', 'o', 'truee', '01', '10', '2', '-1', 'yes!',
  'ｔrue', 'ı', 'K', '', ' ', 'null', 'maybe', 'true\u00a0', '\u3000false',
];

const STRING_EDGES = [
  'a', 'größe', '😀', 'e\u0301', '\ufeffabc', '\ufeff', 'abc\ufeff', ' padded ', '\ttab', 'line\nbreak', 'cr\rlf\r\n', 'quote"d', '""',
  'comma,here', 'back\\slash', 'a\u0000b', '\u0000', '\u2028\u2029', '\u00a0', 'null', 'NULL', '\\N', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢', '\u200b', '\u0007bell',
];

const DATE_EDGES = [
  '2024-02-29', '2023-02-29', '1900-02-29', '2000-02-29', '0000-01-01', '0000-12-31', '0001-01-01', '1582-10-04', '1582-10-10',
  '1582-10-15', '9999-12-31', '1970-01-01', '1969-12-31', '2024-13-01', '2024-00-10', '2024-04-31', '2024-1-01', '20240101',
  '2024-01-01T00:00:00Z', ' 2024-01-01', '2024-01-01 ', '２０２４-01-01', '+2024-01-01', '2024/01/01', '01-02-2024', '1.2.2024',
];

const TIMESTAMP_EDGES = [
  '2024-06-15T12:34:56.0001255Z', '2024-06-15T12:34:56.0001265Z', '2024-06-15T12:34:56.1234565Z', '2024-06-15T12:34:56.1234575Z',
  '2024-06-15T12:34:56.9999995Z', '2024-06-15T12:34:56.9999996Z', '2024-06-15T12:34:56.0000005Z', '2024-06-15T12:34:56.00000050000001Z',
  '2024-06-15T12:34:56.123456789012345678901234567890Z', '2016-12-31T23:59:59.9999996Z', '2016-12-31T23:59:60Z', '2016-12-31T23:59:60.5Z',
  '2016-12-31T23:59:60.0000004Z', '2016-12-31T23:59:60.0000005Z', '2016-12-31T23:59:60.0000006Z', '2016-12-31T23:59:60.000Z',
  '2017-01-01T00:59:60+01:00', '2016-12-31T22:59:60Z', '2016-12-31T24:59:00+01:00', '2024-03-01T12:34:60Z',
  '0000-01-01T00:00:00Z', '0000-12-31T23:00:00-02:00', '0001-01-01T00:00:00Z', '0001-01-01T00:00:00+15:00', '0001-01-01T00:00:00+15:59',
  '9999-12-31T23:59:59.999999Z', '9999-12-31T23:59:59.9999999Z', '9999-12-31T23:59:59-15:59', '1582-10-10T12:00:00Z',
  '2024-01-01T00:00:00+15:59', '2024-01-01T00:00:00-15:59', '2024-01-01T00:00:00+16:00', '2024-01-01T00:00:00-16:00',
  '2024-01-01T00:00:00+23:59', '2024-01-01T00:00:00-23:59', '2024-01-01T00:00:00+24:00', '2024-01-01T00:00:00+0100', '2024-01-01T00:00:00+01',
  '2024-01-01T00:00:00+1600', '2024-01-01T00:00:00-16', '2024-01-01t00:00:00z', '2024-01-01 00:00:00Z', '2024-01-01\t00:00:00Z',
  '2024-01-01\n00:00:00Z', '2024-01-01\r00:00:00Z', '2024-01-01\v00:00:00Z', '2024-01-01\f00:00:00Z', '2024-01-01  00:00:00Z',
  ...UNICODE_SPACES.map((s) => `2024-01-01${s}00:00:00Z`), '2024-01-01T00:00:00', '2024-01-01T00:00:00.Z', '2024-01-01T24:00:00Z',
  '2024-02-29T12:00:00Z', '2023-02-29T12:00:00Z', '1969-12-31T23:59:59.999999Z', '1700-03-01T12:34:56.789123Z', ' 2024-01-01T00:00:00Z',
  '2024-01-01T00:00:00Z ', '2024-01-01T00:00:00-00:00', '2024-01-01T00:00:00.1+05:30', '2262-04-11T23:47:16.854775807Z',
];

const JSON_EDGES = [
  '{}', '[]', '{"a":1}', '[1,"x",null,true]', '{"big":12345678901234567890,"list":[9007199254740993]}', '{"x":9007199254740993.0}',
  '{"x":1.00000000000000001}', '{"x":0.10000000000000001}', '{"x":1.0}', '{"x":-0}', '{"x":-0.0}', '{"x":1e2}', '{"x":1E-3}',
  '{"x":123456789012345678.9}', '{"x":3.141592653589793238462643383279}', '{"x":1e-400}', '{"x":1e999}', '{"x":2.4703282292062328e-324}',
  '{"x":"\\u0000"}', '{"x":"a\\u0000b"}', '{"x":"\\ud800"}', '{"x":"\\udc00x"}', '{"x":"\\ud83d\\ude00"}', '{"\\u0000":1}',
  '{"__proto__":1}', '{"constructor":{"length":37},"toString":1}', '{"a":{"b":{"c":[[[]]]}}}', '{"dup":1,"dup":2}', '{"x":"\\ufeff"}',
  '"text"', '12', 'null', 'true', '{"x":1', '{x:1}', '[1,]', '{"x":NaN}', ' {"spaced" : [ 1 , 2 ] } ',
];

/** An int64-ish or decimal text in one of many spellings. */
const decimalText = fc
  .record({
    sign: fc.constantFrom('', '', '-', '+'),
    whole: fc.oneof(fc.constant(''), fc.stringMatching(/^[0-9]{1,25}$/)),
    fraction: fc.option(fc.stringMatching(/^[0-9]{0,25}$/), { nil: undefined }),
    exponent: fc.option(fc.integer({ min: -420, max: 420 }), { nil: undefined }),
    expChar: fc.constantFrom('e', 'E'),
  })
  .map(({ sign, whole, fraction, exponent, expChar }) => {
    const body = `${whole}${fraction === undefined ? '' : `.${fraction}`}` || '0';
    return `${sign}${body}${exponent === undefined ? '' : `${expChar}${exponent >= 0 && exponent % 2 ? '+' : ''}${exponent}`}`;
  });

const numberText = fc.oneof(
  decimalText,
  fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }).map(String),
  fc.bigInt({ min: 2n ** 63n - 2000n, max: 2n ** 63n + 2000n }).chain((n) => fc.constantFrom(String(n), String(-n), `${n}.0`, `${n}.5`)),
  fc.double({ noNaN: true, noDefaultInfinity: true }).chain((d) =>
    fc.constantFrom(String(d), d.toExponential(), d.toPrecision(17), d.toPrecision(21), Math.abs(d) < 1e21 ? d.toFixed(20) : String(d)),
  ),
  fc.integer({ min: -1e6, max: 1e6 }).chain((n) => fc.constantFrom(String(n), `${n}.000`, `${n}e0`, `${n / 1000}e3`)),
);

const day = fc
  .record({ y: fc.integer({ min: 0, max: 9999 }), m: fc.integer({ min: 0, max: 13 }), d: fc.integer({ min: 0, max: 32 }) })
  .map(({ y, m, d }) => `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`);

const timestampText = fc
  .record({
    day,
    h: fc.integer({ min: 0, max: 24 }),
    mi: fc.integer({ min: 0, max: 60 }),
    s: fc.integer({ min: 0, max: 61 }),
    frac: fc.oneof(fc.constant(''), fc.stringMatching(/^\.[0-9]{1,12}$/), fc.stringMatching(/^\.[0-9]{6}5$/)),
    sep: fc.constantFrom('T', 't', ' ', 'T', 'T', '\t', '\u00a0'),
    zone: fc.oneof(
      fc.constantFrom('Z', 'z', '', '-00:00'),
      fc.record({ sign: fc.constantFrom('+', '-'), h: fc.integer({ min: 0, max: 24 }), m: fc.integer({ min: 0, max: 60 }), colon: fc.constantFrom(':', ':', '') }).map(
        ({ sign, h, m, colon }) => `${sign}${String(h).padStart(2, '0')}${colon}${String(m).padStart(2, '0')}`,
      ),
    ),
  })
  .map(({ day, h, mi, s, frac, sep, zone }) => `${day}${sep}${String(h).padStart(2, '0')}:${String(mi).padStart(2, '0')}:${String(s).padStart(2, '0')}${frac}${zone}`);

/** Texts with characters a CSV file can hold (valid UTF-8: no lone surrogates). */
const stringText = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 });

const jsonText = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)).filter((t) => t !== undefined);

/** Every kind's texts: the edges and `random` more (fixed by `seed`). */
export function valueTexts(seed: number, random: number): Record<Kind, string[]> {
  const sample = (arb: fc.Arbitrary<string>, offset: number) => fc.sample(arb, { numRuns: random, seed: seed + offset });
  const dedupe = (texts: string[]) => [...new Set(texts)];
  return {
    integer: dedupe([...NUMBER_EDGES, ...sample(numberText, 1)]),
    number: dedupe([...NUMBER_EDGES, ...sample(numberText, 2)]),
    boolean: dedupe([...BOOLEAN_EDGES, ...sample(fc.constantFrom(...BOOLEAN_EDGES).chain((b) => fc.constantFrom(b, b.toUpperCase(), ` ${b}\t`)), 3)]),
    string: dedupe([...STRING_EDGES, ...sample(stringText, 4)]),
    date: dedupe([...DATE_EDGES, ...sample(day, 5)]),
    timestamp: dedupe([...TIMESTAMP_EDGES, ...sample(timestampText, 6)]),
    json: dedupe([...JSON_EDGES, ...sample(jsonText, 7)]),
  };
}

/** A JSON number literal (the JSON grammar, nothing around it). */
export const JSON_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

/**
 * The JSON literal a JSONL or JSON file holds for a text of a kind, or null when JSON cannot write
 * it so that it means the text: numbers as written when they are JSON numbers, booleans as
 * `true`/`false`, text as a JSON string, JSON as it is.
 */
export function jsonLiteral(kind: Kind, text: string): string | null {
  switch (kind) {
    case 'integer':
    case 'number':
      return JSON_NUMBER.test(text) ? text : null;
    case 'boolean':
      return text === 'true' || text === 'false' ? text : null;
    case 'json':
      return text;
    default:
      return JSON.stringify(text);
  }
}

/** JSON string literals no JavaScript string holds (lone surrogates) or PostgreSQL refuses. */
export const RAW_STRING_LITERALS = ['"\\ud800"', '"x\\udc00"', '"\\u0000"', '"\\ud83d\\ude00"', '"\\ud83d"'];

/** A CSV cell: quoted when it must be (and now and then when it need not be). */
export function csvCell(text: string, index: number): string {
  if (text === '') return '';
  return /[",\r\n]/.test(text) || index % 3 === 0 ? `"${text.replaceAll('"', '""')}"` : text;
}
