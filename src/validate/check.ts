/**
 * read → prepare → validate for one file, as a stream of checked batches of typed columns: the one
 * code path that both the daemon (which loads the batches) and `loadbay validate` (which only
 * counts) run. Two engines behind it (plan.ts says which): the columnar path — CSV bytes → cells →
 * prepare on columns → column kernels, ajv only for the rows a kernel failed — and the record path
 * for everything else. `verdict()` says, after the last batch, whether the file must be rejected.
 */
import path from 'node:path';
import type { Dataset } from '../config/types.js';
import type { CompiledDataset } from '../compile.js';
import { DataError, type Problem } from '../errors.js';
import { fileConstants, makePreparer } from '../prepare/prepare.js';
import { changesValues, snakeCase } from '../prepare/compile-steps.js';
import type { PrepareStats } from '../prepare/steps.js';
import { readFile, type ReadOptions } from '../read/index.js';
import type { Locator } from '../read/types.js';
import { ProblemLog } from './problems.js';
import { shorten } from '../lib/shorten.js';
import { makeValidator, type Validator } from './validate.js';
import { passingSunkRows, runValueKernels } from './value-kernels.js';
import { KernelRows, scannerDisagrees } from './row-sink.js';
import { parseLine } from '../read/jsonl.js';
import { openSource } from '../read/source.js';
import { readCsvCells, cellText, isUtf8Encoding, type CellBatch } from '../read/csv-cells.js';
import { makeCellPreparer, viewText, type CellView } from '../prepare/cells.js';
import { coerceText } from '../prepare/coerce.js';
import { defineKey } from '../prepare/keys.js';
import { runKernels, type Kernel } from './kernels.js';
import { vectorsFromRecords, type TypedBatch } from '../write/vectors.js';
import { schemaNames, type Column } from '../columns.js';
import type { ByteInput } from '../source/source.js';

export interface CheckedBatch {
  /** The rows to load, as typed columns with their line or record numbers. */
  typed: TypedBatch;
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
  /** Bytes and sha256 once read to the end, and `read`: how, when the reader has something to say. */
  digest(): ReadDigest;
}

export interface ReadDigest {
  bytes: number;
  sha256: string;
  /** Reader notes for the log line and the report (e.g. `json.unterminated_array` used). */
  read?: Record<string, unknown>;
}

export function checkFile(input: ByteInput, relative: string, dataset: CompiledDataset, options: ReadOptions, keepOriginals = false): CheckedFile {
  const plan = dataset.plan;
  if (plan.engine === 'columnar') return checkCells(input, relative, dataset, plan.kernels, options, keepOriginals);
  const flatColumns = plan.engine === 'values' ? plan.flatColumns : null;
  const prepare = makePreparer(dataset, path.basename(relative), options.limits.maxDistinctRows);
  const constants = flatColumns ? fileConstants(dataset, path.basename(relative)) : {};
  const sink =
    plan.engine === 'values' && flatColumns && constantsFit(dataset, constants)
      ? new KernelRows(dataset.columns, plan.kernels, flatColumns, constants, (batch) => prepare(batch, 'line'), (text, line) => recordOfLine(text, line, options), keepOriginals)
      : null;
  const opened = readFile(input, dataset, options, sink ? { columns: flatColumns!, sink } : undefined);
  const validate = makeValidator(dataset);
  const problems = new ProblemLog(opened.locator);
  // Steps that change values: a problem then also shows the value as it was in the file.
  const valuesChange = dataset.steps.some(changesValues);
  const snapshot = keepOriginals || valuesChange;
  async function* batches(): AsyncGenerator<CheckedBatch> {
    for await (const batch of opened.batches) {
      const seen = batch.records.length + batch.problems.length + (batch.scanned ?? 0);
      const originals = snapshot ? new Map(batch.numbers.map((n, i) => [n, { ...batch.records[i] }])) : null;
      const readProblems = batch.problems;
      batch.problems = [];
      prepare(batch, opened.locator);
      const prepareProblems = batch.problems;
      batch.problems = [];
      let typed: TypedBatch;
      if (plan.engine === 'values') {
        if (sink !== null) {
          // Every row is in the kernels' vectors already, each failed one with its record (row-sink.ts).
          const sunk = sink.take();
          const result = passingSunkRows(sunk);
          typed = result.typed;
          prepareProblems.push(...sunk.prepareProblems);
          if (originals) for (const [line, record] of sunk.originals) originals.set(line, record);
          const records = result.failed.map((i) => sunk.failedRecords.get(i)!);
          const numbers = result.failed.map((i) => sunk.numbers[i]!);
          batch.problems = records.length === 0 ? [] : reportFailed(records, numbers, opened.locator, validate);
        } else {
          const result = runValueKernels(dataset.columns, plan.kernels, batch.records, batch.numbers);
          typed = result.typed;
          const failed = result.failed;
          batch.problems = failed.length === 0 ? [] : reportFailed(failed.map((i) => batch.records[i]!), failed.map((i) => batch.numbers[i]!), opened.locator, validate);
        }
      } else {
        validate(batch, opened.locator);
        typed = vectorsFromRecords(dataset.columns, batch.records, batch.numbers);
      }
      if (originals && valuesChange) for (const problem of batch.problems) withValueInFile(problem, originals, opened.locator);
      const rejected = problems.add([['read', readProblems], ['prepare', prepareProblems], ['validate', batch.problems]], seen);
      const loadable = dataset.onInvalidRow === 'reject_file' ? problems.count === 0 : !problems.overRowLimit(dataset);
      yield { typed, rejected, originals: keepOriginals ? originals : null, loadable };
    }
  }
  const digest = (): ReadDigest => ({ ...opened.source.digest(), ...(Object.keys(opened.notes).length > 0 ? { read: { ...opened.notes } } : {}) });
  return { locator: opened.locator, problems, stats: prepare.stats, batches: batches(), digest };
}

