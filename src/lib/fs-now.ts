/**
 * File-system metadata calls made synchronously: lstat, rename, and the open/close around a
 * folder's fsync. On a local file system each takes microseconds, far less than the thread-pool
 * hand-off node:fs/promises costs for it (`node bench/fs-calls.mjs`, BENCHMARKS.md); a small file
 * needs about ten of them. Reads and writes of data and every fsync stay asynchronous.
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
