/**
 * JSON documents, parsed as a token stream (stream-json) so a 1 GB array never sits in memory.
 * `records` is a dotted path to where the records are, with `*` for "any key or index":
 * - the value at the path is an object → it is one record;
 * - the value at the path is an array → each element is a record.
 * No path means the document itself: an array of records or a single record.
 *
 * Records are assembled here from the tokens (not by stream-json's Assembler) so that, while the
 * tokens stream past, each record is held to `limits` (text size, number of values, nesting, keys)
 * before it exists in memory, and numbers keep their exact value (json-values.ts). A record over a
 * limit is skipped and reported with its number; the rest of the file is read.
 *
 * Two dataset options add a stage: `unterminated_array` completes a top-level array its producer
 * never closed (json-unterminated.ts), `from_document` gives records values from elsewhere in the
 * document (json-context.ts).
 */
import { pipeline, Transform, type Duplex } from 'node:stream';
import parser from 'stream-json/parser.js';
import pick from 'stream-json/filters/pick.js';
import { DataError, type Problem } from '../errors.js';
import { defineKey } from '../prepare/keys.js';
import { readInBatches } from './batches.js';
import { gunzipSync } from 'node:zlib';
import { DecimalText, isJsonObject, NumberRangeError, numberRangeProblem, parseJsonNumber } from './json-values.js';
import { limitProblem, MAX_BATCH_CHARS, type LimitName, type Limits } from './limits.js';
import { isGzipName, sourceError, type Source } from './source.js';
import type { RawBatch, ReadOptions } from './types.js';
import type { ByteInput } from '../source/source.js';
import { documentContext, type ContextToken, type RecordContext } from './json-context.js';
import { closeText, unterminatedArrayCloser } from './json-unterminated.js';

type Stack = (string | number | null)[];

/**
 * The pick filter for a records path. `onPick` receives the keys the `*` steps matched, in order,
 * for every record picked (so they can become columns: `json.path_columns`).
 */
export function recordsFilter(
  path: string | null,
  onPick: (wildcards: string[]) => void = () => undefined,
  /** Called when the path leads to an array (which may be empty: a file of no records, not a wrong path). */
  onArray: () => void = () => undefined,
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
    if (stack.length === segments.length) {
      if (chunk.name === 'startArray' && prefixMatches(stack)) onArray();
      return chunk.name === 'startObject' && prefixMatches(stack) && pick(stack);
    }
    if (stack.length === segments.length + 1) {
      return typeof stack[segments.length] === 'number' && prefixMatches(stack) && pick(stack);
    }
    return false;
  };
}

/** What the assembler hands on: a record (any JSON value) and its text size, or why it was skipped. */
interface Assembled {
  value?: unknown;
  chars: number;
  /** `json.from_document`: what the record learnt from the rest of the document. */
  context?: RecordContext;
  problem?: { limit: LimitName; value: number; what: string } | { limit: 'number'; value: number; what: NumberRangeError };
}

/** How a JSON document is read beyond its records path (`json:` in a dataset). */
export interface JsonModes {
  /** `json.unterminated_array`: a top-level array may lack its closing `]`. */
  unterminatedArray?: boolean;
  /** `json.from_document`: column → path of a value elsewhere in the document. */
  fromDocument?: Record<string, string>;
  /** Filled while reading: what the log line and the report say about how the file was read. */
  notes?: Record<string, unknown>;
}