/**
 * Whether the values add_columns gives this file are what the flat-line sink can give: each for a
 * column of the dataset, and one for each name taken from the file name (an optional group that
 * did not match leaves the line's own text, which prepare would convert).
 */
function constantsFit(dataset: CompiledDataset, constants: Record<string, unknown>): boolean {
  const columns = schemaNames(dataset.columns);
  return Object.keys(constants).every((name) => columns.has(name)) && [...dataset.textColumns].every((name) => Object.hasOwn(constants, name));
}

/** The record of a line the flat-line scanner read: JSON.parse reads every line it reads. */
function recordOfLine(line: string, number: number, options: ReadOptions): Record<string, unknown> {
  const parsed = parseLine(line, number, options.limits);
  if ('problem' in parsed) throw scannerDisagrees(number, `JSON.parse refuses it (${parsed.problem.message})`);
  return parsed.record;
}

/** The columnar path: as above, with cells instead of records until a row fails. */
function checkCells(input: ByteInput, relative: string, dataset: CompiledDataset, kernels: Kernel[], options: ReadOptions, keepOriginals: boolean): CheckedFile {
  const source = openSource(input, dataset.csv.encoding, options.limits, isUtf8Encoding(dataset.csv.encoding));
  const prepare = makeCellPreparer(dataset, dataset.steps, path.basename(relative), options.limits.maxDistinctRows);
  const validate = makeValidator(dataset);
  const problems = new ProblemLog('line');
  const valuesChange = dataset.steps.some(changesValues);
  /** Made when a row fails: most files have none. */
  let kinds: Map<string, Column['kind']> | null = null;
  async function* batches(): AsyncGenerator<CheckedBatch> {
    for await (const batch of readCsvCells(source, dataset.csv, options)) {
      const seen = batch.rows + batch.problems.length;
      // Value steps change bytes in place: keep the cells as read for reports, when asked for.
      const before = keepOriginals || valuesChange ? snapshot(batch) : null;
      const readProblems = batch.problems;
      batch.problems = [];
      const view = prepare(batch);
      const prepareProblems = batch.problems;
      batch.problems = [];
      const { typed, failed } = runKernels(view, kernels);
      const validateProblems = failed.length > 0 ? ajvProblems(view, failed, (kinds ??= new Map(dataset.columns.map((c) => [c.name, c.kind]))), validate) : [];
      const originals = before && (prepareProblems.length > 0 || validateProblems.length > 0) ? originalsOf(before, [...prepareProblems, ...validateProblems]) : null;
      if (originals && valuesChange) for (const problem of validateProblems) withValueInFile(problem, originals, 'line');
      const rejected = problems.add([['read', readProblems], ['prepare', prepareProblems], ['validate', validateProblems]], seen);
      const loadable = dataset.onInvalidRow === 'reject_file' ? problems.count === 0 : !problems.overRowLimit(dataset);
      yield { typed, rejected, originals: keepOriginals ? (originals ?? new Map()) : null, loadable };
    }
  }
  return { locator: 'line', problems, stats: prepare.stats, batches: batches(), digest: () => source.digest() };
}

