/**
 * JSON numbers and text without silent changes. A number literal is decided from its text
 * (number-text.ts), never from the double JSON.parse would make of it:
 * - a literal whose nearest double holds it exactly (what the double prints is its value) is that
 *   double — nearly every number in practice;
 * - a whole number beyond ±2^53 (`9007199254740993`, `9007199254740993.0`, `1e19`) is a BigInt of
 *   its exact value, so an int64 column loads every int64 exactly;
 * - any other literal (`1.00000000000000001`, `0.10000000000000001`) is a `DecimalText`: its nearest
 *   double for a `number` column and for ajv, its text for a `jsonb` value, and never an integer;
 * - a literal no double holds (`1e999`, or `1e-400`, which is not zero) is refused, never turned
 *   into Infinity or 0.
 * `jsonText` writes BigInts and DecimalTexts back as the same digits. ajv's numbers are JavaScript
 * numbers: a record holding either is shown to ajv as a copy with the nearest doubles
 * (`withPlainNumbers`), while the exact value is what gets loaded.
 */
import { randomBytes } from 'node:crypto';
import { parse as parseLossless } from 'lossless-json';
import type { Problem } from '../errors.js';
import { bigIntOf, decimalOf, doubleIsExact, doubleOf } from './number-text.js';
import type { Locator } from './types.js';

/** A number literal whose nearest double does not hold it: kept as written. */
export class DecimalText {
  constructor(
    /** The literal as the file writes it. */
    readonly text: string,
    /** Its nearest double. */
    readonly value: number,
  ) {}
  valueOf(): number {
    return this.value;
  }
  /** Inside `jsonText` its digits; anywhere else JSON.stringify throws, as it does for a BigInt. */
  toJSON(): string {
    if (!writingExactly) throw new TypeError('Do not know how to serialize a DecimalText (as for a BigInt, use jsonText)');
    return `${MARK}${this.text}`;
  }
}

/** A JSON object as read: not null, an array, or a number only its text holds (a DecimalText is an object too). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof DecimalText);
}

/** True when a BigInt or DecimalText is anywhere inside (the reader bounds the nesting). */
export function containsExactNumber(value: unknown): boolean {
  if (typeof value === 'bigint') return true;
  if (value === null || typeof value !== 'object') return false;
  if (value instanceof DecimalText) return true;
  for (const key of Object.keys(value)) if (containsExactNumber((value as Record<string, unknown>)[key])) return true;
  return false;
}

export class NumberRangeError extends Error {
  constructor(readonly text: string) {
    const shown = text.length > 40 ? `${text.slice(0, 40)}…` : text;
    super(Number(text) === 0 ? `number ${shown} is too small for a 64-bit float (it is not 0)` : `number ${shown} is outside the range of a 64-bit float`);
    this.name = 'NumberRangeError';
  }
}

/** The problem of a record holding a number a double cannot hold. */
export function numberRangeProblem(locator: Locator, number: number, error: NumberRangeError): Problem {
  return { [locator]: number, rule: 'number: outside the range of a 64-bit float', message: `${locator} ${number}: ${error.message}` };
}

/** A JSON number literal → its value, decided from its text (see above). Throws NumberRangeError. */
export function parseJsonNumber(text: string): number | bigint | DecimalText {
  // Up to 15 characters without an exponent: at most 15 digits, which a double holds exactly.
  if (text.length <= 15 && text.indexOf('e') === -1 && text.indexOf('E') === -1) return Number(text);
  const d = decimalOf(text);
  if (d === null) throw new SyntaxError(`not a JSON number: ${text.slice(0, 40)}`);
  const value = doubleOf(text, d);
  if (typeof value === 'string') throw new NumberRangeError(text);
  if (d.digits === '') return value;
  // Whole (digits × 10^exponent, exponent ≥ 0): within ±2^53 its double is exact; beyond, a BigInt —
  // except past int64 (no integer column takes it) when the double prints as its value (1e308).
  if (d.exponent >= 0) {
    if (Number.isSafeInteger(value) || (Math.abs(value) >= 2 ** 63 && doubleIsExact(value, d))) return value;
    return bigIntOf(d);
  }
  // Not whole: the double, when it prints as the literal's value (as jsonb then reads it); else the text.
  return doubleIsExact(value, d) ? value : new DecimalText(text, value);
}

