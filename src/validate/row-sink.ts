/**
 * Every row of a flat JSONL dataset goes through the value kernels as it is read: the lines the
 * flat-line scanner reads (read/json-flat.ts) and the records JSON.parse reads in their stead
 * (prepared one at a time, as the record path prepares a batch). Each value goes into its column's
 * vector at once, so no value outlives its line: objects kept for a batch of rows survived the
 * young generation's collections and were copied and promoted, which in the check thread cost more
 * than reading them (BENCHMARKS.md, "JSONL: lines straight into columns").
 */
import type { Column } from '../columns.js';
import { DataError, type Problem } from '../errors.js';
import type { RawBatch, RowSink, ScannedCells } from '../read/types.js';
import { LINE_BYTES, SCRATCH_BYTES, VALUE } from '../read/json-flat.js';
import { utf8Slice } from '../lib/bytes.js';
import { grown } from '../lib/byte-sink.js';
import { ownValue } from '../prepare/keys.js';
import type { SunkRows, ValueKernel, ValueSink } from './value-kernels.js';

export class KernelRows implements RowSink {
  private sinks: ValueSink[] = [];
  private capacity = 0;
  private rows = 0;
  private failed = new Uint8Array(0);
  private numbers = new Float64Array(0);
  /** By row index, each failed row the scanner read: its line, read as a record by `take`. */
  private failedLines = new Map<number, string>();
  private failedRecords = new Map<number, Record<string, unknown>>();
  private originals = new Map<number, Record<string, unknown>>();
  private prepareProblems: Problem[] = [];
  /** Per dataset column, the index of its value in a scanned row (-1: none; -2: the file's constant). */
  private readonly from: Int32Array;
  /** Per dataset column, the value `add_columns` gives every row of the file (where `from` is -2). */
  private readonly constant: unknown[];

  constructor(
    private readonly columns: readonly Column[],
    private readonly kernels: readonly ValueKernel[],
    scannedNames: readonly string[],
    /** The values `add_columns` gives every row, typed as prepare types them (prepare.ts, fileConstants). */
    constants: Readonly<Record<string, unknown>>,
    /** Prepares a batch of records in place (prepare.ts), as the record path does. */
    private readonly prepare: (batch: RawBatch) => void,
    /** A line the scanner read, as JSON.parse reads it (for a failed row's report and rejects file). */
    private readonly parse: (text: string, line: number) => Record<string, unknown>,
    /** Keep the records JSON.parse read as they were, for those that fail (a rejects file). */
    private readonly keepOriginals: boolean,
    private readonly initial = 1024,
  ) {
    const at = new Map(scannedNames.map((name, k) => [name, k]));
    // add_columns overrides the line's own value, as the step does on a record.
    this.from = Int32Array.from(columns, (column) => (Object.hasOwn(constants, column.name) ? -2 : (at.get(column.name) ?? -1)));
    this.constant = columns.map((column) => (Object.hasOwn(constants, column.name) ? constants[column.name] : undefined));
    this.reset(0);
  }

  row(cells: ScannedCells, line: number, buf: Buffer, start: number, end: number): void {
    const r = this.next(line);
    const { sinks, from, failed, constant } = this;
    const { kinds, starts, ends } = cells;
    for (let c = 0; c < sinks.length; c++) {
      const k = from[c]!;
      const sink = sinks[c]!;
      if (k < 0) sink.add(constant[c], r, failed);
      else {
        const kind = kinds[k];
        if (kind === LINE_BYTES) sink.addText(buf, starts[k]!, ends[k]!, r, failed);
        else if (kind === SCRATCH_BYTES) sink.addText(cells.scratch, starts[k]!, ends[k]!, r, failed);
        else sink.add(kind === VALUE ? cells.values[k] : undefined, r, failed);
      }
    }
    if (failed[r]) this.failedLines.set(r, utf8Slice(buf, start, end));
  }

  record(record: Record<string, unknown>, line: number): void {
    const original = this.keepOriginals ? { ...record } : null;
    const prepared = this.prepared(record, line, original);
    if (prepared === undefined) return;
    const r = this.next(line);
    const { sinks, failed } = this;
    for (let c = 0; c < sinks.length; c++) sinks[c]!.add(ownValue(prepared, this.columns[c]!.name), r, failed);
    if (failed[r]) {
      this.failedRecords.set(r, prepared);
      if (original) this.originals.set(line, original);
    }
  }

  /** The record as prepare leaves it, or undefined when prepare refused it (its problems kept, with the original). */
  private prepared(record: Record<string, unknown>, line: number, original: Record<string, unknown> | null): Record<string, unknown> | undefined {
    const batch: RawBatch = { records: [record], numbers: [line], problems: [] };
    this.prepare(batch);
    if (batch.problems.length > 0) {
      this.prepareProblems.push(...batch.problems);
      if (original) this.originals.set(line, original);
    }
    return batch.records[0];
  }

  /** The rows so far, each failed one with its record; the next start a new batch. */
  take(): SunkRows {
    const rows = this.rows;
    for (const [r, text] of this.failedLines) {
      const line = this.numbers[r]!;
      const read = this.parse(text, line);
      const original = this.keepOriginals ? { ...read } : null;
      const prepared = this.prepared(read, line, original);
      if (prepared === undefined) throw scannerDisagrees(line, 'prepare refused it');
      this.failedRecords.set(r, prepared);
      if (original) this.originals.set(line, original);
    }
    const taken: SunkRows = {
      rows,
      vectors: this.sinks.map((sink) => sink.vector(rows)),
      failed: this.failed.subarray(0, rows),
      numbers: this.numbers.subarray(0, rows),
      failedRecords: this.failedRecords,
      originals: this.originals,
      prepareProblems: this.prepareProblems,
    };
    this.reset(0); // room is made when a row comes: none after the last batch
    return taken;
  }

  /** The index of a new row of the line. */
  private next(line: number): number {
    const r = this.rows;
    if (r === this.capacity) this.grow(Math.max(this.initial, 2 * this.capacity));
    this.numbers[r] = line;
    this.rows = r + 1;
    return r;
  }

  private reset(capacity: number): void {
    this.sinks = this.kernels.map((kernel) => kernel.sink(capacity));
    this.capacity = capacity;
    this.rows = 0;
    this.failed = new Uint8Array(capacity);
    this.numbers = new Float64Array(capacity);
    this.failedLines = new Map();
    this.failedRecords = new Map();
    this.originals = new Map();
    this.prepareProblems = [];
  }

  private grow(capacity: number): void {
    for (const sink of this.sinks) sink.grow(capacity);
    this.failed = grown(this.failed, capacity);
    this.numbers = grown(this.numbers, capacity);
    this.capacity = capacity;
  }
}

/**
 * The file's error when the flat-line scanner read a line that JSON.parse or prepare then refuse: a
 * bug, said as one (the file is quarantined with it, not retried; LOADBAY_ENGINE=records loads it).
 */
export function scannerDisagrees(line: number, why: string): DataError {
  const message = `line ${line}: loadbay's flat-line scanner read this line but ${why}; please report this (LOADBAY_ENGINE=records reads it)`;
  return new DataError('read', message, [{ line, rule: 'internal: flat-line scanner', message }]);
}
