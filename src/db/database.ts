/**
 * The database connection: `DATABASE_URL` / `database.url` when given, the embedded server otherwise.
 * Owns the pool, waits (logging why) while the server is unreachable, and knows when it is back.
 */
import pg from 'pg';
import type { Config } from '../config/types.js';
import { errorMessage, isKnownTransient, redact } from '../errors.js';
import { abortableSleep, backoffDelay } from '../lib/sleep.js';
import type { Logger } from '../log.js';
import { startEmbedded } from './embedded.js';

export interface Database {
  pool: pg.Pool;
  /** The URL without its password, safe to print. */
  displayUrl: string;
  /** Resolves once `SELECT 1` succeeds or the signal aborts; logs a `waiting` event while neither. */
  waitUntilReachable(signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

export async function openDatabase(config: Config, log: Logger): Promise<Database> {
  let url = config.database.url;
  let stopEmbedded: (() => Promise<void>) | null = null;
  if (!url) {
    const embedded = await startEmbedded(config.database.embedded.dataDir, config.database.embedded.port, log);
    url = embedded.url;
    stopEmbedded = embedded.stop;
  }
  const pool = new pg.Pool({
    connectionString: url,
    // Per file in flight: the claim's connection and the load's; plus the instance lock and one spare.
    max: 2 * config.processing.concurrency + 2,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    application_name: 'loadbay',
  });
  // An idle client losing its connection emits on the pool; without a listener the process dies.
  let closing = false;
  pool.on('error', (error) => {
    if (closing) log.debug(`database connection closed while stopping: ${errorMessage(error)}`);
    else log.warn(`database connection lost: ${errorMessage(error)}`);
  });
  // pool.end() resolves once its clients are told to end, not once their sockets are closed: the
  // embedded server is stopped only after every connection has really gone, so none of them sees
  // the server's shutdown as a lost connection.
  const open = new Set<pg.Client>();
  pool.on('connect', (client) => {
    open.add(client);
    client.once('end', () => open.delete(client));
  });
  const displayUrl = redact(url);

  return {
    pool,
    displayUrl,
    async waitUntilReachable(signal) {
      // Returns as soon as the signal aborts: the caller checks it (a stop while waiting ends the start).
      for (let attempt = 1; !signal.aborted; attempt++) {
        try {
          await pool.query('SELECT 1');
          if (attempt > 1) log.info('database reachable again', { url: displayUrl });
          return;
        } catch (error) {
          if (!isKnownTransient(error) && attempt > 3) throw error;
          const delay = backoffDelay(attempt, config.processing.retryInitialMs, config.processing.retryMaxMs);
          log.event('waiting', { reason: `database unreachable: ${errorMessage(error)}`, attempt, next_delay_ms: delay });
          await abortableSleep(delay, signal);
        }
      }
    },
    async close() {
      closing = true;
      await pool.end().catch(() => undefined);
      const ended = Promise.all([...open].map((client) => new Promise<void>((resolve) => client.once('end', () => resolve()))));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([ended, new Promise<void>((resolve) => (timer = setTimeout(resolve, 5000)))]);
      clearTimeout(timer);
      if (stopEmbedded) await stopEmbedded();
    },
  };
}

/** Wraps `pg` identifiers in double quotes, doubling any quote inside. */
/** Text matched literally inside a LIKE pattern (its `%`, `_` and `\\` escaped). */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Checks out a client with an `error` listener for as long as it is out of the pool. */
export async function checkout(pool: pg.Pool): Promise<{ client: pg.PoolClient; done: (destroy?: boolean) => void }> {
  const client = await pool.connect();
  let lastError: Error | null = null;
  const onError = (error: Error) => {
    lastError = error;
  };
  client.on('error', onError);
  return {
    client,
    done(destroy = false) {
      client.removeListener('error', onError);
      client.release(destroy || lastError !== null ? (lastError ?? new Error('discarded')) : undefined);
    },
  };
}
