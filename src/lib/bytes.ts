/**
 * Node's own Buffer slicing and writing methods, which `toString(encoding, start, end)` and
 * `write()` wrap (with argument checks per call); typed here because @types/node does not list them.
 */
interface Slicing {
  utf8Slice(start: number, end: number): string;
  latin1Slice(start: number, end: number): string;
  utf8Write(text: string, offset: number): number;
}

export function utf8Slice(buf: Buffer, start: number, end: number): string {
  return (buf as unknown as Slicing).utf8Slice(start, end);
}

export function latin1Slice(buf: Buffer, start: number, end: number): string {
  return (buf as unknown as Slicing).latin1Slice(start, end);
}

/** Writes `text` as UTF-8 at `offset`; the caller made room (3 bytes per UTF-16 unit). */
export function utf8Write(buf: Buffer, text: string, offset: number): number {
  return (buf as unknown as Slicing).utf8Write(text, offset);
}

/** UTF-16 units of valid UTF-8 (a record's length in characters): one per character, two past the BMP. */
export function utf16Units(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let units = 0;
  for (let i = start; i < end; i++) {
    const b = bytes[i]!;
    if ((b & 0xc0) !== 0x80) units += b >= 0xf0 ? 2 : 1;
  }
  return units;
}

/** Code points of valid UTF-8 (JSON Schema's string length): one per character's first byte. */
export function codePoints(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let points = 0;
  for (let i = start; i < end; i++) if ((bytes[i]! & 0xc0) !== 0x80) points++;
  return points;
}

/** A Buffer over the same memory as `bytes`. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The whole of `stream` in one buffer, or null once it passes `maxBytes` (reading stops there: the caller ends the stream). */
export async function readAtMost(stream: AsyncIterable<Buffer>, maxBytes: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += chunk.length;
    if (size > maxBytes) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
