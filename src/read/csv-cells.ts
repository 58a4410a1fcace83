/**
 * CSV read into cells: per batch, one buffer and for every field its byte range (no string per
 * field), split by csv-tokenizer.ts exactly as papaparse splits them. This is the reader of the
 * columnar path (see validate/plan.ts).
 *
 * Line numbers, blank lines, ragged rows, the header checks, mixed line endings and the limits
 * behave as in csv.ts (the record path), which stays for what the columnar path does not cover.
 */
import { utf16Units, utf8Slice } from '../lib/bytes.js';
import type { ReadOptions } from './types.js';
import type { CsvOptions } from '../config/types.js';
import { DataError, type Problem } from '../errors.js';
import { shortName } from '../lib/shorten.js';
import { readInBatches } from './batches.js';
import { checkHeader, detectDelimiter } from './csv.js';
import { limitError, limitProblem } from './limits.js';
import { sourceError, type Source } from './source.js';
import { Utf8Bytes } from './utf8-bytes.js';
import { INCOMPLETE, Tokenizer } from './csv-tokenizer.js';

/** Rows of one batch: field `f` of row `r` is `buf[starts[r * width + f] … ends[r * width + f])`. */
export interface CellBatch {
  /** The header as the file has it (or csv.columns). */
  header: string[];
  width: number;
  buf: Buffer;
  rows: number;
  starts: Int32Array;
  ends: Int32Array;
  /** 1: the field was quoted and holds doubled quotes to undo. */
  escaped: Uint8Array;
  /** The line each row starts on. */
  lines: Float64Array;
  /** Rows left out while reading (ragged, too wide, mixed line endings), with their fields as text. */
  problems: Problem[];
  quote: number;
}

const LF = 0x0a;
const CR = 0x0d;

/** The text of a field, quotes undone. */
export function cellText(batch: Pick<CellBatch, 'buf' | 'quote'>, start: number, end: number, escaped: number): string {
  const text = utf8Slice(batch.buf, start, end);
  if (escaped === 0) return text;
  const q = String.fromCharCode(batch.quote);
  return text.replaceAll(q + q, q);
}

/** `detectNewline` (csv.ts) on bytes: the first line feed, with a carriage return before it or not. */
export function newlineOf(bytes: Uint8Array): string {
  const lf = bytes.indexOf(LF);
  if (lf === -1) return bytes.includes(CR) ? '\r' : '\n';
  return lf > 0 && bytes[lf - 1] === CR ? '\r\n' : '\n';
}

/** One ASCII character as a byte, or null (the columnar path then does not take the dataset). */
export function asciiByte(text: string): number | null {
  return text.length === 1 && text.charCodeAt(0) < 0x80 ? text.charCodeAt(0) : null;
}

/** Is this encoding label UTF-8 (then the file's bytes are read as they are, checked, not decoded)? */
export function isUtf8Encoding(encoding: string): boolean {
  return new TextDecoder(encoding).encoding === 'utf-8';
}

/**
 * Reads a CSV file's cells. `source` is raw bytes when the encoding is UTF-8 (checked here, with
 * `isUtf8`, and a BOM dropped), decoded text otherwise (re-encoded as UTF-8).
 */
