/**
 * A dataset's JSON Schema compiled to column kernels: per property, one function that converts a
 * whole column of CSV cells to its type (as coerce.ts's coerceText does) and checks every keyword
 * of the compiled set — type, enum, const, minimum, maximum, exclusiveMinimum, exclusiveMaximum,
 * multipleOf, minLength, maxLength (code points), pattern (with ajv's `u` flag), format (the very
 * function registered in ajv), required — plus the limits of the targets (targets.ts: int64,
 * NUL, what PostgreSQL refuses of dates and date-times). The result is typed vectors and the rows that failed.
 *
 * ajv stays the authority: a failed row is handed to the dataset's ajv validator, whose errors are
 * what the report shows; tests/unit/kernels.test.ts checks on generated schemas and values that a
 * kernel passes exactly what ajv passes. Which schemas compile is decided in plan.ts.
 */
import type { Column, ColumnKind } from '../columns.js';
import type { CellView } from '../prepare/cells.js';
import { canonicalDays, canonicalMicros, dateToDays } from '../write/time.js';
import { dateRule, INT64_MAX, INT64_MIN, loadableMicros } from './targets.js';
import { CellCursor, parseBoolean, parseInteger, parseNumber, textKeywords } from './cell-values.js';
import { numberCheck, type PropertyRules } from './rules.js';
import { emptyVector, passingRows, setInt64, TextBuilder, type TypedBatch, type Vector } from '../write/vectors.js';

export interface Kernel {
  column: Column;
  required: boolean;
  /** Converts and checks one column of the view's rows into `out`; sets `failed[i]` for a row that fails. */
  run(view: CellView, viewColumn: number, failed: Uint8Array): Vector;
}

export function compileKernel(column: Column, rules: PropertyRules, required: boolean): Kernel {
  const numeric = numberCheck(rules);
  const { minLength, maxLength } = rules;
  const lengths = minLength !== undefined || maxLength !== undefined;
  const booleans = rules.enum || rules.hasConst ? (v: boolean) => (rules.enum ? rules.enum.includes(v) : true) && (rules.hasConst ? rules.const === v : true) : null;
  // An enum of text alone is matched on bytes; the other text keywords need the text. Dates and
  // date-times check their format while converting.
  const { inEnum, enumStrings, text } = textKeywords(rules, column.kind);
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
  // kind's function, which stays monomorphic (BENCHMARKS.md, "Why the code is shaped as it is").
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
        if (rules.format!(value)) micros = loadableMicros(value);
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

