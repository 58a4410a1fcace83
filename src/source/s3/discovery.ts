/**
 * Discovery of the objects waiting under an input prefix.
 *
 * A pass lists pages (listing.ts) either from the position saved in the ledger (`incremental`: keys
 * that arrive in lexical order are found without re-listing what came before) or from the start
 * (`full`, the safety net for keys that arrive out of order, due every `s3.full_listing_minutes`
 * across restarts and instances). The position only moves past keys whose outcome is durable: the
 * consumer calls `done(key)` for each listed object once it is settled (or known to be loaded), and
 * the position becomes the highest key before which every listed key is done. A crash loses no
 * object: after a restart the listing resumes at the last saved position and finds again what was
 * in hand. Several instances share the position; it only ever moves forward.
 *
 * loadbay moves every object it settles out of the prefix, so the prefix usually holds only the
 * backlog: while the last full listing took at most `SMALL_PREFIX_PAGES` pages, every pass is a full
 * one (a few requests), and objects with any names are found at the next pass. Past that, passes
 * are incremental, and keys that arrive out of order wait for the next full listing (or a hint).
 */
import type pg from 'pg';
import { LEDGER_SCHEMA } from '../../db/ledger.js';
import type { S3Connection } from './client.js';
import { compareKeys, listPages, type ListedObject, type ListingKind } from './listing.js';
import type { S3Location } from './location.js';

const LISTINGS = `${LEDGER_SCHEMA}.s3_listings`;

/** A full listing of at most this many pages makes the next pass a full one too. */
export const SMALL_PREFIX_PAGES = 10;

type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

export interface ListingPosition {
  startAfter: string | null;
  fullListingAt: Date | null;
}

export async function readListingPosition(db: Queryable, source: string): Promise<ListingPosition> {
  const { rows } = await db.query<{ start_after: string | null; full_listing_at: Date | null }>(
    `SELECT start_after, full_listing_at FROM ${LISTINGS} WHERE source = $1`,
    [source],
  );
  return { startAfter: rows[0]?.start_after ?? null, fullListingAt: rows[0]?.full_listing_at ?? null };
}

/** Moves the position forward (never back: another instance may be ahead). */
export async function saveListingPosition(db: Queryable, source: string, startAfter: string): Promise<void> {
  await db.query(
    `INSERT INTO ${LISTINGS} AS l (source, start_after) VALUES ($1, $2)
     ON CONFLICT (source) DO UPDATE
        SET start_after = CASE WHEN l.start_after IS NULL OR EXCLUDED.start_after > l.start_after THEN EXCLUDED.start_after ELSE l.start_after END,
            updated_at = now()`,
    [source, startAfter],
  );
}

/** A full listing finished at `at` (this instance's clock, the one it schedules by). */
export async function markFullListing(db: Queryable, source: string, at: Date): Promise<void> {
  await db.query(
    `INSERT INTO ${LISTINGS} AS l (source, full_listing_at) VALUES ($1, $2)
     ON CONFLICT (source) DO UPDATE SET full_listing_at = GREATEST(l.full_listing_at, EXCLUDED.full_listing_at), updated_at = now()`,
    [source, at],
  );
}

/**
 * The keys a pass handed out, in listing order, and which are done: `position` is the highest key
 * with every listed key up to it done. Holds only the keys from the first one not done onwards, and
 * at most `maxTracked` of them: an object held for hours at the start of a pass of millions would
 * otherwise keep every later key. Keys past the cap are not tracked, so the position stops before
 * them (safe: they are listed again by the next pass).
 */
export class ListingWatermark {
  private readonly pending = new Map<string, boolean>();
  private highest: string | null = null;
  private full = false;

  constructor(private readonly maxTracked = 100_000) {}

  listed(keys: string[]): void {
    for (const key of keys) {
      if (this.full || this.pending.size >= this.maxTracked) {
        this.full = true; // nothing after an untracked key may be tracked: the order must hold
        return;
      }
      if (!this.pending.has(key)) this.pending.set(key, false);
    }
  }

  /** True when the key was handed out by this pass and not done before. */
  done(key: string): boolean {
    if (this.pending.get(key) !== false) return false;
    this.pending.set(key, true);
    for (const [first, isDone] of this.pending) {
      if (!isDone) break;
      this.pending.delete(first);
      if (this.highest === null || compareKeys(first, this.highest) > 0) this.highest = first;
    }
    return true;
  }

  get position(): string | null {
    return this.highest;
  }

  /** Keys held (from the first not done onwards). */
  get tracked(): number {
    return this.pending.size;
  }

  /** Keys handed out and not yet done. */
  get outstanding(): number {
    let n = 0;
    for (const isDone of this.pending.values()) if (!isDone) n++;
    return n;
  }
}

export interface DiscoveryOptions {
  /** The ledger's pool (the position is kept there). */
  db: pg.Pool;
  /** Now, for the full-listing schedule (tests pass their own clock). */
  now?: () => number;
  /** A full listing of at most this many pages makes the next pass full too (default SMALL_PREFIX_PAGES; 0: never). */
  smallPrefixPages?: number;
}