export async function* readCsvCells(source: Source, options: CsvOptions, { batchRows, limits }: ReadOptions): AsyncGenerator<CellBatch> {
  const raw = isUtf8Encoding(options.encoding);
  const utf8 = new Utf8Bytes();
  let tokenizer: Tokenizer | null = null;
  let header: string[] | null = options.header ? null : (options.columns as string[]);
  let width = header?.length ?? 0;
  let line = 1;
  let lf = false;
  let quote = asciiByte(options.quote)!;
  let leftover: Buffer = Buffer.alloc(0);
  let batch: CellBatch | null = null;

  // The arrays of a batch are reused for the next one (a batch is done with once the consumer asks
  // for the next: its rows are in vectors by then), start small and double up to `batch_rows` rows,
  // and a file that ends leaves them to the next file of the same width: garbage in ArrayBuffers is
  // what makes V8 run full collections (BENCHMARKS.md, "Why the code is shaped as it is").
  let spare: CellArrays | null = null;
  const arrays = (rows: number): CellArrays => ({ starts: new Int32Array(rows * width), ends: new Int32Array(rows * width), escaped: new Uint8Array(rows * width), lines: new Float64Array(rows) });
  const newBatch = (buf: Buffer): CellBatch => {
    spare ??= takeSpare(width, batchRows) ?? arrays(Math.min(batchRows, 256));
    return { header: header!, width, buf, rows: 0, ...spare, problems: [], quote };
  };
  /** Doubles the batch's room for rows (kept as the spare for the next batch). */
  const grow = (b: CellBatch) => {
    const bigger = arrays(Math.min(batchRows, b.lines.length * 2));
    bigger.starts.set(b.starts);
    bigger.ends.set(b.ends);
    bigger.escaped.set(b.escaped);
    bigger.lines.set(b.lines);
    Object.assign(b, bigger);
    spare = bigger;
  };

  const rawRow = (buf: Buffer, t: Tokenizer): string[] => {
    const n = Math.min(t.count, t.starts.length);
    const fields: string[] = [];
    for (let f = 0; f < n; f++) fields.push(cellText({ buf, quote }, t.starts[f]!, t.ends[f]!, t.escaped[f]!));
    return fields;
  };

  /** Tokenises `buf`; yields full batches on the way; returns the offset of the incomplete rest. */
  function* run(buf: Buffer, final: boolean): Generator<CellBatch, number> {
    const t = tokenizer!;
    let p = 0;
    const end = buf.length;
    while (p < end) {
      const start = line;
      const next = t.row(buf, p, end, final, start);
      if (next === INCOMPLETE) break;
      p = next;
      line += 1 + t.breaks;
      const count = t.count;
      if (count === 1 && t.ends[0] === t.starts[0]) continue; // a blank line
      if (count > limits.maxColumns) {
        const what = `${count} fields`;
        if (header === null) throw limitError('read', 'max_columns', limits.maxColumns, `the header has ${what}`, { locator: 'line', number: start });
        (batch ??= newBatch(buf)).problems.push(limitProblem('line', start, 'max_columns', limits.maxColumns, `the row has ${what}`));
        continue;
      }
      if (lf && t.ends[count - 1]! > t.starts[count - 1]! && buf[t.ends[count - 1]! - 1] === CR) {
        const field = shortName(header?.[count - 1] ?? `column ${count}`);
        const message = `line ${start} ends with CR LF, but the file's first line ends with LF alone: mixed line endings would leave a CR in field "${field}"`;
        if (header === null) throw new DataError('read', message, [{ line: start, field, rule: 'csv: mixed line endings', message }]);
        (batch ??= newBatch(buf)).problems.push({ line: start, field, rule: 'csv: mixed line endings', message, raw: rawRow(buf, t) });
        continue;
      }
      if (header === null) {
        header = checkHeader(rawRow(buf, t), start, options.columns);
        width = header.length;
        continue;
      }
      if (count !== width) {
        (batch ??= newBatch(buf)).problems.push({
          line: start,
          rule: 'columns',
          message: `line ${start} has ${count} fields, the header has ${width}`,
          raw: rawRow(buf, t),
        });
        continue;
      }
      if (batch !== null && batch.buf !== buf) {
        yield batch;
        batch = null;
      }
      const b = (batch ??= newBatch(buf));
      if (b.rows === b.lines.length) grow(b);
      const base = b.rows * width;
      // A loop, not set(subarray()): no typed-array views per row for the collector.
      const { starts, ends, escaped } = t;
      for (let f = 0; f < width; f++) {
        b.starts[base + f] = starts[f]!;
        b.ends[base + f] = ends[f]!;
        b.escaped[base + f] = escaped[f]!;
      }
      b.lines[b.rows++] = start;
      if (b.rows === batchRows) {
        yield b;
        batch = null;
      }
    }
    return p;
  }

  const tokenize = function* (text: Buffer, final: boolean): Generator<CellBatch, void> {
    const buf = leftover.length > 0 ? Buffer.concat([leftover, text]) : text;
    const p = yield* run(buf, final);
    // Batches still open hold this buffer; the rest is copied, so nothing is shared across passes.
    leftover = final ? Buffer.alloc(0) : Buffer.from(buf.subarray(p));
    // Counted in characters, as every reader counts a record (docs/operations.md#limits); the bytes
    // are at least as many, so the characters are only counted once the bytes are over.
    if (leftover.length > limits.maxRecordBytes && utf16Units(leftover) > limits.maxRecordBytes) {
      const what = `a record longer than ${limits.maxRecordBytes} characters (an unterminated quote?)`;
      throw limitError('read', 'max_record_bytes', limits.maxRecordBytes, what, { locator: 'line', number: line });
    }
  };

  /** Line breaks before the next bytes: the rows read so far, then the rest carried over. */
  const breaksBefore = () => {
    let breaks = line - 1;
    for (let i = leftover.indexOf(LF); i !== -1; i = leftover.indexOf(LF, i + 1)) breaks++;
    return breaks;
  };

  try {
    for await (const chunks of readInBatches<string | Buffer>(source.text, 4)) {
      const bytes = raw ? utf8.next(chunks as Buffer[], breaksBefore) : Buffer.from(chunks.length === 1 ? (chunks[0] as string) : chunks.join(''), 'utf8');
      if (!tokenizer && bytes.length === 0) continue;
      if (!tokenizer) {
        // Looked for in the first 64 KiB, as in the record path; decoded to text only to detect the
        // delimiter, so a small file is never held as one string.
        const prefix = bytes.subarray(0, 64 * 1024);
        const newline = newlineOf(prefix);
        lf = newline === '\n';
        const delimiter = options.delimiter === 'auto' ? detectDelimiter(utf8Slice(prefix, 0, prefix.length), options.quote) : options.delimiter;
        quote = asciiByte(options.quote)!;
        const maxFields = limits.maxColumns + 1;
        tokenizer = new Tokenizer(asciiByte(delimiter)!, quote, newline.charCodeAt(0), newline.length === 2 ? newline.charCodeAt(1) : -1, maxFields);
      }
      yield* tokenize(bytes, false);
      if (batch !== null && (batch as CellBatch).problems.length > 0) {
        yield batch;
        batch = null;
      }
    }
    if (raw) utf8.end(breaksBefore());
    if (tokenizer && leftover.length > 0) yield* tokenize(Buffer.alloc(0), true);
    if (batch !== null) yield batch;
  } catch (error) {
    throw await sourceError(error, source);
  } finally {
    // The consumer asked past the last batch (or gave up): the arrays are free.
    if (spare) leaveSpare(width, spare);
  }
}

