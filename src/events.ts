/**
 * The daemon's event stream: every outcome and state change as a typed event, the one surface that
 * the conversion log, the console, the metrics, notifications and the tests subscribe to. After
 * graphile-worker's WorkerEventMap: listeners are called through `safeEmit`, so a listener that
 * throws is reported and can never break the loop that emitted.
 */
import { EventEmitter } from 'node:events';
import type { Problem, Stage } from './errors.js';

/** What every event about one file carries: the conversion log's common fields (docs/operations.md, Logs). */
export interface FileRef {
  /** The file's path inside input/ (its key inside an input prefix). */
  file: string;
  /** Which input, when not the first local folder: its s3:// prefix, or its folder (relative to the root). */
  input?: string;
  /** The ledger id; null before the file was claimed. */
  file_id: string | null;
  /** Attempts so far (claims of this arrival). */
  attempt?: number;
}

/** Rows prepare steps dropped. */
export interface Dropped {
  null_rows: number;
  duplicate_rows: number;
}

/** Seconds per stage of a load. */
export interface StageSeconds {
  /** Reading, preparing, validating and sending the rows (COPY and Parquet run alongside). */
  read_validate: number;
  /** Waiting for COPY to end and the after-load SQL and checks. */
  copy: number;
  /** Waiting for the Parquet file to be finished. */
  parquet: number;
  /** Ledger update and COMMIT. */
  commit: number;
}

export interface LoadedEvent extends FileRef {
  file_id: string;
  dataset: string;
  rows: number;
  /** Bytes read (absent for a recovered load: nothing was read). */
  bytes?: number;
  /** What the reader says about how it read the file (e.g. an unterminated array completed). */
  read?: Record<string, unknown>;
  duration_ms: number;
  /** The Parquet file, relative to the project root. */
  parquet: string | null;
  table?: string;
  /** The table mode, unless append. */
  mode?: 'replace' | 'upsert';
  dropped?: Dropped;
  /** Rows set aside under `on_invalid_row: skip_row`, and the file they went to. */
  rejected?: number;
  rejects?: string;
  /** on_duplicate: load — the earlier load of the same content, loaded again on purpose. */
  duplicate_of?: string;
  /** The file grew after it was read: a `failed` event at stage settle follows. */
  changed_after_read?: true;
  /** How many files shared the transaction, when more than one. */
  group?: number;
  stage_seconds?: StageSeconds;
  /** A crash came between the commit and the move; this attempt only moved the file. */
  recovered?: true;
}

export interface SkippedEvent extends FileRef {
  file_id: string;
  dataset: string;
  reason: string;
  duplicate_of: string;
  bytes: number;
  duration_ms: number;
}

export interface FailedEvent extends FileRef {
  dataset: string | null;
  stage: Stage;
  reason: string;
  problem_count: number;
  problems?: Problem[];
  read?: Record<string, unknown>;
  /** The quarantined file, relative to the project root. */
  quarantined_as: string;
  duration_ms?: number;
}

/** The file's content is already in the load unit it was part of: it comes again alone. */
export interface DeferredEvent extends FileRef {
  file_id: string;
  dataset: string;
  reason: string;
}

/** An infrastructure error (`retrying`) or one someone must fix (`held`): the file stays where it is. */
export interface RetryEvent extends FileRef {
  attempt: number;
  reason: string;
  next_delay_ms: number;
}

export interface VanishedEvent extends FileRef {
  reason: string;
}

export interface DiscoveredEvent {
  file: string;
  bytes: number;
}

export interface ClaimedEvent extends FileRef {
  file_id: string;
  attempt: number;
}

/** The database is unreachable at start-up. */
export interface WaitingEvent {
  reason: string;
  attempt: number;
  next_delay_ms: number;
}

/** `loadbay failed retry` moved a quarantined file back into input/. */
export interface RetriedEvent {
  file: string;
  dataset: string | null;
  file_id: string | null;
  /** Where it was, inside output_failed/. */
  from: string;
  /** Where its old report was kept. */
  report: string;
}

/** The load an export follows. */
export interface ExportCauseFields {
  dataset: string;
  file: string;
  file_id: string;
  after_files?: string[];
  after_file_ids?: string[];
  to: string;
  sql: string;
}

export interface ExportedEvent extends ExportCauseFields {
  rows: number;
  duration_ms: number;
}

export interface ExportFailedEvent extends ExportCauseFields {
  reason: string;
}

/** Something in input/ that is not a regular file or folder: reported once, left where it is. */
export interface IgnoredEvent {
  file: string;
  reason: string;
}

/** A dataset's table is locked by another session: its files wait without a worker (work/gate.ts). */
export interface DatasetWaitingEvent {
  dataset: string;
  table: string;
  reason: string;
  attempt: number;
  next_delay_ms: number;
  /** How long the dataset has been waiting so far. */
  waiting_ms: number;
}

export interface DatasetResumedEvent {
  dataset: string;
  waited_ms: number;
}

export interface StalledEvent {
  file?: string;
  reason: string;
  waiting: number;
}

type AnyEvent = LoadbayEventMap[keyof LoadbayEventMap];
type KeysOf<T> = T extends unknown ? keyof T : never;
type ValueOf<T, K extends PropertyKey> = T extends unknown ? (K extends keyof T ? T[K] : never) : never;

/**
 * The fields of any event, each optional: for a listener of several events (the console's recent
 * list, the metrics, notifications) that reads what the event at hand has.
 */
export type FileEventFields = { [K in KeysOf<AnyEvent>]?: ValueOf<AnyEvent, K> } & { held_for_minutes?: number };

/** Every event with its payload type (after graphile-worker's WorkerEventMap). */
export interface LoadbayEventMap {
  /** A file in input/ stood still for the stability window and was queued. */
  discovered: DiscoveredEvent;
  /** A worker took the file (advisory lock and ledger row). */
  claimed: ClaimedEvent;
  loaded: LoadedEvent;
  failed: FailedEvent;
  skipped: SkippedEvent;
  deferred: DeferredEvent;
  retrying: RetryEvent;
  held: RetryEvent;
  waiting: WaitingEvent;
  retried: RetriedEvent;
  exported: ExportedEvent;
  export_failed: ExportFailedEvent;
  vanished: VanishedEvent;
  /** Files wait while nothing loads, or a finished file is not claimed in time (notifications). */
  stalled: StalledEvent;
  dataset_waiting: DatasetWaitingEvent;
  dataset_resumed: DatasetResumedEvent;
  /** Something in input/ that is not a regular file (a FIFO, a socket, a device): left alone, said once. */
  ignored: IgnoredEvent;
}

export type LoadbayEventName = keyof LoadbayEventMap;

/** Events that are one line of logs/conversion.log each. */
export const LOGGED_EVENTS: ReadonlySet<LoadbayEventName> = new Set<LoadbayEventName>([
  'loaded',
  'failed',
  'skipped',
  'deferred',
  'retrying',
  'held',
  'waiting',
  'retried',
  'exported',
  'export_failed',
  'vanished',
  'stalled',
  'dataset_waiting',
  'dataset_resumed',
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