/** The failed rows as records (as the record path would have them), checked by ajv for the report. */
function ajvProblems(view: CellView, failed: number[], kinds: Map<string, Column['kind']>, validate: Validator): Problem[] {
  const records: Record<string, unknown>[] = [];
  const numbers: number[] = [];
  for (const i of failed) {
    const row = view.rows[i]!;
    const record: Record<string, unknown> = {};
    view.names.forEach((name, c) => {
      const text = viewText(view, c, row);
      if (text !== undefined) defineKey(record, name, text === '' ? undefined : coerceText(text, kinds.get(name) ?? 'string'));
    });
    records.push(record);
    numbers.push(view.batch.lines[row]!);
  }
  return reportFailed(records, numbers, 'line', validate);
}

/**
 * ajv's problems for records a kernel failed. ajv passing one would be a bug in a kernel: the row is
 * not loaded, and its problem says so.
 */
function reportFailed(records: Record<string, unknown>[], numbers: number[], locator: Locator, validate: Validator): Problem[] {
  const batch = { records, numbers, problems: [] as Problem[] };
  validate(batch, locator);
  batch.records.forEach((_, k) => {
    const number = batch.numbers[k]!;
    const message = `${locator} ${number}: loadbay's column check refused this record but ajv accepts it; please report this (LOADBAY_ENGINE=records loads it)`;
    batch.problems.push({ [locator]: number, rule: 'internal: column kernel', message });
  });
  return batch.problems.sort((a, b) => (a[locator] ?? 0) - (b[locator] ?? 0));
}

interface Snapshot {
  batch: CellBatch;
  buf: Buffer;
  starts: Int32Array;
  ends: Int32Array;
}

/**
 * The snapshot's arrays are reused from batch to batch (and file to file): a snapshot lives only
 * while its batch is checked, with no await in between, and fresh copies per file were garbage in
 * ArrayBuffers (BENCHMARKS.md, "Why the code is shaped as it is"). A batch above SCRATCH_MAX_BYTES gets its own copy, so the scratch never keeps
 * a huge record.
 */
const SCRATCH_MAX_BYTES = 4 * 1024 * 1024;
const scratch = { buf: Buffer.alloc(0), starts: new Int32Array(0), ends: new Int32Array(0) };

function snapshot(batch: CellBatch): Snapshot {
  const cells = batch.rows * batch.width;
  const bytes = batch.buf.length;
  if (bytes + cells * 8 > SCRATCH_MAX_BYTES) {
    return { batch, buf: Buffer.from(batch.buf), starts: batch.starts.slice(0, cells), ends: batch.ends.slice(0, cells) };
  }
  if (scratch.buf.length < bytes) scratch.buf = Buffer.allocUnsafe(Math.min(SCRATCH_MAX_BYTES, Math.max(bytes, 2 * scratch.buf.length)));
  if (scratch.starts.length < cells) {
    const room = Math.min(SCRATCH_MAX_BYTES / 8, Math.max(cells, 2 * scratch.starts.length));
    scratch.starts = new Int32Array(room);
    scratch.ends = new Int32Array(room);
  }
  batch.buf.copy(scratch.buf);
  scratch.starts.set(batch.starts.subarray(0, cells));
  scratch.ends.set(batch.ends.subarray(0, cells));
  return { batch, buf: scratch.buf.subarray(0, bytes), starts: scratch.starts.subarray(0, cells), ends: scratch.ends.subarray(0, cells) };
}

/** The rows the problems name, as read (header names, text values), by line. */
function originalsOf(before: Snapshot, problems: Problem[]): Map<number, Record<string, unknown>> {
  const { batch } = before;
  const wanted = new Set(problems.map((p) => p.line).filter((l): l is number => l !== undefined));
  const originals = new Map<number, Record<string, unknown>>();
  for (let row = 0; row < batch.rows && originals.size < wanted.size; row++) {
    const line = batch.lines[row]!;
    if (!wanted.has(line)) continue;
    const record: Record<string, unknown> = {};
    batch.header.forEach((name, f) => {
      const at = row * batch.width + f;
      defineKey(record, name, cellText({ buf: before.buf, quote: batch.quote }, before.starts[at]!, before.ends[at]!, batch.escaped[at]!));
    });
    originals.set(line, record);
  }
  return originals;
}

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
