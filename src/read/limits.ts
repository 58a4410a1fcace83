/**
 * The limits a file's content is held to while it streams (the values come from `limits:` in
 * loadbay.yaml, see docs/operations.md). A breach is a data error that names the limit, its value
 * and where in the file it happened, so the file is quarantined once instead of exhausting memory
 * or stack, or being retried.
 */
import type { Limits } from '../config/types.js';
import { DataError, type Problem, type Stage } from '../errors.js';
import type { Locator } from './types.js';

export type { Limits };

export type LimitName =
  | 'max_record_bytes'
  | 'max_record_values'
  | 'max_depth'
  | 'max_columns'
  | 'max_decompressed_bytes'
  | 'max_gzip_ratio'
  | 'max_distinct_rows';

/** Text of a record accumulated in a batch before the batch is handed on, whatever `batch_rows` says. */
export const MAX_BATCH_CHARS = 8 * 1024 * 1024;

/** A problem for one record that breaks a limit (the record is rejected, the file goes on being read). */
export function limitProblem(locator: Locator, number: number, limit: LimitName, value: number, what: string): Problem {
  const message = `${locator} ${number}: ${what}, over limits.${limit} (${value})`;
  return { [locator]: number, rule: `limit: ${limit}`, message };
}

/** The whole file stops: the limit is about the file, or reading on is not possible. */
export function limitError(stage: Stage, limit: LimitName, value: number, what: string, at?: { locator: Locator; number: number }): DataError {
  const where = at ? `${at.locator} ${at.number}: ` : '';
  const message = `${where}${what}, over limits.${limit} (${value})`;
  return new DataError(stage, message, [{ ...(at ? { [at.locator]: at.number } : {}), rule: `limit: ${limit}`, message }]);
}
