/**
 * Flat JSONL lines straight into columns, from their UTF-8 bytes. A line that is one object of
 * scalar values under the dataset's own keys is scanned once: a string's bytes are handed on where
 * they lie (or, with escapes, undone into a scratch buffer), numbers and literals as the values
 * JSON.parse (with json-values.ts' exact numbers) gives — no string per line or per value, which made
 * decoding, slicing and re-encoding most of a JSONL file's cost. Any other line (a nested value, a
 * key the dataset does not know or that has an escape, a control character, a syntax error, a line
 * near a limit) is refused here and read by JSON.parse, so the scanner decides nothing on its own;
 * tests/unit/json-flat.test.ts holds the two to the same values on generated lines.
 *
 * The reader offers only checked UTF-8 (a string's bytes are then its text as UTF-8), and each line
 * followed by a line break: the scanner stops at any byte below 0x20, which a JSON string may not
 * hold and which is not JSON's white space inside a line here.
 */
import { latin1Slice, utf8Slice } from '../lib/bytes.js';
import { parseJsonNumber } from './json-values.js';
import type { RowSink, ScannedCells } from './types.js';

/** What a scanned line holds per column (`ScannedCells.kinds`). */
export const NO_CELL = 0;
/** A string's UTF-8 bytes, in the line's buffer. */
export const LINE_BYTES = 1;
/** A string's UTF-8 bytes with its escapes undone, in `ScannedCells.scratch`. */
export const SCRATCH_BYTES = 2;
/** A value in `ScannedCells.values`: a number, BigInt or DecimalText, boolean, null, or a string with a `\u` escape. */
export const VALUE = 3;

/** Exact powers of ten: a decimal of up to 15 digits over one is the double nearest it (Clinger). */
const POW10 = Array.from({ length: 16 }, (_, k) => 10 ** k);

