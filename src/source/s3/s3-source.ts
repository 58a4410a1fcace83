/**
 * A prefix in object storage as a source (docs/object-storage.md).
 *
 * - Discovery: listing passes (discovery.ts), incremental from the position saved in the ledger or
 *   full every `s3.full_listing_minutes`, one after another every `processing.rescan_interval_ms`;
 *   a page is pulled only while the queue has room for this source, so millions of keys cost one
 *   page of memory. The position moves past a key once its outcome is durable (`settled`). Event
 *   notifications (an SQS queue, or POSTs to /hooks/s3) are hints that make an object visible at
 *   once; the listing still finds everything.
 * - An object is complete once listed (a PUT is atomic): no stability window.
 * - Identity: `s3://bucket/key` (the ledger's path and the claim lock's key), its ETag (`version`)
 *   or version id, and size; "still as seen" is a HeadObject.
 * - Bytes: GetObject with If-Match, resumed with a range after a dropped connection (read.ts).
 * - Settling: archive and quarantine are copy-then-delete to a bucket or a local folder
 *   (source/transfer.ts); the report is written beside the quarantined object first.
 */
import path from 'node:path';
import type pg from 'pg';
import type { Config, Dataset } from '../../config/types.js';
import { DataError, errorMessage } from '../../errors.js';
import { backoffDelay } from '../../lib/sleep.js';
import type { Logger } from '../../log.js';
import { archive, quarantine } from '../../outcome/settle.js';
import { isIgnoredName } from '../folder/watcher.js';
import { ledgerPath, type Places } from '../places.js';
import type { Archived, Arrival, ArrivalState, ByteInput, InputSource, QuarantineDetails, SourceHandlers } from '../source.js';
import type { Item } from '../transfer.js';
import type { S3Connection } from './client.js';
import { readListingPosition, S3Discovery } from './discovery.js';
import { resubmittedSince } from '../../db/quarantine.js';
import { HintQueue } from './hint-queue.js';
import { hintsFor, pollSqs, type ObjectHint } from './hints.js';
import { headObject, identityOfListed, objectUrl, type ObjectIdentity } from './identity.js';
import { relativeKey, type S3Location } from './location.js';
import { openObject } from './read.js';
import { SourceReplacedError } from './settle.js';

/** How soon after an object settles the listing position is saved (one write for many objects). */
const FLUSH_DELAY_MS = 200;

export interface S3SourceOptions {
  config: Config;
  log: Logger;
  places: Places;
  location: S3Location;
  /** The ledger (the listing position is kept there). */
  pool: pg.Pool;
  /** Aborts when the daemon stops. */
  signal: AbortSignal;
}

export class S3Source implements InputSource {
  readonly name: string;
  readonly versionedReads = true;
  readonly location: S3Location;
  private readonly s3: S3Connection;
  private readonly discovery: S3Discovery;
  private readonly stopping = new AbortController();
  private ready: (arrival: Arrival) => void = () => undefined;
  private inHand: (id: string) => boolean = () => false;
  private room: () => Promise<void> = () => Promise.resolve();
  private loop: Promise<void> | null = null;
  private sqs: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private fullWanted = false;
  /** When a listing request began that has not answered yet (null: none in flight). */
  private listingSince: number | null = null;
  private lastPassAt = 0;
  /** Why the last pass failed, until one succeeds. */
  private listingError: string | null = null;
  private closed = false;
  private flushTimer: NodeJS.Timeout | null = null;
  /** Resubmissions into this prefix looked at up to here (null: not yet: from the last full listing). */
  private resubmittedSince: Date | null = null;
  /** Objects named by event notifications, looked at one at a time as the queue has room. */
  private readonly hints = new HintQueue((hint) => this.lookAtHinted(hint));
  /** Hints were dropped since the queue of hints was last empty (said once per flood). */
  private droppingHints = false;
  /** Resolves once the source stops (a wait for room ends then too). */
  private readonly stopped = new Promise<void>((resolve) => this.stopping.signal.addEventListener('abort', () => resolve(), { once: true }));

  constructor(private readonly options: S3SourceOptions) {
    this.location = options.location;
    this.name = options.location.url;
    if (!options.places.s3) throw new Error(`${this.name}: no connection to object storage`);
    this.s3 = options.places.s3;
    this.discovery = new S3Discovery(this.s3, this.location, { db: options.pool });
    options.signal.addEventListener('abort', () => this.stopping.abort(), { once: true });
  }

