/**
 * Buffers given back after use, handed out again: a new buffer per file or batch outlived the young
 * generation while in use and waited for a full collection, which in a burst of small files held
 * tens of MB (BENCHMARKS.md, "Memory of the small-file bursts"). At most `maxCount` buffers and
 * `maxBytes` in all are kept, so a big file's buffers do not stay after it.
 */
/** What a pool keeps at most, by default: buffers, and bytes in all. */
export const MAX_SPARES = 8;
export const MAX_SPARE_BYTES = 8 * 1024 * 1024;

export class SparePool<T extends { readonly byteLength: number }> {
  private readonly free: T[] = [];
  private freeBytes = 0;

  constructor(
    /** A new buffer of at least `bytes`, when none kept fits. */
    private readonly make: (bytes: number) => T,
    private readonly maxCount = MAX_SPARES,
    private readonly maxBytes = MAX_SPARE_BYTES,
  ) {}

  /**
   * The smallest kept buffer of at least `size` bytes, or a new one a quarter larger (so that the
   * next file or batch, a little larger, fits too); the caller's alone until given back.
   */
  take(size: number): T {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const length = this.free[i]!.byteLength;
      if (length >= size && (best < 0 || length < this.free[best]!.byteLength)) best = i;
    }
    if (best < 0) return this.make(Math.ceil(size * 1.25));
    const [buffer] = this.free.splice(best, 1);
    this.freeBytes -= buffer!.byteLength;
    return buffer!;
  }

  /** Back for another use: the caller no longer reads or writes it. Dropped beyond the caps. */
  give(buffer: T): void {
    if (this.free.length >= this.maxCount || this.freeBytes + buffer.byteLength > this.maxBytes) return;
    this.free.push(buffer);
    this.freeBytes += buffer.byteLength;
  }

  /** Buffers kept. */
  get kept(): number {
    return this.free.length;
  }
}