export async function* readJson(
  source: Source,
  recordsPath: string | null,
  options: ReadOptions,
  pathColumns: string[] = [],
  modes: JsonModes = {},
): AsyncGenerator<RawBatch> {
  const wildcards: string[][] = [];
  const onPick = pathColumns.length > 0 ? (keys: string[]) => void wildcards.push(keys) : undefined;
  const assembler = recordAssembler(options.limits);
  const unterminated = modes.unterminatedArray === true;
  const fromDocument = modes.fromDocument && Object.keys(modes.fromDocument).length > 0 ? modes.fromDocument : null;
  let arrayFound = false;
  const stages: Duplex[] = [
    ...(unterminated ? [unterminatedArrayCloser((supplied) => void (modes.notes && (modes.notes['unterminated_array'] = unterminatedNote(supplied))))] : []),
    parser.asStream({ packKeys: true, packStrings: true, packNumbers: true }) as Duplex,
    ...(recordsPath === null ? [documentShape(unterminated)] : []),
    ...(fromDocument ? [documentContext(recordsPath, fromDocument)] : []),
    pick.asStream({ filter: recordsFilter(recordsPath, onPick, () => (arrayFound = true)) }) as Duplex,
  ];
  pipeline([source.text, ...stages, assembler], () => undefined);
  let number = 0;
  try {
    let batch: RawBatch = { records: [], numbers: [], problems: [] };
    let chars = 0;
    for await (const items of readInBatches<Assembled>(assembler, 256)) {
      for (const item of items) {
        number++;
        const keys = onPick ? wildcards.shift() : undefined;
        chars += item.chars;
        if (item.problem) {
          const { limit, value, what } = item.problem;
          batch.problems.push(limit === 'number' ? numberRangeProblem('record', number, what) : limitProblem('record', number, limit, value, what));
          continue;
        }
        const value = item.value;
        if (!isJsonObject(value)) {
          const problem: Problem = { record: number, rule: 'json', message: `record ${number} is not a JSON object`, raw: value };
          batch.problems.push(problem);
          continue;
        }
        const record = value as Record<string, unknown>;
        if (keys) pathColumns.forEach((name, i) => (record[name] = keys[i]));
        if (item.context && item.context.absent.length > 0) {
          batch.problems.push(...item.context.absent.map((a) => absentProblem(number, a)));
          continue;
        }
        if (item.context) {
          const own = Object.keys(item.context.values).filter((name) => Object.hasOwn(record, name));
          if (own.length > 0) {
            batch.problems.push(...own.map((name) => ownKeyProblem(number, name)));
            continue;
          }
          for (const [name, v] of Object.entries(item.context.values)) defineKey(record, name, v);
        }
        batch.records.push(record);
        batch.numbers.push(number);
      }
      if (batch.records.length >= options.batchRows || chars >= MAX_BATCH_CHARS || batch.problems.length > 0) {
        yield batch;
        batch = { records: [], numbers: [], problems: [] };
        chars = 0;
      }
    }
    if (batch.records.length > 0 || batch.problems.length > 0) yield batch;
  } catch (error) {
    const mapped = await sourceError(error, source);
    if (mapped instanceof DataError || !(mapped instanceof Error) || (mapped as { code?: string }).code) throw mapped;
    // stream-json reports syntax errors as plain Errors.
    const where = await locateSyntaxError(source.input, unterminated).catch(() => null);
    if (where === 'empty') throw new DataError('read', 'empty file: no JSON document', [{ rule: 'json', message: 'empty file: no JSON document (nothing but white space)' }]);
    const mode = unterminated ? ' (read as an array that may lack its closing "]": json.unterminated_array)' : '';
    const message = where
      ? `invalid JSON at line ${where.line}, column ${where.column}: ${where.message}${mode}`
      : `invalid JSON after record ${assembler.records}: ${mapped.message}${mode}`;
    throw new DataError('read', message, [{ ...(where ? { line: where.line } : { record: assembler.records + 1 }), rule: 'json', message }]);
  }
  if (number === 0 && recordsPath && !arrayFound) {
    // An empty array at the path is a file of no records (on_empty decides); no array at all is not.
    const message = `no records found at "${recordsPath}"`;
    throw new DataError('read', message, [{ rule: 'records', message }]);
  }
}

/** The `unterminated_array` note of the log line and report, when the dataset reads such arrays. */
function unterminatedNote(supplied: boolean): string {
  return supplied ? 'the closing "]" was missing; loadbay supplied it' : 'the array was complete';
}

/** A record's own key is never replaced by a value from elsewhere in the document. */
function ownKeyProblem(number: number, name: string): Problem {
  const message = `record ${number} has a "${name}" of its own, which json.from_document would replace: name the column otherwise`;
  return { record: number, field: name, rule: 'json.from_document', message };
}

function absentProblem(number: number, absent: RecordContext['absent'][number]): Problem {
  const message = `record ${number}: ${absent.path} is an object or an array, not a single value (json.from_document: ${absent.column})`;
  return { record: number, field: absent.column, rule: 'json.from_document', message };
}

const SCALARS: Record<string, string> = { stringValue: 'a string', numberValue: 'a number', nullValue: 'null', trueValue: 'true', falseValue: 'false' };

/**
 * Without a records path the document must be an object (one record) or an array (of records);
 * read as an unterminated array, it must be an array.
 */
function documentShape(arrayOnly = false): Transform {
  let first = true;
  return new Transform({
    objectMode: true,
    transform(token: { name: string }, _enc, callback) {
      if (first && (token.name in SCALARS || token.name === 'startString' || token.name === 'startNumber')) {
        const kind = SCALARS[token.name] ?? (token.name === 'startString' ? 'a string' : 'a number');
        const message = `the document is ${kind}, not an object (one record) or an array of records`;
        return callback(new DataError('read', message, [{ rule: 'json', message }]));
      }
      if (first && arrayOnly && token.name === 'startObject') {
        const message = 'the document is an object, not an array of records (json.unterminated_array reads a top-level array)';
        return callback(new DataError('read', message, [{ rule: 'json', message }]));
      }
      first = false;
      callback(null, token);
    },
  });
}

interface Token {
  name: string;
  value?: string;
}

type Container = Record<string, unknown> | unknown[];

/**
 * Builds records from the picked tokens, one at a time, holding each to the limits while its tokens
 * arrive. No recursion: a deep record costs a stack of containers, bounded by `max_depth`.
 */
