/**
 * The work queue between the sources and the workers: arrivals by id. An arrival is in at most one
 * place — waiting, in flight, or parked until its retry time — so it is never processed twice at
 * the same time.
 */
import type { Arrival } from '../source/source.js';

export class WorkQueue {
  private readonly waiting = new Map<string, Arrival>();
  private readonly inFlight = new Set<string>();
  private readonly parked = new Map<string, { timer: NodeJS.Timeout; item: Arrival }>();
  private takers: Array<(file: Arrival | null) => void> = [];
  private closed = false;
  private paused = false;
  /** Arrivals (by id) to load alone next time, not with others in one unit (load/unit.ts). */
  readonly alone = new Set<string>();

  /** True when the path is already queued, in flight or parked: no need to look at it again. */
  has(id: string): boolean {
    return this.waiting.has(id) || this.inFlight.has(id) || this.parked.has(id);
  }

  get stats(): { waiting: number; inFlight: number; parked: number } {
    return { waiting: this.waiting.size, inFlight: this.inFlight.size, parked: this.parked.size };
  }

  /** Finished files waiting or parked for a retry: how many, their bytes, the oldest (path and mtime). */
  backlog(): { files: number; bytes: number; oldestMtimeMs: number | null; oldestFile: string | null } {
    let bytes = 0;
    let oldest: Arrival | null = null;
    const items = [...this.waiting.values(), ...[...this.parked.values()].map((p) => p.item)];
    for (const item of items) {
      bytes += item.size;
      if (oldest === null || item.mtimeMs < oldest.mtimeMs) oldest = item;
    }
    return { files: this.waiting.size + this.parked.size, bytes, oldestMtimeMs: oldest?.mtimeMs ?? null, oldestFile: oldest?.relative ?? null };
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
      this.waiting.delete(next.id);
      this.inFlight.add(next.id);
      this.takers.shift()!(next);
    }
  }

  get isPaused(): boolean {
    return this.paused;
  }

  push(item: Arrival): void {
    if (this.closed || this.has(item.id)) return;
    const taker = this.paused ? undefined : this.takers.shift();
    if (taker) {
      this.inFlight.add(item.id);
      taker(item);
    } else {
      this.waiting.set(item.id, item);
    }
  }

  /** The next file, or null once the queue is closed. The file counts as in flight until `done`. */
  take(): Promise<Arrival | null> {
    if (this.closed) return Promise.resolve(null);
    const next = this.waiting.values().next();
    if (!next.done && !this.paused) {
      this.waiting.delete(next.value.id);
      this.inFlight.add(next.value.id);
      return Promise.resolve(next.value);
    }
    return new Promise((resolve) => this.takers.push(resolve));
  }

  /**
   * More waiting files that `fits` accepts, without waiting for any: up to `limit`, in arrival order.
   * They count as in flight until `done`, like a taken file.
   */
  takeMore(fits: (item: Arrival) => boolean, limit: number): Arrival[] {
    const taken: Arrival[] = [];
    if (this.paused || this.closed) return taken;
    for (const item of this.waiting.values()) {
      if (taken.length >= limit) break;
      if (!fits(item)) continue;
      taken.push(item);
    }
    for (const item of taken) {
      this.waiting.delete(item.id);
      this.inFlight.add(item.id);
    }
    return taken;
  }

  done(id: string): void {
    this.inFlight.delete(id);
  }

  /** Done with the arrival now; `requeue` looks at it again after the delay. */
  retryLater(item: Arrival, delayMs: number, requeue: (item: Arrival) => void): void {
    const id = item.id;
    this.inFlight.delete(id);
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.parked.delete(id);
      requeue(item);
    }, delayMs);
    timer.unref();
    this.parked.set(id, { timer, item });
  }

  close(): void {
    this.closed = true;
    for (const { timer } of this.parked.values()) clearTimeout(timer);
    this.parked.clear();
    this.waiting.clear();
    for (const taker of this.takers.splice(0)) taker(null);
  }
}
