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
import type { Column, ColumnKind } from '../columns.js';
import { cellText } from '../read/csv-cells.js';
import type { CellView } from '../prepare/cells.js';
import { canonicalDays, canonicalMicros, dateToDays } from '../write/time.js';
import { convertedMicros, dateRule, INT64_MAX, INT64_MIN, timestampRule } from './targets.js';
import { integerFromText, numberFromText } from '../prepare/coerce.js';
import { isAsciiSpace } from '../read/number-text.js';
import { emptyVector, passingRows, setInt64, TextBuilder, type TypedBatch, type Vector } from '../write/vectors.js';

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
  /** `type` is given (JSON values are checked against it); null passes when it lists "null" or is absent. */
  typed: boolean;
  nullable: boolean;
  /** JSON columns: the types `type` allows (object, array); undefined when there is no `type`. */
  jsonTypes?: Set<string>;
}

export interface Kernel {
  column: Column;
  required: boolean;
  /** Converts and checks one column of the view's rows into `out`; sets `failed[i]` for a row that fails. */
  run(view: CellView, viewColumn: number, failed: Uint8Array): Vector;
}


/** A check of a number against the numeric keywords, or null when there are none. */
export function numberCheck(rules: PropertyRules): ((n: number) => boolean) | null {
  const tests: Array<(n: number) => boolean> = [];
  const { minimum, maximum, exclusiveMinimum, exclusiveMaximum, multipleOf } = rules;
  // The bounds in one comparison chain (a value here is a finite number): the common schema has
  // just these, and one closure per cell beats a list of them.
  if (minimum !== undefined || maximum !== undefined || exclusiveMinimum !== undefined || exclusiveMaximum !== undefined) {
    const low = minimum ?? -Infinity;
    const high = maximum ?? Infinity;
    const above = exclusiveMinimum ?? -Infinity;
    const below = exclusiveMaximum ?? Infinity;
    tests.push((n) => n >= low && n <= high && n > above && n < below);
  }
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
  return (n) => {
    for (const test of tests) if (!test(n)) return false;
    return true;
  };
}

/** A check of a string against the string keywords that need the text (enum, const, pattern, format). */
export function textCheck(rules: PropertyRules, withFormat: boolean): TextTest | null {
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

/**
 * An integer cell as coerce.ts's integerFromText reads it: plain digits (with a sign) here, byte by
 * byte; anything else (white space, a fraction, an exponent, many digits) through integerFromText.
 * NaN when it is not an integer loadbay stores.
 */
function parseInteger(b: Uint8Array, s: number, e: number): number | bigint {
  let i = s;
  const sign = b[i];
  if (sign === 43 || sign === 45) i++;
  if (i === e || e - i > 15) return integerText(b, s, e);
  let n = 0;
  for (; i < e; i++) {
    const d = b[i]! - 48;
    if (d < 0 || d > 9) return integerText(b, s, e);
    n = n * 10 + d;
  }
  return sign === 45 ? -n : n;
}

function integerText(b: Uint8Array, s: number, e: number): number | bigint {
  const value = integerFromText(latin1Slice(asBuffer(b), s, e));
  return typeof value === 'number' || typeof value === 'bigint' ? value : NaN;
}

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/**
 * A number cell as coerce.ts's numberFromText reads it (NaN when it does not). Up to 15 digits
 * without exponent: digits / 10^k, which is correctly rounded because both are exact doubles;
 * anything else goes through numberFromText.
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
  const value = numberFromText(latin1Slice(asBuffer(b), s, e));
  return typeof value === 'number' ? value : NaN;
}

/** coerce.ts's boolean words, ASCII case folded: 1 / 0, or -1. */
function parseBoolean(b: Uint8Array, s: number, e: number): number {
  while (s < e && isAsciiSpace(b[s]!)) s++;
  while (e > s && isAsciiSpace(b[e - 1]!)) e--;
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
      return c(0) === 110 && c(1) === 111 ? 0 : c(0) === 111 && c(1) === 110 ? 1 : -1; // no / on
    case 3:
      return c(0) === 121 && c(1) === 101 && c(2) === 115 ? 1 : c(0) === 111 && c(1) === 102 && c(2) === 102 ? 0 : -1; // yes / off
    case 4:
      return c(0) === 116 && c(1) === 114 && c(2) === 117 && c(3) === 101 ? 1 : -1; // true
    case 5:
      return c(0) === 102 && c(1) === 97 && c(2) === 108 && c(3) === 115 && c(4) === 101 ? 0 : -1; // false
    default:
      return -1;
  }
}

