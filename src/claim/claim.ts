/**
 * Claiming a file: one instance at a time works on a path, through a PostgreSQL advisory lock held
 * on a dedicated connection for as long as the file is in hand (a crashed holder's lock vanishes
 * with its connection). The claim also finds or creates the file's ledger row.
 */
import { lstat } from 'node:fs/promises';
import type pg from 'pg';
import { LEDGER_SCHEMA, type LedgerRow } from '../db/ledger.js';

export interface Arrival {
  /** Absolute path in input/. */
  file: string;
  /** Path relative to input/, with forward slashes: the file's identity. */
  relative: string;
  size: number;
  mtimeMs: number;
}

export interface Claim {
  arrival: Arrival;
  /** The connection that holds the lock; use it for ledger updates outside the load transaction. */
  client: pg.PoolClient;
  fileId: string;
  attempts: number;
  /** A ledger row that says this very arrival was loaded but never moved out of input/. */
  unsettled: LedgerRow | null;
  release(): Promise<void>;
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

/**
 * Returns null when another instance holds the file, or when it is gone or changed since it was
 * seen (it will be seen again).
 */
export async function claimFile(pool: pg.Pool, arrival: Arrival, instanceId: string): Promise<Claim | null> {
  const { client, done } = await checkout(pool);
  const key = `loadbay:file:${arrival.relative}`;
  let locked = false;
  try {
    const { rows } = await client.query<{ locked: boolean }>({
      name: 'loadbay-lock',
      text: 'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked',
      values: [key],
    });
    locked = rows[0]?.locked === true;
    if (!locked) {
      done();
      return null;
    }
    // Under the lock, the file must still be what we saw: another instance may have settled it.
    const stat = await lstat(arrival.file).catch(() => null);
    if (!stat || stat.size !== arrival.size || stat.mtimeMs !== arrival.mtimeMs) {
      await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [key]);
      done();
      return null;
    }
    // One round trip: an unsettled load of this very arrival or an attempt in progress is counted
    // again (so a file that cannot be moved backs off like any other), anything else starts a new
    // row (all under the advisory lock).
    const { rows: claimed } = await client.query<LedgerRow>({
      name: 'loadbay-claim',
      text: `WITH found AS (
               SELECT * FROM ${LEDGER_SCHEMA}.files
                WHERE path = $1 AND size = $2 AND mtime_ms = $3
                  AND (status = 'processing' OR (status = 'loaded' AND settled_at IS NULL))
                ORDER BY id DESC LIMIT 1
             ), bumped AS (
               UPDATE ${LEDGER_SCHEMA}.files f SET attempts = f.attempts + 1, instance_id = $4, updated_at = now()
                 FROM found WHERE f.id = found.id
               RETURNING f.*
             ), inserted AS (
               INSERT INTO ${LEDGER_SCHEMA}.files (path, size, mtime_ms, status, instance_id)
               SELECT $1, $2, $3, 'processing', $4 WHERE NOT EXISTS (SELECT 1 FROM found)
               RETURNING *
             )
             SELECT * FROM bumped
             UNION ALL SELECT * FROM inserted`,
      values: [arrival.relative, arrival.size, arrival.mtimeMs, instanceId],
    });
    const row = claimed[0];
    if (!row) throw new Error(`the ledger returned no row for ${arrival.relative}`);
    const fileId = row.id;
    const attempts = row.attempts;
    const unsettled = row.status === 'loaded' ? row : null;
    let released = false;
    return {
      arrival,
      client,
      fileId,
      attempts,
      unsettled,
      async release() {
        if (released) return;
        released = true;
        try {
          await client.query({ name: 'loadbay-unlock', text: 'SELECT pg_advisory_unlock(hashtextextended($1, 0))', values: [key] });
          done();
        } catch {
          // The connection is broken: dropping it releases the lock on the server.
          done(true);
        }
      },
    };
  } catch (error) {
    done(true);
    throw error;
  }
}
