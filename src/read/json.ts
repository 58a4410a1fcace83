/**
 * JSON documents, parsed as a token stream (stream-json) so a 1 GB array never sits in memory.
 * `records` is a dotted path to where the records are, with `*` for "any key or index":
 * - the value at the path is an object → it is one record;
 * - the value at the path is an array → each element is a record.
 * No path means the document itself: an array of records or a single record.
 */
import { pipeline, type Duplex } from 'node:stream';
import parser from 'stream-json/parser.js';
import pick from 'stream-json/filters/pick.js';
import streamValues from 'stream-json/streamers/stream-values.js';
import { DataError, type Problem } from '../errors.js';
import { readInBatches } from './batches.js';
import { mapSourceError, type Source } from './source.js';
import type { RawBatch } from './types.js';

type Stack = (string | number | null)[];

export function recordsFilter(path: string | null): (stack: Stack, chunk: { name: string }) => boolean {
  const segments = path ? path.split('.') : [];
  const prefixMatches = (stack: Stack) =>
    segments.every((segment, i) => segment === '*' || String(stack[i]) === segment);
  return (stack, chunk) => {
    if (stack.length === segments.length) return chunk.name === 'startObject' && prefixMatches(stack);
    if (stack.length === segments.length + 1) return typeof stack[segments.length] === 'number' && prefixMatches(stack);
    return false;
  };
}

export async function* readJson(source: Source, recordsPath: string | null, batchRows: number): AsyncGenerator<RawBatch> {
  const values = streamValues.asStream() as Duplex;
  pipeline(
    source.text,
    parser.asStream({ packKeys: true, packStrings: true, packNumbers: true }) as Duplex,
    pick.asStream({ filter: recordsFilter(recordsPath) }) as Duplex,
    values,
    () => undefined,
  );
  let number = 0;
  try {
    for await (const items of readInBatches<{ value: unknown }>(values, batchRows)) {
      const batch: RawBatch = { records: [], numbers: [], problems: [] };
      for (const { value } of items) {
        number++;
        if (typeof value !== 'object' || value === null || Array.isArray(value)) {
          const problem: Problem = { record: number, rule: 'json', message: `record ${number} is not a JSON object` };
          batch.problems.push(problem);
          continue;
        }
        batch.records.push(value as Record<string, unknown>);
        batch.numbers.push(number);
      }
      yield batch;
    }
  } catch (error) {
    const mapped = mapSourceError(error, source.text.decodedBytes);
    if (mapped instanceof DataError || !(mapped instanceof Error) || (mapped as { code?: string }).code) throw mapped;
    // stream-json reports syntax errors as plain Errors.
    const message = `invalid JSON after record ${number}: ${mapped.message}`;
    throw new DataError('read', message, [{ record: number + 1, rule: 'json', message }]);
  }
  if (number === 0 && recordsPath) {
    const message = `no records found at "${recordsPath}"`;
    throw new DataError('read', message, [{ rule: 'records', message }]);
  }
}