/**
 * Walks one column of a view: `at(i)` points `b[s … e)` at row i's cell (the batch's buffer, or the
 * bytes of a replacement text or constant) and says whether it has a value — an empty field, a
 * removed value and a column the file lacks have none. `quote` is the quote byte when the cell
 * holds doubled quotes, else -1. One object per column and batch, no call per cell beyond `at`.
 */
class CellCursor {
  b: Uint8Array;
  s = 0;
  e = 0;
  quote = -1;
  private readonly field: number;
  private readonly constant: Buffer | null;
  private readonly overrides: Map<number, string | undefined> | null;
  constructor(private readonly view: CellView, column: number) {
    this.b = view.batch.buf;
    this.field = column < 0 ? -2 : view.fields[column]!;
    const constant = this.field === -1 ? view.constants[column] : undefined;
    this.constant = constant !== undefined && constant !== '' ? Buffer.from(constant, 'utf8') : null;
    this.overrides = view.overrides.size > 0 ? view.overrides : null;
  }
  at(i: number): boolean {
    const field = this.field;
    if (field < 0) return this.bytes(this.constant);
    const batch = this.view.batch;
    const cell = this.view.rows[i]! * batch.width + field;
    if (this.overrides !== null && this.overrides.has(cell)) {
      const text = this.overrides.get(cell);
      return this.bytes(text === undefined || text === '' ? null : Buffer.from(text, 'utf8'));
    }
    this.b = batch.buf;
    this.s = batch.starts[cell]!;
    this.e = batch.ends[cell]!;
    this.quote = batch.escaped[cell] ? batch.quote : -1;
    return this.e > this.s;
  }
  /**
   * The column's bytes in the file over the view's rows: what its text vector needs, give or take
   * an override (which the builder grows for) — sizing it by a guess per row allocated ~3× the
   * text of a small file's columns, and array buffers are what make V8 collect the heap.
   */
  rawBytes(): number {
    const field = this.field;
    if (field < 0) return (this.constant?.length ?? 0) * this.view.count;
    const { starts, ends, width } = this.view.batch;
    const rows = this.view.rows;
    let total = 0;
    for (let i = 0; i < this.view.count; i++) {
      const cell = rows[i]! * width + field;
      total += ends[cell]! - starts[cell]!;
    }
    return total;
  }
  private bytes(bytes: Buffer | null): boolean {
    if (bytes === null) return false;
    this.b = bytes;
    this.s = 0;
    this.e = bytes.length;
    this.quote = -1;
    return true;
  }
  /** The cell as text, doubled quotes undone. */
  text(): string {
    const buf = asBuffer(this.b);
    return this.quote >= 0 ? cellText({ buf, quote: this.quote }, this.s, this.e, 1) : utf8Slice(buf, this.s, this.e);
  }
}

/** Byte-wise membership in a small set of strings (an enum), without making a string per cell. */
function byteSet(values: string[]): ((b: Uint8Array, s: number, e: number) => boolean) | null {
  if (values.length === 0 || values.length > 32) return null;
  const encoded = values.map((v) => Buffer.from(v, 'utf8'));
  return (b, s, e) => {
    const n = e - s;
    outer: for (const v of encoded) {
      if (v.length !== n) continue;
      for (let k = 0; k < n; k++) if (v[k] !== b[s + k]) continue outer;
      return true;
    }
    return false;
  };
}

