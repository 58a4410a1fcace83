/**
 * Flat JSONL lines straight into column values. A line that is one object of scalar values under
 * the dataset's own keys is scanned once and each value put in its column exactly as JSON.parse
 * (with json-values.ts' exact numbers) gives it — without an object per line, which made JSON.parse
 * and its garbage most of a JSONL file's cost. Any other line (a nested value, a key the dataset
 * does not know or that has an escape, a syntax error, a line near a limit) is refused here and
 * read by JSON.parse, so the scanner decides nothing on its own; tests/unit/json-flat.test.ts
 * holds the two to the same values on generated lines.
 *
 * The caller only offers lines of text with no control character (`plainText`): inside a JSON
 * string one is an error that JSON.parse reports, so without any a string with no backslash is its
 * text as it stands.
 */
import { parseJsonNumber } from './json-values.js';
import type { RowSink } from './types.js';

/** Exact powers of ten: a decimal of up to 15 digits over one is the double nearest it (Clinger). */
const POW10 = Array.from({ length: 16 }, (_, k) => 10 ** k);

/** Control characters a plain text lacks: any but `\n`, and `\r` except before `\n`. */
const CONTROL = /[\x00-\x09\x0b\x0c\x0e-\x1f]|\r(?!\n)/;

/** True when no line of the text holds a control character (line breaks and CRLF endings aside). */
export function plainText(text: string): boolean {
  return !CONTROL.test(text);
}

