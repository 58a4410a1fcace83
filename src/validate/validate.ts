/**
 * Checks records with the dataset's compiled ajv validator, plus the limits PostgreSQL and Parquet
 * impose that JSON Schema does not (64-bit integers, NUL characters and lone surrogates in text),
 * and turns every failure into a `Problem`: where (line or record), which field, the value
 * (shortened), which rule. An integer beyond 2^53 arrives as a BigInt: ajv (whose numbers are
 * doubles) is shown the nearest double, the exact value is what is range-checked and loaded.
 */
import { engineOf } from '../compile.js';
import { timestampMicros } from '../write/time.js';
import type { ErrorObject } from 'ajv';
import type { Column } from '../columns.js';
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

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;

/** Limits of the targets that a schema cannot express; returns a message or null. */
function targetLimit(column: Column, value: unknown): string | null {
  if (column.kind === 'integer') {
    if (typeof value === 'bigint' ? value > INT64_MAX || value < INT64_MIN : typeof value === 'number' && !Number.isSafeInteger(value) && outsideInt64(value)) {
      return 'range: outside the 64-bit integer range (-9223372036854775808 to 9223372036854775807)';
    }
  } else if (typeof value === 'string') {
    if (column.kind === 'timestamp' && isFractionalLeapSecond(value)) {
      return 'range: a leap second with a fraction of a second, which PostgreSQL does not accept (:60 alone is read as the next minute)';
    }
    if (column.kind === 'timestamp' && !convertible(value)) {
      // ajv-formats takes e.g. "24:59:00+01:00" for a leap second (23:59 UTC); no clock shows it.
      return 'range: not a time of day (an hour of 24 or a leap second outside 23:59:60 UTC), which PostgreSQL does not accept';
    }
    if (value.includes('\u0000')) return 'text: contains a NUL character, which PostgreSQL cannot store';
    if (!value.isWellFormed()) return 'text: contains a lone UTF-16 surrogate (not a Unicode character), which cannot be stored as UTF-8';
  }
  return null;
}

function convertible(value: string): boolean {
  try {
    timestampMicros(value);
    return true;
  } catch {
    return false;
  }
}

/** "…:60.5Z": seconds 60 followed by a fraction that is not all zeros. */
function isFractionalLeapSecond(value: string): boolean {
  if (value.charCodeAt(17) !== 54 || value.charCodeAt(18) !== 48 || value.charCodeAt(19) !== 46) return false;
  for (let i = 20; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 48 || c > 57) return false;
    if (c !== 48) return true;
  }
  return false;
}

function outsideInt64(value: number): boolean {
  const exact = BigInt(Math.trunc(value));
  return exact > INT64_MAX || exact < INT64_MIN;
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
