/**
 * A number decided from its text, never from a double that may have rounded it: CSV text and JSON
 * literals alike. The text is read as a decimal (`[+-]? digits [. digits] [e [+-] digits]`, JSON's
 * grammar with a leading `+`, `.5` and `5.` besides); its exact value says whether it is whole,
 * whether it fits int64, and whether the nearest double holds it exactly.
 */

/** The value of a number text: `digits × 10^exponent`, digits without leading or trailing zeros ('' for zero). */
export interface Decimal {
  negative: boolean;
  digits: string;
  exponent: number;
}

/** A decimal text as it may be written (no white space around it). */
const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** The decimal a text writes, or null when it is not a number text (`.`, `1e`, `0x10`, `NaN` …). */
export function decimalOf(text: string): Decimal | null {
  const match = DECIMAL.exec(text);
  if (match === null) return null;
  const whole = match[2]!;
  const fraction = match[3] ?? '';
  if (whole === '' && fraction === '') return null;
  let digits = whole + fraction;
  let start = 0;
  while (start < digits.length && digits.charCodeAt(start) === 48) start++;
  let end = digits.length;
  while (end > start && digits.charCodeAt(end - 1) === 48) end--;
  // An exponent beyond any double is kept as ±Infinity: the value is then zero or out of range.
  const exponent = (match[4] === undefined ? 0 : Number(match[4])) - fraction.length + (digits.length - end);
  digits = digits.slice(start, end);
  return { negative: match[1] === '-', digits, exponent: digits === '' ? 0 : exponent };
}

/** True when both write the same number (zeros of either sign are one). */
export function sameDecimal(a: Decimal, b: Decimal): boolean {
  return a.digits === b.digits && (a.digits === '' || (a.negative === b.negative && a.exponent === b.exponent));
}

/** The number of the decimal's integer digits: its order of magnitude plus one. */
export function integerDigits(d: Decimal): number {
  return d.digits.length + d.exponent;
}

export const INT64_MAX = 9223372036854775807n;
export const INT64_MIN = -9223372036854775808n;

/** A whole decimal (exponent ≥ 0) as a BigInt, exactly. */
export function bigIntOf(d: Decimal): bigint {
  return BigInt(d.digits) * 10n ** BigInt(d.exponent) * (d.negative ? -1n : 1n);
}

/**
 * The decimal as an integer: a number within ±(2^53 - 1), a BigInt beyond; 'fraction' when it is
 * not whole, 'range' when it is outside int64.
 */
export function wholeOf(d: Decimal): number | bigint | 'fraction' | 'range' {
  if (d.digits === '') return 0;
  if (d.exponent < 0) return 'fraction';
  if (integerDigits(d) > 19) return 'range';
  const value = bigIntOf(d);
  if (value > INT64_MAX || value < INT64_MIN) return 'range';
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : value;
}

/**
 * The nearest double of a number text (as PostgreSQL's float8 input and JavaScript's Number() both
 * round it), or 'overflow' / 'underflow' when the double would be infinite or a zero the text is not.
 */
export function doubleOf(text: string, d: Decimal): number | 'overflow' | 'underflow' {
  const value = Number(text);
  if (!Number.isFinite(value)) return 'overflow';
  if (value === 0 && d.digits !== '') return 'underflow';
  return value;
}

/** Does the double print as the decimal's own value (so its JSON text keeps the number as written)? */
export function doubleIsExact(value: number, d: Decimal): boolean {
  return sameDecimal(decimalOf(String(value))!, d);
}

/** ASCII white space as C's isspace() knows it (what PostgreSQL skips around a number or a boolean). */
export function isAsciiSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/** The text without ASCII white space at either end. */
export function trimAsciiSpace(text: string): string {
  let s = 0;
  let e = text.length;
  while (s < e && isAsciiSpace(text.charCodeAt(s))) s++;
  while (e > s && isAsciiSpace(text.charCodeAt(e - 1))) e--;
  return s === 0 && e === text.length ? text : text.slice(s, e);
}

export const INT64_RANGE_RULE = 'range: outside the 64-bit integer range (-9223372036854775808 to 9223372036854775807)';
export const DOUBLE_OVERFLOW_RULE = 'range: outside the range of a 64-bit float (too large; PostgreSQL refuses it)';
export const DOUBLE_UNDERFLOW_RULE = 'range: too small for a 64-bit float (it would be stored as 0; PostgreSQL refuses it)';
