/**
 * The column kernels for JSON and JSONL records (after reading, flattening and the prepare steps):
 * the same compiled keyword set as kernels.ts, checked on the records' values one column at a time
 * and written straight into vectors — instead of ajv per record and a second pass to build the
 * vectors. JSON values come typed, so the checks include what ajv's `type` says of each (an integer
 * is a number without fraction, or a BigInt within int64; null only where the type allows it).
 * A failed row goes to ajv for its report, as on the CSV path; tests/unit/kernels.test.ts checks
 * the verdicts against ajv on generated values.
 */
import type { Column } from '../columns.js';
import type { Problem } from '../errors.js';
import { DecimalText, jsonText } from '../read/json-values.js';
import { canonicalDays, canonicalDaysOf, canonicalMicros, canonicalMicrosOf, dateToDays } from '../write/time.js';
import { codePoints, utf8Slice } from '../lib/bytes.js';
import { columnValues, emptyVector, passingRows, setInt64, TextBuilder, type TypedBatch, type Vector } from '../write/vectors.js';
import { numberCheck, textCheck, type PropertyRules } from './rules.js';
import { textKeywords } from './cell-values.js';
import { unreachable } from '../lib/unreachable.js';
import { dateRule, inInt64, INT64_MAX, INT64_MIN, jsonLimit, loadableMicros } from './targets.js';

/**
 * One column's kernel. Called with a column of values it checks and converts them all; `sink` does
 * the same a value at a time, for rows read straight from the file (row-sink.ts), so that no value
 * outlives its line.
 */
export interface ValueKernel {
  (values: unknown[], failed: Uint8Array): Vector;
  sink(capacity: number): ValueSink;
}

/** A column's vector being filled row by row: `add` for row 0, 1, …; `grow` before a row past the capacity. */
export interface ValueSink {
  add(value: unknown, row: number, failed: Uint8Array): void;
  /** `add` of a JSON string given as its UTF-8 bytes `b[s … e)` (checked UTF-8, no NUL): no string made where none is needed. */
  addText(b: Buffer, s: number, e: number, row: number, failed: Uint8Array): void;
  grow(capacity: number): void;
  vector(rows: number): Vector;
}

/** ajv's deep equality is `===` for the scalars an enum of this set may hold. */
function nullAllowed(rules: PropertyRules): boolean {
  if (!rules.nullable) return false;
  if (rules.enum && !rules.enum.includes(null)) return false;
  if (rules.hasConst && rules.const !== null) return false;
  return true;
}

