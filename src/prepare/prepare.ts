/**
 * Preparation between reading and validation, in one place and in this order, on whole batches:
 * 1. `flatten: true` turns nested objects into `parent_child` columns;
 * 2. the dataset's `prepare:` steps, in the order written (see steps.ts);
 * 3. CSV text (and values taken from file names) is coerced to the types the schema declares
 *    (coerce.ts); an empty field is absent (NULL); a value that does not parse stays text for the
 *    validator;
 * 4. columns the schema does not know: a problem (`extra_columns: error`), dropped (`ignore`) or
 *    kept together in the `_extra` jsonb column (`keep`).
 */
import { EXTRA_COLUMN } from '../columns.js';
import type { CompiledDataset } from '../compile.js';
import type { Problem } from '../errors.js';
import type { Locator, RawBatch } from '../read/types.js';
import { shortName } from '../lib/shorten.js';
import { defineKey } from './keys.js';
import { byShape, literal } from './shape.js';
import { fileValues } from './compile-steps.js';
import { flattenRecord, recordStep, type PrepareStats } from './steps.js';
import { coerceText } from './coerce.js';

export interface Preparer {
  /** Prepares the batch in place; problems are added to `batch.problems`, their records removed. */
  (batch: RawBatch, locator: Locator): void;
  stats: PrepareStats;
}

export function makePreparer(dataset: CompiledDataset, fileName: string, maxDistinctRows: number): Preparer {
  const known = new Map(dataset.columns.filter((c) => c.name !== EXTRA_COLUMN).map((c) => [c.name, c]));
  const coerceAll = dataset.format === 'csv';
  const extra = dataset.extraColumns;
  const stats: PrepareStats = { droppedNullRows: 0, droppedDuplicateRows: 0 };
  const steps = dataset.steps.map((step) => recordStep(step, { fileName, stats, maxDistinctRows }));
  // Per key list without unknown columns: straight-line coercion of exactly the fields that need it
  // (the same rules as the generic loop below, which handles every other shape).
  const coercerFor = byShape((keys) => {
    if (keys.some((key) => !known.has(key))) return null;
    const body: string[] = [];
    keys.forEach((key, i) => {
      const kind = known.get(key)!.kind;
      const k = literal(key);
      if (coerceAll) {
        const to = kind === 'string' || kind === 'date' || kind === 'timestamp' ? 'v' : `coerce(v, kinds[${i}])`;
        body.push(`v = r[${k}]; if (typeof v === 'string') r[${k}] = v === '' ? undefined : ${to};`);
      } else if (dataset.textColumns.has(key)) {
        body.push(`v = r[${k}]; if (typeof v === 'string') r[${k}] = coerce(v, kinds[${i}]);`);
      }
    });
    const kinds = keys.map((key) => known.get(key)!.kind);
    return new Function('coerce', 'kinds', `return (r) => { let v; ${body.join('\n')} };`)(coerceText, kinds) as (r: Record<string, unknown>) => void;
  });
  const preparer = ((batch, locator) => {
    if (dataset.flatten) batch.records = batch.records.map((r) => flattenRecord(r));
    for (const step of steps) {
      step(batch, locator);
      if (batch.records.length === 0) break;
    }
    const keepRecords: Record<string, unknown>[] = [];
    const keepNumbers: number[] = [];
    for (let r = 0; r < batch.records.length; r++) {
      const record = batch.records[r]!;
      const coerce = coercerFor(record);
      if (coerce) {
        coerce(record);
        keepRecords.push(record);
        keepNumbers.push(batch.numbers[r]!);
        continue;
      }
      let unknown: string[] | null = null;
      let kept: Record<string, unknown> | null = null;
      for (const key in record) {
        const column = known.get(key);
        const value = record[key];
        if (column === undefined) {
          // A value a step removed is no longer there to be unknown (as on cells).
          if (extra === 'error' && value !== undefined) (unknown ??= []).push(key);
          else if (extra === 'keep' && value !== undefined) defineKey((kept ??= {}), key, value);
          delete record[key];
          continue;
        }
        if (typeof value !== 'string') continue;
        if (coerceAll) {
          // Empty is NULL. `undefined` rather than `delete`: ajv treats both as absent, and the
          // record keeps its shape (a deleted key turns the object into a slow dictionary).
          record[key] = value === '' ? undefined : coerceText(value, column.kind);
        } else if (dataset.textColumns.has(key)) {
          // JSON values are taken as they are, except text taken from the file name.
          record[key] = coerceText(value, column.kind);
        }
      }
      if (unknown) {
        // Sorted: the keys' order is not the file's once a step removed and added some (both engines agree).
        unknown.sort();
        const named = unknown.slice(0, 5).map((e) => `"${shortName(e)}"`).join(', ') + (unknown.length > 5 ? ` and ${unknown.length - 5} more` : '');
        const problem: Problem = {
          [locator]: batch.numbers[r]!,
          field: shortName(unknown[0]!),
          rule: 'extra_columns',
          message: `unknown column${unknown.length > 1 ? 's' : ''} ${named} (not in the schema; set extra_columns: ignore or keep)`,
          columns: unknown,
        };
        batch.problems.push(problem);
        continue;
      }
      if (kept) record[EXTRA_COLUMN] = kept;
      keepRecords.push(record);
      keepNumbers.push(batch.numbers[r]!);
    }
    batch.records = keepRecords;
    batch.numbers = keepNumbers;
  }) as Preparer;
  preparer.stats = stats;
  return preparer;
}

/**
 * The values every record of the file gets from its name (`add_columns`), converted to the columns'
 * types as the records' are: they say which key a `replace` by key covers even when the file has no
 * records at all.
 */
export function fileConstants(dataset: CompiledDataset, fileName: string): Record<string, unknown> {
  const constants: Record<string, unknown> = {};
  const kinds = new Map(dataset.columns.map((c) => [c.name, c.kind]));
  for (const step of dataset.steps) {
    if (step.kind !== 'add_columns') continue;
    for (const [key, value] of Object.entries(fileValues(step, fileName))) {
      const kind = kinds.get(key);
      defineKey(constants, key, typeof value === 'string' && kind && dataset.textColumns.has(key) ? coerceText(value, kind) : value);
    }
  }
  return constants;
}
