/**
 * CSV: papaparse's tokenizer (quotes, embedded delimiters and newlines, CRLF) is fed chunk by chunk
 * with the incomplete last row carried over; this module turns rows into records keyed by the
 * header, numbers them by the line they start on, reports ragged rows with both counts and rejects
 * a header with an empty or duplicated name.
 * papaparse's `Parser` rather than csv-parse: several times faster with line numbers (BENCHMARKS.md, "Why the code is shaped as it is").
 */
import Papa from 'papaparse';
import type { CsvOptions } from '../config/types.js';
import { DataError, type Problem } from '../errors.js';
import { literalKey } from '../prepare/shape.js';
import { shortName } from '../lib/shorten.js';
import { readInBatches } from './batches.js';
import { limitError, limitProblem, MAX_BATCH_CHARS } from './limits.js';
import { sourceError, type Source } from './source.js';
import type { RawBatch, ReadOptions } from './types.js';

interface ParseResult {
  data: string[][];
  errors: Array<{ code: string; message: string; row: number }>;
  meta: { cursor: number };
}

export async function* readCsv(source: Source, options: CsvOptions, { batchRows, limits }: ReadOptions): AsyncGenerator<RawBatch> {
  let parser: Papa.Parser | null = null;
  let partial = '';
  let header: string[] | null = options.header ? null : (options.columns as string[]);
  let line = 1; // the line the next row starts on
  let makeRecord: ((row: string[]) => Record<string, unknown>) | null = null;
  let batch: RawBatch = { records: [], numbers: [], problems: [] };
  let chars = 0;
  /** The line break the file started with; a row ending otherwise would keep a CR in its last field. */
  let lf = false;

  const take = (rows: string[][]) => {
    for (const row of rows) {
      const start = line;
      line += 1 + newlinesIn(row);
      if (row.length === 1 && row[0] === '') continue; // a blank line
      if (row.length > limits.maxColumns) {
        const what = `${row.length} fields`;
        if (header === null) throw limitError('read', 'max_columns', limits.maxColumns, `the header has ${what}`, { locator: 'line', number: start });
        batch.problems.push(limitProblem('line', start, 'max_columns', limits.maxColumns, `the row has ${what}`));
        continue;
      }
      if (lf && row[row.length - 1]!.endsWith('\r')) {
        const field = shortName(header?.[row.length - 1] ?? `column ${row.length}`);
        const message = `line ${start} ends with CR LF, but the file's first line ends with LF alone: mixed line endings would leave a CR in field "${field}"`;
        if (header === null) throw new DataError('read', message, [{ line: start, field, rule: 'csv: mixed line endings', message }]);
        batch.problems.push({ line: start, field, rule: 'csv: mixed line endings', message, raw: row });
        continue;
      }
      if (header === null) {
        header = checkHeader(row, start, options.columns);
        continue;
      }
      if (row.length !== header.length) {
        batch.problems.push({
          line: start,
          rule: 'columns',
          message: `line ${start} has ${row.length} fields, the header has ${header.length}`,
          raw: row,
        });
        continue;
      }
      batch.records.push((makeRecord ??= recordMaker(header))(row));
      batch.numbers.push(start);
    }
  };
  const parse = (text: string, last: boolean): void => {
    if (!parser) {
      const newline = detectNewline(text);
      lf = newline === '\n';
      parser = new Papa.Parser({
        delimiter: options.delimiter === 'auto' ? detectDelimiter(text, options.quote) : options.delimiter,
        quoteChar: options.quote,
        newline,
      } as never);
    }
    const result = parser.parse(text, 0, !last) as ParseResult;
    const quoteError = result.errors.find((e) => e.code === 'MissingQuotes' || e.code === 'InvalidQuotes');
    if (quoteError) {
      const rowsBefore = result.data.slice(0, quoteError.row);
      let at = line;
      for (const row of rowsBefore) at += 1 + newlinesIn(row);
      const message = `line ${at}: ${quoteError.message}`;
      throw new DataError('read', message, [{ line: at, rule: 'csv', message }]);
    }
    take(result.data);
    partial = last ? '' : text.substring(result.meta.cursor);
    if (partial.length > limits.maxRecordBytes) {
      const what = `a record longer than ${limits.maxRecordBytes} characters (an unterminated quote?)`;
      throw limitError('read', 'max_record_bytes', limits.maxRecordBytes, what, { locator: 'line', number: line });
    }
  };

  try {
    for await (const chunks of readInBatches<string>(source.text, 4)) {
      for (const chunk of chunks) {
        chars += chunk.length;
        parse(partial + chunk, false);
      }
      if (batch.records.length >= batchRows || chars >= MAX_BATCH_CHARS || batch.problems.length > 0) {
        yield batch;
        batch = { records: [], numbers: [], problems: [] };
        chars = 0;
      }
    }
    if (partial !== '') parse(partial, true);
    if (batch.records.length > 0 || batch.problems.length > 0) yield batch;
  } catch (error) {
    throw await sourceError(error, source);
  }
}

