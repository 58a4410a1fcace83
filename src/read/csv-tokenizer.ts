/**
 * The CSV tokenizer on UTF-8 bytes: one row at a time, each field as a byte range. It splits rows
 * exactly as papaparse does (tests/unit/csv-cells.test.ts compares both on generated files): a
 * field is quoted only when its first character is the quote; a doubled quote inside is one quote;
 * a closing quote may be followed by white space before the delimiter or line break; a quote inside
 * an unquoted field is text; rows end at the line break the file starts with.
 */
import { utf8Slice } from '../lib/bytes.js';
import { DataError } from '../errors.js';

/** A row that may go on past the end of the bytes at hand. */
export const INCOMPLETE = -1;
const LF = 0x0a;

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


export class Tokenizer {
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


function quoteError(line: number, what: string): DataError {
  const message = `line ${line}: ${what}`;
  return new DataError('read', message, [{ line, rule: 'csv', message }]);
}

