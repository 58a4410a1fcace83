/**
 * Opens an input file as a stream of text: bytes are counted and hashed (sha256) as they are read,
 * gunzipped when the name ends in `.gz` (the decompressed size and ratio held to `limits`), and
 * decoded with a strict TextDecoder (a UTF-8 BOM is dropped; invalid bytes are a data error that
 * names the line and byte, never silently replaced). A long run of NUL bytes — a sparse or binary
 * file, never text loadbay reads — stops the file at once instead of after it was read to its end.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream';
import { createGunzip, createInflateRaw } from 'node:zlib';
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
 * of their size: a read stream's trips through the thread pool and buffers cost more than a small
 * file's whole read (BENCHMARKS.md, "Why the code is shaped as it is"). A file that grew since is read to the size it had; the changed-since
 * check sends it round again.
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
  const nuls = nulRun();
  const tap = new Transform({
    transform(chunk: Buffer, _enc, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      callback(nuls(chunk, bytes), chunk);
    },
  });
  const stages: NodeJS.ReadWriteStream[] = [tap];
  // Inflated in 64 KiB pieces (zlib's default is 16 KiB): a quarter of the chunks through the stages.
  if (gzip) stages.push(createGunzip({ chunkSize: 64 * 1024 }), gzipGuard(() => bytes, limits));
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

/** NUL bytes in a row that mean a file is not text: no CSV or JSON producer writes a mebibyte of them. */
export const MAX_NUL_RUN_BYTES = 1024 * 1024;

/**
 * Counts NUL bytes in a row across chunks (whole chunks of them: a run that spans a chunk boundary
 * partly is counted from the next whole chunk, which is close enough for a mebibyte). Cheap on text:
 * one native search per chunk that finds no NUL.
 */
function nulRun(): (chunk: Buffer, end: number) => DataError | null {
  let run = 0;
  let zeros = Buffer.alloc(0);
  return (chunk, end) => {
    if (chunk.length === 0 || chunk[0] !== 0 || chunk[chunk.length - 1] !== 0 || chunk.indexOf(0) === -1) {
      run = 0;
      return null;
    }
    if (zeros.length < chunk.length) zeros = Buffer.alloc(chunk.length);
    run = chunk.equals(zeros.subarray(0, chunk.length)) ? run + chunk.length : 0;
    if (run < MAX_NUL_RUN_BYTES) return null;
    const message = `${run} NUL bytes in a row before byte ${end}: a sparse or binary file, not text`;
    return new DataError('read', message, [{ rule: 'binary content', message }]);
  };
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

/**
 * Text is handed on in strings of at most this many bytes: a string past V8's ~128 KiB regular
 * object size goes to the large-object space, outlives the young generation's quick collections
 * and made JSONL reading ~15 % slower (BENCHMARKS.md, "JSONL: text in smaller pieces").
 */
const TEXT_PIECE_BYTES = 32 * 1024;

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
    const [lineBreaks, decodedBytes] = [this.lineBreaks, this.decodedBytes];
    for (let at = 0; at < chunk.length; at += TEXT_PIECE_BYTES) {
      const piece = at === 0 && chunk.length <= TEXT_PIECE_BYTES ? chunk : chunk.subarray(at, at + TEXT_PIECE_BYTES);
      let text: string;
      try {
        text = this.decoder.decode(piece, { stream: true });
      } catch {
        // Located in the whole chunk: a piece may begin inside a character the last one began.
        callback(invalidIn(chunk, this.encoding, lineBreaks, decodedBytes));
        return;
      }
      this.decodedBytes += piece.length;
      this.lineBreaks += countLineBreaks(text);
      if (text.length > 0) this.push(text);
    }
    callback();
  }
  override _flush(callback: TransformCallback): void {
    try {
      const rest = this.decoder.decode();
      callback(null, rest.length > 0 ? rest : undefined);
    } catch {
      callback(invalidEncoding(this.encoding, this.lineBreaks + 1, this.decodedBytes));
    }
  }
}

