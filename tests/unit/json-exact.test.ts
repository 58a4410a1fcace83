/**
 * Differential tests: the JSONL line parser (a scan for limits and exact numbers, then JSON.parse or
 * lossless-json) agrees with JSON.parse on every value JSON.parse keeps exactly, and keeps every
 * integer literal exactly where JSON.parse would round it.
 */
import fc from 'fast-check';
import { DEFAULT_LIMITS } from '../../src/config/load.js';
import { jsonText, parseJsonNumber } from '../../src/read/json-values.js';
import { parseLine } from '../../src/read/jsonl.js';

const limits = { ...DEFAULT_LIMITS, maxDepth: 1000, maxColumns: 100_000, maxRecordValues: 10_000_000 };

const plainJson = fc.jsonValue({ maxDepth: 6 }).filter((v) => JSON.stringify(v) !== undefined);

/**
 * What loadbay must read: JSON.parse's value, except that an integer literal beyond ±2^53 is a
 * BigInt of its digits (JSON.parse would round 9007199254740993; loadbay keeps even 2^53 as BigInt
 * so that every such literal is handled one way).
 */
const expected = (text: string) =>
  JSON.parse(text, (_key, v: unknown) => (typeof v === 'number' && !Number.isSafeInteger(v) && /^-?\d+$/.test(String(v)) ? BigInt(String(v)) : v));

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
        const wanted = Number.isSafeInteger(d) || !/^-?\d+$/.test(text) ? JSON.parse(text) : BigInt(text);
        expect(parseJsonNumber(text)).toBe(wanted);
      }),
      { numRuns: 1000 },
    );
    expect(() => parseJsonNumber('1e309')).toThrow('outside the range of a 64-bit float');
    expect(parseJsonNumber('1e308')).toBe(1e308);
    expect(parseJsonNumber('-0')).toBe(-0);
  });
});
