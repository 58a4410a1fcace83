/**
 * "Is the file finished?" — decided by loadbay itself for every path, including those found at
 * start-up: a file is ready once its size and modification time have not changed for the window.
 * Paths are tracked concurrently, each with one timer; a path already tracked is not re-stat'ed.
 *
 * A file whose inode changed after its last write — ctime later than mtime: renamed into the folder
 * (rename sets ctime, not mtime), or given its times by `cp -p`, rsync, tar after the data — is
 * ready at once (`renamedIsFinished`): whoever wrote it did something after the last byte. A write
 * sets both times alike, so a file being written in place still waits for the window, and so does
 * a file system that does not set ctime on rename. Both times come from the same clock (the file
 * server's, on a network share), so no clock is compared with loadbay's.
 */
import { lstatSync } from 'node:fs';
import { specialKind, type SpecialKind } from './special.js';

export interface StableFile {
  file: string;
  size: number;
  mtimeMs: number;
}

export class Stabilizer {
  private readonly tracked = new Map<string, { size: number; mtimeMs: number; renamed: boolean; timer: NodeJS.Timeout }>();
  private closed = false;

  constructor(
    private readonly windowMs: number,
    private readonly onStable: (file: StableFile) => void,
    private readonly onError: (file: string, error: unknown) => void,
    /** A path that turned out to be a FIFO, socket or device: never handed on as stable. */
    private readonly onSpecial: (file: string, kind: SpecialKind) => void,
    private readonly renamedIsFinished = true,
  ) {}

  get size(): number {
    return this.tracked.size;
  }

  /**
   * Start watching a path; no-op while it is already being watched. `renamed`: the watcher saw it
   * renamed from a temporary name in its folder (watcher.ts): complete once it is seen.
   */
  notify(file: string, renamed = false): void {
    if (this.closed || this.tracked.has(file)) return;
    const entry = { size: -1, mtimeMs: -1, renamed: renamed && this.renamedIsFinished, timer: setTimeout(() => void this.check(file), 0) };
    this.tracked.set(file, entry);
  }

  private async check(file: string): Promise<void> {
    const entry = this.tracked.get(file);
    if (!entry || this.closed) return;
    let size: number;
    let mtimeMs: number;
    let ctimeMs: number;
    try {
      // lstat: a symlink is judged, never followed. Synchronous: see lib/fs-now.ts.
      const stat = lstatSync(file);
      const kind = specialKind(stat);
      if (kind) {
        this.tracked.delete(file);
        this.onSpecial(file, kind);
        return;
      }
      ({ size, mtimeMs, ctimeMs } = stat);
    } catch (error) {
      this.tracked.delete(file);
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') this.onError(file, error);
      return;
    }
    if (this.closed) return;
    const renamed = entry.size === -1 && (entry.renamed || (this.renamedIsFinished && ctimeMs > mtimeMs));
    if (renamed || (size === entry.size && mtimeMs === entry.mtimeMs)) {
      this.tracked.delete(file);
      this.onStable({ file, size, mtimeMs });
      return;
    }
    entry.size = size;
    entry.mtimeMs = mtimeMs;
    entry.timer = setTimeout(() => void this.check(file), this.windowMs);
  }

  close(): void {
    this.closed = true;
    for (const { timer } of this.tracked.values()) clearTimeout(timer);
    this.tracked.clear();
  }
}
