/**
 * Checks records with the dataset's compiled ajv validator, plus the limits PostgreSQL and Parquet
 * impose that JSON Schema does not (64-bit integers, NUL characters and lone surrogates in text),
 * and turns every failure into a `Problem`: where (line or record), which field, the value
 * (shortened), which rule. A number only its text holds (an integer beyond 2^53 as a BigInt, a
 * DecimalText) is shown to ajv, whose numbers are doubles, as the nearest double; the exact value is
 * what is range-checked and loaded. A value coercion found unloadable is reported with its own rule.
 */
import { targetLimit } from './targets.js';
import type { ErrorObject } from 'ajv';
import type { CompiledDataset } from '../compile.js';
import { EXTRA_COLUMN } from '../columns.js';
import { shortName, shorten } from '../lib/shorten.js';
import { containsExactNumber, DecimalText, withPlainNumbers } from '../read/json-values.js';
import { Unloadable } from '../prepare/coerce.js';
import { defineKey, ownValue } from '../prepare/keys.js';
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
  if (Object.hasOwn(record, field)) return record[field];
  let value: unknown = record;
  for (const part of field.split('.')) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = ownValue(value as Record<string, unknown>, part);
  }
  return value;
}

export interface Validator {
  /** Validates in place: invalid records leave the batch and become problems. */
  (batch: RawBatch, locator: Locator): void;
}

/** A record's problem with one field, into the batch's problems. */
function problemOf(batch: RawBatch, locator: Locator, number: number, field: string, value: unknown, rule: string): void {
  batch.problems.push({
    [locator]: number,
    field,
    ...(value === undefined ? {} : { value: shorten(value) }),
    rule,
    message: `${locator} ${number}, field "${field}"${value === undefined ? '' : ` = ${shorten(value)}`}: ${rule}`,
  });
}

const validators = new WeakMap<CompiledDataset, Validator>();

/** The dataset's validator, made once: it keeps nothing of a file (each small file had made its own). */
export function makeValidator(dataset: CompiledDataset): Validator {
  let validator = validators.get(dataset);
  if (!validator) validators.set(dataset, (validator = newValidator(dataset)));
  return validator;
}

function newValidator(dataset: CompiledDataset): Validator {
  const { validate, isValid, protoValidate } = dataset.validators;
  const columns = dataset.columns;
  /** A validator's verdict; a value holding an exact number is shown with plain numbers (rare: on failure only). */
  const passes = (check: (value: unknown) => boolean, value: unknown) => check(value) || (containsExactNumber(value) && check(withPlainNumbers(value)));
  // ajv reads `record.constructor` and finds Object's when the record has none: a record lacking a
  // property named like an Object.prototype member gets it as an own undefined (absent to ajv).
  const inherited = propertyNames(dataset.schema).filter((name) => name in Object.prototype);
  // With extra_columns: keep, prepare has moved the columns the schema does not name into `_extra`;
  // ajv is shown them where the file had them, so additionalProperties and patternProperties judge them.
  const properties = dataset.schema['properties'] as Record<string, unknown> | undefined;
  const kept = dataset.extraColumns === 'keep' && !(properties && Object.hasOwn(properties, EXTRA_COLUMN));
  const asWritten = (record: Record<string, unknown>): Record<string, unknown> => {
    const extra = kept ? ownValue(record, EXTRA_COLUMN) : undefined;
    if (extra === undefined || extra === null || typeof extra !== 'object') return record;
    const shown: Record<string, unknown> = {};
    for (const key of Object.keys(record)) if (key !== EXTRA_COLUMN) defineKey(shown, key, record[key]);
    for (const key of Object.keys(extra)) defineKey(shown, key, (extra as Record<string, unknown>)[key]);
    return shown;
  };
  return (batch, locator) => {
    if (inherited.length > 0) for (const record of batch.records) for (const name of inherited) if (!Object.hasOwn(record, name)) defineKey(record, name, undefined);
    const keepRecords: Record<string, unknown>[] = [];
    const keepNumbers: number[] = [];
    for (let r = 0; r < batch.records.length; r++) {
      const record = batch.records[r]!;
      const number = batch.numbers[r]!;
      const shown = asWritten(record);
      let errors = isValid(shown) || passes(validate, shown) ? [] : [...(validate.errors ?? [])];
      // ajv leaves a property named `__proto__` unchecked: its schema is checked here.
      const proto = ownValue(record, '__proto__');
      if (protoValidate && proto !== undefined && !passes(protoValidate, proto)) {
        errors = [...errors, ...(protoValidate.errors ?? []).map((e) => ({ ...e, instancePath: `/__proto__${e.instancePath}` }))];
      }
      let unloadable: Set<string> | undefined;
      for (const error of errors) {
        const field = fieldOf(error);
        const value = error.keyword === 'required' ? undefined : valueAt(shown, field);
        // A value coercion could not load: its own rule, once, instead of what ajv says of a marker.
        if (value instanceof Unloadable) {
          if ((unloadable ??= new Set()).has(field)) continue;
          unloadable.add(field);
        }
        problemOf(batch, locator, number, field, value, value instanceof Unloadable ? value.rule : ruleOf(error));
      }
      let ok = errors.length === 0;
      if (ok) {
        for (const column of columns) {
          const value = ownValue(record, column.name);
          if (value === undefined || value === null) continue;
          // A double column holds the nearest double, as PostgreSQL's float8 would.
          if (column.kind === 'number' && (typeof value === 'bigint' || value instanceof DecimalText)) defineKey(record, column.name, Number(value));
          const rule = targetLimit(column, value);
          if (rule) {
            ok = false;
            problemOf(batch, locator, number, column.name, value, rule);
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

/** The record's property names the schema mentions at its top (`properties`, `required`). */
function propertyNames(schema: Record<string, unknown>): string[] {
  const properties = schema['properties'];
  const names = typeof properties === 'object' && properties !== null ? Object.keys(properties) : [];
  const required = Array.isArray(schema['required']) ? schema['required'].filter((n): n is string => typeof n === 'string') : [];
  return [...new Set([...names, ...required])];
}