function recordAssembler(limits: Limits): Transform & { records: number } {
  let stack: Container[] = [];
  let keys: Array<string | null> = [];
  let key: string | null = null;
  let chars = 0;
  let values = 0;
  let depth = 0;
  let topKeys = 0;
  let skipping: Assembled['problem'] | null = null;
  let context: RecordContext | undefined;
  const reset = () => {
    context = undefined;
    stack = [];
    keys = [];
    key = null;
    chars = 0;
    values = 0;
    topKeys = 0;
    skipping = null;
  };
  const stream = new Transform({
    objectMode: true,
    highWaterMark: 64,
    transform(token: Token, _enc, callback) {
      switch (token.name) {
        case 'startObject':
        case 'startArray':
          depth++;
          chars++;
          if (depth === 1) context = (token as Partial<ContextToken>).context;
          if (skipping) break;
          if (depth > limits.maxDepth) {
            skipping = { limit: 'max_depth', value: limits.maxDepth, what: `nesting deeper than ${limits.maxDepth} levels` };
            break;
          }
          if (++values > limits.maxRecordValues) {
            skipping = { limit: 'max_record_values', value: limits.maxRecordValues, what: `more than ${limits.maxRecordValues} values` };
            break;
          }
          if (depth > 1) keys.push(key);
          stack.push(token.name === 'startObject' ? {} : []);
          key = null;
          break;
        case 'endObject':
        case 'endArray': {
          depth--;
          chars++;
          if (skipping) break;
          const done = stack.pop()!;
          if (depth === 0) {
            stream.push({ value: done, chars, ...(context ? { context } : {}) } satisfies Assembled);
            stream.records++;
            reset();
            break;
          }
          key = keys.pop() ?? null;
          save(done);
          break;
        }
        case 'keyValue':
          chars += token.value!.length + 1;
          if (skipping) break;
          key = token.value!;
          if (depth === 1 && ++topKeys > limits.maxColumns) {
            skipping = { limit: 'max_columns', value: limits.maxColumns, what: `more than ${limits.maxColumns} keys` };
          }
          break;
        case 'stringChunk':
        case 'numberChunk':
          chars += token.value!.length;
          break;
        case 'stringValue':
          if (!skipping) save(token.value!);
          break;
        case 'numberValue':
          if (!skipping) {
            let number: ReturnType<typeof parseJsonNumber>;
            try {
              number = parseJsonNumber(token.value!);
            } catch (error) {
              if (!(error instanceof NumberRangeError)) throw error;
              skipping = { limit: 'number', value: 0, what: error };
              break;
            }
            save(number);
          }
          break;
        case 'nullValue':
          chars += 4;
          if (!skipping) save(null);
          break;
        case 'trueValue':
          chars += 4;
          if (!skipping) save(true);
          break;
        case 'falseValue':
          chars += 5;
          if (!skipping) save(false);
          break;
      }
      if (!skipping && chars > limits.maxRecordBytes) {
        skipping = { limit: 'max_record_bytes', value: limits.maxRecordBytes, what: `larger than ${limits.maxRecordBytes} characters` };
      }
      if (skipping && depth === 0 && isValueEnd(token.name)) {
        stream.push({ chars, problem: skipping } satisfies Assembled);
        stream.records++;
        reset();
      }
      callback();
    },
  }) as Transform & { records: number };
  stream.records = 0;
  const save = (value: unknown) => {
    if (stack.length === 0) {
      // A scalar where a record was expected: handed on, the reader says it is not an object.
      stream.push({ value, chars } satisfies Assembled);
      stream.records++;
      reset();
      return;
    }
    if (typeof value !== 'object' || value === null || value instanceof DecimalText) values++;
    if (values > limits.maxRecordValues) {
      skipping = { limit: 'max_record_values', value: limits.maxRecordValues, what: `more than ${limits.maxRecordValues} values` };
      return;
    }
    const top = stack[stack.length - 1]!;
    if (Array.isArray(top)) top.push(value);
    else defineKey(top, key!, value); // like JSON.parse: `__proto__` is an own key

  };
  return stream;
}

function isValueEnd(name: string): boolean {
  return name === 'endObject' || name === 'endArray' || name in SCALARS;
}

/**
 * stream-json does not say where a syntax error is. For files up to 32 MiB the error path parses
 * the text once more with JSON.parse, whose message has the position, and turns it into a line
 * ('empty' when there is no document at all).
 */
const LOCATE_LIMIT_BYTES = 32 * 1024 * 1024;

async function locateSyntaxError(input: ByteInput, unterminated: boolean): Promise<{ line: number; column: number; message: string } | 'empty' | null> {
  if (input.size > LOCATE_LIMIT_BYTES) return null;
  // At most the limit: a large file is never read whole, not even on the error path.
  let bytes = await readPrefix(input, LOCATE_LIMIT_BYTES);
  if (isGzipName(input.name)) {
    bytes = gunzipSync(bytes, { maxOutputLength: LOCATE_LIMIT_BYTES });
  }
  const decoded = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  if (/^[ \t\n\r]*$/.test(decoded)) return 'empty';
  const text = unterminated ? closeText(decoded) : decoded;
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

/** At most `limit` bytes from the start of the input (the rest is not read). */
async function readPrefix(input: ByteInput, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  const stream = input.stream();
  try {
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer);
      length += (chunk as Buffer).length;
      if (length >= limit) break;
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks).subarray(0, limit);
}