/** A name a JSON key can spell without an escape. */
const plainName = (name: string) => !/["\\\x00-\x1f]/.test(name);

/** The value of a scanned cell as JSON.parse gives it (for tests and a failed row's report). */
export function cellValue(cells: ScannedCells, c: number, buf: Buffer): unknown {
  switch (cells.kinds[c]) {
    case LINE_BYTES:
      return utf8Slice(buf, cells.starts[c]!, cells.ends[c]!);
    case SCRATCH_BYTES:
      return utf8Slice(cells.scratch, cells.starts[c]!, cells.ends[c]!);
    case VALUE:
      return cells.values[c];
    default:
      return undefined;
  }
}

export class FlatScanner {
  private readonly index = new Map<string, number>();
  /** Each column's name as UTF-8 (empty where no key can spell it unescaped: never matched). */
  private readonly nameBytes: Uint8Array[];
  private readonly cells: ScannedCells;
  /** A cell is this line's where `stamps` holds the line's stamp. */
  private readonly stamps: Int32Array;
  private stamp = 0;
  /** The column of the k-th key of the last line that had one there: lines tend to repeat their order. */
  private readonly order: Int32Array;

  constructor(
    names: readonly string[],
    /** Lines with more keys are left to JSON.parse (and the limits it is held to). */
    private readonly maxKeys: number,
    private readonly sink: RowSink,
  ) {
    names.forEach((name, c) => plainName(name) && this.index.set(name, c));
    this.nameBytes = names.map((name) => (plainName(name) ? Buffer.from(name, 'utf8') : new Uint8Array(0)));
    const n = names.length;
    this.cells = { kinds: new Uint8Array(n), starts: new Int32Array(n), ends: new Int32Array(n), values: names.map(() => undefined), scratch: Buffer.alloc(0) };
    this.stamps = new Int32Array(n);
    this.order = new Int32Array(Math.min(n, 4096)).fill(-1);
  }

  /**
   * Gives the sink the cells of the line that is `b` from `first` to `n` as a row and says true, or
   * says false and gives nothing. `b[n]` is the line's break (`\r` or `\n`).
   */
  scan(b: Buffer, first: number, n: number, line: number): boolean {
    if (++this.stamp === 0x7fffffff) {
      this.stamp = 1;
      this.stamps.fill(0);
    }
    const stamp = this.stamp;
    const { cells, stamps } = this;
    let scratched = 0;
    let i = first;
    if (b[i] === 32) i = spaces(b, i);
    if (b[i] !== 123) return false; // {
    i++;
    if (b[i] === 32) i = spaces(b, i);
    if (b[i] === 125) i++; // {}
    else {
      for (let k = 0; ; k++) {
        if (k >= this.maxKeys || b[i] !== 34) return false;
        const from = i + 1;
        let column = k < this.order.length ? this.order[k]! : -1;
        if (column >= 0) {
          const name = this.nameBytes[column]!;
          const length = name.length;
          let j = 0;
          while (j < length && b[from + j] === name[j]) j++;
          if (j === length && b[from + length] === 34) i = from + length + 1;
          else column = -1;
        }
        if (column < 0) {
          let end = from;
          while (end < n && b[end] !== 34) end++;
          if (end >= n) return false;
          const found = this.index.get(utf8Slice(b, from, end));
          if (found === undefined) return false;
          column = found;
          if (k < this.order.length) this.order[k] = column;
          i = end + 1;
        }
        if (b[i] === 32) i = spaces(b, i);
        if (b[i] !== 58) return false; // :
        i++;
        if (b[i] === 32) i = spaces(b, i);
        const c = b[i]!;
        if (c === 34) {
          const start = i + 1;
          let escaped = false;
          let j = start;
          for (; j < n; j++) {
            const d = b[j]!;
            if (d === 34) break;
            if (d < 32) return false; // JSON.parse's error to word
            if (d === 92) {
              escaped = true;
              j++;
            }
          }
          if (j >= n) return false;
          if (!escaped) {
            cells.kinds[column] = LINE_BYTES;
            cells.starts[column] = start;
            cells.ends[column] = j;
          } else {
            const to = this.unescape(b, start, j, scratched);
            if (to === -1) return false;
            if (to === -2) {
              // A \u escape outside the plain ones: JSON.parse of the string alone says what it is.
              let value: unknown;
              try {
                value = JSON.parse(utf8Slice(b, i, j + 1));
              } catch {
                return false; // an escape after it JSON.parse refuses
              }
              cells.kinds[column] = VALUE;
              cells.values[column] = value;
            } else {
              cells.kinds[column] = SCRATCH_BYTES;
              cells.starts[column] = scratched;
              cells.ends[column] = scratched = to;
            }
          }
          i = j + 1;
        } else {
          let value: unknown;
          if (c === 45 || (c >= 48 && c <= 57)) {
            const start = i;
            if (c === 45) i++;
            let d = b[i]!;
            let mantissa = 0;
            let digits = 0;
            if (d === 48) {
              i++;
              digits++;
            } else if (d >= 49 && d <= 57) {
              for (; d >= 48 && d <= 57; d = b[++i]!) {
                mantissa = mantissa * 10 + (d - 48);
                digits++;
              }
            } else return false;
            let fraction = 0;
            if (b[i] === 46) {
              for (d = b[++i]!; d >= 48 && d <= 57; d = b[++i]!) {
                mantissa = mantissa * 10 + (d - 48);
                digits++;
                fraction++;
              }
              if (fraction === 0) return false;
            }
            d = b[i]!;
            const exponent = d === 101 || d === 69;
            if (exponent) {
              d = b[++i]!;
              if (d === 43 || d === 45) d = b[++i]!;
              if (!(d >= 48 && d <= 57)) return false;
              while (d >= 48 && d <= 57) d = b[++i]!;
            }
            if (!exponent && digits <= 15) {
              // JSON.parse's double: both operands exact, so one division rounds once, correctly.
              const magnitude = mantissa / POW10[fraction]!;
              value = c === 45 ? -magnitude : magnitude;
            } else {
              try {
                value = parseJsonNumber(latin1Slice(b, start, i));
              } catch {
                return false; // out of a double's range: JSON.parse's reader says so
              }
            }
          } else if (c === 116 && b[i + 1] === 114 && b[i + 2] === 117 && b[i + 3] === 101) {
            value = true;
            i += 4;
          } else if (c === 102 && b[i + 1] === 97 && b[i + 2] === 108 && b[i + 3] === 115 && b[i + 4] === 101) {
            value = false;
            i += 5;
          } else if (c === 110 && b[i + 1] === 117 && b[i + 2] === 108 && b[i + 3] === 108) {
            value = null;
            i += 4;
          } else return false; // an object, an array, or not JSON
          cells.kinds[column] = VALUE;
          cells.values[column] = value;
        }
        // A repeated key: the last one wins, as with JSON.parse.
        stamps[column] = stamp;
        if (b[i] === 32) i = spaces(b, i);
        const next = b[i];
        if (next === 125) {
          i++;
          break;
        }
        if (next !== 44) return false; // ,
        i++;
        if (b[i] === 32) i = spaces(b, i);
      }
    }
    if (spaces(b, i) !== n) return false;
    const kinds = cells.kinds;
    for (let c = 0; c < kinds.length; c++) if (stamps[c] !== stamp) kinds[c] = NO_CELL;
    this.sink.row(cells, line, b, first, n);
    return true;
  }

  /**
   * The string `b[start … end)` (between its quotes, holding a backslash) with its escapes undone,
   * written to the scratch buffer at `at`: the end there, -1 where JSON.parse refuses the string, -2
   * for a `\u` escape of a surrogate or NUL (left to JSON.parse, which keeps what the kernels refuse).
   */
  private unescape(b: Buffer, start: number, end: number, at: number): number {
    // Undone, a string is never longer than written.
    if (this.cells.scratch.length < at + (end - start)) {
      const bigger = Buffer.allocUnsafe(Math.max(2 * this.cells.scratch.length, at + (end - start), 256));
      this.cells.scratch.copy(bigger, 0, 0, at);
      this.cells.scratch = bigger;
    }
    const out = this.cells.scratch;
    let o = at;
    for (let j = start; j < end; j++) {
      const d = b[j]!;
      if (d !== 92) {
        out[o++] = d;
        continue;
      }
      const e = b[++j]!;
      if (e !== 117) {
        const byte = UNESCAPED[e]!;
        if (byte < 0) return -1;
        out[o++] = byte;
        continue;
      }
      // \u: four hex digits
      let code = 0;
      for (let k = j + 1; k < j + 5; k++) {
        const h = k < end ? b[k]! : -1;
        const digit = h >= 48 && h <= 57 ? h - 48 : h >= 65 && h <= 70 ? h - 55 : h >= 97 && h <= 102 ? h - 87 : -1;
        if (digit < 0) return -1;
        code = code * 16 + digit;
      }
      if (code === 0 || (code >= 0xd800 && code <= 0xdfff)) return -2;
      j += 4;
      if (code < 0x80) out[o++] = code;
      else if (code < 0x800) {
        out[o++] = 0xc0 | (code >> 6);
        out[o++] = 0x80 | (code & 0x3f);
      } else {
        out[o++] = 0xe0 | (code >> 12);
        out[o++] = 0x80 | ((code >> 6) & 0x3f);
        out[o++] = 0x80 | (code & 0x3f);
      }
    }
    return o;
  }
}

/** The byte each escape `\x` stands for, by `x` (-1: not an escape; `\u` is read apart). */
const UNESCAPED = new Int16Array(256).fill(-1);
for (const [x, byte] of [['"', 34], ['\\', 92], ['/', 47], ['b', 8], ['f', 12], ['n', 10], ['r', 13], ['t', 9]] as const) UNESCAPED[x.charCodeAt(0)] = byte;

/** Past the spaces at `i` (the only JSON white space the scanner reads inside a line). */
function spaces(b: Uint8Array, i: number): number {
  while (b[i] === 32) i++;
  return i;
}
