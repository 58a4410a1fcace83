/**
 * Every resource (database, embedded server, watcher, log files) registers how to release it;
 * `release()` runs them newest first, runs all of them even when one fails, and rethrows the first
 * error. Calling it twice returns the same promise. After graphile-worker's `withReleasers`.
 */
export class Releasers {
  private readonly releasers: Array<{ name: string; release: () => Promise<void> | void }> = [];
  private releasing: Promise<void> | null = null;

  add(name: string, release: () => Promise<void> | void): void {
    if (this.releasing) throw new Error(`cannot register ${name}: already releasing`);
    this.releasers.push({ name, release });
  }

  release(): Promise<void> {
    this.releasing ??= (async () => {
      let firstError: unknown = null;
      for (const { name, release } of [...this.releasers].reverse()) {
        try {
          await release();
        } catch (error) {
          firstError ??= new Error(`releasing ${name}: ${(error as Error)?.message ?? String(error)}`);
        }
      }
      if (firstError) throw firstError;
    })();
    return this.releasing;
  }
}
