/**
 * Datasets whose target table another session keeps locked (a migration's ALTER TABLE, a LOCK
 * TABLE, a long transaction's row locks): a load gives up after `processing.lock_timeout_ms` and
 * the dataset waits here, with backoff, while the workers load every other dataset. Its files are
 * parked without a claim or a worker; one load tries again when the wait is over, and the first
 * that gets the lock opens the gate. Shared by all workers of a process.
 */
import { backoffDelay } from '../lib/sleep.js';
import type { Logger } from '../log.js';

/** lock_not_available: a lock wait ended by `lock_timeout`. */
export const LOCK_TIMEOUT_CODE = '55P03';

export interface WaitingDataset {
  dataset: string;
  since: number;
  until: number;
  reason: string;
  attempts: number;
}

export class DatasetGate {
  private readonly waiting = new Map<string, WaitingDataset>();

  constructor(
    private readonly log: Logger,
    private readonly retry: { initialMs: number; maxMs: number },
  ) {}

  /** How long the dataset's files must still wait (ms); 0 when it may load. */
  remaining(dataset: string): number {
    const entry = this.waiting.get(dataset);
    return entry ? Math.max(0, entry.until - Date.now()) : 0;
  }

  /** A load of the dataset timed out on its table's lock: the dataset waits; returns how long. */
  close(dataset: string, table: string, reason: string): number {
    const entry = this.waiting.get(dataset);
    const attempts = (entry?.attempts ?? 0) + 1;
    const delay = backoffDelay(attempts, this.retry.initialMs, this.retry.maxMs);
    const now = Date.now();
    this.waiting.set(dataset, { dataset, since: entry?.since ?? now, until: now + delay, reason, attempts });
    this.log.event('dataset_waiting', { dataset, table, reason, attempt: attempts, next_delay_ms: delay, waiting_ms: now - (entry?.since ?? now) });
    return delay;
  }

  /** A load of the dataset got its table: the gate opens. */
  open(dataset: string): void {
    const entry = this.waiting.get(dataset);
    if (!entry) return;
    this.waiting.delete(dataset);
    this.log.event('dataset_resumed', { dataset, waited_ms: Date.now() - entry.since });
  }

  /** The datasets waiting now (status, metrics). */
  list(): WaitingDataset[] {
    return [...this.waiting.values()];
  }
}
