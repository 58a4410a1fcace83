/**
 * Differential tests: the JSONL line parser (a scan for limits and exact numbers, then JSON.parse or
 * lossless-json) agrees with JSON.parse on every value JSON.parse keeps exactly, and keeps every
 * integer literal exactly where JSON.parse would round it.
 */
import fc from 'fast-check';
import { DEFAULT_LIMITS } from '../../src/config/load.js';
import { DecimalText, jsonText, parseJsonNumber } from '../../src/read/json-values.js';
import { decimalOf, sameDecimal } from '../../src/read/number-text.js';
import { parseLine } from '../../src/read/jsonl.js';

const limits = { ...DEFAULT_LIMITS, maxDepth: 1000, maxColumns: 100_000, maxRecordValues: 10_000_000 };

const plainJson = fc.jsonValue({ maxDepth: 6 }).filter((v) => JSON.stringify(v) !== undefined);

/** The exact integer a JavaScript number's text writes ("1e+21", "12345678901234567000"). */
function exactInteger(text: string): bigint {
  const [mantissa, exponent = '0'] = text.split('e');
  const [whole, fraction = ''] = mantissa!.split('.');
  return BigInt(whole! + fraction) * 10n ** BigInt(Number(exponent) - fraction.length);
}

/**
 * What loadbay must read: JSON.parse's value, except that a whole number beyond ±2^53 is a BigInt of
 * the value its text writes (JSON.parse would round 9007199254740993; "1e+21" is 10^21 exactly).
 */
const expected = (text: string) =>
  JSON.parse(text, (_key, v: unknown) => (typeof v === 'number' && Number.isInteger(v) && !Number.isSafeInteger(v) && Math.abs(v) < 2 ** 63 ? exactInteger(String(v)) : v));

describe('parseLine agrees with JSON.parse', () => {
  it('on objects of arbitrary JSON values', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), plainJson, { maxKeys: 8 }), (record) => {
        const text = JSON.stringify(record);
        const parsed = parseLine(text, 1, limits);
        expect(parsed).toEqual({ record: expected(text) });
      }),
      { numRuns: 500 },
    );
  });

  it('on the same values with whitespace and escapes, as another producer writes them', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ unit: 'binary' }), plainJson, { maxKeys: 6 }), (record) => {
        const text = JSON.stringify(record, null, 1).replace(/\n/g, ' ');
        expect(parseLine(text, 1, limits)).toEqual({ record: expected(text) });
      }),
      { numRuns: 300 },
    );
  });

  it('through the full scan too (lines that could break a limit are scanned character by character)', () => {
    // maxColumns: 1 sends every line of 4 characters or more through the full scan.
    const scanned = { ...limits, maxColumns: 1 };
    fc.assert(
      fc.property(fc.string(), plainJson, (key, value) => {
        const text = JSON.stringify({ [key]: value });
        expect(parseLine(text, 1, scanned)).toEqual({ record: expected(text) });
      }),
      { numRuns: 500 },
    );
  });

  it('on lines JSON.parse refuses: a problem, never a record', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        let valid = true;
        try {
          const value = JSON.parse(text);
          valid = typeof value === 'object' && value !== null && !Array.isArray(value);
        } catch {
          valid = false;
        }
        const parsed = parseLine(text, 1, limits);
        expect('record' in parsed).toBe(valid);
      }),
      { numRuns: 500 },
    );
  });
});

describe('integers beyond 2^53 stay exact', () => {
  it('through parseLine, at any nesting, and back out through jsonText', () => {
    const big = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
    fc.assert(
      fc.property(big, big, (a, b) => {
        const text = `{"a": ${a}, "nested": {"list": [${b}, 1.5]}}`;
        const parsed = parseLine(text, 1, limits);
        if (!('record' in parsed)) throw new Error('expected a record');
        const expectValue = (n: bigint) => (n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n);
        expect(parsed.record).toEqual({ a: expectValue(a), nested: { list: [expectValue(b), 1.5] } });
        expect(jsonText(parsed.record)).toBe(`{"a":${a},"nested":{"list":[${b},1.5]}}`);
      }),
      { numRuns: 500 },
    );
  });

  it('parseJsonNumber: doubles as JSON.parse reads them, integers exact, overflow refused', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (d) => {
        const text = JSON.stringify(d);
        const wanted = Number.isSafeInteger(d) || !Number.isInteger(d) || Math.abs(d) >= 2 ** 63 ? JSON.parse(text) : exactInteger(text);
        expect(parseJsonNumber(text)).toBe(wanted);
      }),
      { numRuns: 1000 },
    );
    expect(() => parseJsonNumber('1e309')).toThrow('outside the range of a 64-bit float');
    expect(parseJsonNumber('1e308')).toBe(1e308);
    expect(parseJsonNumber('-0')).toBe(-0);
  });
});

describe('every number literal is decided from its text', () => {
  it('whole numbers written with a fraction or an exponent are exact integers; others are never integers', () => {
    expect(parseJsonNumber('9007199254740993.0')).toBe(9007199254740993n);
    expect(parseJsonNumber('12345678901234567890e-1')).toBe(1234567890123456789n);
    expect(parseJsonNumber('9223372036854775807.0')).toBe(9223372036854775807n);
    expect(parseJsonNumber('999999999999999e3')).toBe(999999999999999000n);
    expect(parseJsonNumber('1e2')).toBe(100);
    expect(parseJsonNumber('300.00')).toBe(300);
    expect(parseJsonNumber('0e-999')).toBe(0);
    for (const text of ['123456789012345678.9', '1.00000000000000001', '0.10000000000000001']) {
      const value = parseJsonNumber(text);
      expect(value).toEqual(new DecimalText(text, Number(text)));
      expect(jsonText({ x: value })).toBe(`{"x":${text}}`);
    }
    expect(() => JSON.stringify(new DecimalText('1.00000000000000001', 1))).toThrow(TypeError);
  });

  it('refuses a literal no double holds: too large, or too small to be anything but 0', () => {
    for (const text of ['1e999', '-1e400', '1.7976931348623159e308']) expect(() => parseJsonNumber(text)).toThrow('outside the range of a 64-bit float');
    for (const text of ['1e-400', '-2e-324']) expect(() => parseJsonNumber(text)).toThrow('too small for a 64-bit float');
    expect(Number(parseJsonNumber('3e-324'))).toBe(5e-324);
  });

  it('on random decimal literals: exact integers when whole, else the nearest double, written back as the same number', () => {
    const literal = fc
      .record({ sign: fc.constantFrom('', '-'), whole: fc.stringMatching(/^(0|[1-9][0-9]{0,24})$/), fraction: fc.option(fc.stringMatching(/^[0-9]{1,22}$/)), exponent: fc.option(fc.integer({ min: -40, max: 40 })) })
      .map(({ sign, whole, fraction, exponent }) => `${sign}${whole}${fraction === null ? '' : `.${fraction}`}${exponent === null ? '' : `e${exponent}`}`);
    fc.assert(
      fc.property(literal, (text) => {
        const value = parseJsonNumber(text);
        const d = decimalOf(text)!;
        if ((d.digits === '' || d.exponent >= 0) && Math.abs(Number(text)) < 2 ** 63) {
          expect(typeof value === 'bigint' || Number.isSafeInteger(value)).toBe(true);
          expect(BigInt(value as number | bigint)).toBe(d.digits === '' ? 0n : BigInt(d.digits) * 10n ** BigInt(d.exponent) * (d.negative ? -1n : 1n));
        } else {
          expect(Number(value)).toBe(Number(text));
          expect(sameDecimal(decimalOf(jsonText(value))!, d)).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
