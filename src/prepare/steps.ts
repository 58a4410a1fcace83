/**
 * The `prepare:` steps on records (the record engine, and JSON values): each compiled step
 * (compile-steps.ts, where what a step means is defined once) becomes a per-file function run on
 * whole batches, in the order written. A step may drop records (counted, never silent) or add
 * problems (e.g. two headers that collide).
 */
import { createHash } from 'node:crypto';
import type { Problem } from '../errors.js';
import { isJsonObject, jsonText } from '../read/json-values.js';
import { limitError } from '../read/limits.js';
import { shortName } from '../lib/shorten.js';
import { fileValues, renaming, renamingLabel, valueChange, type PrepareStep, type StepColumns } from './compile-steps.js';
import { defineKey, ownValue } from './keys.js';
import { byShape, literal, literalKey } from './shape.js';
import { unreachable } from '../lib/unreachable.js';

/** Counters a file's log line reports. */
export interface PrepareStats {
  droppedNullRows: number;
  droppedDuplicateRows: number;
}

/** What a step keeps for one file. */
export interface StepContext {
  /** The file's name without folders, for `add_columns.from_file_name`. */
  fileName: string;
  stats: PrepareStats;
  /** `max_distinct_rows` bounds what `drop_duplicate_rows` remembers. */
  maxDistinctRows: number;
}

export interface StepBatch {
  records: Record<string, unknown>[];
  numbers: number[];
  problems: Problem[];
}

/** A step's function for one file's batches. */
export type RecordStep = (batch: StepBatch, locator: 'line' | 'record') => void;

/** The step's function for one file. */
export function recordStep(step: PrepareStep, context: StepContext): RecordStep {
  switch (step.kind) {
    case 'headers':
    case 'rename':
      return keyStep(renamingLabel(step), renaming(step));
    case 'trim':
    case 'lowercase_values':
    case 'uppercase_values':
      return valueStep(step.columns, valueChange(step));
    case 'null_values':
      return valueStep(true, valueChange(step));
    case 'drop_rows_with_nulls':
      return dropRowsWithNulls(step.columns, context.stats);
    case 'drop_duplicate_rows':
      return dropDuplicateRows(context);
    case 'defaults': {
      const defaults = step.values;
      return (batch) => {
        for (const record of batch.records) for (const [k, v] of defaults) if (isEmpty(ownValue(record, k))) defineKey(record, k, v);
      };
    }
    case 'add_columns': {
      const entries = Object.entries(fileValues(step, context.fileName));
      return (batch) => {
        for (const record of batch.records) for (const [k, v] of entries) defineKey(record, k, v);
      };
    }
    case 'select': {
      const wanted = step.columns;
      return (batch) => {
        for (const record of batch.records) for (const k in record) if (!wanted.has(k)) delete record[k];
      };
    }
    case 'exclude': {
      const unwanted = step.columns;
      return (batch) => {
        for (const record of batch.records) for (const k of unwanted) delete record[k];
      };
    }
    default:
      return unreachable(step, 'prepare step');
  }
}

function isEmpty(value: unknown): boolean {
  return value === undefined || value === null || value === '';
}

/**
 * Renames keys with a cached mapping. Two source keys landing on one name in the same record is a
 * problem; since that needs two such sources to exist at all, records are only checked once the
 * mapping has seen a target with more than one source.
 */
function keyStep(name: string, map: (key: string) => string): RecordStep {
  const cache = new Map<string, string>();
  const sources = new Map<string, string>();
  const ambiguous = new Set<string>();
  const target = (key: string) => {
    let mapped = cache.get(key);
    if (mapped === undefined) {
      cache.set(key, (mapped = map(key)));
      const earlier = sources.get(mapped);
      if (earlier === undefined) sources.set(mapped, key);
      else if (earlier !== key) ambiguous.add(mapped);
    }
    return mapped;
  };
  // Per key list: one object literal with the new names, unless two keys of it collide.
  const renamerFor = byShape((keys) => {
    const targets = keys.map(target);
    if (new Set(targets).size < targets.length) return null;
    const fields = keys.map((key, i) => `${literalKey(targets[i]!)}: r[${literal(key)}]`);
    return new Function('r', `return { ${fields.join(', ')} };`) as (r: Record<string, unknown>) => Record<string, unknown>;
  });
  return (batch, locator) => {
    const keep: number[] = [];
    for (let r = 0; r < batch.records.length; r++) {
      const record = batch.records[r]!;
      const renamer = renamerFor(record);
      if (renamer) {
        batch.records[r] = renamer(record);
        keep.push(r);
        continue;
      }
      const renamed: Record<string, unknown> = {};
      let collision: Problem | null = null;
      for (const key in record) {
        const to = target(key);
        if (ambiguous.size > 0 && ambiguous.has(to) && to in renamed && !collision) {
          const other = Object.keys(record).find((k) => k !== key && target(k) === to)!;
          collision = {
            [locator]: batch.numbers[r],
            field: shortName(to),
            rule: name,
            message: `columns "${shortName(other)}" and "${shortName(key)}" both become "${shortName(to)}" after ${name}`,
          };
        }
        defineKey(renamed, to, record[key]);
      }
      if (collision) {
        batch.problems.push(collision);
        continue;
      }
      batch.records[r] = renamed;
      keep.push(r);
    }
    filterInPlace(batch, keep);
  };
}

