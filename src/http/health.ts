/**
 * Liveness and readiness, for /livez and /readyz and for loadbay itself: while not ready it stops
 * handing out files (the queue pauses) and goes on again when ready.
 * - live: the event loop turns (a timer that fires late by more than 10 s says it is stuck) and the
 *   watcher's periodic rescans still complete; no dependency is checked.
 * - ready: PostgreSQL answers, the ledger is migrated to this version, the watcher runs, every
 *   output folder has free space, and every bucket location answers a listing. A failing input
 *   bucket makes /readyz fail but does not pause the other inputs (its own listing just fails).
 */
import { statfs } from 'node:fs/promises';
import type pg from 'pg';
import { LEDGER_SCHEMA, MIGRATION_COUNT } from '../db/ledger.js';
import { errorMessage } from '../errors.js';

const READY_INTERVAL_MS = 5000;
const LAG_LIMIT_MS = 10_000;

export interface HealthSources {
  pool: pg.Pool;
  watcher: () => { lastRescanAt: number; closed: boolean };
  rescanIntervalMs: number;
  /** Output folders that must have room: parquet, failed, archive, logs. */
  folders: string[];
  minFreeBytes: number;
  /** Checks of the locations in object storage (source/sources.ts `bucketChecks`). */
  buckets?: () => Promise<Check[]>;
  onChange: (ready: boolean, reasons: string[]) => void;
}

export interface Check {
  name: string;
  ok: boolean;
  detail?: string;
  /** An input's check: failing, it does not pause loading (only that input's discovery fails). */
  input?: boolean;
}

export class Health {
  private lastTick = Date.now();
  private readonly ticker: NodeJS.Timeout;
  private readonly poller: NodeJS.Timeout;
  private readyNow = true;
  private lastChecks: Check[] = [];
  private checking: Promise<Check[]> | null = null;

  constructor(private readonly sources: HealthSources) {
    this.ticker = setInterval(() => (this.lastTick = Date.now()), 1000);
    this.ticker.unref();
    this.poller = setInterval(() => void this.readiness(), READY_INTERVAL_MS);
    this.poller.unref();
  }

  get ready(): boolean {
    return this.readyNow;
  }

  liveness(): Check[] {
    const lag = Date.now() - this.lastTick;
    const { lastRescanAt, closed } = this.sources.watcher();
    const rescanAge = Date.now() - lastRescanAt;
    const rescanLimit = 3 * this.sources.rescanIntervalMs + LAG_LIMIT_MS;
    return [
      { name: 'event_loop', ok: lag < LAG_LIMIT_MS, detail: `last tick ${lag} ms ago` },
      { name: 'watcher', ok: !closed && (lastRescanAt === 0 || rescanAge < rescanLimit), detail: closed ? 'closed' : `last rescan ${Math.round(rescanAge / 1000)} s ago` },
    ];
  }

  /** Runs the readiness checks (one run at a time), updates `ready` and tells `onChange`. */
  readiness(): Promise<Check[]> {
    this.checking ??= this.runChecks().finally(() => (this.checking = null));
    return this.checking;
  }

  private async runChecks(): Promise<Check[]> {
    const checks: Check[] = [];
    try {
      const { rows } = await withTimeout(
        this.sources.pool.query<{ version: number | null }>(`SELECT max(version) AS version FROM ${LEDGER_SCHEMA}.migrations`),
        3000,
      );
      checks.push({ name: 'database', ok: true });
      const version = rows[0]?.version ?? 0;
      checks.push({ name: 'ledger', ok: version >= MIGRATION_COUNT, detail: `migration ${version} of ${MIGRATION_COUNT}` });
    } catch (error) {
      checks.push({ name: 'database', ok: false, detail: errorMessage(error) });
    }
    const { closed } = this.sources.watcher();
    checks.push({ name: 'watcher', ok: !closed, ...(closed ? { detail: 'closed' } : {}) });
    for (const folder of this.sources.folders) {
      try {
        const stat = await statfs(folder);
        const free = stat.bavail * stat.bsize;
        const ok = free >= this.sources.minFreeBytes;
        checks.push({ name: `free_space ${folder}`, ok, detail: `${Math.floor(free / 1024 / 1024)} MiB free${ok ? '' : `, less than processing.min_free_bytes`}` });
      } catch (error) {
        checks.push({ name: `free_space ${folder}`, ok: false, detail: errorMessage(error) });
      }
    }
    if (this.sources.buckets) checks.push(...(await this.sources.buckets()));
    const ready = checks.every((c) => c.ok || c.input);
    const failing = checks.filter((c) => !c.ok && !c.input).map((c) => `${c.name}: ${c.detail ?? 'failing'}`);
    if (ready !== this.readyNow) this.sources.onChange(ready, failing);
    this.readyNow = ready;
    this.lastChecks = checks;
    return checks;
  }

  get checks(): Check[] {
    return this.lastChecks;
  }

  close(): void {
    clearInterval(this.ticker);
    clearInterval(this.poller);
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
