/**
 * The work queue between the sources and the workers: arrivals by id. An arrival is in at most one
 * place — waiting, in flight, or parked until its retry time — so it is never processed twice at
 * the same time. Arrivals are counted per source: a source that lists a large backlog (a bucket
 * prefix of millions of objects) waits for room (`room`) instead of filling memory, and the
 * backlog is told per source.
 */
import type { Arrival, InputSource } from '../source/source.js';

/** Arrivals of one source that may be waiting or parked at once before its discovery pauses. */
export const SOURCE_ROOM = 10_000;

export interface Backlog {
  files: number;
  bytes: number;
  oldestMtimeMs: number | null;
  oldestFile: string | null;
}

export class WorkQueue {
  private readonly waiting = new Map<string, Arrival>();
  private readonly inFlight = new Map<string, Arrival>();
  private readonly parked = new Map<string, { timer: NodeJS.Timeout; item: Arrival }>();
  private takers: Array<(file: Arrival | null) => void> = [];
  private closed = false;
  private paused = false;
  /** Arrivals in hand per source, and the sources waiting for room. */
  private readonly perSource = new Map<InputSource, number>();
  private roomWaiters: Array<{ source: InputSource; limit: number; resolve: () => void }> = [];
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
  backlog(source?: InputSource): Backlog {
    let bytes = 0;
    let files = 0;
    let oldest: Arrival | null = null;
    const items = [...this.waiting.values(), ...[...this.parked.values()].map((p) => p.item)];
    for (const item of items) {
      if (source && item.source !== source) continue;
      files++;
      bytes += item.size;
      if (oldest === null || item.mtimeMs < oldest.mtimeMs) oldest = item;
    }
    return { files, bytes, oldestMtimeMs: oldest?.mtimeMs ?? null, oldestFile: oldest?.relative ?? null };
  }

  /** Arrivals of the source in hand right now: waiting, in flight or parked. */
  inHand(source: InputSource): number {
    return this.perSource.get(source) ?? 0;
  }

  /** Resolves once fewer than `limit` arrivals of the source are in hand (at once when so; when closed). */
  room(source: InputSource, limit = SOURCE_ROOM): Promise<void> {
    if (this.closed || this.inHand(source) < limit) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push({ source, limit, resolve }));
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
      this.inFlight.set(next.id, next);
      this.takers.shift()!(next);
    }
  }

  get isPaused(): boolean {
    return this.paused;
  }

  push(item: Arrival): void {
    if (this.closed || this.has(item.id)) return;
    this.count(item.source, 1);
    const taker = this.paused ? undefined : this.takers.shift();
    if (taker) {
      this.inFlight.set(item.id, item);
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
      this.inFlight.set(next.value.id, next.value);
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
      this.inFlight.set(item.id, item);
    }
    return taken;
  }

  done(id: string): void {
    const item = this.inFlight.get(id);
    if (!item) return;
    this.inFlight.delete(id);
    this.count(item.source, -1);
  }

  /** Done with the arrival now; `requeue` looks at it again after the delay. */
  retryLater(item: Arrival, delayMs: number, requeue: (item: Arrival) => void): void {
    const id = item.id;
    if (!this.inFlight.delete(id)) this.count(item.source, 1); // not in hand before (a unit that waits for its table)
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.parked.delete(id);
      this.count(item.source, -1);
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
    this.perSource.clear();
    for (const taker of this.takers.splice(0)) taker(null);
    for (const waiter of this.roomWaiters.splice(0)) waiter.resolve();
  }

  private count(source: InputSource, delta: number): void {
    const n = Math.max(0, (this.perSource.get(source) ?? 0) + delta);
    this.perSource.set(source, n);
    if (delta >= 0 || this.roomWaiters.length === 0) return;
    this.roomWaiters = this.roomWaiters.filter((waiter) => {
      if (waiter.source !== source || n >= waiter.limit) return true;
      waiter.resolve();
      return false;
    });
  }
}
