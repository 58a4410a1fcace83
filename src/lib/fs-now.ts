/**
 * File-system metadata calls made synchronously: lstat, rename, and the open/close around a
 * folder's fsync. Each takes a few microseconds on a local file system, where going through
 * libuv's thread pool (node:fs/promises) costs ~50 µs of CPU per call on the 2-core benchmark
 * machine — thread hand-offs, not the system call (`node bench/fs-calls.mjs`). A small file needs
 * about ten such calls between arriving and being archived, so in a burst of small files they
 * were a tenth of the main thread. Reads and writes of data and every fsync stay asynchronous.
 */
import { closeSync, fsync, lstatSync, openSync, renameSync, type Stats } from 'node:fs';

/** The path's own status (a symlink is not followed), or null when it cannot be looked at. */
export function statNow(file: string): Stats | null {
  try {
    return lstatSync(file);
  } catch {
    return null;
  }
}

export function renameNow(from: string, to: string): void {
  renameSync(from, to);
}

/**
 * fsync(2) of a file (its data durable) or a folder (its entries: renames, new files): opened and
 * closed here, the fsync itself in the thread pool. Every fsync of loadbay goes through here.
 */
export async function fsyncPath(file: string): Promise<void> {
  const fd = openSync(file, 'r');
  try {
    await new Promise<void>((resolve, reject) => fsync(fd, (error) => (error ? reject(error) : resolve())));
  } finally {
    closeSync(fd);
  }
}