export function compileValueKernel(column: Column, rules: PropertyRules, required: boolean): ValueKernel {
  const numeric = numberCheck(rules);
  const text = textCheck(rules, column.kind === 'string');
  const { minLength, maxLength } = rules;
  const nullOk = nullAllowed(rules);
  // Dates and date-times without other text keywords: the conversion is the whole check.
  const plain = minLength === undefined && maxLength === undefined && !rules.enum && !rules.hasConst && !rules.pattern;
  const booleans = rules.enum || rules.hasConst ? (v: boolean) => (rules.enum ? rules.enum.includes(v) : true) && (rules.hasConst ? rules.const === v : true) : null;
  const stringOk = (s: string): boolean => {
    if (s.includes('\u0000') || !s.isWellFormed()) return false;
    if (minLength !== undefined || maxLength !== undefined) {
      let points = 0;
      for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c < 0xd800 || c > 0xdbff) points++; // a high surrogate's pair counts once, at its low half
      }
      if (minLength !== undefined && points < minLength) return false;
      if (maxLength !== undefined && points > maxLength) return false;
    }
    return text === null || text(s);
  };
  // A value of another JSON type than the column's fails: `type` says so, or — without `type` — the
  // enum/const that gave the column its kind (they hold values of that type only, columns.ts).
  const jsonTypes = rules.jsonTypes;

  /** A text or JSON value into `out` (row `i`). */
  const addText = (v: unknown, i: number, failed: Uint8Array, out: TextBuilder) => {
    if (v === undefined) {
      if (required) failed[i] = 1;
      out.appendNull();
    } else if (v === null) {
      if (!nullOk) failed[i] = 1;
      out.appendNull();
    } else if (column.kind === 'json') {
      // Only `type: object`, `array`, both or none reach here (plan.ts). Every string inside
      // gets the text limits (targets.ts: NUL, lone surrogates); a DecimalText is a number.
      const typeOk =
        jsonTypes === undefined ||
        (Array.isArray(v) ? jsonTypes.has('array') : typeof v === 'object' && !(v instanceof DecimalText) && jsonTypes.has('object'));
      const ok = typeOk && jsonLimit(v) === null;
      if (!ok) {
        failed[i] = 1;
        out.appendNull();
      } else out.appendString(jsonText(v));
    } else if (typeof v === 'string' && stringOk(v)) out.appendString(v);
    else {
      failed[i] = 1;
      out.appendNull();
    }
  };

  /** Any other value into `vector` at row `i`. */
  const addFixed = (v: unknown, i: number, failed: Uint8Array, vector: FixedVector) => {
    if (v === undefined) {
      if (required) failed[i] = 1;
      return;
    }
    if (v === null) {
      if (!nullOk) failed[i] = 1;
      return;
    }
    let ok = false;
    switch (vector.kind) {
      case 'integer':
        // A double beyond 2^53 that is an integer within int64 passes, as in validate.ts.
        if (typeof v === 'number') ok = Number.isInteger(v) && (Number.isSafeInteger(v) || inInt64(v)) && (numeric === null || numeric(v));
        else if (typeof v === 'bigint') ok = v <= INT64_MAX && v >= INT64_MIN && (numeric === null || numeric(Number(v)));
        if (ok) setInt64(vector, i, v as number | bigint);
        break;
      case 'number':
        if (typeof v === 'number') ok = numeric === null || numeric(v);
        else if (typeof v === 'bigint' || v instanceof DecimalText) ok = numeric === null || numeric(Number(v));
        if (ok) vector.data[i] = Number(v);
        break;
      case 'boolean':
        if (typeof v === 'boolean') ok = booleans === null || booleans(v);
        if (ok) vector.data[i] = v ? 1 : 0;
        break;
      case 'date': {
        if (typeof v !== 'string') break;
        // The canonical shape (which the format accepts) straight to days; others through the format.
        let days = canonicalDaysOf(v);
        if (days !== days && rules.format!(v) && dateRule(v) === null) days = dateToDays(v);
        if (days === days && (plain || stringOk(v))) {
          ok = true;
          vector.data[i] = days;
        }
        break;
      }
      case 'timestamp': {
        if (typeof v !== 'string') break;
        let micros: number | bigint = canonicalMicrosOf(v);
        if (micros !== micros && rules.format!(v)) micros = loadableMicros(v);
        if (micros === micros && (plain || stringOk(v))) {
          ok = true;
          setInt64(vector, i, micros);
        }
        break;
      }
      default:
        unreachable(vector, 'vector kind');
    }
    if (ok) vector.valid[i] = 1;
    else failed[i] = 1;
  };

  // A string's bytes go into a text column as they are where only their length and an enum of text
  // are checked (the enum on bytes, as kernels.ts does); the other text keywords need the string.
  const { inEnum, text: needsString } = textKeywords(rules, column.kind);
  const bytesOk = column.kind === 'string' && needsString === null;
  const addTextBytes = (b: Buffer, s: number, e: number, i: number, failed: Uint8Array, out: TextBuilder) => {
    if (!bytesOk) return addText(utf8Slice(b, s, e), i, failed, out);
    if (minLength !== undefined || maxLength !== undefined) {
      const points = codePoints(b, s, e);
      if ((minLength !== undefined && points < minLength) || (maxLength !== undefined && points > maxLength)) {
        failed[i] = 1;
        return out.appendNull();
      }
    }
    if (inEnum !== null && !inEnum(b, s, e)) {
      failed[i] = 1;
      return out.appendNull();
    }
    out.appendBytes(b, s, e);
  };
  /** A string's bytes into a fixed-width column: dates and date-times of the canonical shape without a string. */
  const addFixedBytes = (b: Buffer, s: number, e: number, i: number, failed: Uint8Array, vector: FixedVector) => {
    if (plain && vector.kind === 'timestamp') {
      const micros = canonicalMicros(b, s, e);
      if (micros === micros) {
        setInt64(vector, i, micros);
        vector.valid[i] = 1;
        return;
      }
    } else if (plain && vector.kind === 'date' && e - s === 10) {
      const days = canonicalDays(b, s);
      if (days === days) {
        vector.data[i] = days;
        vector.valid[i] = 1;
        return;
      }
    }
    addFixed(utf8Slice(b, s, e), i, failed, vector);
  };

  const sink = (capacity: number): ValueSink => {
    if (column.kind === 'string' || column.kind === 'json') {
      const kind = column.kind;
      const out = new TextBuilder(capacity, capacity * 24);
      return {
        add: (v, i, failed) => addText(v, i, failed, out),
        addText: (b, s, e, i, failed) => addTextBytes(b, s, e, i, failed, out),
        grow: (rows) => out.reserveRows(rows, 24),
        vector: () => out.vector(kind),
      };
    }
    let vector = emptyVector(column.kind, capacity) as FixedVector;
    return {
      add: (v, i, failed) => addFixed(v, i, failed, vector),
      addText: (b, s, e, i, failed) => addFixedBytes(b, s, e, i, failed, vector),
      grow: (rows) => (vector = widened(vector, rows)),
      vector: (rows) => narrowed(vector, rows),
    };
  };
  const kernel = ((values: unknown[], failed: Uint8Array) => {
    const rows = values.length;
    const into = sink(rows);
    for (let i = 0; i < rows; i++) into.add(values[i], i, failed);
    return into.vector(rows);
  }) as ValueKernel;
  kernel.sink = sink;
  return kernel;
}

