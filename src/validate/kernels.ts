/**
 * A dataset's JSON Schema compiled to column kernels: per property, one function that converts a
 * whole column of CSV cells to its type (as prepare.ts's coerceText does) and checks every keyword
 * of the compiled set — type, enum, const, minimum, maximum, exclusiveMinimum, exclusiveMaximum,
 * multipleOf, minLength, maxLength (code points), pattern (with ajv's `u` flag), format (the very
 * function registered in ajv), required — plus the limits of the targets validate.ts adds (int64,
 * NUL, fractional leap seconds). The result is typed vectors and the rows that failed.
 *
 * ajv stays the authority: a failed row is handed to the dataset's ajv validator, whose errors are
 * what the report shows; tests/unit/kernels.test.ts checks on generated schemas and values that a
 * kernel passes exactly what ajv passes. Which schemas compile is decided in plan.ts.
 */
import { asBuffer, latin1Slice, utf8Slice } from '../lib/bytes.js';
import type { Column } from '../columns.js';
import { cellText } from '../read/csv-cells.js';
import type { CellView } from '../prepare/cells.js';
import { canonicalDays, canonicalMicros, dateToDays, timestampMicros } from '../write/time.js';
import { emptyVector, selectRows, setInt64, TextBuilder, type TypedBatch, type Vector } from '../write/vectors.js';

/** A string check as ajv runs it: a format function or a regular expression. */
export type TextTest = (text: string) => boolean;

export interface PropertyRules {
  enum?: unknown[];
  const?: unknown;
  hasConst: boolean;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: RegExp;
  /** The property's format, as ajv checks it (string formats only). */
  format?: TextTest;
}

export interface Kernel {
  column: Column;
  required: boolean;
  /** Converts and checks one column of the view's rows into `out`; sets `failed[i]` for a row that fails. */
  run(view: CellView, viewColumn: number, failed: Uint8Array): Vector;
}

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;

/** A check of a number against the numeric keywords, or null when there are none. */
function numberCheck(rules: PropertyRules): ((n: number) => boolean) | null {
  const tests: Array<(n: number) => boolean> = [];
  const { minimum, maximum, exclusiveMinimum, exclusiveMaximum, multipleOf } = rules;
  if (minimum !== undefined) tests.push((n) => n >= minimum);
  if (maximum !== undefined) tests.push((n) => n <= maximum);
  if (exclusiveMinimum !== undefined) tests.push((n) => n > exclusiveMinimum);
  if (exclusiveMaximum !== undefined) tests.push((n) => n < exclusiveMaximum);
  // ajv: fails when `m === 0 || (r = n / m, r !== parseInt(r))`.
  if (multipleOf !== undefined) tests.push((n) => multipleOf !== 0 && n / multipleOf === parseInt(String(n / multipleOf)));
  if (rules.enum) {
    const allowed = new Set(rules.enum.filter((v) => typeof v === 'number'));
    tests.push((n) => allowed.has(n));
  }
  if (rules.hasConst) {
    const c = rules.const;
    tests.push((n) => n === c);
  }
  if (tests.length === 0) return null;
  if (tests.length === 1) return tests[0]!;
  return (n) => tests.every((t) => t(n));
}

/** A check of a string against the string keywords that need the text (enum, const, pattern, format). */
function textCheck(rules: PropertyRules, withFormat: boolean): TextTest | null {
  const tests: TextTest[] = [];
  if (rules.enum) {
    const allowed = new Set(rules.enum.filter((v) => typeof v === 'string'));
    tests.push((s) => allowed.has(s));
  }
  if (rules.hasConst) {
    const c = rules.const;
    tests.push((s) => s === c);
  }
  if (rules.pattern) {
    const pattern = rules.pattern;
    tests.push((s) => pattern.test(s));
  }
  if (rules.format && withFormat) tests.push(rules.format);
  if (tests.length === 0) return null;
  if (tests.length === 1) return tests[0]!;
  return (s) => tests.every((t) => t(s));
}

