/**
 * JSONL: one JSON object per line, read from the file's bytes (checked as UTF-8, a BOM dropped).
 * Blank lines are skipped; a line that is not JSON, or not an object, is a problem with its line
 * number. Each line is held to `limits` before it is parsed (a line that could break one is scanned
 * outside strings for nesting, values and keys, so no line can exhaust the stack or memory). A line
 * holding a number literal JSON.parse may have changed (one with an exponent or 16 digits or more) is
 * parsed again with every number decided from its text (lossless-json, json-values.ts). A line longer
 * than `max_record_bytes` characters is a problem, skipped as it streams, without being held whole.
 * Given the dataset's column names, lines that are flat objects of those keys skip JSON.parse and are
 * never strings: json-flat.ts reads their bytes straight into columns (`RawBatch.scanned`).
 */
import type { Problem } from '../errors.js';
import { readInBatches } from './batches.js';
import { FlatScanner } from './json-flat.js';
import { utf16Units, utf8Slice } from '../lib/bytes.js';
import { Utf8Bytes } from './utf8-bytes.js';
import { isJsonObject, NumberRangeError, numberRangeProblem, parseJsonText } from './json-values.js';
import { limitProblem, MAX_BATCH_CHARS, type LimitName, type Limits } from './limits.js';
import { sourceError, type Source } from './source.js';
import type { RawBatch, ReadOptions, RowSink } from './types.js';

/** What the flat-line scanner reads: these columns, into this sink. */
export interface FlatLines {
  columns: readonly string[];
  sink: RowSink;
}

/**
 * `source` gives the file's raw bytes (checked here as UTF-8). `flat`: every line goes to the sink,
 * read by the scanner where it can, by JSON.parse where not (json-flat.ts).
 */
export async function* readJsonl(source: Source, { batchRows, limits }: ReadOptions, flat?: FlatLines): AsyncGenerator<RawBatch> {
  const utf8 = new Utf8Bytes();
  /** The start of a line whose end has not come yet, in pieces. */
  let rest: Buffer[] = [];
  /** Its length in UTF-16 units, as every reader counts a record's characters. */
  let restChars = 0;
  let line = 0;
  /** The line being skipped because it is over `max_record_bytes`; its end has not come yet. */
  let skipping = false;
  const scanner = flat ? new FlatScanner(flat.columns, Math.min(limits.maxColumns, limits.maxRecordValues - 1), flat.sink) : null;
  /** Lines of this batch given to the sink. */
  let scanned = 0;
  let batch: RawBatch = { records: [], numbers: [], problems: [] };
  let size = 0;
  /** The line that is `buf` from `start` to `end` (`buf[end]` its line break); only a line the scanner leaves becomes a string. */
  const take = (buf: Buffer, start: number, end: number) => {
    line++;
    size += end - start;
    if (end - start > limits.maxRecordBytes && utf16Units(buf, start, end) > limits.maxRecordBytes) {
      batch.problems.push(tooLong(line));
      return;
    }
    if (scanner !== null && scanner.scan(buf, start, end, line)) {
      scanned++;
      return;
    }
    const own = utf8Slice(buf, start, end);
    if (own.trim() === '') return;
    const parsed = parseLine(own, line, limits);
    if ('problem' in parsed) {
      batch.problems.push(parsed.problem);
      return;
    }
    if (flat) {
      flat.sink.record(parsed.record, line);
      scanned++;
      return;
    }
    batch.records.push(parsed.record);
    batch.numbers.push(line);
  };
  const tooLong = (at: number) => limitProblem('line', at, 'max_record_bytes', limits.maxRecordBytes, `the line is longer than ${limits.maxRecordBytes} characters`);
  /** `buf` up to `end` without a final `\r`. */
  const lineEnd = (buf: Buffer, start: number, end: number) => (end > start && buf[end - 1] === CR ? end - 1 : end);
  /**
   * Keeps a piece of a line whose end has not come yet. Past `max_record_bytes` (in characters, as
   * every reader counts a record) the line is a problem, and the rest of it skipped as it streams.
   */
  const keep = (piece: Buffer) => {
    // Copied, as csv-cells.ts copies its rest: nothing is held across chunks but what is the reader's own.
    rest.push(Buffer.from(piece));
    restChars += utf16Units(piece);
    if (restChars <= limits.maxRecordBytes) return;
    line++;
    batch.problems.push(tooLong(line));
    rest = [];
    restChars = 0;
    skipping = true;
  };
  try {
    for await (const chunks of readInBatches<Buffer>(source.text, 16)) {
      for (const chunk of chunks) {
        // Line breaks before these bytes: the lines taken, less one being skipped.
        let bytes = utf8.next([chunk], () => line - (skipping ? 1 : 0));
        if (skipping) {
          const end = bytes.indexOf(LF);
          if (end === -1) continue;
          skipping = false;
          bytes = bytes.subarray(end + 1);
        }
        let at = bytes.indexOf(LF);
        if (at === -1) {
          // No line ends in this piece: nothing to take yet.
          if (bytes.length > 0) keep(bytes);
          continue;
        }
        let from = 0;
        if (rest.length > 0) {
          // The line begun before ends here: joined, with its line break.
          const joined = Buffer.concat([...rest, bytes.subarray(0, at + 1)]);
          take(joined, 0, lineEnd(joined, 0, joined.length - 1));
          rest = [];
          restChars = 0;
          from = at + 1;
          at = bytes.indexOf(LF, from);
        }
        for (; at !== -1; at = bytes.indexOf(LF, from)) {
          take(bytes, from, lineEnd(bytes, from, at));
          from = at + 1;
          // A batch ends at batch_rows lines, wherever that falls in the chunk.
          if (batch.records.length + scanned >= batchRows || size >= MAX_BATCH_CHARS) yield next();
        }
        if (from < bytes.length) keep(bytes.subarray(from));
      }
      if (batch.problems.length > 0) yield next();
    }
    utf8.end(line - (skipping ? 1 : 0));
    if (rest.length > 0) {
      // The last line, without a line break: given one, which the scanner stops at.
      const last = Buffer.concat([...rest, NEWLINE]);
      take(last, 0, lineEnd(last, 0, last.length - 1));
    }
    if (batch.records.length > 0 || batch.problems.length > 0 || scanned > 0) yield withScanned(batch);
  } catch (error) {
    throw await sourceError(error, source);
  }

  /** The batch so far, a new one begun. */
  function next(): RawBatch {
    const out = withScanned(batch);
    batch = { records: [], numbers: [], problems: [] };
    size = 0;
    return out;
  }

  function withScanned(out: RawBatch): RawBatch {
    if (scanner === null) return out;
    out.scanned = scanned;
    scanned = 0;
    return out;
  }
}