/** Earlier passes' watermarks kept for their keys not yet done: at most this many, holding at most MAX_EARLIER_KEYS. */
const MAX_EARLIER = 16;
const MAX_EARLIER_KEYS = 100_000;

export class S3Discovery {
  private watermark = new ListingWatermark();
  /**
   * Earlier passes' watermarks while they have keys not done: a key a pass handed out that settles
   * after later passes began is in none of their watermarks (nor, moved away, in their listings),
   * and without its own pass's the position would stay before it. Oldest first, within
   * MAX_EARLIER and MAX_EARLIER_KEYS (one dropped only makes the position lag until a later pass's
   * keys are done past it).
   */
  private earlier: ListingWatermark[] = [];
  /**
   * The furthest position of the watermarks let go of: a watermark whose last key was done while a
   * pass began (between a flush and letting it go) takes its position with it otherwise, and no
   * later pass lists that key again.
   */
  private carried: string | null = null;
  private saved: string | null = null;
  /** Pages the last full listing of this process took (null: none yet). */
  private lastFullPages: number | null = null;
  private readonly now: () => number;

  constructor(
    private readonly s3: S3Connection,
    readonly location: S3Location,
    private readonly options: DiscoveryOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** Which pass is due: a full listing when none ran within `s3.full_listing_minutes` (by any instance). */
  async nextKind(): Promise<{ kind: ListingKind; startAfter: string | null }> {
    const position = await readListingPosition(this.options.db, this.location.url);
    this.saved = position.startAfter;
    const due = position.fullListingAt === null ? position.startAfter !== null : this.now() - position.fullListingAt.getTime() >= this.s3.settings.fullListingMs;
    // The first pass of all has no position: it is the full listing (and is recorded as one).
    const small = this.lastFullPages !== null && this.lastFullPages <= (this.options.smallPrefixPages ?? SMALL_PREFIX_PAGES);
    if (position.startAfter === null || due || small) return { kind: 'full', startAfter: null };
    return { kind: 'incremental', startAfter: position.startAfter };
  }

  /**
   * One pass: pages of objects, in key order, pulled one at a time (stop pulling to pause the
   * listing: nothing is read ahead). `full` forces a full listing.
   */
  async *pass(options: { full?: boolean; signal?: AbortSignal } = {}): AsyncGenerator<ListedObject[], void, undefined> {
    await this.flush(); // what the last pass saw done is saved before its watermark goes
    const planned = await this.nextKind();
    const kind: ListingKind = options.full ? 'full' : planned.kind;
    const earlier = this.keepOutstanding([...this.earlier, this.watermark]);
    while (earlier.length > MAX_EARLIER) this.letGo(earlier.shift()!);
    let keys = earlier.reduce((n, w) => n + w.tracked, 0);
    while (keys > MAX_EARLIER_KEYS && earlier.length > 1) {
      const oldest = earlier.shift()!;
      keys -= oldest.tracked;
      this.letGo(oldest);
    }
    this.earlier = earlier;
    this.watermark = new ListingWatermark();
    const watermark = this.watermark;
    const startAfter = kind === 'full' ? null : planned.startAfter;
    let pages = 0;
    for await (const page of listPages(this.s3, this.location, { startAfter, kind, ...(options.signal ? { signal: options.signal } : {}) })) {
      pages++;
      watermark.listed(page.map((o) => o.key));
      yield page;
      await this.flush();
    }
    if (kind === 'full' && !options.signal?.aborted) {
      this.lastFullPages = pages;
      await markFullListing(this.options.db, this.location.url, new Date(this.now()));
    }
    await this.flush();
  }

  /** The object's outcome is durable (or it was already loaded): the listing may move past it. */
  done(key: string): void {
    this.watermark.done(key);
    for (const watermark of this.earlier) watermark.done(key);
  }

  /**
   * Saves the position when it moved (after each page, at the end of a pass, on shutdown): the
   * furthest of this pass's and the earlier ones' — each is a key before which all its pass listed is done.
   */
  async flush(): Promise<void> {
    this.earlier = this.keepOutstanding(this.earlier);
    let position = this.carried;
    for (const watermark of [this.watermark, ...this.earlier]) position = furthest(position, watermark.position);
    if (position === null || (this.saved !== null && compareKeys(position, this.saved) <= 0)) return;
    await saveListingPosition(this.options.db, this.location.url, position);
    this.saved = position;
  }

  /** The watermarks with keys not done; the others are let go of, their positions carried. */
  private keepOutstanding(watermarks: ListingWatermark[]): ListingWatermark[] {
    const kept: ListingWatermark[] = [];
    for (const watermark of watermarks) {
      if (watermark.outstanding > 0) kept.push(watermark);
      else this.letGo(watermark);
    }
    return kept;
  }

  private letGo(watermark: ListingWatermark): void {
    this.carried = furthest(this.carried, watermark.position);
  }

  /** Keys of the current pass handed out and not done (the consumer's backlog from this pass). */
  get outstanding(): number {
    return this.watermark.outstanding;
  }
}

function furthest(a: string | null, b: string | null): string | null {
  return a === null || (b !== null && compareKeys(b, a) > 0) ? b : a;
}
