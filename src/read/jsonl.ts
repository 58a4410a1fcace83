/**
 * JSONL: one JSON object per line. Blank lines are skipped; a line that is not JSON, or not an
 * object, is a problem with its line number. A line longer than the limit is a data error rather
 * than a reason to buffer without end.
 */
import { DataError, type Problem } from '../errors.js';
import { readInBatches } from './batches.js';
import { mapSourceError, type Source } from './source.js';
import type { RawBatch } from './types.js';

const MAX_LINE_CHARS = 64 * 1024 * 1024;

export async function* readJsonl(source: Source, batchRows: number): AsyncGenerator<RawBatch> {
  let rest = '';
  let line = 0;
  let batch: RawBatch = { records: [], numbers: [], problems: [] };
  const take = (text: string) => {
    line++;
    if (text.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      batch.problems.push({
        line,
        rule: 'json',
        message: `line ${line} is not valid JSON: ${(error as Error).message}`,
        raw: text.length > 10_000 ? `${text.slice(0, 10_000)}…` : text,
      });
      return;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      const problem: Problem = { line, rule: 'json', message: `line ${line} is not a JSON object`, raw: value };
      batch.problems.push(problem);
      return;
    }
    batch.records.push(value as Record<string, unknown>);
    batch.numbers.push(line);
  };
  try {
    for await (const chunks of readInBatches<string>(source.text, 16)) {
      for (const chunk of chunks) {
        const parts = (rest + chunk).split('\n');
        rest = parts.pop() ?? '';
        if (rest.length > MAX_LINE_CHARS) {
          throw new DataError('read', `line ${line + 1} is longer than ${MAX_LINE_CHARS} characters`);
        }
        for (const part of parts) take(part.endsWith('\r') ? part.slice(0, -1) : part);
      }
      if (batch.records.length >= batchRows || batch.problems.length > 0) {
        yield batch;
        batch = { records: [], numbers: [], problems: [] };
      }
    }
    if (rest !== '') take(rest.endsWith('\r') ? rest.slice(0, -1) : rest);
    if (batch.records.length > 0 || batch.problems.length > 0) yield batch;
  } catch (error) {
    throw mapSourceError(error, source.text.decodedBytes);
  }
}
