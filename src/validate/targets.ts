/**
 * What PostgreSQL and Parquet cannot store that a JSON Schema does not say: integers outside int64,
 * leap seconds with a fraction, date-times no clock shows, NUL and lone surrogates in text. One
 * home for these rules: the record path's validator (`targetLimit`) and the column kernels use the
 * same definitions.
 */
import type { Column } from '../columns.js';
import { timestampMicros } from '../write/time.js';

export const INT64_MAX = 9223372036854775807n;
export const INT64_MIN = -9223372036854775808n;

/** A double within int64 (one beyond 2^53 is an integer, exact or not: JSON.parse may give it). */
export function inInt64(value: number): boolean {
  return value >= -9223372036854775808 && value < 9223372036854775808;
}

/** "…:60.5Z": seconds 60 followed by a fraction that is not all zeros. */
export function isFractionalLeapSecond(value: string): boolean {
  if (value.charCodeAt(17) !== 54 || value.charCodeAt(18) !== 48 || value.charCodeAt(19) !== 46) return false;
  for (let i = 20; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 48 || c > 57) return false;
    if (c !== 48) return true;
  }
  return false;
}

/** The microseconds of a date-time the format accepted, NaN when no clock shows it. */
export function convertedMicros(value: string): number | bigint {
  try {
    return timestampMicros(value);
  } catch {
    return NaN;
  }
}

/** The first target limit a valid value breaks, as a rule for its problem; null when it fits. */
export function targetLimit(column: Column, value: unknown): string | null {
  if (column.kind === 'integer') {
    if (typeof value === 'bigint' ? value > INT64_MAX || value < INT64_MIN : typeof value === 'number' && !inInt64(value)) {
      return 'range: outside the 64-bit integer range (-9223372036854775808 to 9223372036854775807)';
    }
  } else if (typeof value === 'string') {
    if (column.kind === 'timestamp' && isFractionalLeapSecond(value)) {
      return 'range: a leap second with a fraction of a second, which PostgreSQL does not accept (:60 alone is read as the next minute)';
    }
    const micros = column.kind === 'timestamp' ? convertedMicros(value) : 0;
    if (micros !== micros) {
      // ajv-formats takes e.g. "24:59:00+01:00" for a leap second (23:59 UTC); no clock shows it.
      return 'range: not a time of day (an hour of 24 or a leap second outside 23:59:60 UTC), which PostgreSQL does not accept';
    }
    if (value.includes('\u0000')) return 'text: contains a NUL character, which PostgreSQL cannot store';
    if (!value.isWellFormed()) return 'text: contains a lone UTF-16 surrogate (not a Unicode character), which cannot be stored as UTF-8';
  }
  return null;
}
