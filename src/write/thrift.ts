/**
 * Thrift's compact protocol, the part a Parquet writer needs: structs of i32, i64, bool, binary and
 * lists, written into one growing buffer. Parquet's page headers and footer are Thrift structs
 * (parquet.thrift; parquet-pages.ts and parquet-footer.ts name their field ids where they write
 * them). Written here rather than taken from the `thrift` package, which would need classes
 * generated from parquet.thrift for the handful of structs a writer fills.
 */
import { ByteSink } from '../lib/byte-sink.js';
import { asBuffer, utf8Write } from '../lib/bytes.js';

/** Compact protocol type ids (TCompactProtocol). */
export const T = {
  TRUE: 1,
  FALSE: 2,
  I16: 4,
  I32: 5,
  I64: 6,
  BINARY: 8,
  LIST: 9,
  STRUCT: 12,
} as const;

export class ThriftWriter extends ByteSink {
  /** The last field id written in each open struct (field ids are written as deltas). */
  private last: number[] = [0];

  /** A signed integer, zigzag-encoded (i16, i32 and i64 alike; safe integers only). */
  zigzag(n: number): void {
    this.varint(n >= 0 ? n * 2 : -n * 2 - 1);
  }

  private field(id: number, type: number): void {
    const last = this.last[this.last.length - 1]!;
    const delta = id - last;
    if (delta > 0 && delta <= 15) {
      this.byte((delta << 4) | type);
    } else {
      this.byte(type);
      this.zigzag(id);
    }
    this.last[this.last.length - 1] = id;
  }

  i32(id: number, value: number): void {
    this.field(id, T.I32);
    this.zigzag(value);
  }

  i64(id: number, value: number): void {
    this.field(id, T.I64);
    this.zigzag(value);
  }

  bool(id: number, value: boolean): void {
    this.field(id, value ? T.TRUE : T.FALSE);
  }

  binary(id: number, value: Uint8Array): void {
    this.field(id, T.BINARY);
    this.varint(value.length);
    this.raw(value);
  }

  string(id: number, value: string): void {
    this.field(id, T.BINARY);
    this.text(value);
  }

  /** A string's length and UTF-8 bytes, with no field header (a list's element). */
  text(value: string): void {
    const bytes = Buffer.byteLength(value, 'utf8');
    this.varint(bytes);
    this.room(bytes);
    utf8Write(asBuffer(this.bytes), value, this.length);
    this.length += bytes;
  }

  /** Opens a struct field; `end()` closes it. */
  struct(id: number): void {
    this.field(id, T.STRUCT);
    this.last.push(0);
  }

  /** Opens a struct that is a list's element (no field header); `end()` closes it. */
  element(): void {
    this.last.push(0);
  }

  /** Closes the innermost struct (or the outermost one: the message). */
  end(): void {
    this.byte(0);
    this.last.pop();
    if (this.last.length === 0) this.last.push(0);
  }

  /** A list field's header: `size` elements of `type` follow (structs: `element()` … `end()` each). */
  list(id: number, type: number, size: number): void {
    this.field(id, T.LIST);
    if (size < 15) {
      this.byte((size << 4) | type);
    } else {
      this.byte(0xf0 | type);
      this.varint(size);
    }
  }

  override reset(): void {
    super.reset();
    this.last = [0];
  }
}