/** A name a JSON key can spell without an escape. */
const plainName = (name: string) => !/["\\\x00-\x1f]/.test(name);

export class FlatScanner {
  private readonly index = new Map<string, number>();
  /** This line's value per column, valid where `stamps` holds the line's stamp. */
  private readonly slot: unknown[];
  private readonly stamps: Int32Array;
  private stamp = 0;
  /** The text of the last line scanned, and the next backslash in it found then. */
  private text = '';
  private backslash = -1;
  /** The column of the k-th key of the last line that had one there: lines tend to repeat their order. */
  private readonly order: Int32Array;

  constructor(
    private readonly names: readonly string[],
    /** Lines with more keys are left to JSON.parse (and the limits it is held to). */
    private readonly maxKeys: number,
    private readonly sink: RowSink,
  ) {
    names.forEach((name, c) => plainName(name) && this.index.set(name, c));
    this.slot = names.map(() => undefined);
    this.stamps = new Int32Array(names.length);
    this.order = new Int32Array(Math.min(names.length, 4096)).fill(-1);
  }

  /**
   * Gives the sink the values of the line that is `text` from `first` to `n` (before its line
   * break) as a row and says true, or says false and gives nothing. Reading in place, the lines of a
   * piece of text are never strings of their own.
   */
  scan(text: string, first: number, n: number, line: number): boolean {
    if (++this.stamp === 0x7fffffff) {
      this.stamp = 1;
      this.stamps.fill(0);
    }
    const stamp = this.stamp;
    // Past `n` is a line break (or nothing), which no check below takes for part of the line.
    let i = first;
    if (text.charCodeAt(i) === 32) i = spaces(text, i);
    if (text.charCodeAt(i) !== 123) return false; // {
    i++;
    if (text.charCodeAt(i) === 32) i = spaces(text, i);
    // The next backslash at or after a string's start (the text's length: none), kept from line
    // to line of the same text: searched afresh per line, it would run to the text's end each time.
    let backslash = text === this.text ? this.backslash : -1;
    this.text = text;
    if (text.charCodeAt(i) === 125) i++; // {}
    else {
      for (let k = 0; ; k++) {
        if (k >= this.maxKeys || text.charCodeAt(i) !== 34) return false;
        const from = i + 1;
        let column = k < this.order.length ? this.order[k]! : -1;
        if (column >= 0) {
          // Compared in place, a character at a time: no string made, no call for a short name.
          const name = this.names[column]!;
          const length = name.length;
          let j = 0;
          while (j < length && text.charCodeAt(from + j) === name.charCodeAt(j)) j++;
          if (j === length && text.charCodeAt(from + length) === 34) i = from + length + 1;
          else column = -1;
        }
        if (column < 0) {
          const end = text.indexOf('"', from);
          if (end === -1 || end >= n) return false;
          const found = this.index.get(text.slice(from, end));
          if (found === undefined) return false;
          column = found;
          if (k < this.order.length) this.order[k] = column;
          i = end + 1;
        }
        if (text.charCodeAt(i) === 32) i = spaces(text, i);
        if (text.charCodeAt(i) !== 58) return false; // :
        i++;
        if (text.charCodeAt(i) === 32) i = spaces(text, i);
        const c = text.charCodeAt(i);
        let value: unknown;
        if (c === 34) {
          const start = i + 1;
          let end = text.indexOf('"', start);
          if (end === -1 || end >= n) return false;
          if (backslash < start) {
            backslash = text.indexOf('\\', start);
            if (backslash === -1) backslash = text.length;
            this.backslash = backslash;
          }
          if (backslash < end) {
            const unescaped = unescapeString(text, start, backslash, n);
            if (unescaped === null) return false;
            value = unescaped.value;
            end = unescaped.end;
            backslash = -1;
          } else value = text.slice(start, end);
          i = end + 1;
        } else if (c === 45 || (c >= 48 && c <= 57)) {
          const start = i;
          if (c === 45) i++;
          let d = text.charCodeAt(i);
          let mantissa = 0;
          let digits = 0;
          if (d === 48) {
            i++;
            digits++;
          } else if (d >= 49 && d <= 57) {
            for (; d >= 48 && d <= 57; d = text.charCodeAt(++i)) {
              mantissa = mantissa * 10 + (d - 48);
              digits++;
            }
          } else return false;
          let fraction = 0;
          if (text.charCodeAt(i) === 46) {
            for (d = text.charCodeAt(++i); d >= 48 && d <= 57; d = text.charCodeAt(++i)) {
              mantissa = mantissa * 10 + (d - 48);
              digits++;
              fraction++;
            }
            if (fraction === 0) return false;
          }
          d = text.charCodeAt(i);
          const exponent = d === 101 || d === 69;
          if (exponent) {
            d = text.charCodeAt(++i);
            if (d === 43 || d === 45) d = text.charCodeAt(++i);
            if (!(d >= 48 && d <= 57)) return false;
            while (d >= 48 && d <= 57) d = text.charCodeAt(++i);
          }
          if (!exponent && digits <= 15) {
            // JSON.parse's double: both operands exact, so one division rounds once, correctly.
            const magnitude = mantissa / POW10[fraction]!;
            value = c === 45 ? -magnitude : magnitude;
          } else {
            try {
              value = parseJsonNumber(text.slice(start, i));
            } catch {
              return false; // out of a double's range: JSON.parse's reader says so
            }
          }
        } else if (c === 116 && text.startsWith('true', i)) {
          value = true;
          i += 4;
        } else if (c === 102 && text.startsWith('false', i)) {
          value = false;
          i += 5;
        } else if (c === 110 && text.startsWith('null', i)) {
          value = null;
          i += 4;
        } else return false; // an object, an array, or not JSON
        // A repeated key: the last one wins, as with JSON.parse.
        this.slot[column] = value;
        this.stamps[column] = stamp;
        if (text.charCodeAt(i) === 32) i = spaces(text, i);
        const next = text.charCodeAt(i);
        if (next === 125) {
          i++;
          break;
        }
        if (next !== 44) return false; // ,
        i++;
        if (text.charCodeAt(i) === 32) i = spaces(text, i);
      }
    }
    if (spaces(text, i) !== n) return false;
    const { slot, stamps } = this;
    for (let c = 0; c < slot.length; c++) if (stamps[c] !== stamp) slot[c] = undefined;
    this.sink.row(slot, line, text, first, n);
    return true;
  }
}

/** The escapes JSON has, by the character after the backslash (`u` is read apart). */
const ESCAPED: Record<number, string> = { 34: '"', 92: '\\', 47: '/', 98: '\b', 102: '\f', 110: '\n', 114: '\r', 116: '\t' };

/**
 * The string that starts at `start` (after its quote) and has its first backslash at `backslash`:
 * its value and the index of its closing quote (before `n`), or null where JSON.parse would refuse it.
 */
function unescapeString(text: string, start: number, backslash: number, n: number): { value: string; end: number } | null {
  let value = text.slice(start, backslash);
  let at = backslash;
  for (;;) {
    // `at` is a backslash
    const c = text.charCodeAt(at + 1);
    if (c === 117) {
      let code = 0;
      for (let k = at + 2; k < at + 6; k++) {
        const h = text.charCodeAt(k);
        const digit = h >= 48 && h <= 57 ? h - 48 : h >= 65 && h <= 70 ? h - 55 : h >= 97 && h <= 102 ? h - 87 : -1;
        if (digit < 0) return null;
        code = code * 16 + digit;
      }
      value += String.fromCharCode(code);
      at += 6;
    } else {
      const escaped = ESCAPED[c];
      if (escaped === undefined) return null;
      value += escaped;
      at += 2;
    }
    const quote = text.indexOf('"', at);
    if (quote === -1 || quote >= n) return null;
    const next = text.indexOf('\\', at);
    if (next === -1 || next > quote) return { value: value + text.slice(at, quote), end: quote };
    value += text.slice(at, next);
    at = next;
  }
}

/** Past the spaces at `i` (the only JSON white space a plain line has inside it). */
function spaces(text: string, i: number): number {
  while (text.charCodeAt(i) === 32) i++;
  return i;
}