const LF = 0x0a;
const CR = 0x0d;
const NEWLINE = Buffer.from('\n');

type Parsed = { record: Record<string, unknown> } | { problem: Problem };

/** One line → a record, or the problem that keeps it out. Exported for the differential test. */
export function parseLine(text: string, line: number, limits: Limits): Parsed {
  const breach = scanLine(text, limits);
  if (breach) return { problem: limitProblem('line', line, breach.limit, breach.value, breach.what) };
  let value: unknown;
  try {
    value = parseJsonText(text);
  } catch (error) {
    if (error instanceof NumberRangeError) return { problem: numberRangeProblem('line', line, error) };
    return {
      problem: {
        line,
        rule: 'json',
        message: `line ${line} is not valid JSON: ${(error as Error).message}`,
        raw: text.length > 10_000 ? `${text.slice(0, 10_000)}…` : text,
      },
    };
  }
  if (!isJsonObject(value)) {
    return { problem: { line, rule: 'json', message: `line ${line} is not a JSON object`, raw: value } };
  }
  return { record: value as Record<string, unknown> };
}

/** A limit the line breaks. */
interface Breach {
  limit: LimitName;
  value: number;
  what: string;
}

/**
 * The limit the line breaks, if any. Most lines cannot break one at all — fewer characters than
 * values or keys allowed, fewer `{` and `[` than the depth allowed — and are not scanned; the others
 * are, character by character.
 */
function scanLine(text: string, limits: Limits): Breach | null {
  if (text.length <= limits.maxRecordValues && text.length < 4 * limits.maxColumns && openers(text, limits.maxDepth) <= limits.maxDepth) {
    return null;
  }
  return fullScan(text, limits);
}

/** `{` and `[` in the text, counted up to `atMost + 1` with native searches. */
function openers(text: string, atMost: number): number {
  let count = 0;
  for (let i = text.indexOf('{'); i !== -1 && count <= atMost; i = text.indexOf('{', i + 1)) count++;
  for (let i = text.indexOf('['); i !== -1 && count <= atMost; i = text.indexOf('[', i + 1)) count++;
  return count;
}

/** One pass over the line outside strings: nesting depth, values (openers and commas), keys of the top-level object. */
function fullScan(text: string, limits: Limits): Breach | null {
  let depth = 0;
  let values = 1;
  let keys = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      // a string: skip to its closing quote
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 92) i++;
        else if (d === 34) break;
      }
      continue;
    }
    switch (c) {
      case 123: // {
      case 91: // [
        if (++depth > limits.maxDepth) return { limit: 'max_depth', value: limits.maxDepth, what: `nesting deeper than ${limits.maxDepth} levels` };
        if (++values > limits.maxRecordValues) return tooManyValues(limits);
        break;
      case 125: // }
      case 93: // ]
        depth--;
        break;
      case 44: // ,
        if (++values > limits.maxRecordValues) return tooManyValues(limits);
        break;
      case 58: // :
        if (depth === 1 && ++keys > limits.maxColumns) return { limit: 'max_columns', value: limits.maxColumns, what: `more than ${limits.maxColumns} keys` };
        break;
    }
  }
  return null;
}

function tooManyValues(limits: Limits): Breach {
  return { limit: 'max_record_values', value: limits.maxRecordValues, what: `more than ${limits.maxRecordValues} values` };
}

