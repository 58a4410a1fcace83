/**
 * Preparation between reading and validation, on whole batches:
 * - CSV text is coerced to the types the schema declares (an empty field is absent, i.e. NULL);
 *   a value that does not parse stays text, so the validator reports it with the value;
 * - columns the schema does not know are a problem unless the dataset says `extra_columns: ignore`.
 */
import type { Column } from '../columns.js';
import type { Dataset } from '../config/types.js';
import type { Problem } from '../errors.js';
import type { Locator, RawBatch } from '../read/types.js';

const INTEGER = /^[+-]?\d+$/;
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const TRUE = new Set(['true', 't', 'yes', 'y', '1']);
const FALSE = new Set(['false', 'f', 'no', 'n', '0']);

export function coerceText(value: string, kind: Column['kind']): unknown {
  switch (kind) {
    case 'integer': {
      if (!INTEGER.test(value)) return value;
      const n = Number(value);
      return Number.isSafeInteger(n) ? n : value;
    }
    case 'number':
      return NUMBER.test(value) ? Number(value) : value;
    case 'boolean': {
      const lower = value.toLowerCase();
      if (TRUE.has(lower)) return true;
      if (FALSE.has(lower)) return false;
      return value;
    }
    case 'json':
      try {
        return JSON.parse(value);
      } catch {
        return value;
      }
    default:
      return value;
  }
}

export interface Preparer {
  /** Prepares the batch in place; problems are added to `batch.problems`, their records removed. */
  (batch: RawBatch, locator: Locator): void;
}

export function makePreparer(dataset: Dataset): Preparer {
  const known = new Map(dataset.columns.map((c) => [c.name, c]));
  const coerce = dataset.format === 'csv';
  const rejectExtra = dataset.extraColumns === 'error';
  return (batch, locator) => {
    const keepRecords: Record<string, unknown>[] = [];
    const keepNumbers: number[] = [];
    for (let r = 0; r < batch.records.length; r++) {
      const record = batch.records[r]!;
      let extra: string[] | null = null;
      for (const key in record) {
        const column = known.get(key);
        if (column === undefined) {
          if (rejectExtra) (extra ??= []).push(key);
          delete record[key];
          continue;
        }
        if (coerce) {
          const value = record[key] as string;
          if (value === '') delete record[key];
          else if (column.kind !== 'string' && column.kind !== 'date' && column.kind !== 'timestamp') {
            record[key] = coerceText(value, column.kind);
          }
        }
      }
      if (extra) {
        const number = batch.numbers[r]!;
        const problem: Problem = {
          [locator]: number,
          field: extra[0],
          rule: 'extra_columns',
          message: `unknown column${extra.length > 1 ? 's' : ''} ${extra.map((e) => `"${e}"`).join(', ')} (not in the schema; set extra_columns: ignore to drop)`,
        };
        batch.problems.push(problem);
        continue;
      }
      keepRecords.push(record);
      keepNumbers.push(batch.numbers[r]!);
    }
    batch.records = keepRecords;
    batch.numbers = keepNumbers;
  };
}
