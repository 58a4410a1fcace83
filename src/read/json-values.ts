/**
 * JSON numbers and text without silent changes:
 * - an integer literal beyond ±2^53 becomes a BigInt (exact), so an int64 column loads every int64
 *   exactly; any other number is a double, as JSON.parse makes it;
 * - a number that overflows a double (`1e999`) is refused, never turned into Infinity;
 * - `jsonText` writes BigInts back as the same digits, where JSON.stringify would throw.
 * ajv's `integer` is a JavaScript number: a record that holds a BigInt is shown to ajv as a copy with
 * the nearest doubles (`withPlainNumbers`), while the exact value is what gets loaded.
 */
import { randomBytes } from 'node:crypto';
import type { Problem } from '../errors.js';
import type { Locator } from './types.js';

/** True when a BigInt is anywhere inside (the reader bounds the nesting). */
export function containsBigInt(value: unknown): boolean {
  if (typeof value === 'bigint') return true;
  if (value === null || typeof value !== 'object') return false;
  for (const key of Object.keys(value)) if (containsBigInt((value as Record<string, unknown>)[key])) return true;
  return false;
}

export class NumberRangeError extends Error {
  constructor(readonly text: string) {
    super(`number ${text.length > 40 ? `${text.slice(0, 40)}…` : text} is outside the range of a 64-bit float`);
    this.name = 'NumberRangeError';
  }
}

/** The problem of a record holding a number a double cannot hold. */
export function numberRangeProblem(locator: Locator, number: number, error: NumberRangeError): Problem {
  return { [locator]: number, rule: 'number: outside the range of a 64-bit float', message: `${locator} ${number}: ${error.message}` };
}

const INTEGER_LITERAL = /^-?\d+$/;

/** A JSON number's text → number, or BigInt for an integer literal a double cannot hold exactly. */
export function parseJsonNumber(text: string): number | bigint {
  const value = Number(text);
  if (!Number.isFinite(value)) throw new NumberRangeError(text);
  if (!Number.isSafeInteger(value) && INTEGER_LITERAL.test(text)) return BigInt(text);
  return value;
}

/** A copy in which every BigInt is the nearest double: what ajv is shown. */
export function withPlainNumbers(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
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
const MARKED = new RegExp(`"${JSON.stringify(MARK).slice(1, -1).replace(/\\/g, '\\\\')}(-?\\d+)"`, 'g');

/** JSON.stringify, except that a BigInt is written as its digits instead of throwing. */
export function jsonText(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch (error) {
    if (!(error instanceof TypeError) || !/BigInt/i.test(error.message)) throw error;
    return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `${MARK}${v}` : v)).replace(MARKED, '$1');
  }
}
