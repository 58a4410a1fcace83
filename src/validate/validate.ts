/**
 * Checks records with the dataset's compiled ajv validator, plus the limits PostgreSQL and Parquet
 * impose that JSON Schema does not (64-bit integers, NUL characters and lone surrogates in text),
 * and turns every failure into a `Problem`: where (line or record), which field, the value
 * (shortened), which rule. An integer beyond 2^53 arrives as a BigInt: ajv (whose numbers are
 * doubles) is shown the nearest double, the exact value is what is range-checked and loaded.
 */
import { engineOf } from '../compile.js';
import { targetLimit } from './targets.js';
import type { ErrorObject } from 'ajv';
import type { Dataset } from '../config/types.js';
import { shortName, shorten } from '../lib/shorten.js';
import { containsBigInt, withPlainNumbers } from '../read/json-values.js';
import type { Locator, RawBatch } from '../read/types.js';



function fieldOf(error: ErrorObject): string {
  if (error.keyword === 'required') return (error.params as { missingProperty: string }).missingProperty;
  if (error.keyword === 'additionalProperties') return shortName((error.params as { additionalProperty: string }).additionalProperty);
  // "/stats/goals" → "stats.goals"; JSON pointer escapes undone.
  return error.instancePath.slice(1).split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~')).join('.');
}

function ruleOf(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'enum':
      return `enum: must be one of ${(params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'required':
      return 'required: value missing';
    default:
      return `${error.keyword}: ${error.message ?? 'invalid'}`;
  }
}

function valueAt(record: Record<string, unknown>, field: string): unknown {
  if (field in record) return record[field];
  let value: unknown = record;
  for (const part of field.split('.')) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

export interface Validator {
  /** Validates in place: invalid records leave the batch and become problems. */
  (batch: RawBatch, locator: Locator): void;
}

export function makeValidator(dataset: Dataset): Validator {
  const { validate, isValid } = engineOf(dataset);
  const columns = dataset.columns;
  /** The full validator; a record holding a BigInt is shown with plain numbers (rare: on failure only). */
  const validExactly = (record: Record<string, unknown>) =>
    validate(record) || (containsBigInt(record) && validate(withPlainNumbers(record)));
  return (batch, locator) => {
    const keepRecords: Record<string, unknown>[] = [];
    const keepNumbers: number[] = [];
    for (let r = 0; r < batch.records.length; r++) {
      const record = batch.records[r]!;
      const number = batch.numbers[r]!;
      let ok = true;
      if (!isValid(record) && !validExactly(record)) {
        ok = false;
        for (const error of validate.errors ?? []) {
          const field = fieldOf(error);
          const value = error.keyword === 'required' ? undefined : valueAt(record, field);
          const rule = ruleOf(error);
          batch.problems.push({
            [locator]: number,
            field,
            ...(value === undefined ? {} : { value: shorten(value) }),
            rule,
            message: `${locator} ${number}, field "${field}"${value === undefined ? '' : ` = ${shorten(value)}`}: ${rule}`,
          });
        }
      } else {
        for (const column of columns) {
          const value = record[column.name];
          if (value === undefined || value === null) continue;
          // A double column holds the nearest double, as PostgreSQL's float8 would.
          if (column.kind === 'number' && typeof value === 'bigint') record[column.name] = Number(value);
          const rule = targetLimit(column, value);
          if (rule) {
            ok = false;
            batch.problems.push({
              [locator]: number,
              field: column.name,
              value: shorten(value),
              rule,
              message: `${locator} ${number}, field "${column.name}" = ${shorten(value)}: ${rule}`,
            });
          }
        }
      }
      if (ok) {
        keepRecords.push(record);
        keepNumbers.push(number);
      }
    }
    batch.records = keepRecords;
    batch.numbers = keepNumbers;
  };
}