/**
 * A function that builds a record from a row as one object literal with the header's keys, so every
 * record of a file has the same shape (fast properties, far less garbage than adding keys one by
 * one). Keys are JSON-quoted; `__proto__` is written as a computed key, which defines an own
 * property instead of setting the prototype.
 */
export function recordMaker(header: string[]): (row: string[]) => Record<string, unknown> {
  const fields = header.map((key, i) => `${literalKey(key)}: r[${i}]`);
  return new Function('r', `return { ${fields.join(', ')} };`) as (row: string[]) => Record<string, unknown>;
}

function newlinesIn(row: string[]): number {
  let count = 0;
  for (const field of row) {
    for (let i = field.indexOf('\n'); i !== -1; i = field.indexOf('\n', i + 1)) count++;
  }
  return count;
}

const CANDIDATES = [',', ';', '\t', '|'];

/**
 * The field delimiter that splits the first lines (outside quotes) into the same number of fields,
 * more than one; ties go to the earlier of , ; tab |.
 */
export function detectDelimiter(text: string, quote = '"'): string {
  const lines = text.slice(0, 64 * 1024).split(/\r?\n/).slice(0, 20).filter((l) => l.trim() !== '');
  if (lines.length > 1 && text.length >= 64 * 1024) lines.pop(); // possibly cut off
  const counts = (line: string, d: string) => {
    let n = 0;
    let quoted = false;
    for (const c of line) {
      if (c === quote) quoted = !quoted;
      else if (c === d && !quoted) n++;
    }
    return n;
  };
  let best = ',';
  let bestScore = -1;
  for (const d of CANDIDATES) {
    const perLine = lines.map((l) => counts(l, d));
    const first = perLine[0] ?? 0;
    if (first === 0) continue;
    const consistent = perLine.filter((n) => n === first).length;
    const score = consistent * 1000 + first;
    if (score > bestScore) {
      best = d;
      bestScore = score;
    }
  }
  return best;
}

/** The record delimiter, from the first line break in the file. */
export function detectNewline(text: string): string {
  const lf = text.indexOf('\n');
  if (lf === -1) return text.includes('\r') ? '\r' : '\n';
  return lf > 0 && text[lf - 1] === '\r' ? '\r\n' : '\n';
}

export function checkHeader(record: string[], line: number, rename: string[] | null): string[] {
  if (rename) {
    if (rename.length !== record.length) {
      throw new DataError('read', `the header has ${record.length} columns, csv.columns names ${rename.length}`);
    }
    return rename;
  }
  const seen = new Map<string, number>();
  const problems: Problem[] = [];
  record.forEach((name, index) => {
    const position = index + 1;
    if (name.trim() === '') {
      problems.push({ line, field: `column ${position}`, rule: 'header', message: `header column ${position} is empty` });
    } else if (seen.has(name)) {
      problems.push({
        line,
        field: shortName(name),
        rule: 'header',
        message: `header "${shortName(name)}" appears twice (columns ${seen.get(name)} and ${position})`,
      });
    } else {
      seen.set(name, position);
    }
  });
  if (problems.length > 0) throw new DataError('read', problems[0]!.message, problems);
  return record;
}
