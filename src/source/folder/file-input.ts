/** A local file as a source's bytes (ByteInput). */
import { closeSync, constants, createReadStream, openSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { SparePool } from '../../lib/spare-pool.js';
import type { ByteInput } from '../source.js';

/**
 * A local file's bytes. `size`: the size it was seen with; a small file is read with one
 * synchronous read into a buffer of its size — cheaper than a read stream's thread-pool trips and
 * buffers (BENCHMARKS.md, "Many small files") — never past that size. With a `pool`, into one of
 * its buffers, which `release()` gives back: call it only once nothing reads the bytes any more.
 */
export function fileInput(file: string, size: number, pool?: ReadBuffers): ByteInput & { release(): void } {
  // A gzipped file's bytes go to zlib, whose work in the thread pool may still read them after its
  // stream was destroyed: they get a buffer of their own.
  let from = pool && !/\.gz$/i.test(file) ? pool : null;
  let taken: Buffer | null = null;
  return {
    name: path.basename(file),
    path: file,
    size,
    stream: () => createReadStream(file, { highWaterMark: 256 * 1024 }),
    readNow: () => {
      if (from) taken ??= from.take(size);
      return readPrefix(file, size, taken ?? Buffer.allocUnsafe(size));
    },
    release: () => {
      if (taken) from?.give(taken);
      // A read after this (a stream that started late) takes a buffer of its own.
      from = null;
      taken = null;
    },
  };
}

/** Buffers small files are read into, taken per file and given back once nothing reads the file any more. */
export class ReadBuffers extends SparePool<Buffer> {
  constructor() {
    super((bytes) => Buffer.allocUnsafeSlow(Math.max(64 * 1024, bytes)));
  }
}

/** Up to `size` bytes from the start of `file`, read into `into` (at least `size` bytes long). */
function readPrefix(file: string, size: number, into: Buffer): Buffer {
  // O_NONBLOCK: should the path have become a FIFO since it was seen, opening must not wait.
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const bytes = into.subarray(0, size);
    let filled = 0;
    while (filled < bytes.length) {
      const n = readSync(fd, bytes, filled, bytes.length - filled, null);
      if (n === 0) break;
      filled += n;
    }
    return bytes.subarray(0, filled);
  } finally {
    closeSync(fd);
  }
}

/** A local file named on the command line: its size now. */
export function localFile(file: string): ByteInput {
  return fileInput(file, statSync(file).size);
}
