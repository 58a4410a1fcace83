/**
 * One COPY for several files' rows (load units whose dataset only appends): the Parquet thread
 * encodes each written batch's rows for COPY too (outputs.ts `copy`) and they come back here, batch
 * after batch in the order the batches were written, and go into COPY in that order. Every batch
 * written brings its rows or the thread's failure, so waiting for them always ends.
 */
import type { CopySink } from '../write/parquet.js';
import type { CopyLoad } from '../write/copy-in.js';

/**
 * Rows sent to the Parquet thread and not yet in COPY before the unit's next file waits: a dozen
 * small files' worth, or one full batch. It bounds what waits in the thread and for PostgreSQL (with
 * four units at once, a burst's batches in flight were a large share of its peak memory; 20,000 gave
 * no more speed, BENCHMARKS.md), and lets COPY pace the reading.
 */
const MAX_ROWS_AHEAD = 5_000;

export class CopyFeed implements CopySink {
  private writes: Promise<void> = Promise.resolve();
  private sent = 0;
  private settled = 0;
  private rowsAhead = 0;
  private failure: unknown = null;
  private closed = false;
  private wake: (() => void) | null = null;
  constructor(private readonly copy: CopyLoad) {}

  /** A batch of `count` rows is being written (its rows will come back). */
  expect(count: number): void {
    this.sent++;
    this.rowsAhead += count;
  }

  rows(encoded: Buffer, count: number): void {
    if (this.closed) return; // the load was dropped
    this.writes = this.writes.then(async () => {
      await this.copy.write(encoded, true);
      this.rowsAhead -= count;
      this.settled++;
      this.poke();
    });
    this.writes.catch((error: unknown) => this.fail(error));
  }

  failed(error: Error): void {
    this.fail(error);
  }

  /**
   * Between files (nothing of the group held back by its writer then): waits while too many rows
   * are on their way; throws COPY's or the thread's error.
   */
  async room(): Promise<void> {
    while (this.rowsAhead >= MAX_ROWS_AHEAD && this.failure === null) await this.change();
    if (this.failure !== null) throw this.failure;
  }

  /** Once every file of the group is finishing: all rows in COPY; throws COPY's or the thread's error. */
  async written(): Promise<void> {
    while (this.settled < this.sent && this.failure === null) await this.change();
    if (this.failure !== null) throw this.failure;
  }

  close(): void {
    this.closed = true;
  }

  private fail(error: unknown): void {
    this.failure ??= error;
    this.poke();
  }

  private change(): Promise<void> {
    return new Promise<void>((resolve) => (this.wake = resolve));
  }

  private poke(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}
