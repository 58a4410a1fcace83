import type { Limits } from '../config/types.js';
import type { Problem } from '../errors.js';

/** What every reader yields: records with their line (CSV, JSONL) or record (JSON) numbers. */
export interface RawBatch {
  records: Record<string, unknown>[];
  /** `numbers[i]` locates `records[i]` in the file. */
  numbers: number[];
  /** Per-record problems found while reading (a ragged CSV row, a JSONL line that is not JSON). */
  problems: Problem[];
  /** Lines given to the reader's `RowSink` instead of `records` (json-flat.ts). */
  scanned?: number;
}

/** A scanned line's value per column it was given, by kind (json-flat.ts: NO_CELL, LINE_BYTES, SCRATCH_BYTES, VALUE). */
export interface ScannedCells {
  kinds: Uint8Array;
  /** A string's UTF-8 bytes, from `starts[c]` to `ends[c]` of the line's buffer or of `scratch`. */
  starts: Int32Array;
  ends: Int32Array;
  values: unknown[];
  scratch: Buffer;
}

/** Where a reader with a flat-line scanner puts every line that is a record, in line order. */
export interface RowSink {
  /** A line the scanner read (`buf` from `start` to `end`), its cells valid until the next line. */
  row(cells: ScannedCells, line: number, buf: Buffer, start: number, end: number): void;
  /** A line JSON.parse read instead (a nested value, another key, an escape in a key …). */
  record(record: Record<string, unknown>, line: number): void;
}

/** Whether `numbers` are line numbers or record numbers. */
export type Locator = 'line' | 'record';

/** How a file is read: batch size, the limits it is held to. */
export interface ReadOptions {
  batchRows: number;
  limits: Limits;
  /** The file's size when it was seen: a small file is read in one go (read/source.ts). */
  size?: number;
}