type CellArrays = Pick<CellBatch, 'starts' | 'ends' | 'escaped' | 'lines'>;

/** Cell arrays left by finished files, by row width; a few shapes at most. */
const spares = new Map<number, CellArrays[]>();
const MAX_SPARE_WIDTHS = 8;
const MAX_SPARES_PER_WIDTH = 4;
/** Larger arrays (a big file's full batches) are left to the collector, not kept. */
const MAX_SPARE_BYTES = 1024 * 1024;

function takeSpare(width: number, batchRows: number): CellArrays | null {
  const list = spares.get(width);
  const arrays = list?.pop() ?? null;
  // Arrays for more rows than this reader's batches would make its batches larger: not for it.
  return arrays && arrays.lines.length <= batchRows ? arrays : null;
}

function leaveSpare(width: number, arrays: CellArrays): void {
  if (arrays.starts.byteLength + arrays.ends.byteLength + arrays.escaped.byteLength + arrays.lines.byteLength > MAX_SPARE_BYTES) return;
  let list = spares.get(width);
  if (!list) {
    if (spares.size >= MAX_SPARE_WIDTHS) spares.delete(spares.keys().next().value!);
    spares.set(width, (list = []));
  }
  if (list.length < MAX_SPARES_PER_WIDTH) list.push(arrays);
}
