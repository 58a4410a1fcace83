/**
 * Opens an input file as a stream of text: bytes are counted and hashed (sha256) as they are read,
 * gunzipped when the name ends in `.gz`, and decoded with a strict TextDecoder (a UTF-8 BOM is
 * dropped; invalid bytes are a data error, never silently replaced).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { DataError } from '../errors.js';

export interface Source {
  file: string;
  text: Readable & { decodedBytes: number };
  /** Valid once the text stream has ended. */
  digest(): { bytes: number; sha256: string };
}

export function isGzipName(file: string): boolean {
  return /\.gz$/i.test(file);
}

export function openSource(file: string, encoding: string): Source {
  const hash = createHash('sha256');
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      callback(null, chunk);
    },
  });
  const decoder = new DecodeStream(encoding);
  const stages: NodeJS.ReadWriteStream[] = [tap];
  if (isGzipName(file)) stages.push(createGunzip());
  stages.push(decoder);
  // pipeline() destroys every stage with the first error, so the reader sees it on `text` and maps
  // it with `mapSourceError`; the callback only keeps the error from going unhandled.
  const streams = [createReadStream(file, { highWaterMark: 256 * 1024 }), ...stages];
  pipeline(streams as unknown as [NodeJS.ReadableStream, NodeJS.ReadWriteStream], () => undefined);
  let digest: string | null = null;
  return {
    file,
    text: decoder,
    digest() {
      digest ??= hash.digest('hex');
      return { bytes, sha256: digest };
    },
  };
}

class DecodeStream extends Transform {
  readonly decoder: TextDecoder;
  decodedBytes = 0;
  constructor(readonly encoding: string) {
    super({ readableObjectMode: true, highWaterMark: 4 });
    this.decoder = new TextDecoder(encoding, { fatal: true });
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    try {
      const text = this.decoder.decode(chunk, { stream: true });
      this.decodedBytes += chunk.length;
      callback(null, text.length > 0 ? text : undefined);
    } catch {
      callback(invalidEncoding(this.encoding, this.decodedBytes));
    }
  }
  override _flush(callback: TransformCallback): void {
    try {
      const rest = this.decoder.decode();
      callback(null, rest.length > 0 ? rest : undefined);
    } catch {
      callback(invalidEncoding(this.encoding, this.decodedBytes));
    }
  }
}

function invalidEncoding(encoding: string, offset: number): DataError {
  return new DataError('read', `the file is not valid ${encoding}: undecodable bytes after byte ${offset}`, [
    { rule: 'encoding', message: `not valid ${encoding} (set csv.encoding, e.g. latin1, if the file uses another)` },
  ]);
}

export function mapSourceError(error: unknown, offset = 0): unknown {
  if (error instanceof DataError) return error;
  const code = (error as { code?: string }).code ?? '';
  if (code.startsWith('Z_') || code === 'ERR_ZLIB_INIT_FAILED') {
    const message = `not a valid gzip file: ${(error as Error).message}`;
    return new DataError('read', message, [{ rule: 'gzip', message }]);
  }
  if (code === 'ERR_ENCODING_INVALID_ENCODED_DATA') return invalidEncoding('utf-8', offset);
  return error;
}