function filterInPlace(batch: StepBatch, keep: number[]): void {
  if (keep.length === batch.records.length) return;
  batch.records = keep.map((i) => batch.records[i]!);
  batch.numbers = keep.map((i) => batch.numbers[i]!);
}

/** Applies `change` to string values of the listed columns, or of all columns for `true`. */
function valueStep(columns: StepColumns, change: (value: string) => unknown): RecordStep {
  const apply = (record: Record<string, unknown>, key: string) => {
    const value = record[key];
    if (typeof value === 'string') {
      const changed = change(value);
      // A removed value stays a key, undefined: absent to ajv and the writers, empty to
      // drop_rows_with_nulls, and still there for a rename to collide with (as on cells).
      if (changed === undefined) defineKey(record, key, undefined);
      else if (changed !== value) record[key] = changed;
    }
  };
  // For `true`: per key list, straight-line code over every key instead of a for-in loop.
  const compiled =
    columns === true
      ? byShape((keys) => {
          const body = keys.map((key) => {
            const k = literal(key);
            return `v = r[${k}]; if (typeof v === 'string') { c = change(v); if (c !== v) r[${k}] = c; }`;
          });
          return new Function('change', `return (r) => { let v, c; ${body.join('\n')} };`)(change) as (r: Record<string, unknown>) => void;
        })
      : null;
  return (batch) => {
    for (const record of batch.records) {
      if (columns === true) {
        const fn = compiled!(record);
        if (fn) fn(record);
        else for (const key in record) apply(record, key);
      } else for (const key of columns) apply(record, key);
    }
  };
}

function dropRowsWithNulls(columns: StepColumns, stats: PrepareStats): RecordStep {
  return (batch) => {
    const keep: number[] = [];
    batch.records.forEach((record, r) => {
      let hasNull = false;
      if (columns === true) {
        for (const k in record) if (isEmpty(record[k])) { hasNull = true; break; }
      } else hasNull = columns.some((k) => isEmpty(ownValue(record, k)));
      if (hasNull) stats.droppedNullRows++;
      else keep.push(r);
    });
    filterInPlace(batch, keep);
  };
}

/**
 * One SHA-256 digest (32 bytes) per distinct row: memory grows with distinct rows, not bytes, and
 * two distinct rows never collide in practice (a 64-bit hash could drop one silently). The number of
 * distinct rows is the file's to choose, so it is bounded.
 */
function dropDuplicateRows({ stats, maxDistinctRows }: StepContext): RecordStep {
  const seen = new Set<string>();
  return (batch, locator) => {
    const keep: number[] = [];
    batch.records.forEach((record, r) => {
      const fingerprint = fingerprintOf(record);
      if (seen.has(fingerprint)) stats.droppedDuplicateRows++;
      else {
        if (seen.size >= maxDistinctRows) {
          const what = `drop_duplicate_rows: more than ${maxDistinctRows} distinct rows to remember`;
          throw limitError('prepare', 'max_distinct_rows', maxDistinctRows, what, { locator, number: batch.numbers[r]! });
        }
        seen.add(fingerprint);
        keep.push(r);
      }
    });
    filterInPlace(batch, keep);
  };
}

/** SHA-256 of the row's canonical JSON (keys sorted, BigInts as digits), as a 32-character string. */
export function fingerprintOf(record: Record<string, unknown>): string {
  const text = jsonText(Object.keys(record).sort().map((k) => [k, record[k]]));
  return createHash('sha256').update(text).digest().toString('latin1');
}

/** Nested objects become columns joined by `_`; arrays stay values (JSON). */
export function flattenRecord(record: Record<string, unknown>, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  for (const key in record) {
    const value = record[key];
    const name = prefix ? `${prefix}_${key}` : key;
    if (isJsonObject(value)) flattenRecord(value, name, out);
    else defineKey(out, name, value);
  }
  return out;
}
