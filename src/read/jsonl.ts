/**
 * JSONL: one JSON object per line. Blank lines are skipped; a line that is not JSON, or not an
 * object, is a problem with its line number. Each line is held to `limits` before it is parsed (a
 * line that could break one is scanned outside strings for nesting, values and keys, so no line can
 * exhaust the stack or memory). A line holding a number literal JSON.parse may have changed (one
 * with an exponent or 16 digits or more) is parsed again with every number decided from its text
 * (lossless-json, json-values.ts). A line longer than `max_record_bytes` is skipped as it streams,
 * without being held whole. Given the dataset's column names, lines that are flat objects of those
 * keys skip JSON.parse: json-flat.ts reads them straight into columns (`RawBatch.scanned`).
 */
import type { Problem } from '../errors.js';
import { readInBatches } from './batches.js';
import { FlatScanner, plainText } from './json-flat.js';
import { isJsonObject, NumberRangeError, numberRangeProblem, parseJsonText } from './json-values.js';
import { limitProblem, MAX_BATCH_CHARS, type LimitName, type Limits } from './limits.js';
import { sourceError, type Source } from './source.js';
import type { RawBatch, ReadOptions, RowSink } from './types.js';

/** What the flat-line scanner reads: these columns, into this sink. */
export interface FlatLines {
  columns: readonly string[];
  sink: RowSink;
}

/** `flat`: every line goes to the sink, read by the scanner where it can, by JSON.parse where not (json-flat.ts). */
export async function* readJsonl(source: Source, { batchRows, limits }: ReadOptions, flat?: FlatLines): AsyncGenerator<RawBatch> {
  let rest = '';
  let line = 0;
  /** The line being skipped because it is over `max_record_bytes`; its end has not come yet. */
  let skipping = false;
  const scanner = flat ? new FlatScanner(flat.columns, Math.min(limits.maxColumns, limits.maxRecordValues - 1), flat.sink) : null;
  /** Lines of this batch given to the sink. */
  let scanned = 0;
  let batch: RawBatch = { records: [], numbers: [], problems: [] };
  let chars = 0;
  /** The text the lines come from has no control character (json-flat.ts): the scanner may read them. */
  let plain = false;
  /** The line that is `text` from `start` to `end`; only a line the scanner leaves becomes a string. */
  const take = (text: string, start: number, end: number) => {
    line++;
    chars += end - start;
    if (plain && scanner!.scan(text, start, end, line)) {
      scanned++;
      return;
    }
    const own = start === 0 && end === text.length ? text : text.slice(start, end);
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
  /** `text` up to `end` without a final `\r`. */
  const lineEnd = (text: string, start: number, end: number) => (end > start && text.charCodeAt(end - 1) === 13 ? end - 1 : end);
  /** A line still without its end past `max_record_bytes`: a problem, and the rest of it skipped as it streams. */
  const restTooLong = () => {
    if (rest.length <= limits.maxRecordBytes) return;
    line++;
    batch.problems.push(limitProblem('line', line, 'max_record_bytes', limits.maxRecordBytes, `the line is longer than ${limits.maxRecordBytes} characters`));
    rest = '';
    skipping = true;
  };
  try {
    for await (const chunks of readInBatches<string>(source.text, 16)) {
      for (const chunk of chunks) {
        let text = chunk;
        if (skipping) {
          const end = text.indexOf('\n');
          if (end === -1) continue;
          skipping = false;
          text = text.slice(end + 1);
        }
        if (text.indexOf('\n') === -1) {
          // No line ends in this piece: nothing to take yet (and no test of the whole growing line).
          rest += text;
          restTooLong();
          continue;
        }
        const joined = rest + text;
        plain = scanner !== null && plainText(joined);
        let from = 0;
        for (let at = joined.indexOf('\n'); at !== -1; at = joined.indexOf('\n', from)) {
          take(joined, from, lineEnd(joined, from, at));
          from = at + 1;
        }
        rest = from === 0 ? joined : joined.slice(from);
        restTooLong();
      }
      if (batch.records.length + scanned >= batchRows || chars >= MAX_BATCH_CHARS || batch.problems.length > 0) {
        yield withScanned(batch);
        batch = { records: [], numbers: [], problems: [] };
        chars = 0;
      }
    }
    if (rest !== '') take(rest, 0, lineEnd(rest, 0, rest.length));
    if (batch.records.length > 0 || batch.problems.length > 0 || scanned > 0) yield withScanned(batch);
  } catch (error) {
    throw await sourceError(error, source);
  }

  function withScanned(out: RawBatch): RawBatch {
    if (scanner === null) return out;
    out.scanned = scanned;
    scanned = 0;
    return out;
  }
}

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

