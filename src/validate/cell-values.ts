/**
 * Values read from CSV cells as coerce.ts reads them from text — integers, numbers, booleans
 * straight from the bytes on their common shapes — and the cursor that walks one column of a
 * prepared view (prepare/cells.ts). The column kernels (kernels.ts) are built on these.
 */
import { asBuffer, latin1Slice, utf8Slice } from '../lib/bytes.js';
import { integerFromText, numberFromText } from '../prepare/coerce.js';
import type { CellView } from '../prepare/cells.js';
import { cellText } from '../read/csv-cells.js';
import { isAsciiSpace } from '../read/number-text.js';
import type { ColumnKind } from '../columns.js';
import { textCheck, type PropertyRules, type TextTest } from './rules.js';

/**
 * An integer cell as coerce.ts's integerFromText reads it: plain digits (with a sign) here, byte by
 * byte; anything else (white space, a fraction, an exponent, many digits) through integerFromText.
 * NaN when it is not an integer loadbay stores.
 */
export function parseInteger(b: Uint8Array, s: number, e: number): number | bigint {
  let i = s;
  const sign = b[i];
  if (sign === 43 || sign === 45) i++;
  if (i === e || e - i > 15) return integerText(b, s, e);
  let n = 0;
  for (; i < e; i++) {
    const d = b[i]! - 48;
    if (d < 0 || d > 9) return integerText(b, s, e);
    n = n * 10 + d;
  }
  return sign === 45 ? -n : n;
}

function integerText(b: Uint8Array, s: number, e: number): number | bigint {
  const value = integerFromText(latin1Slice(asBuffer(b), s, e));
  return typeof value === 'number' || typeof value === 'bigint' ? value : NaN;
}

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/**
 * A number cell as coerce.ts's numberFromText reads it (NaN when it does not). Up to 15 digits
 * without exponent: digits / 10^k, which is correctly rounded because both are exact doubles;
 * anything else goes through numberFromText.
 */
export function parseNumber(b: Uint8Array, s: number, e: number): number {
  let i = s;
  const sign = b[i];
  if (sign === 43 || sign === 45) i++;
  let mantissa = 0;
  let digits = 0;
  let fraction = -1;
  for (; i < e; i++) {
    const c = b[i]!;
    if (c >= 48 && c <= 57) {
      mantissa = mantissa * 10 + (c - 48);
      digits++;
      if (fraction >= 0) fraction++;
    } else if (c === 46 && fraction < 0) fraction = 0;
    else break;
  }
  if (i === e && digits > 0 && digits <= 15) {
    const value = fraction > 0 ? mantissa / POW10[fraction]! : mantissa;
    return sign === 45 ? -value : value;
  }
  const value = numberFromText(latin1Slice(asBuffer(b), s, e));
  return typeof value === 'number' ? value : NaN;
}

/** coerce.ts's boolean words, ASCII case folded: 1 / 0, or -1. */
export function parseBoolean(b: Uint8Array, s: number, e: number): number {
  while (s < e && isAsciiSpace(b[s]!)) s++;
  while (e > s && isAsciiSpace(b[e - 1]!)) e--;
  const n = e - s;
  const c = (k: number) => b[s + k]! | 0x20;
  switch (n) {
    case 1: {
      const x = b[s]!;
      if (x === 49) return 1;
      if (x === 48) return 0;
      const l = x | 0x20;
      return l === 116 || l === 121 ? 1 : l === 102 || l === 110 ? 0 : -1; // t y / f n
    }
    case 2:
      return c(0) === 110 && c(1) === 111 ? 0 : c(0) === 111 && c(1) === 110 ? 1 : -1; // no / on
    case 3:
      return c(0) === 121 && c(1) === 101 && c(2) === 115 ? 1 : c(0) === 111 && c(1) === 102 && c(2) === 102 ? 0 : -1; // yes / off
    case 4:
      return c(0) === 116 && c(1) === 114 && c(2) === 117 && c(3) === 101 ? 1 : -1; // true
    case 5:
      return c(0) === 102 && c(1) === 97 && c(2) === 108 && c(3) === 115 && c(4) === 101 ? 0 : -1; // false
    default:
      return -1;
  }
}

