/**
 * CSV tokenised from UTF-8 bytes into cells: per batch, one buffer and for every field its byte
 * range (no string per field). This is the reader of the columnar path (see validate/plan.ts); it
 * splits rows exactly as papaparse does (tests/unit/csv-cells.test.ts compares both on generated
 * files): a field is quoted only when its first character is the quote; a doubled quote inside is
 * one quote; a closing quote may be followed by whitespace before the delimiter or line break; a
 * quote inside an unquoted field is text; rows end at the line break the file starts with.
 *
 * Line numbers, blank lines, ragged rows, the header checks, mixed line endings and the limits
 * behave as in csv.ts (the record path), which stays for what the columnar path does not cover.
 */
import { utf8Slice } from '../lib/bytes.js';
import type { ReadOptions } from './types.js';
import type { CsvOptions } from '../config/types.js';
import { DataError, type Problem } from '../errors.js';
import { shortName } from '../lib/shorten.js';
import { readInBatches } from './batches.js';
import { checkHeader, detectDelimiter } from './csv.js';
import { limitError, limitProblem } from './limits.js';
import { isUtf8 } from 'node:buffer';
import { invalidIn, sourceError, type Source } from './source.js';

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

const INCOMPLETE = -1;
const LF = 0x0a;
const CR = 0x0d;

/** The text of a field, quotes undone. */
export function cellText(batch: Pick<CellBatch, 'buf' | 'quote'>, start: number, end: number, escaped: number): string {
  const text = utf8Slice(batch.buf, start, end);
  if (escaped === 0) return text;
  const q = String.fromCharCode(batch.quote);
  return text.replaceAll(q + q, q);
}

/** Is the text a JavaScript `trim()` would remove entirely (as papaparse checks after a closing quote)? */
function isBlank(buf: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = buf[i]!;
    if (c === 0x20 || (c >= 0x09 && c <= 0x0d)) continue;
    if (c < 0x80) return false;
    return utf8Slice(buf, from, to).trim() === '';
  }
  return true;
}

class Tokenizer {
  /** Fields of the row being read: a scratch area reused for every row. */
  starts = new Int32Array(64);
  ends = new Int32Array(64);
  escaped = new Uint8Array(64);
  count = 0;
  /** Line breaks inside the current row's fields. */
  breaks = 0;
  constructor(
    private readonly delimiter: number,
    private readonly quote: number,
    private readonly nl0: number,
    private readonly nl1: number,
    private readonly maxFields: number,
  ) {}

  private push(start: number, end: number, escaped: number): void {
    const n = this.count++;
    if (n >= this.maxFields) return; // counted, not kept: the row is over max_columns
    if (n >= this.starts.length) {
      const size = Math.min(this.starts.length * 2, this.maxFields + 1);
      const grow = <T extends Int32Array | Uint8Array>(a: T, make: (n: number) => T) => {
        const b = make(size);
        b.set(a);
        return b;
      };
      this.starts = grow(this.starts, (k) => new Int32Array(k));
      this.ends = grow(this.ends, (k) => new Int32Array(k));
      this.escaped = grow(this.escaped, (k) => new Uint8Array(k));
    }
    this.starts[n] = start;
    this.ends[n] = end;
    this.escaped[n] = escaped;
  }

  /**
   * Reads one row from `p`; returns the offset after its line break (or the end of the data when
   * `final`), or INCOMPLETE when the row may go on past `end`. Throws on a malformed quote.
   */
  row(buf: Buffer, p: number, end: number, final: boolean, line: number): number {
    const D = this.delimiter;
    const Q = this.quote;
    const N0 = this.nl0;
    const N1 = this.nl1;
    const two = N1 !== -1;
    this.count = 0;
    this.breaks = 0;
    for (;;) {
      if (p < end && buf[p] === Q) {
        const s = p + 1;
        let q = s;
        let escaped = 0;
        let breaks = 0;
        for (;;) {
          while (q < end && buf[q] !== Q) {
            if (buf[q] === LF) breaks++;
            q++;
          }
          if (q >= end) {
            if (!final) return INCOMPLETE;
            throw quoteError(line, 'Quoted field unterminated');
          }
          if (q === end - 1) {
            if (!final) return INCOMPLETE;
            // Closing quote at the end of the data.
            this.push(s, q, escaped);
            this.breaks += breaks;
            return end;
          }
          if (buf[q + 1] === Q) {
            escaped = 1;
            q += 2;
            continue;
          }
          break;
        }
        this.push(s, q, escaped);
        this.breaks += breaks;
        const a = q + 1;
        const c = buf[a]!;
        if (c === D) {
          p = a + 1;
          continue;
        }
        if (c === N0 && (!two || (a + 1 < end ? buf[a + 1] === N1 : false))) return a + (two ? 2 : 1);
        if (two && c === N0 && a + 1 >= end && !final) return INCOMPLETE;
        // Whitespace between the closing quote and the next delimiter or line break is dropped.
        let nd = -1;
        let nn = -1;
        for (let i = a; i < end; i++) {
          const b = buf[i]!;
          if (b === D) {
            nd = i;
            break;
          }
          if (b === N0 && (!two || (i + 1 < end && buf[i + 1] === N1))) {
            nn = i;
            break;
          }
        }
        if (nd === -1 && nn === -1 && !final) return INCOMPLETE;
        if (nd !== -1 && isBlank(buf, a, nd)) {
          p = nd + 1;
          continue;
        }
        if (nn !== -1 && isBlank(buf, a, nn)) return nn + (two ? 2 : 1);
        throw quoteError(line, 'Trailing quote on quoted field is malformed');
      }
      // Unquoted: up to the next delimiter or line break.
      let i = p;
      let breaks = 0;
      for (; i < end; i++) {
        const b = buf[i]!;
        if (b === D) break;
        if (b === N0) {
          if (!two) break;
          if (i + 1 < end) {
            if (buf[i + 1] === N1) break;
          } else if (!final) return INCOMPLETE;
        }
        if (b === LF) breaks++;
      }
      if (i >= end) {
        if (!final) return INCOMPLETE;
        this.push(p, end, 0);
        this.breaks += breaks;
        return end;
      }
      this.push(p, i, 0);
      this.breaks += breaks;
      if (buf[i] === D) {
        p = i + 1;
        continue;
      }
      return i + (two ? 2 : 1);
    }
  }
}

