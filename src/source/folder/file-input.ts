/** A local file as a source's bytes (ByteInput). */
import { closeSync, constants, createReadStream, openSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import type { ByteInput } from '../source.js';

/**
 * A local file's bytes. `size`: the size it was seen with; a small file is read with one
 * synchronous read into a buffer of its size — cheaper than a read stream's thread-pool trips and
 * buffers (BENCHMARKS.md, "Many small files") — never past that size.
 */
export function fileInput(file: string, size: number): ByteInput {
  return {
    name: path.basename(file),
    path: file,
    size,
    stream: () => createReadStream(file, { highWaterMark: 256 * 1024 }),
    readNow: () => readPrefix(file, size),
  };
}

/** Up to `size` bytes from the start of `file`, in one buffer. */
function readPrefix(file: string, size: number): Buffer {
  // O_NONBLOCK: should the path have become a FIFO since it was seen, opening must not wait.
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const bytes = Buffer.allocUnsafe(size);
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