export function compileKernel(column: Column, rules: PropertyRules, required: boolean): Kernel {
  const numeric = numberCheck(rules);
  const { minLength, maxLength } = rules;
  const lengths = minLength !== undefined || maxLength !== undefined;
  const booleans = rules.enum || rules.hasConst ? (v: boolean) => (rules.enum ? rules.enum.includes(v) : true) && (rules.hasConst ? rules.const === v : true) : null;
  // An enum of text alone is matched on bytes; the other text keywords need the text.
  const enumStrings = rules.enum?.filter((v): v is string => typeof v === 'string') ?? [];
  const inEnum = rules.enum && !rules.hasConst && !rules.pattern && !(rules.format && column.kind === 'string') ? byteSet(enumStrings) : null;
  // Dates and date-times check their format while converting.
  const text = textCheck(inEnum ? { ...rules, enum: undefined } : rules, column.kind === 'string');
  const plain = !lengths && text === null && inEnum === null;

  /** Text keywords on a string value; false when one fails (or NUL, which PostgreSQL cannot store). */
  const stringOk = (cell: CellCursor): boolean => {
    const { b, s, e } = cell;
    let points = 0;
    for (let i = s; i < e; i++) {
      const c = b[i]!;
      if (c === 0) return false;
      if ((c & 0xc0) !== 0x80) points++;
    }
    if (cell.quote >= 0) {
      if (lengths) points = [...cell.text()].length;
      if (inEnum !== null && !enumStrings.includes(cell.text())) return false;
    } else if (inEnum !== null && !inEnum(b, s, e)) return false;
    if (lengths) {
      if (minLength !== undefined && points < minLength) return false;
      if (maxLength !== undefined && points > maxLength) return false;
    }
    return text === null || text(cell.text());
  };

  // One function per column kind, not one switch over kinds: every column's kernel shares its
  // kind's function, so what V8 learns about one integer column holds for the next (a single
  // function for all kinds saw every vector shape and was recompiled again and again).
  const absent = (failed: Uint8Array, i: number) => {
    if (required) failed[i] = 1;
  };
  const runString = (view: CellView, viewColumn: number, failed: Uint8Array): Vector => {
    const rows = view.count;
    const cell = new CellCursor(view, viewColumn);
    const out = new TextBuilder(rows, cell.rawBytes());
    for (let i = 0; i < rows; i++) {
      if (!cell.at(i)) {
        if (required) failed[i] = 1;
        out.appendNull();
      } else if (plain) {
        // No keyword to check: one pass copies and looks for NUL.
        if (!out.appendText(cell.b, cell.s, cell.e, cell.quote)) {
          failed[i] = 1;
          out.appendNull();
        }
      } else if (!stringOk(cell)) {
        failed[i] = 1;
        out.appendNull();
      } else out.appendBytes(cell.b, cell.s, cell.e, cell.quote);
    }
    return out.vector('string');
  };
  const runInteger = (view: CellView, viewColumn: number, failed: Uint8Array): Vector => {
    const rows = view.count;
    const cell = new CellCursor(view, viewColumn);
    const vector = emptyVector('integer', rows) as Extract<Vector, { data: BigInt64Array }>;
    const valid = vector.valid;
    for (let i = 0; i < rows; i++) {
      if (!cell.at(i)) {
        absent(failed, i);
        continue;
      }
      const n = parseInteger(cell.b, cell.s, cell.e);
      const ok = typeof n === 'bigint' ? n <= INT64_MAX && n >= INT64_MIN && (numeric === null || numeric(Number(n))) : n === n && (numeric === null || numeric(n));
      if (!ok) failed[i] = 1;
      else {
        setInt64(vector, i, n);
        valid[i] = 1;
      }
    }
    return vector;
  };
  const runNumber = (view: CellView, viewColumn: number, failed: Uint8Array): Vector => {
    const rows = view.count;
    const cell = new CellCursor(view, viewColumn);
    const vector = emptyVector('number', rows) as Extract<Vector, { kind: 'number' }>;
    const valid = vector.valid;
    for (let i = 0; i < rows; i++) {
      if (!cell.at(i)) {
        absent(failed, i);
        continue;
      }
      const n = parseNumber(cell.b, cell.s, cell.e);
      if (n !== n || (numeric !== null && !numeric(n))) failed[i] = 1;
      else {
        vector.data[i] = n;
        valid[i] = 1;
      }
    }
    return vector;
  };
  const runBoolean = (view: CellView, viewColumn: number, failed: Uint8Array): Vector => {
    const rows = view.count;
    const cell = new CellCursor(view, viewColumn);
    const vector = emptyVector('boolean', rows) as Extract<Vector, { kind: 'boolean' }>;
    const valid = vector.valid;
    for (let i = 0; i < rows; i++) {
      if (!cell.at(i)) {
        absent(failed, i);
        continue;
      }
      const v = parseBoolean(cell.b, cell.s, cell.e);
      if (v < 0 || (booleans !== null && !booleans(v === 1))) failed[i] = 1;
      else {
        vector.data[i] = v;
        valid[i] = 1;
      }
    }
    return vector;
  };
  const runDate = (view: CellView, viewColumn: number, failed: Uint8Array): Vector => {
    const rows = view.count;
    const cell = new CellCursor(view, viewColumn);
    const vector = emptyVector('date', rows) as Extract<Vector, { kind: 'date' }>;
    const valid = vector.valid;
    for (let i = 0; i < rows; i++) {
      if (!cell.at(i)) {
        absent(failed, i);
        continue;
      }
      let days = cell.e - cell.s === 10 ? canonicalDays(cell.b, cell.s) : NaN;
      if (days !== days) {
        const value = cell.text();
        if (rules.format!(value) && dateRule(value) === null) days = dateToDays(value);
      }
      if (days !== days || (!plain && !stringOk(cell))) failed[i] = 1;
      else {
        vector.data[i] = days;
        valid[i] = 1;
      }
    }
    return vector;
  };
  const runTimestamp = (view: CellView, viewColumn: number, failed: Uint8Array): Vector => {
    const rows = view.count;
    const cell = new CellCursor(view, viewColumn);
    const vector = emptyVector('timestamp', rows) as Extract<Vector, { data: BigInt64Array }>;
    const valid = vector.valid;
    for (let i = 0; i < rows; i++) {
      if (!cell.at(i)) {
        absent(failed, i);
        continue;
      }
      let micros: number | bigint = canonicalMicros(cell.b, cell.s, cell.e);
      if (micros !== micros) {
        const value = cell.text();
        if (rules.format!(value) && timestampRule(value) === null) micros = convertedMicros(value);
      }
      if (micros !== micros || (!plain && !stringOk(cell))) failed[i] = 1;
      else {
        setInt64(vector, i, micros);
        valid[i] = 1;
      }
    }
    return vector;
  };
  const runs: Record<ColumnKind, Kernel['run'] | null> = { string: runString, integer: runInteger, number: runNumber, boolean: runBoolean, date: runDate, timestamp: runTimestamp, json: null };
  const run = runs[column.kind];
  if (run === null) throw new Error(`no column kernel for ${column.kind} columns (validate/plan.ts should have sent this dataset elsewhere)`);
  return { column, required, run };
}

/** The view's rows through every kernel: the rows that pass as vectors, and the view indexes that failed. */
export function runKernels(view: CellView, kernels: Kernel[]): { typed: TypedBatch; failed: number[] } {
  const failed = new Uint8Array(view.count);
  const vectors = kernels.map((k) => k.run(view, view.names.indexOf(k.column.name), failed));
  const { lines } = view.batch;
  return passingRows(vectors, failed, (i) => lines[view.rows[i]!]!);
}