/**
 * On the error path only: the longest prefix of `chunk` that decodes says where the bad byte is.
 * `lineBreaks` and `offset` count what came before the chunk.
 */
export function invalidIn(whole: Buffer, encoding: string, lineBreaks: number, offset: number): DataError {
  {
    // A chunk after the first may begin with the rest of a UTF-8 character the last one began.
    let skip = 0;
    if (offset > 0 && /^utf-?8$/i.test(encoding)) while (skip < 3 && (whole[skip]! & 0xc0) === 0x80) skip++;
    const chunk = whole.subarray(skip);
    offset += skip;
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

/**
 * The error a reader throws for what went wrong while reading `source`: mapSourceError's, except
 * that gzip data after the end of the gzip stream is named as such, with where it starts (zlib
 * says only "incorrect header check").
 */
export async function sourceError(error: unknown, source: Source): Promise<unknown> {
  const mapped = mapSourceError(error, source.text);
  const code = (error as { code?: string }).code;
  if (!(mapped instanceof DataError) || (code !== 'Z_DATA_ERROR' && code !== 'Z_BUF_ERROR') || !isGzipName(source.input.name) || !source.input.path) return mapped;
  const trailing = await trailingGzipData(source.input.path).catch(() => null);
  if (trailing === null) return mapped;
  const message = `trailing data after the gzip stream at byte ${trailing.at} (of ${trailing.size}): not gzip data, and not another gzip member`;
  return new DataError('read', message, [{ rule: 'gzip', message }]);
}

/** Files up to this size are walked member by member to say where trailing data starts. */
const LOCATE_GZIP_MAX_BYTES = 1024 * 1024 * 1024;

/**
 * Where data that is not a gzip member starts after the file's last gzip member, or null when the
 * file is not gzip from its start, a member is corrupt, or nothing but NUL padding follows (which
 * zlib accepts). Each member's deflate data is inflated (and thrown away) to find where it ends.
 */
async function trailingGzipData(file: string): Promise<{ at: number; size: number } | null> {
  const handle = await open(file);
  try {
    const { size } = await handle.stat();
    if (size > LOCATE_GZIP_MAX_BYTES) return null;
    let offset = 0;
    const head = Buffer.alloc(64 * 1024);
    while (offset < size) {
      const { bytesRead } = await handle.read(head, 0, head.length, offset);
      const header = gzipHeaderLength(head.subarray(0, bytesRead));
      if (header === null) {
        if (offset === 0) return null;
        let k = 0;
        while (k < bytesRead && head[k] === 0) k++;
        return k === bytesRead && offset + bytesRead >= size ? null : { at: offset, size };
      }
      const consumed = await deflateLength(file, offset + header);
      if (consumed === null) return null;
      offset += header + consumed + 8;
    }
    return null;
  } finally {
    await handle.close();
  }
}

/** The length of the gzip member header at the start of `b` (RFC 1952), or null when it is none. */
function gzipHeaderLength(b: Buffer): number | null {
  if (b.length < 10 || b[0] !== 0x1f || b[1] !== 0x8b || b[2] !== 8) return null;
  const flags = b[3]!;
  let at = 10;
  if (flags & 4) at += 2 + b.readUInt16LE(at);
  for (const flag of [8, 16]) {
    if (!(flags & flag)) continue;
    while (at < b.length && b[at] !== 0) at++;
    at++;
  }
  if (flags & 2) at += 2;
  return at <= b.length ? at : null;
}

/** The bytes of the deflate stream that starts at `start` of the file, or null when it is corrupt or cut short. */
function deflateLength(file: string, start: number): Promise<number | null> {
  return new Promise((resolve) => {
    const input = createReadStream(file, { start, highWaterMark: 256 * 1024 });
    const inflate = createInflateRaw();
    const done = (length: number | null) => {
      input.destroy();
      inflate.destroy();
      resolve(length);
    };
    inflate.on('end', () => done(inflate.bytesWritten));
    inflate.on('error', () => done(null));
    input.on('error', () => done(null));
    inflate.resume();
    input.pipe(inflate);
  });
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
