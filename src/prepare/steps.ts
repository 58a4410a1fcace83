/**
 * The `prepare:` steps of a dataset. Each step is a small unit: resolved once from its YAML form
 * (errors name the step), then run on whole batches of records, in the order written. A step may
 * drop records (counted, never silent) or add problems (e.g. two headers that collide).
 */
import type { UserStep } from '../config/types.js';
import { createHash } from 'node:crypto';
import { DataError, type Problem } from '../errors.js';
import { DecimalText, jsonText } from '../read/json-values.js';
import { limitError } from '../read/limits.js';
import { shortName } from '../lib/shorten.js';
import { defineKey, ownValue } from './keys.js';
import { byShape, literal, literalKey } from './shape.js';

export type { UserStep };

export const STEP_NAMES = [
  'headers',
  'rename',
  'trim',
  'null_values',
  'lowercase_values',
  'uppercase_values',
  'drop_rows_with_nulls',
  'drop_duplicate_rows',
  'defaults',
  'add_columns',
  'select',
  'exclude',
] as const;

/** Counters a file's log line reports. */
export interface PrepareStats {
  droppedNullRows: number;
  droppedDuplicateRows: number;
}

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

/** A resolved step: builds the per-file function that runs on batches. */
export interface Step {
  name: string;
  /** The step as written, for the columnar path (prepare/cells.ts), which runs the same steps on cells. */
  user?: UserStep;
  /** Values the step gives every record of a file, known from its name alone (add_columns). */
  constants?(fileName: string): Record<string, unknown>;
  forFile(context: StepContext): (batch: StepBatch, locator: 'line' | 'record') => void;
}

export function snakeCase(name: string): string {
  return name
    .trim()
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase();
}

function isEmpty(value: unknown): boolean {
  return value === undefined || value === null || value === '';
}

/**
 * Renames keys with a cached mapping. Two source keys landing on one name in the same record is a
 * problem; since that needs two such sources to exist at all, records are only checked once the
 * mapping has seen a target with more than one source.
 */
function keyStep(name: string, map: (key: string) => string): Step {
  return {
    name,
    forFile() {
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
    },
  };
}

function filterInPlace(batch: StepBatch, keep: number[]): void {
  if (keep.length === batch.records.length) return;
  batch.records = keep.map((i) => batch.records[i]!);
  batch.numbers = keep.map((i) => batch.numbers[i]!);
}

/** Applies `change` to string values of the listed columns, or of all columns for `true`. */
function valueStep(name: string, columns: true | string[], change: (value: string) => unknown): Step {
  const apply = (record: Record<string, unknown>, key: string) => {
    const value = record[key];
    if (typeof value === 'string') {
      const changed = change(value);
      if (changed === undefined) delete record[key];
      else if (changed !== value) record[key] = changed;
    }
  };
  return {
    name,
    forFile() {
      // For `true`: per key list, straight-line code over every key instead of a for-in loop.
      const compiled =
        columns === true
          ? byShape((keys) => {
              const body = keys.map((key) => {
                const k = literal(key);
                return `v = r[${k}]; if (typeof v === 'string') { c = change(v); if (c === undefined) delete r[${k}]; else if (c !== v) r[${k}] = c; }`;
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
    },
  };
}

/** Throws an Error whose message names the step; the caller adds file and path. */
export function resolveStep(step: UserStep): Step {
  return { ...resolveStepOf(step), user: step };
}

function resolveStepOf(step: UserStep): Step {
  const [key, value] = Object.entries(step)[0] as [string, unknown];
  switch (key) {
    case 'headers':
      return keyStep(`headers: ${String(value)}`, value === 'snake_case' ? snakeCase : (k) => k.toLowerCase());
    case 'rename': {
      const map = value as Record<string, string>;
      return keyStep('rename', (k) => map[k] ?? k);
    }
    case 'trim':
      return valueStep('trim', value as true | string[], (v) => v.trim());
    case 'null_values': {
      const nulls = new Set(value as string[]);
      return valueStep('null_values', true, (v) => (nulls.has(v) ? undefined : v));
    }
    case 'lowercase_values':
      return valueStep('lowercase_values', value as true | string[], (v) => v.toLowerCase());
    case 'uppercase_values':
      return valueStep('uppercase_values', value as true | string[], (v) => v.toUpperCase());
    case 'drop_rows_with_nulls': {
      const columns = value as true | string[];
      return {
        name: 'drop_rows_with_nulls',
        forFile({ stats }) {
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
        },
      };
    }
    case 'drop_duplicate_rows':
      return {
        name: 'drop_duplicate_rows',
        forFile({ stats, maxDistinctRows }) {
          // One SHA-256 digest (32 bytes) per distinct row: memory grows with distinct rows, not bytes,
          // and two distinct rows never collide in practice (a 64-bit hash could drop one silently).
          // The number of distinct rows is the file's to choose, so it is bounded.
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
        },
      };
    case 'defaults': {
      const defaults = Object.entries(value as Record<string, unknown>);
      return {
        name: 'defaults',
        forFile() {
          return (batch) => {
            for (const record of batch.records) {
              for (const [k, v] of defaults) if (isEmpty(ownValue(record, k))) defineKey(record, k, v);
            }
          };
        },
      };
    }
    case 'add_columns': {
      const { from_file_name: pattern, values = {} } = value as { from_file_name?: string; values?: Record<string, unknown> };
      let regex: RegExp | null = null;
      if (pattern) {
        try {
          regex = new RegExp(pattern);
        } catch (error) {
          throw new Error(`add_columns.from_file_name: not a valid regular expression: ${(error as Error).message}`);
        }
        if (!/\(\?<[A-Za-z_][A-Za-z0-9_]*>/.test(pattern)) {
          throw new Error('add_columns.from_file_name: use named groups, e.g. (?<year>\\d{4})');
        }
      }
      const constants = (fileName: string) => {
        const added: Record<string, unknown> = { ...values };
        if (regex) {
          const match = regex.exec(fileName);
          if (!match?.groups) {
            const message = `the file name "${fileName}" does not match add_columns.from_file_name ${pattern}`;
            throw new DataError('prepare', message, [{ rule: 'add_columns', message }]);
          }
          for (const [k, v] of Object.entries(match.groups)) if (v !== undefined) added[k] = v;
        }
        return added;
      };
      return {
        name: 'add_columns',
        constants,
        forFile({ fileName }) {
          const entries = Object.entries(constants(fileName));
          return (batch) => {
            for (const record of batch.records) for (const [k, v] of entries) record[k] = v;
          };
        },
      };
    }
    case 'select': {
      const wanted = new Set(value as string[]);
      return {
        name: 'select',
        forFile() {
          return (batch) => {
            for (const record of batch.records) for (const k in record) if (!wanted.has(k)) delete record[k];
          };
        },
      };
    }
    case 'exclude': {
      const unwanted = value as string[];
      return {
        name: 'exclude',
        forFile() {
          return (batch) => {
            for (const record of batch.records) for (const k of unwanted) delete record[k];
          };
        },
      };
    }
    default:
      throw new Error(`unknown step "${key}" (steps: ${STEP_NAMES.join(', ')})`);
  }
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
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof DecimalText)) flattenRecord(value as Record<string, unknown>, name, out);
    else defineKey(out, name, value);
  }
  return out;
}
