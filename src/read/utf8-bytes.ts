/**
 * A raw source's chunks as checked UTF-8 (the byte readers: csv-cells.ts, jsonl.ts): a BOM dropped at
 * the file's start, a character split between chunks carried to the next, and invalid bytes a data
 * error naming their line and byte — as the decoding readers say it (source.ts' `invalidIn`).
 */
import { isUtf8 } from 'node:buffer';
import { invalidIn } from './source.js';

export class Utf8Bytes {
  private carry: Buffer = Buffer.alloc(0);
  /** Bytes of the file before the next (a dropped BOM included, so that an error's offset is the file's). */
  private consumed = 0;
  /** Until the file's first three bytes have come: a BOM may be split between chunks. */
  private atStart = true;

  /** The next chunks' bytes, checked; `breaksBefore` counts the line breaks before them (for an error's line). */
  next(chunks: readonly Buffer[], breaksBefore: () => number): Buffer {
    let bytes = chunks.length === 1 && this.carry.length === 0 ? chunks[0]! : Buffer.concat([this.carry, ...chunks]);
    if (this.atStart) {
      if (bytes.length < 3 && BOM.subarray(0, bytes.length).equals(bytes)) {
        this.carry = Buffer.from(bytes);
        return bytes.subarray(0, 0);
      }
      this.atStart = false;
      if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
        bytes = bytes.subarray(3);
        this.consumed = 3;
      }
    }
    const cut = completeUpTo(bytes);
    this.carry = cut === bytes.length ? Buffer.alloc(0) : Buffer.from(bytes.subarray(cut));
    bytes = bytes.subarray(0, cut);
    if (!isUtf8(bytes)) throw invalidIn(bytes, 'utf-8', breaksBefore(), this.consumed);
    this.consumed += bytes.length;
    return bytes;
  }

  /** At the file's end: a character left incomplete is invalid. */
  end(breaksBefore: number): void {
    if (this.carry.length > 0) throw invalidIn(this.carry, 'utf-8', breaksBefore, this.consumed);
  }
}

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

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