/** Parses `[+-]?\d+` (prepare.ts's INTEGER); NaN for anything else. */
function parseInteger(b: Uint8Array, s: number, e: number): number | bigint {
  let i = s;
  const sign = b[i];
  if (sign === 43 || sign === 45) i++;
  if (i === e) return NaN;
  if (e - i > 15) {
    for (let k = i; k < e; k++) if (b[k]! < 48 || b[k]! > 57) return NaN;
    const text = latin1Slice(asBuffer(b), s, e);
    const n = Number(text);
    return Number.isSafeInteger(n) ? n : BigInt(text);
  }
  let n = 0;
  for (; i < e; i++) {
    const d = b[i]! - 48;
    if (d < 0 || d > 9) return NaN;
    n = n * 10 + d;
  }
  return sign === 45 ? -n : n;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/**
 * Parses prepare.ts's NUMBER shape to the double `Number()` gives (NaN otherwise, or when not
 * finite). Up to 15 digits without exponent: digits / 10^k, which is correctly rounded because
 * both are exact doubles; anything longer goes through Number().
 */
function parseNumber(b: Uint8Array, s: number, e: number): number {
  let i = s;
  const sign = b[i];
  if (sign === 43 || sign === 45) i++;
  let mantissa = 0;
  let digits = 0;
  let fraction = -1;
  for (; i < e; i++) {
    const c = b[i]!;
    if (c >= 48 && c <= 57) {
      mantissa = mantissa * 10 + (c - 48);
      digits++;
      if (fraction >= 0) fraction++;
    } else if (c === 46 && fraction < 0) fraction = 0;
    else break;
  }
  if (i === e && digits > 0 && digits <= 15) {
    const value = fraction > 0 ? mantissa / POW10[fraction]! : mantissa;
    return sign === 45 ? -value : value;
  }
  const text = latin1Slice(asBuffer(b), s, e);
  if (!NUMBER.test(text)) return NaN;
  const n = Number(text);
  return Number.isFinite(n) ? n : NaN;
}

/** prepare.ts's TRUE / FALSE sets, ASCII case folded: 1 / 0, or -1. */
function parseBoolean(b: Uint8Array, s: number, e: number): number {
  const n = e - s;
  const c = (k: number) => b[s + k]! | 0x20;
  switch (n) {
    case 1: {
      const x = b[s]!;
      if (x === 49) return 1;
      if (x === 48) return 0;
      const l = x | 0x20;
      return l === 116 || l === 121 ? 1 : l === 102 || l === 110 ? 0 : -1; // t y / f n
    }
    case 2:
      return c(0) === 110 && c(1) === 111 ? 0 : -1; // no
    case 3:
      return c(0) === 121 && c(1) === 101 && c(2) === 115 ? 1 : -1; // yes
    case 4:
      return c(0) === 116 && c(1) === 114 && c(2) === 117 && c(3) === 101 ? 1 : -1; // true
    case 5:
      return c(0) === 102 && c(1) === 97 && c(2) === 108 && c(3) === 115 && c(4) === 101 ? 0 : -1; // false
    default:
      return -1;
  }
}

/** "…:60.5": a leap second with a fraction that is not all zeros (validate.ts refuses those). */
function isFractionalLeapSecond(text: string): boolean {
  if (text.charCodeAt(17) !== 54 || text.charCodeAt(18) !== 48 || text.charCodeAt(19) !== 46) return false;
  for (let i = 20; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
    if (c !== 48) return true;
  }
  return false;
}

/** Where a cell's bytes are: the view's buffer, or a replacement text's own bytes. */
interface Cell {
  b: Uint8Array;
  s: number;
  e: number;
  /** The quote byte when the cell holds doubled quotes, else -1. */
  quote: number;
}

/**
 * Calls `each` for every row of the view with the cell's bytes (undefined when absent: an empty
 * field, a removed value, a column the file lacks).
 */
function forEachCell(view: CellView, column: number, each: (i: number, cell: Cell | undefined) => void): void {
  const cell: Cell = { b: view.batch.buf, s: 0, e: 0, quote: -1 };
  const field = column < 0 ? -2 : view.fields[column]!;
  const constant = field === -1 ? view.constants[column] : undefined;
  const constantBytes = constant !== undefined && constant !== '' ? Buffer.from(constant, 'utf8') : null;
  const { width, starts, ends, escaped, buf, quote } = view.batch;
  const overrides = view.overrides.size > 0 ? view.overrides : null;
  for (let i = 0; i < view.count; i++) {
    if (field < 0) {
      if (constantBytes === null) each(i, undefined);
      else {
        cell.b = constantBytes;
        cell.s = 0;
        cell.e = constantBytes.length;
        cell.quote = -1;
        each(i, cell);
      }
      continue;
    }
    const at = view.rows[i]! * width + field;
    if (overrides !== null && overrides.has(at)) {
      const text = overrides.get(at);
      if (text === undefined || text === '') each(i, undefined);
      else {
        const bytes = Buffer.from(text, 'utf8');
        cell.b = bytes;
        cell.s = 0;
        cell.e = bytes.length;
        cell.quote = -1;
        each(i, cell);
      }
      continue;
    }
    const s = starts[at]!;
    const e = ends[at]!;
    if (s === e) {
      each(i, undefined);
      continue;
    }
    cell.b = buf;
    cell.s = s;
    cell.e = e;
    cell.quote = escaped[at] ? quote : -1;
    each(i, cell);
  }
}

function decode(cell: Cell): string {
  const buf = asBuffer(cell.b);
  return cell.quote >= 0 ? cellText({ buf, quote: cell.quote }, cell.s, cell.e, 1) : utf8Slice(buf, cell.s, cell.e);
}

export function compileKernel(column: Column, rules: PropertyRules, required: boolean): Kernel {
  const numeric = numberCheck(rules);
  // Dates and date-times check their format while converting.
  const text = textCheck(rules, column.kind === 'string');
  const { minLength, maxLength } = rules;
  const lengths = minLength !== undefined || maxLength !== undefined;
  const booleans = rules.enum || rules.hasConst ? (v: boolean) => (rules.enum ? rules.enum.includes(v) : true) && (rules.hasConst ? rules.const === v : true) : null;

  /** Text keywords on a string value; false when one fails (or NUL, which PostgreSQL cannot store). */
  const stringOk = (cell: Cell): boolean => {
    if (!lengths && text === null && column.kind !== 'string') return true; // a valid date has no NUL
    const { b, s, e } = cell;
    let points = 0;
    for (let i = s; i < e; i++) {
      const c = b[i]!;
      if (c === 0) return false;
      if ((c & 0xc0) !== 0x80) points++;
    }
    if (lengths) {
      if (cell.quote >= 0) points = [...decode(cell)].length;
      if (minLength !== undefined && points < minLength) return false;
      if (maxLength !== undefined && points > maxLength) return false;
    }
    return text === null || text(decode(cell));
  };

  const run = (view: CellView, viewColumn: number, failed: Uint8Array): Vector => {
    const rows = view.count;
    if (column.kind === 'string') {
      const out = new TextBuilder(rows, rows * 24);
      forEachCell(view, viewColumn, (i, cell) => {
        if (cell === undefined) {
          if (required) failed[i] = 1;
          out.appendNull();
        } else if (!stringOk(cell)) {
          failed[i] = 1;
          out.appendNull();
        } else out.appendBytes(cell.b, cell.s, cell.e, cell.quote);
      });
      return out.vector('string');
    }
    const vector = emptyVector(column.kind, rows);
    forEachCell(view, viewColumn, (i, cell) => {
      if (cell === undefined) {
        if (required) failed[i] = 1;
        return;
      }
      const { b, s, e } = cell;
      let ok = true;
      switch (vector.kind) {
        case 'integer': {
          const n = parseInteger(b, s, e);
          if (typeof n === 'bigint') {
            ok = n <= INT64_MAX && n >= INT64_MIN && (numeric === null || numeric(Number(n)));
          } else ok = n === n && (numeric === null || numeric(n));
          if (ok) setInt64(vector, i, n);
          break;
        }
        case 'number': {
          const n = parseNumber(b, s, e);
          ok = n === n && (numeric === null || numeric(n));
          if (ok) vector.data[i] = n;
          break;
        }
        case 'boolean': {
          const v = parseBoolean(b, s, e);
          ok = v >= 0 && (booleans === null || booleans(v === 1));
          if (ok) vector.data[i] = v;
          break;
        }
        case 'date': {
          let days = e - s === 10 ? canonicalDays(b, s) : NaN;
          if (days !== days) {
            const value = decode(cell);
            if (rules.format!(value)) days = dateToDays(value);
          }
          ok = days === days && stringOk(cell);
          if (ok) vector.data[i] = days;
          break;
        }
        case 'timestamp': {
          let micros: number | bigint = canonicalMicros(b, s, e);
          if (micros !== micros) {
            const value = decode(cell);
            if (rules.format!(value) && !isFractionalLeapSecond(value)) micros = timestampMicros(value);
          }
          ok = micros === micros && stringOk(cell);
          if (ok) setInt64(vector, i, micros);
          break;
        }
        default:
          ok = false;
      }
      if (ok) vector.valid[i] = 1;
      else failed[i] = 1;
    });
    return vector;
  };
  return { column, required, run };
}

/** The view's rows through every kernel: the rows that pass as vectors, and the view indexes that failed. */
export function runKernels(view: CellView, kernels: Kernel[]): { typed: TypedBatch; failed: number[] } {
  const failed = new Uint8Array(view.count);
  const vectors = kernels.map((k) => k.run(view, view.names.indexOf(k.column.name), failed));
  const lines = view.batch.lines;
  const bad: number[] = [];
  for (let i = 0; i < view.count; i++) if (failed[i]) bad.push(i);
  if (bad.length === 0) {
    const numbers = new Array<number>(view.count);
    for (let i = 0; i < view.count; i++) numbers[i] = lines[view.rows[i]!]!;
    return { typed: { length: view.count, numbers, vectors }, failed: bad };
  }
  const keep: number[] = [];
  for (let i = 0; i < view.count; i++) if (!failed[i]) keep.push(i);
  return {
    typed: { length: keep.length, numbers: keep.map((i) => lines[view.rows[i]!]!), vectors: vectors.map((v) => selectRows(v, keep)) },
    failed: bad,
  };
}
