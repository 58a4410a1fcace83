/**
 * "Is the file finished?" — decided by loadbay itself for every path, including those found at
 * start-up: a file is ready once its size and modification time have not changed for the window.
 * Paths are tracked concurrently, each with one timer; a path already tracked is not re-stat'ed.
 */
import { lstatSync } from 'node:fs';
import { specialKind, type SpecialKind } from './special.js';

export interface StableFile {
  file: string;
  size: number;
  mtimeMs: number;
}

export class Stabilizer {
  private readonly tracked = new Map<string, { size: number; mtimeMs: number; timer: NodeJS.Timeout }>();
  private closed = false;

  constructor(
    private readonly windowMs: number,
    private readonly onStable: (file: StableFile) => void,
    private readonly onError: (file: string, error: unknown) => void,
    /** A path that turned out to be a FIFO, socket or device: never handed on as stable. */
    private readonly onSpecial: (file: string, kind: SpecialKind) => void,
  ) {}

  get size(): number {
    return this.tracked.size;
  }

  /** Start watching a path; no-op while it is already being watched. */
  notify(file: string): void {
    if (this.closed || this.tracked.has(file)) return;
    const entry = { size: -1, mtimeMs: -1, timer: setTimeout(() => void this.check(file), 0) };
    this.tracked.set(file, entry);
  }

  private async check(file: string): Promise<void> {
    const entry = this.tracked.get(file);
    if (!entry || this.closed) return;
    let size: number;
    let mtimeMs: number;
    try {
      // lstat: a symlink is judged, never followed. Synchronous: see lib/fs-now.ts.
      const stat = lstatSync(file);
      const kind = specialKind(stat);
      if (kind) {
        this.tracked.delete(file);
        this.onSpecial(file, kind);
        return;
      }
      ({ size, mtimeMs } = stat);
    } catch (error) {
      this.tracked.delete(file);
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') this.onError(file, error);
      return;
    }
    if (this.closed) return;
    if (size === entry.size && mtimeMs === entry.mtimeMs) {
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
