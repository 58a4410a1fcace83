/**
 * The work queue between the stabilizer and the workers. A path is in at most one place: waiting,
 * in flight, or parked until its retry time; so it is never processed twice at the same time.
 */
import type { StableFile } from '../source/folder/stability.js';

export class WorkQueue {
  private readonly waiting = new Map<string, StableFile>();
  private readonly inFlight = new Set<string>();
  private readonly parked = new Map<string, { timer: NodeJS.Timeout; item: StableFile | null }>();
  private takers: Array<(file: StableFile | null) => void> = [];
  private closed = false;
  private paused = false;
  /** Files to take alone next time, not in a group (see pipeline/process-group.ts). */
  readonly alone = new Set<string>();

  /** True when the path is already queued, in flight or parked: no need to look at it again. */
  has(file: string): boolean {
    return this.waiting.has(file) || this.inFlight.has(file) || this.parked.has(file);
  }

  get stats(): { waiting: number; inFlight: number; parked: number } {
    return { waiting: this.waiting.size, inFlight: this.inFlight.size, parked: this.parked.size };
  }

  /** Finished files waiting or parked for a retry: how many, their bytes, the oldest (path and mtime). */
  backlog(): { files: number; bytes: number; oldestMtimeMs: number | null; oldestFile: string | null } {
    let bytes = 0;
    let oldest: StableFile | null = null;
    const items = [...this.waiting.values(), ...[...this.parked.values()].map((p) => p.item)];
    for (const item of items) {
      if (!item) continue;
      bytes += item.size;
      if (oldest === null || item.mtimeMs < oldest.mtimeMs) oldest = item;
    }
    return { files: this.waiting.size + this.parked.size, bytes, oldestMtimeMs: oldest?.mtimeMs ?? null, oldestFile: oldest?.file ?? null };
  }

  /** While paused (not ready: see http/health.ts) no file is handed out; they wait. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    while (this.takers.length > 0 && this.waiting.size > 0) {
      const next = this.waiting.values().next().value!;
      this.waiting.delete(next.file);
      this.inFlight.add(next.file);
      this.takers.shift()!(next);
    }
  }

  get isPaused(): boolean {
    return this.paused;
  }

  push(item: StableFile): void {
    if (this.closed || this.has(item.file)) return;
    const taker = this.paused ? undefined : this.takers.shift();
    if (taker) {
      this.inFlight.add(item.file);
      taker(item);
    } else {
      this.waiting.set(item.file, item);
    }
  }

  /** The next file, or null once the queue is closed. The file counts as in flight until `done`. */
  take(): Promise<StableFile | null> {
    if (this.closed) return Promise.resolve(null);
    const next = this.waiting.values().next();
    if (!next.done && !this.paused) {
      this.waiting.delete(next.value.file);
      this.inFlight.add(next.value.file);
      return Promise.resolve(next.value);
    }
    return new Promise((resolve) => this.takers.push(resolve));
  }

  /**
   * More waiting files that `fits` accepts, without waiting for any: up to `limit`, in arrival order.
   * They count as in flight until `done`, like a taken file.
   */
  takeMore(fits: (item: StableFile) => boolean, limit: number): StableFile[] {
    const taken: StableFile[] = [];
    if (this.paused || this.closed) return taken;
    for (const item of this.waiting.values()) {
      if (taken.length >= limit) break;
      if (!fits(item)) continue;
      taken.push(item);
    }
    for (const item of taken) {
      this.waiting.delete(item.file);
      this.inFlight.add(item.file);
    }
    return taken;
  }

  done(file: string): void {
    this.inFlight.delete(file);
  }

  /** Finish with the file now and let `requeue` look at it again after the delay. */
  retryLater(file: string, delayMs: number, requeue: (file: string) => void, item: StableFile | null = null): void {
    this.inFlight.delete(file);
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.parked.delete(file);
      requeue(file);
    }, delayMs);
    timer.unref();
    this.parked.set(file, { timer, item });
  }

  close(): void {
    this.closed = true;
    for (const { timer } of this.parked.values()) clearTimeout(timer);
    this.parked.clear();
    this.waiting.clear();
    for (const taker of this.takers.splice(0)) taker(null);
  }
}
