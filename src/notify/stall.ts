/**
 * Stall detection: emits `stalled` (a conversion-log line, a metric, a notification) when a finished
 * file has not been claimed within `notify.stalled_after_minutes`, or files wait while nothing has
 * loaded for that long. Once per episode: it is said again only after a load (or an empty backlog)
 * ended the stall.
 */
import type { LoadbayEvents } from '../events.js';
import type { Logger } from '../log.js';

export class StallWatch {
  private readonly discovered = new Map<string, number>();
  private lastLoadAt = Date.now();
  private stalled = false;
  private readonly timer: NodeJS.Timeout;
  private readonly unsubscribe: Array<() => void>;

  constructor(
    events: LoadbayEvents,
    private readonly log: Logger,
    private readonly afterMs: number,
    private readonly backlogFiles: () => number,
  ) {
    this.unsubscribe = [
      events.on('discovered', (f) => void (this.discovered.has(f.file) || this.discovered.set(f.file, Date.now()))),
      events.on('claimed', (f) => void this.discovered.delete(f.file)),
      events.on('vanished', (f) => void this.discovered.delete(String(f.file))),
      events.on('loaded', () => {
        this.lastLoadAt = Date.now();
        this.stalled = false;
      }),
    ];
    this.timer = setInterval(() => this.check(), Math.max(200, Math.min(30_000, afterMs / 2)));
    this.timer.unref();
  }

  check(): void {
    const now = Date.now();
    const waiting = this.backlogFiles();
    if (waiting === 0 && this.discovered.size === 0) {
      this.stalled = false;
      return;
    }
    if (this.stalled) return;
    const [oldestFile, oldestAt] = [...this.discovered].reduce<[string | null, number]>((o, [f, t]) => (t < o[1] ? [f, t] : o), [null, Infinity]);
    const minutes = (ms: number) => Math.round(ms / 6000) / 10;
    if (oldestFile !== null && now - oldestAt > this.afterMs) {
      this.stalled = true;
      this.log.event('stalled', {
        file: oldestFile,
        reason: `${this.discovered.size} finished file(s) not claimed; the oldest for ${minutes(now - oldestAt)} min`,
        waiting: this.discovered.size,
      });
    } else if (waiting > 0 && now - this.lastLoadAt > this.afterMs) {
      this.stalled = true;
      this.log.event('stalled', {
        ...(oldestFile !== null ? { file: oldestFile } : {}),
        reason: `${waiting} file(s) waiting and nothing loaded for ${minutes(now - this.lastLoadAt)} min`,
        waiting,
      });
    }
  }

  close(): void {
    clearInterval(this.timer);
    for (const off of this.unsubscribe) off();
  }
}