/** `detectNewline` (csv.ts) on bytes: the first line feed, with a carriage return before it or not. */
export function newlineOf(bytes: Uint8Array): string {
  const lf = bytes.indexOf(LF);
  if (lf === -1) return bytes.includes(CR) ? '\r' : '\n';
  return lf > 0 && bytes[lf - 1] === CR ? '\r\n' : '\n';
}

function quoteError(line: number, what: string): DataError {
  const message = `line ${line}: ${what}`;
  return new DataError('read', message, [{ line, rule: 'csv', message }]);
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
 * Where a UTF-8 byte stream may be cut so that no character is split: the start of an incomplete
 * sequence at the end (checked for validity with the next bytes), or the end.
 */
function completeUpTo(bytes: Buffer): number {
  const n = bytes.length;
  for (let k = 1; k <= 3 && n - k >= 0; k++) {
    const c = bytes[n - k]!;
    if (c < 0x80) return n;
    if (c >= 0xc0) {
      const need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
      return k < need ? n - k : n;
    }
  }
  return n;
}

/**
 * Reads a CSV file's cells. `source` is raw bytes when the encoding is UTF-8 (checked here, with
 * `isUtf8`, and a BOM dropped), decoded text otherwise (re-encoded as UTF-8).
 */
export async function* readCsvCells(source: Source, options: CsvOptions, { batchRows, limits }: ReadOptions): AsyncGenerator<CellBatch> {
  const raw = isUtf8Encoding(options.encoding);
  let carry: Buffer = Buffer.alloc(0);
  let consumed = 0;
  let tokenizer: Tokenizer | null = null;
  let header: string[] | null = options.header ? null : (options.columns as string[]);
  let width = header?.length ?? 0;
  let line = 1;
  let lf = false;
  let quote = asciiByte(options.quote)!;
  let leftover: Buffer = Buffer.alloc(0);
  let batch: CellBatch | null = null;

  // The arrays of a batch are reused for the next one: a batch is done with once the consumer asks
  // for the next (its rows have been copied into vectors by then). Fresh arrays per batch were ~70 MB
  // of garbage per million 7-column rows, and garbage in ArrayBuffers makes V8 run full collections.
  // They start small and double up to `batch_rows` rows: a small file does not pay for a full batch
  // (5,000 rows × 33 columns were 1.5 MB of arrays per file, most of the GC of a burst of small files).
  // A file that ends leaves its arrays for the next file of the same row width (a burst of small
  // files of one dataset allocates them once).
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
      // A loop, not set(subarray()): three typed-array views per row were a measurable part of GC.
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
    if (leftover.length > limits.maxRecordBytes && utf8Slice(leftover, 0, leftover.length).length > limits.maxRecordBytes) {
      const what = `a record longer than ${limits.maxRecordBytes} characters (an unterminated quote?)`;
      throw limitError('read', 'max_record_bytes', limits.maxRecordBytes, what, { locator: 'line', number: line });
    }
  };

  /** The file's next bytes as checked UTF-8. */
  const utf8 = (chunks: Buffer[]): Buffer => {
    let bytes = chunks.length === 1 && carry.length === 0 ? chunks[0]! : Buffer.concat([carry, ...chunks]);
    if (consumed === 0 && carry.length === 0 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
    const cut = completeUpTo(bytes);
    carry = Buffer.from(bytes.subarray(cut));
    bytes = bytes.subarray(0, cut);
    if (!isUtf8(bytes)) {
      // Line breaks before: the rows read so far, the rest carried over, then this chunk's.
      let breaks = line - 1;
      for (let i = leftover.indexOf(LF); i !== -1; i = leftover.indexOf(LF, i + 1)) breaks++;
      throw invalidIn(bytes, 'utf-8', breaks, consumed);
    }
    consumed += bytes.length;
    return bytes;
  };

  try {
    for await (const chunks of readInBatches<string | Buffer>(source.text, 4)) {
      const bytes = raw ? utf8(chunks as Buffer[]) : Buffer.from(chunks.length === 1 ? (chunks[0] as string) : chunks.join(''), 'utf8');
      if (!tokenizer && bytes.length === 0) continue;
      if (!tokenizer) {
        // Looked for in the first 64 KiB, as in the record path; decoded to text only to detect the
        // delimiter (a small file's 56 KB as a string was most of what reading it left on the heap).
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
    if (carry.length > 0) throw invalidIn(carry, 'utf-8', line - 1, consumed);
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