/**
 * Walks one column of a view: `at(i)` points `b[s … e)` at row i's cell (the batch's buffer, or the
 * bytes of a replacement text or constant) and says whether it has a value — an empty field, a
 * removed value and a column the file lacks have none. `quote` is the quote byte when the cell
 * holds doubled quotes, else -1. One object per column and batch, no call per cell beyond `at`.
 */
export class CellCursor {
  b: Uint8Array;
  s = 0;
  e = 0;
  quote = -1;
  private readonly field: number;
  private readonly constant: Buffer | null;
  private readonly overrides: Map<number, string | undefined> | null;
  constructor(private readonly view: CellView, column: number) {
    this.b = view.batch.buf;
    this.field = column < 0 ? -2 : view.fields[column]!;
    const constant = this.field === -1 ? view.constants[column] : undefined;
    this.constant = constant !== undefined && constant !== '' ? Buffer.from(constant, 'utf8') : null;
    this.overrides = view.overrides.size > 0 ? view.overrides : null;
  }
  at(i: number): boolean {
    const field = this.field;
    if (field < 0) return this.bytes(this.constant);
    const batch = this.view.batch;
    const cell = this.view.rows[i]! * batch.width + field;
    if (this.overrides !== null && this.overrides.has(cell)) {
      const text = this.overrides.get(cell);
      return this.bytes(text === undefined || text === '' ? null : Buffer.from(text, 'utf8'));
    }
    this.b = batch.buf;
    this.s = batch.starts[cell]!;
    this.e = batch.ends[cell]!;
    this.quote = batch.escaped[cell] ? batch.quote : -1;
    return this.e > this.s;
  }
  /**
   * The column's bytes in the file over the view's rows: what its text vector needs, give or take
   * an override (which the builder grows for); a guess per row would over-allocate array buffers,
   * which are what make V8 collect the heap (BENCHMARKS.md, "Why the code is shaped as it is").
   */
  rawBytes(): number {
    const field = this.field;
    if (field < 0) return (this.constant?.length ?? 0) * this.view.count;
    const { starts, ends, width } = this.view.batch;
    const rows = this.view.rows;
    let total = 0;
    for (let i = 0; i < this.view.count; i++) {
      const cell = rows[i]! * width + field;
      total += ends[cell]! - starts[cell]!;
    }
    return total;
  }
  private bytes(bytes: Buffer | null): boolean {
    if (bytes === null) return false;
    this.b = bytes;
    this.s = 0;
    this.e = bytes.length;
    this.quote = -1;
    return true;
  }
  /** The cell as text, doubled quotes undone. */
  text(): string {
    const buf = asBuffer(this.b);
    return this.quote >= 0 ? cellText({ buf, quote: this.quote }, this.s, this.e, 1) : utf8Slice(buf, this.s, this.e);
  }
}

/** Byte-wise membership in a small set of strings (an enum), without making a string per cell. */
export function byteSet(values: string[]): ((b: Uint8Array, s: number, e: number) => boolean) | null {
  // A lone surrogate has no UTF-8: encoded, it would be U+FFFD's bytes and match that instead.
  if (values.length === 0 || values.length > 32 || !values.every((v) => v.isWellFormed())) return null;
  const encoded = values.map((v) => Buffer.from(v, 'utf8'));
  return (b, s, e) => {
    const n = e - s;
    outer: for (const v of encoded) {
      if (v.length !== n) continue;
      for (let k = 0; k < n; k++) if (v[k] !== b[s + k]) continue outer;
      return true;
    }
    return false;
  };
}

/**
 * A column's text keywords as the byte paths check them: an enum of text alone matched on bytes
 * (`inEnum`, null where the string is needed; `enumStrings` its strings), and the check of the
 * keywords that need the string.
 */
export function textKeywords(rules: PropertyRules, kind: ColumnKind): { inEnum: ReturnType<typeof byteSet>; enumStrings: string[]; text: TextTest | null } {
  const enumStrings = rules.enum?.filter((v): v is string => typeof v === 'string') ?? [];
  const inEnum = rules.enum && !rules.hasConst && !rules.pattern && !(rules.format && kind === 'string') ? byteSet(enumStrings) : null;
  return { inEnum, enumStrings, text: textCheck(inEnum ? { ...rules, enum: undefined } : rules, kind === 'string') };
}