/** A copy in which every BigInt and DecimalText is the nearest double: what ajv is shown. */
export function withPlainNumbers(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof DecimalText) return value.value;
  if (Array.isArray(value)) return value.map(withPlainNumbers);
  if (value !== null && typeof value === 'object') {
    const copy: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      Object.defineProperty(copy, key, { value: withPlainNumbers((value as Record<string, unknown>)[key]), enumerable: true, writable: true, configurable: true });
    }
    return copy;
  }
  return value;
}

const MARK = `\u0000${randomBytes(6).toString('hex')}:`;
const MARKED = new RegExp(`"${JSON.stringify(MARK).slice(1, -1).replace(/\\/g, '\\\\')}([-+.0-9eE]+)"`, 'g');
let writingExactly = false;

/** JSON.stringify, except that a BigInt or DecimalText is written as its digits instead of throwing. */
export function jsonText(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch (error) {
    if (!(error instanceof TypeError) || !/BigInt/i.test(error.message)) throw error;
    writingExactly = true;
    try {
      return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `${MARK}${v}` : v)).replace(MARKED, '$1');
    } finally {
      writingExactly = false;
    }
  }
}

const EXPONENT = /\d[eE]/;
const LONG_RUN = /\d{8}/;
/**
 * Text that may hold a number literal a double does not hold as written: an exponent, or 16 digits
 * or more — which always include a run of 8 (a point splits 16 digits into two runs, one of 8 or
 * more). Cheap, and false for most lines; two regular expressions cost less than one alternation.
 */
const suspect = (text: string) => EXPONENT.test(text) || LONG_RUN.test(text);

/**
 * True when a number literal of the JSON text (outside its strings) is not what JSON.parse made of
 * it: one parseJsonNumber keeps as a BigInt or a DecimalText, or refuses. A line with suspect text
 * (a UUID's "3e4", a long id, a double printed with 17 digits) is walked literal by literal.
 */
export function needsExact(text: string): boolean {
  if (!suspect(text)) return false;
  const n = text.length;
  for (let i = 0; i < n; ) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      // a string: on to the quote that ends it (one not escaped by an odd run of backslashes)
      let end = i;
      for (;;) {
        end = text.indexOf('"', end + 1);
        if (end === -1) return false;
        let backslashes = 0;
        while (text.charCodeAt(end - 1 - backslashes) === 92) backslashes++;
        if (backslashes % 2 === 0) break;
      }
      i = end + 1;
    } else if ((c >= 48 && c <= 57) || c === 45) {
      let j = i + 1;
      let digits = c === 45 ? 0 : 1;
      let exponent = false;
      for (; j < n; j++) {
        const d = text.charCodeAt(j);
        if (d >= 48 && d <= 57) digits++;
        else if (d === 101 || d === 69) exponent = true;
        else if (d !== 46 && d !== 43 && d !== 45) break;
      }
      if ((exponent || digits >= 16) && !isPlainDouble(text.slice(i, j))) return true;
      i = j;
    } else i++;
  }
  return false;
}

/** Is the literal's value the double JSON.parse gives (not a BigInt, a DecimalText, or refused)? */
function isPlainDouble(literal: string): boolean {
  try {
    return typeof parseJsonNumber(literal) === 'number';
  } catch {
    return false;
  }
}

/** Text that may be JSON → its value with every number decided from its text; throws as JSON.parse does. */
export function parseJsonText(text: string): unknown {
  const value: unknown = JSON.parse(text);
  return needsExact(text) ? parseExact(text) : value;
}

function parseExact(text: string): unknown {
  return parseLossless(text, null, {
    parseNumber: parseJsonNumber,
    // JSON.parse's rule: the last of a repeated key wins.
    onDuplicateKey: ({ newValue }) => newValue,
  });
}

