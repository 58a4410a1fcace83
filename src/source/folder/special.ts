/**
 * Entries of input/ that are neither regular files, folders nor symbolic links — a FIFO, a socket,
 * a device. Opening one can block a worker for ever (a FIFO waits for a writer) or read without end
 * (/dev/zero), so they are never queued: each is reported once and left alone, and reported again
 * only after it went away and came back.
 */
import path from 'node:path';

export type SpecialKind = 'a FIFO' | 'a socket' | 'a character device' | 'a block device';

interface TypedEntry {
  isFIFO(): boolean;
  isSocket(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
}

/** What a Dirent or Stats is when it is none of file, folder or link; null otherwise. */
export function specialKind(entry: TypedEntry): SpecialKind | null {
  if (entry.isFIFO()) return 'a FIFO';
  if (entry.isSocket()) return 'a socket';
  if (entry.isCharacterDevice()) return 'a character device';
  if (entry.isBlockDevice()) return 'a block device';
  return null;
}

export class SpecialFiles {
  /** Path → the scan round it was last seen in. */
  private readonly seen = new Map<string, number>();
  private round = 0;

  constructor(private readonly onFound: (file: string, kind: SpecialKind) => void) {}

  found(file: string, kind: SpecialKind): void {
    const known = this.seen.has(file);
    this.seen.set(file, this.round);
    if (!known) this.onFound(file, kind);
  }

  /** The path (or a folder holding it) is gone. */
  gone(file: string): void {
    for (const known of this.seen.keys()) {
      if (known === file || known.startsWith(file + path.sep)) this.seen.delete(known);
    }
  }

  /** A full scan of input/ starts: what it does not see again is forgotten when it ends. */
  beginScan(): void {
    this.round++;
  }

  endScan(): void {
    for (const [file, round] of this.seen) if (round < this.round) this.seen.delete(file);
  }
}
