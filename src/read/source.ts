/**
 * Opens an input file as a stream of text: bytes are counted and hashed (sha256) as they are read,
 * gunzipped when the name ends in `.gz` (the decompressed size and ratio held to `limits`), and
 * decoded with a strict TextDecoder (a UTF-8 BOM is dropped; invalid bytes are a data error that
 * names the line and byte, never silently replaced).
 */
import { createHash } from 'node:crypto';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { Limits } from '../config/types.js';
import { DataError } from '../errors.js';
import type { ByteInput } from '../source/source.js';
import { limitError } from './limits.js';

export interface Source {
  /** Where the bytes come from (read again to locate a JSON syntax error). */
  input: ByteInput;
  /** Decoded text chunks; with `raw`, the file's (inflated) bytes as Buffers, checked by the reader. */
  text: Readable & { decodedBytes: number; lineBreaks: number };
  /** Valid once the text stream has ended. */
  digest(): { bytes: number; sha256: string };
}

export function isGzipName(file: string): boolean {
  return /\.gz$/i.test(file);
}

/** Below this many decompressed bytes the ratio is not checked: a small file may compress very well. */
const RATIO_FLOOR_BYTES = 16 * 1024 * 1024;

/**
 * Files up to this size (by their size when seen) are read with one synchronous read into a buffer
 * of their size: a read stream costs four trips through the thread pool (~50 µs of CPU each here)
 * and two 256 KiB buffers per file — garbage that drove most full collections in a burst of small
 * files (BENCHMARKS.md, "Many small files"). A file that grew since is read to the size it had; the
 * changed-since check sends it round again.
 */
export const WHOLE_READ_MAX_BYTES = 1024 * 1024;

export function openSource(input: ByteInput, encoding: string, limits: Limits, raw = false): Source {
  const hash = createHash('sha256');
  let bytes = 0;
  let digest: string | null = null;
  const digestOf = () => {
    digest ??= hash.digest('hex');
    return { bytes, sha256: digest };
  };
  const readNow = input.readNow && input.size <= WHOLE_READ_MAX_BYTES ? input.readNow.bind(input) : null;
  const gzip = isGzipName(input.name);
  if (readNow && !gzip) {
    // No stream stages at all: the bytes are hashed and decoded in the one read.
    const text = new WholeFile(readNow, raw ? null : encoding, (chunk) => {
      hash.update(chunk);
      bytes += chunk.length;
    });
    return { input, text, digest: digestOf };
  }
  const tap = new Transform({
    transform(chunk: Buffer, _enc, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      callback(null, chunk);
    },
  });
  const stages: NodeJS.ReadWriteStream[] = [tap];
  if (gzip) stages.push(createGunzip(), gzipGuard(() => bytes, limits));
  const decoder = raw ? Object.assign(stages[stages.length - 1] as Transform, { decodedBytes: 0, lineBreaks: 0 }) : new DecodeStream(encoding);
  if (!raw) stages.push(decoder);
  // pipeline() destroys every stage with the first error, so the reader sees it on `text` and maps
  // it with `mapSourceError`; the callback only keeps the error from going unhandled.
  const streams = [readNow ? new WholeFile(readNow, null) : input.stream(), ...stages];
  pipeline(streams as unknown as [NodeJS.ReadableStream, NodeJS.ReadWriteStream], () => undefined);
  return { input, text: decoder, digest: digestOf };
}

/**
 * A small item as a stream of one chunk, read at once on the first read (ByteInput.readNow: never
 * past the size it was seen with), handed to `tap`, and decoded when an `encoding` is given (a BOM
 * dropped, undecodable bytes a data error).
 */
class WholeFile extends Readable {
  decodedBytes = 0;
  lineBreaks = 0;
  constructor(
    private readonly readBytes: () => Buffer,
    private readonly encoding: string | null,
    private readonly tap: (bytes: Buffer) => void = () => undefined,
  ) {
    super({ objectMode: true, highWaterMark: 1 });
  }
  override _read(): void {
    let bytes: Buffer;
    try {
      bytes = this.readBytes();
    } catch (error) {
      this.destroy(error as Error);
      return;
    }
    this.tap(bytes);
    if (this.encoding === null) {
      if (bytes.length > 0) this.push(bytes);
    } else {
      let text: string;
      try {
        text = new TextDecoder(this.encoding, { fatal: true }).decode(bytes);
      } catch {
        this.destroy(invalidIn(bytes, this.encoding, 0, 0));
        return;
      }
      this.decodedBytes = bytes.length;
      this.lineBreaks = countLineBreaks(text);
      if (text.length > 0) this.push(text);
    }
    this.push(null);
  }
}

