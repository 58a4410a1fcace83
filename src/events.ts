/**
 * The daemon's event stream: every outcome and state change as a typed event, the one surface that
 * the conversion log, the console, the metrics, notifications and the tests subscribe to. After
 * graphile-worker's WorkerEventMap: listeners are called through `safeEmit`, so a listener that
 * throws is reported and can never break the loop that emitted.
 */
import { EventEmitter } from 'node:events';

/** Fields every file event carries (the conversion log's fields; docs/operations.md, Logs). */
export interface FileEventFields {
  file?: string;
  file_id?: string | null;
  dataset?: string | null;
  attempt?: number;
  reason?: string;
  [field: string]: unknown;
}

/** The event names, each with the fields its conversion-log line has. */
export interface LoadbayEventMap {
  /** A file in input/ stood still for the stability window and was queued. */
  discovered: FileEventFields & { file: string; bytes: number };
  /** A worker took the file (advisory lock and ledger row). */
  claimed: FileEventFields & { file: string; file_id: string; attempt: number };
  loaded: FileEventFields;
  failed: FileEventFields;
  skipped: FileEventFields;
  retrying: FileEventFields;
  held: FileEventFields;
  waiting: FileEventFields;
  retried: FileEventFields;
  exported: FileEventFields;
  export_failed: FileEventFields;
  vanished: FileEventFields;
  /** Files wait while nothing loads, or a finished file is not claimed in time (notifications). */
  stalled: FileEventFields;
  /** Something in input/ that is not a regular file (a FIFO, a socket, a device): left alone, said once. */
  ignored: FileEventFields & { file: string; reason: string };
}

export type LoadbayEventName = keyof LoadbayEventMap;

/** Events that are one line of logs/conversion.log each. */
export const LOGGED_EVENTS: ReadonlySet<LoadbayEventName> = new Set<LoadbayEventName>([
  'loaded',
  'failed',
  'skipped',
  'retrying',
  'held',
  'waiting',
  'retried',
  'exported',
  'export_failed',
  'vanished',
  'stalled',
  'ignored',
]);

export class LoadbayEvents {
  private readonly emitter = new EventEmitter();

  constructor(private readonly onListenerError: (event: string, error: unknown) => void = () => undefined) {
    this.emitter.setMaxListeners(50);
    this.emitter.on('error', (error: unknown) => this.onListenerError('error', error));
  }

  on<E extends LoadbayEventName>(event: E, listener: (fields: LoadbayEventMap[E], event: E) => void): () => void {
    const wrapped = (fields: LoadbayEventMap[E]) => listener(fields, event);
    this.emitter.on(event, wrapped);
    return () => this.emitter.off(event, wrapped);
  }

  /** Every event, with its name. */
  onAny(listener: <E extends LoadbayEventName>(event: E, fields: LoadbayEventMap[E]) => void): () => void {
    const wrapped = (event: LoadbayEventName, fields: LoadbayEventMap[LoadbayEventName]) => listener(event, fields);
    this.emitter.on('*', wrapped);
    return () => this.emitter.off('*', wrapped);
  }

  /** Resolves with the next event of that name for which `match` holds (tests, scripts). */
  next<E extends LoadbayEventName>(event: E, match: (fields: LoadbayEventMap[E]) => boolean = () => true): Promise<LoadbayEventMap[E]> {
    return new Promise((resolve) => {
      const off = this.on(event, (fields) => {
        if (!match(fields)) return;
        off();
        resolve(fields);
      });
    });
  }

  /** Calls every listener; one that throws is reported, the others still run, the caller goes on. */
  safeEmit<E extends LoadbayEventName>(event: E, fields: LoadbayEventMap[E]): void {
    for (const [name, args] of [
      [event, [fields]],
      ['*', [event, fields]],
    ] as const) {
      for (const listener of this.emitter.listeners(name)) {
        try {
          (listener as (...a: unknown[]) => void)(...args);
        } catch (error) {
          this.onListenerError(event, error);
        }
      }
    }
  }
}
