/**
 * What PostgreSQL and Parquet cannot store that a JSON Schema does not say: integers outside int64
 * or not whole as written, numbers no double holds, dates and date-times PostgreSQL refuses (year
 * 0000, offsets beyond ±15:59, a Unicode space between date and time, a leap second with a fraction,
 * a time no clock shows), NUL and lone surrogates in text. One home for these rules: the record
 * path's validator (`targetLimit`) and the column kernels use the same definitions.
 */
import type { Column } from '../columns.js';
import { Unloadable } from '../prepare/coerce.js';
import { DecimalText } from '../read/json-values.js';
import { INT64_MAX, INT64_MIN, INT64_RANGE_RULE, isAsciiSpace } from '../read/number-text.js';
import { fractionMicros, timestampMicros } from '../write/time.js';

export { INT64_MAX, INT64_MIN };

/** A double within int64 (one beyond 2^53 is an integer, exact or not: JSON.parse may give it). */
export function inInt64(value: number): boolean {
  return value >= -9223372036854775808 && value < 9223372036854775808;
}

const YEAR_ZERO = 'range: year 0000, which PostgreSQL does not accept (there is no year 0: the year before 0001 is 1 BC)';

/** The rule a date the `date` format accepted breaks in PostgreSQL; null when it loads. */
export function dateRule(value: string): string | null {
  return value.startsWith('0000') ? YEAR_ZERO : null;
}

const ZONE = /([+-])(\d\d)(?::?(\d\d))?$/;

/**
 * The rule a date-time the `date-time` format accepted breaks in PostgreSQL, null when it loads.
 * The format fixes `YYYY-MM-DD?hh:mm:ss[.fraction](Z|±hh[[:]mm])`.
 */
export function timestampRule(value: string): string | null {
  const checked = checkTimestamp(value);
  return typeof checked === 'string' ? checked : null;
}

/** The microseconds a date-time the format accepted loads as; NaN when it breaks a rule of PostgreSQL's. */
export function loadableMicros(value: string): number | bigint {
  const checked = checkTimestamp(value);
  return typeof checked === 'string' ? NaN : checked;
}

/** The rule a date-time breaks, or its microseconds: parsed once. */
function checkTimestamp(value: string): string | number | bigint {
  if (value.startsWith('0000')) return YEAR_ZERO;
  const separator = value.charCodeAt(10);
  if (separator !== 84 && separator !== 116 && !isAsciiSpace(separator)) {
    const code = `U+${separator.toString(16).toUpperCase().padStart(4, '0')}`;
    return `date-time: ${code} between the date and the time, which PostgreSQL does not read as a separator (use T or a space)`;
  }
  const zone = ZONE.exec(value);
  if (zone && Number(zone[2]) >= 16) {
    return `range: a UTC offset of ${zone[1]}${zone[2]}:${zone[3] ?? '00'}, beyond PostgreSQL's limit of ±15:59`;
  }
  if (value.charCodeAt(17) === 54 && value.charCodeAt(18) === 48 && value.charCodeAt(19) === 46) {
    let end = 20;
    while (end < value.length && value.charCodeAt(end) >= 48 && value.charCodeAt(end) <= 57) end++;
    if (fractionMicros(value.slice(20, end)) > 0) {
      return 'range: a leap second with a fraction of a second, which PostgreSQL does not accept (:60 alone is read as the next minute)';
    }
  }
  const micros = convertedMicros(value);
  if (micros !== micros) {
    // ajv-formats takes e.g. "24:59:00+01:00" for a leap second (23:59 UTC); no clock shows it.
    return 'range: not a time of day (an hour of 24 or a leap second outside 23:59:60 UTC), which PostgreSQL does not accept';
  }
  return micros;
}

/** The microseconds of a date-time the format accepted, NaN when no clock shows it. */
function convertedMicros(value: string): number | bigint {
  try {
    return timestampMicros(value);
  } catch {
    return NaN;
  }
}

const NOT_WHOLE = (d: DecimalText) =>
  `type: must be integer (${d.text.length > 40 ? `${d.text.slice(0, 40)}…` : d.text} is not a whole number; a double would round it to ${d.value})`;

/** The first target limit a valid value breaks, as a rule for its problem; null when it fits. */
export function targetLimit(column: Column, value: unknown): string | null {
  if (value instanceof Unloadable) return value.rule;
  switch (column.kind) {
    case 'integer':
      if (value instanceof DecimalText) return NOT_WHOLE(value);
      if (typeof value === 'bigint' ? value > INT64_MAX || value < INT64_MIN : typeof value === 'number' && !inInt64(value)) return INT64_RANGE_RULE;
      return null;
    case 'date':
      return typeof value === 'string' ? dateRule(value) ?? textLimit(value) : null;
    case 'timestamp':
      return typeof value === 'string' ? timestampRule(value) ?? textLimit(value) : null;
    case 'string':
      return typeof value === 'string' ? textLimit(value) : null;
    case 'json':
      return jsonLimit(value);
    case 'number':
    case 'boolean':
      return null;
  }
}

function textLimit(value: string): string | null {
  if (value.includes('\u0000')) return 'text: contains a NUL character, which PostgreSQL cannot store';
  if (!value.isWellFormed()) return 'text: contains a lone UTF-16 surrogate (not a Unicode character), which cannot be stored as UTF-8';
  return null;
}

/** The text limits on every string of a JSON value, keys included (PostgreSQL's jsonb refuses `\u0000` too). */
export function jsonLimit(value: unknown): string | null {
  if (typeof value === 'string') return textLimit(value);
  if (value === null || typeof value !== 'object' || value instanceof DecimalText) return null;
  if (Array.isArray(value)) {
    for (const item of value) {
      const rule = jsonLimit(item);
      if (rule) return rule;
    }
    return null;
  }
  for (const key of Object.keys(value)) {
    const rule = textLimit(key) ?? jsonLimit((value as Record<string, unknown>)[key]);
    if (rule) return rule;
  }
  return null;
}
