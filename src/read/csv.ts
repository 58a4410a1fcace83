/**
 * CSV: csv-parse tokenises (quotes, embedded delimiters and newlines, CRLF); this module turns rows
 * into records keyed by the header, reports ragged rows with both counts, and rejects a header with
 * an empty or duplicated name.
 */
import { pipeline } from 'node:stream';
import { parse, type Info } from 'csv-parse';
import type { CsvOptions } from '../config/types.js';
import { DataError, type Problem } from '../errors.js';
import { readInBatches } from './batches.js';
import { mapSourceError, type Source } from './source.js';
import type { RawBatch } from './types.js';

const MAX_RECORD_BYTES = 16 * 1024 * 1024;

interface Row {
  record: string[];
  info: Info;
}

export async function* readCsv(source: Source, options: CsvOptions, batchRows: number): AsyncGenerator<RawBatch> {
  const parser = parse({
    delimiter: options.delimiter,
    quote: options.quote,
    info: true,
    relax_column_count: true,
    skip_empty_lines: true,
    max_record_size: MAX_RECORD_BYTES,
  });
  pipeline(source.text, parser, () => undefined);
  let header: string[] | null = options.header ? null : (options.columns as string[]);
  const lines = new LineCounter();
  try {
    for await (const rows of readInBatches<Row>(parser, batchRows)) {
      const records: Record<string, unknown>[] = [];
      const numbers: number[] = [];
      const problems: Problem[] = [];
      for (const { record, info } of rows) {
        const line = lines.startLine(record, info.lines);
        if (header === null) {
          header = checkHeader(record, line, options.columns);
          continue;
        }
        if (record.length !== header.length) {
          problems.push({
            line,
            rule: 'columns',
            message: `line ${line} has ${record.length} fields, the header has ${header.length}`,
          });
          continue;
        }
        const object: Record<string, unknown> = {};
        for (let i = 0; i < header.length; i++) object[header[i]!] = record[i];
        records.push(object);
        numbers.push(line);
      }
      yield { records, numbers, problems };
    }
  } catch (error) {
    throw csvError(mapSourceError(error, source.text.decodedBytes));
  }
}

/**
 * csv-parse reports the line a record ends on, and counts a CRLF inside a quoted field as two lines.
 * This turns that into the real line the record starts on; `drift` carries the over-count forward.
 */
export class LineCounter {
  private drift = 0;
  startLine(record: string[], reportedEnd: number): number {
    let newlines = 0;
    let crlf = 0;
    for (const field of record) {
      if (!field.includes('\n')) continue;
      for (let i = field.indexOf('\n'); i !== -1; i = field.indexOf('\n', i + 1)) {
        newlines++;
        if (i > 0 && field[i - 1] === '\r') crlf++;
      }
    }
    this.drift += crlf;
    return reportedEnd - this.drift - newlines;
  }
}

function checkHeader(record: string[], line: number, rename: string[] | null): string[] {
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
        field: name,
        rule: 'header',
        message: `header "${name}" appears twice (columns ${seen.get(name)} and ${position})`,
      });
    } else {
      seen.set(name, position);
    }
  });
  if (problems.length > 0) throw new DataError('read', problems[0]!.message, problems);
  return record;
}

function csvError(error: unknown): unknown {
  const code = (error as { code?: string }).code;
  if (typeof code === 'string' && code.startsWith('CSV_')) {
    const lines = (error as { lines?: number }).lines;
    const message = (error as Error).message;
    return new DataError('read', message, [{ line: lines, rule: 'csv', message }]);
  }
  return error;
}