type FixedVector = Exclude<Vector, { kind: 'string' | 'json' }>;

/** A fixed-width vector with room for `rows`, holding what it held. */
function widened(vector: FixedVector, rows: number): FixedVector {
  const wider = emptyVector(vector.kind, rows) as FixedVector;
  wider.valid.set(vector.valid);
  (wider.data as Uint8Array).set(vector.data as Uint8Array);
  return wider;
}

/** The first `rows` of a vector (views from its start, as TextBuilder gives). */
function narrowed(vector: FixedVector, rows: number): Vector {
  if (vector.valid.length === rows) return vector;
  const valid = vector.valid.subarray(0, rows);
  switch (vector.kind) {
    case 'integer':
    case 'timestamp': {
      const data = vector.data.subarray(0, rows);
      return { kind: vector.kind, valid, data, words: new Int32Array(data.buffer, 0, 2 * rows) };
    }
    case 'number':
      return { kind: vector.kind, valid, data: vector.data.subarray(0, rows) };
    case 'boolean':
      return { kind: vector.kind, valid, data: vector.data.subarray(0, rows) };
    case 'date':
      return { kind: vector.kind, valid, data: vector.data.subarray(0, rows) };
    default:
      return unreachable(vector, 'vector kind');
  }
}

/** Rows the value kernels took one at a time (row-sink.ts): vectors, a flag per failed row, line numbers. */
export interface SunkRows {
  rows: number;
  vectors: Vector[];
  failed: Uint8Array;
  numbers: Float64Array;
  /** By row index, each failed row's record as prepared (a row the scanner read is read again by JSON.parse). */
  failedRecords: Map<number, Record<string, unknown>>;
  /** By line, the records JSON.parse read as they were, of rows that failed or that prepare refused (when kept). */
  originals: Map<number, Record<string, unknown>>;
  /** What prepare refused of those records (extra_columns: error). */
  prepareProblems: Problem[];
}

/** The records' values through every kernel: the rows that pass as vectors, and the indexes that failed. */
export function runValueKernels(
  columns: readonly Column[],
  kernels: readonly ValueKernel[],
  records: Record<string, unknown>[],
  numbers: number[],
): { typed: TypedBatch; failed: number[] } {
  const failed = new Uint8Array(records.length);
  const vectors = kernels.map((kernel, c) => kernel(columnValues(records, columns[c]!.name), failed));
  return passingRows(vectors, failed, (i) => numbers[i]!);
}

/** The rows a `KernelRows` took: those that pass as vectors, and the indexes that failed. */
export function passingSunkRows(sunk: SunkRows): { typed: TypedBatch; failed: number[] } {
  return passingRows(sunk.vectors, sunk.failed, (i) => sunk.numbers[i]!);
}