/** Stops a decompression bomb while it inflates: total size, and size per compressed byte. */
function gzipGuard(compressedBytes: () => number, limits: Limits): Transform {
  let inflated = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, callback) {
      inflated += chunk.length;
      if (inflated > limits.maxDecompressedBytes) {
        return callback(limitError('read', 'max_decompressed_bytes', limits.maxDecompressedBytes, `the gzip data inflates to more than ${limits.maxDecompressedBytes} bytes`));
      }
      const ratio = inflated / Math.max(1, compressedBytes());
      if (inflated > RATIO_FLOOR_BYTES && ratio > limits.maxGzipRatio) {
        const what = `the gzip data inflates ${Math.floor(ratio)} times its compressed size (${inflated} bytes from ${compressedBytes()})`;
        return callback(limitError('read', 'max_gzip_ratio', limits.maxGzipRatio, what));
      }
      callback(null, chunk);
    },
  });
}

class DecodeStream extends Transform {
  readonly decoder: TextDecoder;
  decodedBytes = 0;
  /** Line breaks decoded so far, to say on which line undecodable bytes are. */
  lineBreaks = 0;
  constructor(readonly encoding: string) {
    super({ readableObjectMode: true, highWaterMark: 4 });
    this.decoder = new TextDecoder(encoding, { fatal: true });
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    try {
      const text = this.decoder.decode(chunk, { stream: true });
      this.decodedBytes += chunk.length;
      this.lineBreaks += countLineBreaks(text);
      callback(null, text.length > 0 ? text : undefined);
    } catch {
      callback(this.invalidAt(chunk));
    }
  }
  override _flush(callback: TransformCallback): void {
    try {
      const rest = this.decoder.decode();
      callback(null, rest.length > 0 ? rest : undefined);
    } catch {
      callback(invalidEncoding(this.encoding, this.lineBreaks + 1, this.decodedBytes));
    }
  }
  private invalidAt(chunk: Buffer): DataError {
    return invalidIn(chunk, this.encoding, this.lineBreaks, this.decodedBytes);
  }
}

/**
 * On the error path only: the longest prefix of `chunk` that decodes says where the bad byte is.
 * `lineBreaks` and `offset` count what came before the chunk.
 */
export function invalidIn(chunk: Buffer, encoding: string, lineBreaks: number, offset: number): DataError {
  {
    const decodes = (length: number) => {
      try {
        new TextDecoder(encoding, { fatal: true }).decode(chunk.subarray(0, length), { stream: true });
        return true;
      } catch {
        return false;
      }
    };
    let low = 0;
    let high = chunk.length;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (decodes(middle)) low = middle;
      else high = middle - 1;
    }
    // A lead byte whose sequence the bad byte broke is where the trouble starts (UTF-8).
    for (let k = 1; k <= 3 && low - k >= 0; k++) {
      const byte = chunk[low - k]!;
      if (byte < 0x80) break;
      if (byte >= 0xc0) {
        low -= k;
        break;
      }
    }
    const before = new TextDecoder(encoding).decode(chunk.subarray(0, low));
    return invalidEncoding(encoding, lineBreaks + countLineBreaks(before) + 1, offset + low);
  }
}

function countLineBreaks(text: string): number {
  let count = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) count++;
  return count;
}

function invalidEncoding(encoding: string, line: number, offset: number): DataError {
  const message = `line ${line}: the file is not valid ${encoding}: undecodable bytes at byte offset ${offset}`;
  return new DataError('read', message, [
    { line, rule: 'encoding', message: `${message} (set csv.encoding, e.g. latin1, if the file uses another)` },
  ]);
}

export function mapSourceError(error: unknown, at: { decodedBytes: number; lineBreaks: number }): unknown {
  if (error instanceof DataError) return error;
  const code = (error as { code?: string }).code ?? '';
  if (code.startsWith('Z_') || code === 'ERR_ZLIB_INIT_FAILED') {
    const message = `not a valid gzip file: ${(error as Error).message}`;
    return new DataError('read', message, [{ rule: 'gzip', message }]);
  }
  if (code === 'ERR_ENCODING_INVALID_ENCODED_DATA') return invalidEncoding('utf-8', at.lineBreaks + 1, at.decodedBytes);
  return error;
}
