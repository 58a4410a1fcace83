/**
 * Text to a column's type (CSV cells, values from file names): one rule per type, the one JSON
 * values are held to as well (docs/datasets.md, "Values"):
 * - integer: a number text (`-12`, `1.0`, `1e3`, `+5`; ASCII white space around it is skipped, as
 *   PostgreSQL skips it) whose exact value is whole — within ±2^53 a number, beyond a BigInt;
 * - number: a number text, as its nearest double; one no double holds (`1e999`, `1e-400`) is refused;
 * - boolean: true/false, t/f, yes/no, y/n, on/off, 1/0, any case, white space around skipped;
 * - json: JSON text, numbers decided from their text (read/json-values.ts).
 * A text that is not of the type stays text, so the validator reports it with the value; one that is
 * but cannot be stored is an `Unloadable`, whose rule the validator reports.
 */
import type { ColumnKind } from '../columns.js';
import { unreachable } from '../lib/unreachable.js';
import { NumberRangeError, parseJsonText } from '../read/json-values.js';
import { bigIntOf, decimalOf, DOUBLE_OVERFLOW_RULE, DOUBLE_UNDERFLOW_RULE, doubleOf, INT64_RANGE_RULE, integerDigits, trimAsciiSpace, wholeOf } from '../read/number-text.js';

/** A value of the column's type that no column of it can hold, with the rule that says why. */
export class Unloadable {
  constructor(
    readonly text: string,
    readonly rule: string,
  ) {}
  toJSON(): string {
    return this.text;
  }
}

const TRUE = new Set(['true', 't', 'yes', 'y', 'on', '1']);
const FALSE = new Set(['false', 'f', 'no', 'n', 'off', '0']);

/** An integer text → its value; the text itself when it is not a whole number. */
const PLAIN_INTEGER = /^[+-]?\d{1,15}$/;
const PLAIN_NUMBER = /^[+-]?\d{1,15}(\.\d{1,15})?$/;

export function integerFromText(value: string): number | bigint | string | Unloadable {
  // The common shape first: up to 15 digits are a double exactly.
  if (PLAIN_INTEGER.test(value)) return Number(value) || 0;
  const text = trimAsciiSpace(value);
  const d = decimalOf(text);
  if (d === null) return value;
  const whole = wholeOf(d);
  if (whole === 'fraction') return value;
  if (whole === 'range') return integerDigits(d) <= 40 ? bigIntOf(d) : new Unloadable(value, INT64_RANGE_RULE);
  return whole;
}

/** A number text → its nearest double; the text itself when it is not a number. */
export function numberFromText(value: string): number | string | Unloadable {
  // The common shape first: digits with a short fraction cannot overflow or underflow.
  if (PLAIN_NUMBER.test(value)) return Number(value);
  const text = trimAsciiSpace(value);
  const d = decimalOf(text);
  if (d === null) return value;
  const double = doubleOf(text, d);
  if (double === 'overflow') return new Unloadable(value, DOUBLE_OVERFLOW_RULE);
  if (double === 'underflow') return new Unloadable(value, DOUBLE_UNDERFLOW_RULE);
  return double;
}

/** A boolean text → true or false; the text itself otherwise. */
export function booleanFromText(value: string): boolean | string {
  const text = trimAsciiSpace(value).toLowerCase();
  if (TRUE.has(text)) return true;
  if (FALSE.has(text)) return false;
  return value;
}

export function coerceText(value: string, kind: ColumnKind): unknown {
  switch (kind) {
    case 'integer':
      return integerFromText(value);
    case 'number':
      return numberFromText(value);
    case 'boolean':
      return booleanFromText(value);
    case 'json':
      try {
        return parseJsonText(value);
      } catch (error) {
        return error instanceof NumberRangeError ? new Unloadable(value, `number: ${error.message}`) : value;
      }
    case 'string':
    case 'date':
    case 'timestamp':
      return value;
    default:
      return unreachable(kind, 'column kind');
  }
}
