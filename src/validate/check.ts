/**
 * read → prepare → validate for one file, as a stream of checked batches: the one code path that
 * both the daemon (which loads the batches) and `loadbay validate` (which only counts) run.
 * `verdict()` says, after the last batch, whether the file as a whole must be rejected.
 */
import path from 'node:path';
import type { Dataset } from '../config/types.js';
import { DataError, type Problem } from '../errors.js';
import { makePreparer } from '../prepare/prepare.js';
import { snakeCase } from '../prepare/steps.js';
import type { PrepareStats } from '../prepare/steps.js';
import { readFile, type ReadOptions } from '../read/index.js';
import type { Locator } from '../read/types.js';
import { ProblemLog } from './problems.js';
import { shorten } from '../lib/shorten.js';
import { makeValidator } from './validate.js';

export interface CheckedBatch {
  records: Record<string, unknown>[];
  numbers: number[];
  /** This batch's problems by record number. */
  rejected: Map<number | string, Problem[]>;
  /** The records as read, by number (only when asked for: for a rejects file). */
  originals: Map<number, unknown> | null;
  /** False once the file is going to be rejected whatever follows: no point loading more. */
  loadable: boolean;
}

export interface CheckedFile {
  locator: Locator;
  problems: ProblemLog;
  stats: PrepareStats;
  batches: AsyncGenerator<CheckedBatch>;
  digest(): { bytes: number; sha256: string };
}

export function checkFile(file: string, relative: string, dataset: Dataset, options: ReadOptions, keepOriginals = false): CheckedFile {
  const opened = readFile(file, dataset, options);
  const prepare = makePreparer(dataset, path.basename(relative), options.limits.maxDistinctRows);
  const validate = makeValidator(dataset);
  const problems = new ProblemLog(opened.locator);
  // Steps that change values: a problem then also shows the value as it was in the file.
  const changesValues = dataset.prepare.some((step) => VALUE_STEPS.has(step.name));
  const snapshot = keepOriginals || changesValues;
  async function* batches(): AsyncGenerator<CheckedBatch> {
    for await (const batch of opened.batches) {
      const seen = batch.records.length + batch.problems.length;
      const originals = snapshot ? new Map(batch.numbers.map((n, i) => [n, { ...batch.records[i] }])) : null;
      const readProblems = batch.problems;
      batch.problems = [];
      prepare(batch, opened.locator);
      const prepareProblems = batch.problems;
      batch.problems = [];
      validate(batch, opened.locator);
      if (originals && changesValues) for (const problem of batch.problems) withValueInFile(problem, originals, opened.locator);
      const rejected = problems.add([['read', readProblems], ['prepare', prepareProblems], ['validate', batch.problems]], seen);
      const loadable = dataset.onInvalidRow === 'reject_file' ? problems.count === 0 : !problems.overRowLimit(dataset);
      yield { records: batch.records, numbers: batch.numbers, rejected, originals: keepOriginals ? originals : null, loadable };
    }
  }
  return { locator: opened.locator, problems, stats: prepare.stats, batches: batches(), digest: () => opened.source.digest() };
}

const VALUE_STEPS = new Set(['trim', 'null_values', 'lowercase_values', 'uppercase_values', 'defaults']);

/**
 * Adds the value as the file had it, when a prepare step changed it: the field under its own name,
 * or under the name it had before `headers:` (case or snake_case) changed it.
 */
function withValueInFile(problem: Problem, originals: Map<number, Record<string, unknown>>, locator: Locator): void {
  const number = problem[locator];
  if (number === undefined || problem.field === undefined || problem.value === undefined) return;
  const original = originals.get(number);
  if (!original) return;
  const field = problem.field;
  const key = Object.hasOwn(original, field) ? field : Object.keys(original).find((k) => k.toLowerCase() === field || snakeCase(k) === field);
  if (key === undefined) return;
  const before = original[key];
  if (before === undefined) return;
  const shown = shorten(before);
  // The same value, only converted from CSV text ("-3" → -3), is not a change worth showing.
  if (shown === problem.value || before === problem.value) return;
  problem.value_in_file = shown;
  problem.message += ` (in the file: ${shown})`;
}

/** After the last batch: the data error that rejects the whole file, or null when it loads. */
export function verdict(checked: CheckedFile, dataset: Dataset, rows: number): DataError | null {
  const { problems } = checked;
  if (problems.count > 0 && (dataset.onInvalidRow === 'reject_file' || problems.overLimit(dataset))) {
    if (dataset.onInvalidRow === 'reject_file') return problems.toError();
    const limits = [
      dataset.maxInvalidRows !== null ? `max_invalid_rows: ${dataset.maxInvalidRows}` : null,
      dataset.maxInvalidRatio !== null ? `max_invalid_ratio: ${dataset.maxInvalidRatio}` : null,
    ].filter(Boolean);
    return problems.toError(`${problems.rejected} of ${problems.seen} records invalid, over the limit (${limits.join(', ')})`);
  }
  if (rows === 0 && dataset.onEmpty === 'reject') {
    const message = problems.rejected > 0 ? `no rows: all ${problems.rejected} records were invalid` : 'no rows';
    const problem: Problem = { rule: 'on_empty', message: 'the file holds no records to load (on_empty: reject)' };
    return new DataError('validate', message, [problem, ...problems.first], undefined, { summary: problems.count ? problems.summary() : message });
  }
  return null;
}
