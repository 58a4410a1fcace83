/**
 * The hints of one source waiting to be looked at: at most `limit` objects, one batch (a
 * notification's objects) at a time, one object at a time, in order. What does not fit is dropped
 * and said (a hint only makes an object visible sooner: the next listing finds it anyway), so a flood
 * of notifications costs bounded memory and one HeadObject at a time, never a crowd of them.
 */
import type { ObjectHint } from './hints.js';

/** Objects named by notifications that may wait per source (one notification holds at most 1,000). */
export const MAX_PENDING_HINTS = 1000;

interface Batch {
  hints: ObjectHint[];
  done: () => void;
}

export class HintQueue {
  private readonly batches: Batch[] = [];
  private current: Batch | null = null;
  private pending = 0;
  private closed = false;

  constructor(
    private readonly look: (hint: ObjectHint) => Promise<void>,
    private readonly limit = MAX_PENDING_HINTS,
  ) {}

  /** Objects waiting to be looked at, or being looked at. */
  get size(): number {
    return this.pending;
  }

  /**
   * Queues the hints that fit; `dropped`: how many did not. `done` resolves once the queued ones
   * were looked at (or the queue closed): a caller that waits on it (an SQS message, deleted
   * after) feels the source's pace.
   */
  offer(hints: ObjectHint[]): { dropped: number; done: Promise<void> } {
    const fits = this.closed ? 0 : Math.max(0, this.limit - this.pending);
    const taken = hints.slice(0, fits);
    const dropped = hints.length - taken.length;
    if (taken.length === 0) return { dropped, done: Promise.resolve() };
    let done: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (done = resolve));
    this.batches.push({ hints: taken, done });
    this.pending += taken.length;
    if (this.current === null) void this.drain();
    return { dropped, done: finished };
  }

  private async drain(): Promise<void> {
    while (!this.closed && this.batches.length > 0) {
      const batch = this.batches.shift()!;
      this.current = batch;
      for (const hint of batch.hints) {
        if (this.closed) break;
        await this.look(hint).catch(() => undefined); // a failed look is the next listing's
        if (!this.closed) this.pending--;
      }
      this.current = null;
      batch.done();
    }
  }

  close(): void {
    this.closed = true;
    this.current?.done();
    for (const batch of this.batches.splice(0)) batch.done();
    this.pending = 0;
  }
}
