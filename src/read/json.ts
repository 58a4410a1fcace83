/**
 * JSON documents, parsed as a token stream (stream-json) so a 1 GB array never sits in memory.
 * `records` is a dotted path to where the records are, with `*` for "any key or index":
 * - the value at the path is an object → it is one record;
 * - the value at the path is an array → each element is a record.
 * No path means the document itself: an array of records or a single record.
 */
import { pipeline, Transform, type Duplex } from 'node:stream';
import parser from 'stream-json/parser.js';
import pick from 'stream-json/filters/pick.js';
import streamValues from 'stream-json/streamers/stream-values.js';
import { DataError, type Problem } from '../errors.js';
import { readInBatches } from './batches.js';
import { readFile as readFileBytes } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { isGzipName, mapSourceError, type Source } from './source.js';
import type { RawBatch } from './types.js';

type Stack = (string | number | null)[];

/**
 * The pick filter for a records path. `onPick` receives the keys the `*` steps matched, in order,
 * for every record picked (so they can become columns: `json.path_columns`).
 */
export function recordsFilter(
  path: string | null,
  onPick: (wildcards: string[]) => void = () => undefined,
): (stack: Stack, chunk: { name: string }) => boolean {
  const segments = path ? path.split('.') : [];
  const stars = segments.flatMap((segment, i) => (segment === '*' ? [i] : []));
  const prefixMatches = (stack: Stack) =>
    segments.every((segment, i) => segment === '*' || String(stack[i]) === segment);
  const pick = (stack: Stack) => {
    onPick(stars.map((i) => String(stack[i])));
    return true;
  };
  return (stack, chunk) => {
    if (stack.length === segments.length) return chunk.name === 'startObject' && prefixMatches(stack) && pick(stack);
    if (stack.length === segments.length + 1) {
      return typeof stack[segments.length] === 'number' && prefixMatches(stack) && pick(stack);
    }
    return false;
  };
}

export async function* readJson(
  source: Source,
  recordsPath: string | null,
  batchRows: number,
  pathColumns: string[] = [],
): AsyncGenerator<RawBatch> {
  const wildcards: string[][] = [];
  const onPick = pathColumns.length > 0 ? (keys: string[]) => void wildcards.push(keys) : undefined;
  // Counts records as the parser completes them, so a syntax error can say how far it got.
  let parsed = 0;
  const counter = new Transform({
    objectMode: true,
    transform(item, _enc, callback) {
      parsed++;
      callback(null, item);
    },
  });
  pipeline(
    source.text,
    parser.asStream({ packKeys: true, packStrings: true, packNumbers: true }) as Duplex,
    pick.asStream({ filter: recordsFilter(recordsPath, onPick) }) as Duplex,
    recordSizeGuard(() => parsed + 1),
    streamValues.asStream() as Duplex,
    counter,
    () => undefined,
  );
  let number = 0;
  try {
    for await (const items of readInBatches<{ value: unknown }>(counter, batchRows)) {
      const batch: RawBatch = { records: [], numbers: [], problems: [] };
      for (const { value } of items) {
        number++;
        const keys = onPick ? wildcards.shift() : undefined;
        if (typeof value !== 'object' || value === null || Array.isArray(value)) {
          const problem: Problem = { record: number, rule: 'json', message: `record ${number} is not a JSON object`, raw: value };
          batch.problems.push(problem);
          continue;
        }
        const record = value as Record<string, unknown>;
        if (keys) pathColumns.forEach((name, i) => (record[name] = keys[i]));
        batch.records.push(record);
        batch.numbers.push(number);
      }
      yield batch;
    }
  } catch (error) {
    const mapped = mapSourceError(error, source.text.decodedBytes);
    if (mapped instanceof DataError || !(mapped instanceof Error) || (mapped as { code?: string }).code) throw mapped;
    // stream-json reports syntax errors as plain Errors.
    const where = await locateSyntaxError(source.file).catch(() => null);
    const message = where
      ? `invalid JSON at line ${where.line}, column ${where.column}: ${where.message}`
      : `invalid JSON after record ${parsed}: ${mapped.message}`;
    throw new DataError('read', message, [{ ...(where ? { line: where.line } : { record: parsed + 1 }), rule: 'json', message }]);
  }
  if (number === 0 && recordsPath) {
    const message = `no records found at "${recordsPath}"`;
    throw new DataError('read', message, [{ rule: 'records', message }]);
  }
}

const LOCATE_LIMIT_BYTES = 32 * 1024 * 1024;
const MAX_RECORD_CHARS = 64 * 1024 * 1024;

/**
 * A record is assembled in memory before it is validated: refuse one larger than 64 Mi characters
 * of text while its tokens stream past, before the parser or the assembler holds all of it.
 */
function recordSizeGuard(recordNumber: () => number): Transform {
  let depth = 0;
  let size = 0;
  return new Transform({
    objectMode: true,
    transform(token: { name: string; value?: string }, _enc, callback) {
      switch (token.name) {
        case 'startObject':
        case 'startArray':
          depth++;
          break;
        case 'endObject':
        case 'endArray':
          depth--;
          break;
        case 'stringChunk':
        case 'numberChunk':
        case 'keyValue':
          size += token.value?.length ?? 0;
          break;
      }
      if (size > MAX_RECORD_CHARS) {
        const message = `record ${recordNumber()} is larger than ${MAX_RECORD_CHARS} characters`;
        return callback(new DataError('read', message, [{ record: recordNumber(), rule: 'json', message }]));
      }
      if (depth === 0) size = 0;
      callback(null, token);
    },
  });
}

/**
 * stream-json does not say where a syntax error is. For files up to 32 MiB the error path parses
 * the text once more with JSON.parse, whose message has the position, and turns it into a line.
 */
async function locateSyntaxError(file: string): Promise<{ line: number; column: number; message: string } | null> {
  let bytes = await readFileBytes(file);
  if (bytes.length > LOCATE_LIMIT_BYTES) return null;
  if (isGzipName(file)) {
    bytes = gunzipSync(bytes, { maxOutputLength: LOCATE_LIMIT_BYTES });
  }
  const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  try {
    JSON.parse(text);
    return null;
  } catch (error) {
    const message = (error as Error).message;
    const position = /at position (\d+)/.exec(message);
    if (!position) return null;
    const offset = Number(position[1]);
    const before = text.slice(0, offset);
    const line = before.split('\n').length;
    const column = offset - before.lastIndexOf('\n');
    return { line, column, message: message.replace(/ in JSON at position \d+.*$/s, '') };
  }
}