  /** The arrival of an object as listed or as a HeadObject found it. */
  arrivalOf(identity: ObjectIdentity): Arrival {
    return {
      source: this,
      id: objectUrl(identity),
      relative: relativeKey(this.location, identity.key),
      size: identity.size,
      mtimeMs: identity.lastModifiedMs,
      version: identity.etag,
      versionId: identity.versionId,
    };
  }

  async start({ ready, inHand, room }: SourceHandlers): Promise<void> {
    this.ready = ready;
    this.inHand = inHand;
    if (room) this.room = room;
    // In the background: a first full listing of a large prefix must not hold up the start.
    this.loop = this.run();
    const queueUrl = this.s3.settings.sqsQueueUrl;
    if (queueUrl) {
      this.sqs = pollSqs({
        settings: this.s3.settings,
        queueUrl,
        onHints: (hints) => this.hint(hints, 'sqs'),
        signal: this.stopping.signal,
        metrics: this.s3.metrics,
        warn: (message) => this.options.log.warn(message),
      });
    }
  }

  private async run(): Promise<void> {
    const { config, log } = this.options;
    let failures = 0;
    while (!this.closed) {
      const full = this.fullWanted;
      this.fullWanted = false;
      try {
        await this.pass(full);
        if (this.listingError) log.info(`listing ${this.name}: works again`);
        this.listingError = null;
        failures = 0;
      } catch (error) {
        this.listingSince = null;
        if (this.closed) break;
        failures++;
        const reason = errorMessage(error);
        // Said once per cause, not once per attempt: a bucket that stays wrong is in /readyz.
        if (reason !== this.listingError) log.warn(`listing ${this.name}: ${reason}; listed again after a backoff`);
        this.listingError = reason;
        await this.idle(backoffDelay(failures, 1000, Math.max(1000, config.processing.rescanIntervalMs)));
        continue;
      }
      await this.idle(config.processing.rescanIntervalMs);
    }
  }

