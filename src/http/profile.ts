/**
 * `GET /api/datasets/<name>/profile`: a dataset's column profiles (db/profile.ts), cached. The first
 * request computes one; after that a load of the dataset marks it stale and it is computed again in
 * the background — a little after the last load of a burst, at most every `minIntervalMs` — one
 * table at a time, on the console's own read-only connections (their statement and lock timeouts:
 * a profile gives up rather than make a load wait). Pages are told by a `profile` event.
 */
import type pg from 'pg';
import type { Config } from '../config/types.js';
import { profileTable, type TableProfile } from '../db/profile.js';
import { errorMessage } from '../errors.js';
import type { LoadbayEvents } from '../events.js';
import type { LiveEvents } from './live.js';

export interface ProfileOptions {
  /** Quiet time after a load before the profile is computed again. */
  settleMs: number;
  /** At most one computation of a dataset's profile per this long. */
  minIntervalMs: number;
}

const ERROR_KEPT_MS = 3000;

export const DEFAULT_PROFILE: ProfileOptions = { settleMs: 1500, minIntervalMs: 10_000 };

interface Entry {
  profile: TableProfile | null;
  computedAt: Date | null;
  tookMs: number | null;
  error: string | null;
  stale: boolean;
}

export interface ProfileReply {
  dataset: string;
  table: string;
  computed_at: string | null;
  took_ms: number | null;
  /** Loads happened since; a new profile is on its way. */
  stale: boolean;
  error: string | null;
  profile: TableProfile | null;
}

export class Profiles {
  private readonly cache = new Map<string, Entry>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly running = new Map<string, Promise<void>>();
  private chain: Promise<void> = Promise.resolve();
  private readonly off: () => void;
  private closed = false;

  constructor(
    private readonly db: pg.Pool,
    private readonly config: () => Config,
    events: LoadbayEvents,
    private readonly live: LiveEvents,
    private readonly options: ProfileOptions = DEFAULT_PROFILE,
  ) {
    this.off = events.on('loaded', (fields) => {
      const { dataset } = fields as { dataset?: unknown };
      if (typeof dataset === 'string') this.loaded(dataset);
    });
  }

  /** The cached profile, computing it first when there is none. */
  async get(name: string): Promise<ProfileReply | null> {
    const dataset = this.config().datasets.find((d) => d.name === name);
    if (!dataset) return null;
    const cached = this.cache.get(name);
    // An error (a lock, a timeout, no table yet) is not kept for long: the next look tries again.
    if (!cached || (cached.error !== null && Date.now() - (cached.computedAt?.getTime() ?? 0) > ERROR_KEPT_MS)) await this.compute(name);
    const entry = this.cache.get(name)!;
    return {
      dataset: name,
      table: `${dataset.table.schema}.${dataset.table.name}`,
      computed_at: entry.computedAt?.toISOString() ?? null,
      took_ms: entry.tookMs,
      stale: entry.stale,
      error: entry.error,
      profile: entry.profile,
    };
  }

  private loaded(name: string): void {
    const entry = this.cache.get(name);
    if (!entry || this.closed) return; // never looked at: computed when it is
    entry.stale = true;
    if (this.timers.has(name)) return;
    const since = entry.computedAt ? Date.now() - entry.computedAt.getTime() : Infinity;
    const delay = Math.max(this.options.settleMs, this.options.minIntervalMs - since);
    const timer = setTimeout(() => {
      this.timers.delete(name);
      void this.compute(name);
    }, delay);
    timer.unref();
    this.timers.set(name, timer);
  }

  /** One computation per dataset at a time, one table at a time. */
  private compute(name: string): Promise<void> {
    const running = this.running.get(name);
    if (running) return running;
    const next = this.chain.then(() => this.run(name)).finally(() => this.running.delete(name));
    this.chain = next.catch(() => undefined);
    this.running.set(name, next);
    return next;
  }

  private async run(name: string): Promise<void> {
    const dataset = this.config().datasets.find((d) => d.name === name);
    if (!dataset || this.closed) return;
    const entry: Entry = this.cache.get(name) ?? { profile: null, computedAt: null, tookMs: null, error: null, stale: false };
    entry.stale = false;
    const started = Date.now();
    try {
      entry.profile = await profileTable(this.db, dataset.table.schema, dataset.table.name);
      entry.error = entry.profile ? null : 'the table does not exist yet: it is created by the first load';
    } catch (error) {
      const code = (error as { code?: string }).code;
      entry.error =
        code === '57014'
          ? 'the profile took longer than the console allows (statement_timeout): try again later'
          : code === '55P03'
            ? 'the table is locked (a load or a migration): the profile is computed again after the next load'
            : `could not profile the table: ${errorMessage(error)}`;
    }
    entry.computedAt = new Date();
    entry.tookMs = Date.now() - started;
    this.cache.set(name, entry);
    this.live.publish({ event: 'profile', at: entry.computedAt.toISOString(), file: null, file_id: null, dataset: name });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.off();
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    await this.chain;
  }
}
