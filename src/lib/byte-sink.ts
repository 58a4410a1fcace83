/**
 * `bytes` with room for `needed` bytes, its first `used` kept: itself when it has the room, else a
 * copy in a buffer twice as large (or more), so that appends cost amortised O(1).
 */
export function withRoom(bytes: Uint8Array, used: number, needed: number): Uint8Array {
  if (needed <= bytes.length) return bytes;
  let capacity = Math.max(16, bytes.length * 2);
  while (capacity < needed) capacity *= 2;
  const grown = new Uint8Array(capacity);
  grown.set(bytes.subarray(0, used));
  return grown;
}

/** A typed array `length` long holding `array`'s elements first (growing a column by its row count). */
export function grown<T extends Uint8Array | Int32Array | Float64Array>(array: T, length: number): T {
  const wider = new (array.constructor as new (length: number) => T)(length);
  wider.set(array);
  return wider;
}

/** Bytes appended to one growing buffer: what the Parquet writer and its Thrift structs write into. */
export class ByteSink {
  bytes: Uint8Array;
  length = 0;

  constructor(capacity = 1024) {
    this.bytes = new Uint8Array(Math.max(16, capacity));
  }

  /** Makes room for `extra` more bytes. */
  room(extra: number): void {
    if (this.length + extra > this.bytes.length) this.bytes = withRoom(this.bytes, this.length, this.length + extra);
  }

  byte(b: number): void {
    this.room(1);
    this.bytes[this.length++] = b;
  }

  /** A 32-bit little-endian integer. */
  u32(n: number): void {
    this.room(4);
    const b = this.bytes;
    let at = this.length;
    b[at++] = n & 0xff;
    b[at++] = (n >>> 8) & 0xff;
    b[at++] = (n >>> 16) & 0xff;
    b[at++] = (n >>> 24) & 0xff;
    this.length = at;
  }

  /** An unsigned varint (ULEB128) of a non-negative safe integer. */
  varint(n: number): void {
    this.room(10);
    while (n >= 0x80) {
      this.bytes[this.length++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.bytes[this.length++] = n;
  }

  raw(bytes: Uint8Array): void {
    this.room(bytes.length);
    this.bytes.set(bytes, this.length);
    this.length += bytes.length;
  }

  /** The bytes written, as a view (valid until the next write or reset). */
  view(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }

  reset(): void {
    this.length = 0;
  }
}