  /** Waits `ms`, or less if asked to look now (rescan) or stopped. */
  private idle(ms: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.stopping.signal.removeEventListener('abort', done);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
      this.stopping.signal.addEventListener('abort', done, { once: true });
    });
  }

  /** One listing pass: each object not in hand is handed over; the next page waits for room. */
  private async pass(full: boolean): Promise<void> {
    await this.lookAtResubmitted();
    const pages = this.discovery.pass({ full, signal: this.stopping.signal });
    for (;;) {
      this.listingSince = Date.now();
      const next = await pages.next();
      this.listingSince = null;
      if (next.done) break;
      for (const object of next.value) {
        const arrival = this.arrivalOf(identityOfListed(this.location, object));
        if (isIgnoredName(arrival.relative)) {
          this.discovery.done(object.key); // never loaded: the position may move past it
          continue;
        }
        if (!this.inHand(arrival.id)) this.ready(arrival);
      }
      await this.room();
      if (this.closed) {
        await pages.return();
        return;
      }
    }
    this.lastPassAt = Date.now();
  }

  /**
   * Files sent back into this prefix (retried, fixed) since the last look: their keys may sort
   * before the saved position, where an incremental pass does not look.
   */
  private async lookAtResubmitted(): Promise<void> {
    this.resubmittedSince ??= (await readListingPosition(this.options.pool, this.name)).fullListingAt ?? new Date(0);
    for (const { input, at } of await resubmittedSince(this.options.pool, this.name, this.resubmittedSince)) {
      this.resubmittedSince = at;
      if (!this.inHand(input)) await this.lookAt(input.slice(`s3://${this.location.bucket}/`.length));
    }
  }

  /**
   * Event notifications: each object under this prefix looked at (HeadObject) as soon as the queue
   * has room for it, not at the next listing. At most MAX_PENDING_HINTS wait; the rest are dropped
   * (counted, and said once per flood): the listing finds them. Resolves once the hints kept were
   * looked at (an SQS message is deleted after).
   */
  async hint(hints: ObjectHint[], via: 'sqs' | 'http'): Promise<void> {
    if (this.closed) return;
    const mine = hintsFor(this.location, hints).filter((hint) => !isIgnoredName(relativeKey(this.location, hint.key)));
    if (mine.length === 0) return;
    if (this.hints.size === 0) this.droppingHints = false;
    const { dropped, done } = this.hints.offer(mine);
    if (dropped > 0) {
      this.s3.metrics.droppedHints.inc({ via }, dropped);
      if (!this.droppingHints) {
        this.options.log.warn(`event notifications for ${this.name}: ${dropped} objects dropped, ${this.hints.size} are waiting to be looked at already; the next listing finds them`);
      }
      this.droppingHints = true;
    }
    await done;
  }

  /** A hinted object not in hand, looked at once the queue has room for it. */
  private async lookAtHinted(hint: ObjectHint): Promise<void> {
    const id = objectUrl(hint);
    if (this.closed || this.inHand(id)) return;
    await Promise.race([this.room(), this.stopped]);
    if (this.closed || this.inHand(id)) return;
    await this.lookAt(hint.key);
  }

  private async lookAt(key: string): Promise<void> {
    try {
      const head = await headObject(this.s3, this.location.bucket, key, this.stopping.signal);
      if (head && !this.closed) this.ready(this.arrivalOf(head));
    } catch (error) {
      // Listed again by the next pass.
      if (!this.closed) this.options.log.warn(`looking at ${objectUrl({ bucket: this.location.bucket, key })}: ${errorMessage(error)}`);
    }
  }

  async rescan(): Promise<void> {
    this.fullWanted = true;
    this.wake?.();
  }

  lookAgain(relative: string): void {
    void this.lookAt(this.location.prefix + relative);
  }

  settled(arrival: Arrival): void {
    this.discovery.done(this.location.prefix + arrival.relative);
    // Saved soon, once for many: a pass that ends or starts anew must not lose what was done.
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = null;
      void this.discovery.flush().catch((error: unknown) => this.options.log.warn(`saving the listing position of ${this.name}: ${errorMessage(error)}`));
    }, FLUSH_DELAY_MS);
  }

  async state(arrival: Arrival): Promise<ArrivalState> {
    const head = await headObject(this.s3, this.location.bucket, this.location.prefix + arrival.relative, this.stopping.signal);
    if (!head) return 'gone';
    const same = head.size === arrival.size && (arrival.versionId && head.versionId ? head.versionId === arrival.versionId : head.etag === arrival.version);
    return same ? 'same' : 'changed';
  }

  refusal(): DataError | null {
    return null;
  }

  open(arrival: Arrival): ByteInput {
    const identity = this.identityOf(arrival);
    const { log } = this.options;
    return {
      name: path.posix.basename(identity.key),
      size: arrival.size,
      stream: () =>
        openObject(this.s3, identity, {
          signal: this.stopping.signal,
          onResume: (offset, error) => log.debug(`reading ${arrival.id}: resumed at byte ${offset} after ${errorMessage(error)}`),
        }),
    };
  }

  async archive(arrival: Arrival, dataset: Dataset, sync: boolean): Promise<Archived> {
    try {
      const moved = await archive(this.options.places, this.options.config, dataset, this.itemOf(arrival), arrival.relative, sync);
      return { archived: moved?.where ?? null, changed: null, folder: moved?.folder ?? null };
    } catch (error) {
      if (!(error instanceof SourceReplacedError)) throw error;
      // The loaded version is gone; the new one is a new arrival, loaded on its own.
      this.options.log.info(`${error.message}`);
      return { archived: null, changed: null, folder: null };
    }
  }

  async quarantine(arrival: Arrival, dataset: string | null, error: DataError, details: QuarantineDetails, beforeMove?: (report: unknown) => Promise<void>): Promise<string> {
    const { path: quarantined } = await quarantine(this.options, dataset, this.itemOf(arrival), arrival.relative, error, details, beforeMove);
    return ledgerPath(this.options.places, quarantined);
  }

  watchArchived(): void {
    // An object is written whole: nothing goes on being written into an archived copy.
  }

  health(): { lastRescanAt: number; closed: boolean } {
    // Alive unless a listing request hangs (requests have timeouts): waiting for room or for the
    // next pass, or backing off from a failing bucket (/readyz says so), is not being stuck.
    return { lastRescanAt: this.listingSince ?? Date.now(), closed: this.closed };
  }

  /** For status: when the last pass ended, why listing fails (if it does), keys listed and not yet done. */
  listingState(): { lastPassAt: number; error: string | null; outstanding: number } {
    return { lastPassAt: this.lastPassAt, error: this.listingError, outstanding: this.discovery.outstanding };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.stopping.abort();
    this.hints.close();
    this.wake?.();
    await this.loop?.catch(() => undefined);
    await this.sqs?.catch(() => undefined);
    await this.discovery.flush().catch(() => undefined);
  }

  private identityOf(arrival: Arrival): ObjectIdentity {
    return {
      bucket: this.location.bucket,
      key: this.location.prefix + arrival.relative,
      versionId: arrival.versionId ?? null,
      etag: arrival.version ?? '',
      size: arrival.size,
      lastModifiedMs: arrival.mtimeMs,
    };
  }

  private itemOf(arrival: Arrival): Item {
    return { where: arrival.id, size: arrival.size, mtimeMs: arrival.mtimeMs, etag: arrival.version ?? null, versionId: arrival.versionId ?? null };
  }
}
