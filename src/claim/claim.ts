/**
 * Claiming a file: one instance at a time works on a path, through a PostgreSQL advisory lock held
 * on a dedicated connection for as long as the file is in hand (a crashed holder's lock vanishes
 * with its connection). The claim also finds or creates the file's ledger row.
 */
import { checkout } from '../db/database.js';
import type pg from 'pg';
import { claimRows, tryLockFiles, unlockFiles } from '../db/files.js';
import type { LedgerRow } from '../db/ledger.js';
import type { Arrival } from '../source/source.js';

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

/**
 * Returns null when another instance holds the file, or when it is gone or changed since it was
 * seen (it will be seen again). The claim holds its own connection until `release()`.
 */
export async function claimFile(pool: pg.Pool, arrival: Arrival, instanceId: string): Promise<Claim | null> {
  const group = await claimFiles(pool, [arrival], instanceId);
  const claim = group.claims[0];
  if (!claim) {
    await group.release();
    return null;
  }
  return { ...claim, release: () => group.release() };
}

/**
 * Claims several files on one connection (a session holds all their advisory locks): for a group
 * loaded in one transaction, without a connection per file. Entries are null where another
 * instance holds the file or it changed since it was seen. Each claim's `release()` unlocks its
 * file; the group's `release()` unlocks what is left and returns the connection.
 */
export async function claimFiles(pool: pg.Pool, arrivals: Arrival[], instanceId: string): Promise<{ claims: Array<Claim | null>; release(): Promise<void> }> {
  const { client, done } = await checkout(pool);
  const claims: Array<Claim | null> = arrivals.map(() => null);
  const held = new Set<string>();
  let broken = false;
  try {
    // Round trips per group, not per file: the locks, then the ledger rows.
    const locked = await tryLockFiles(client, arrivals.map((a) => a.id));
    // Locked, and still as it was seen (gone or changed: unlocked, it is seen again).
    const same: number[] = [];
    const changed: string[] = [];
    // Asked at once: for an object each is a request (HeadObject), for a local file an lstat.
    const states = await Promise.all(arrivals.map((arrival, i) => (locked[i] ? arrival.source.state(arrival) : null)));
    for (const [i, arrival] of arrivals.entries()) {
      if (states[i] === null) continue;
      if (states[i] === 'same') same.push(i);
      else changed.push(arrival.id);
    }
    await unlockFiles(client, changed);
    for (const i of same) held.add(arrivals[i]!.id);
    const rows = await claimRows(client, same.map((i) => arrivals[i]!), instanceId);
    same.forEach((i, k) => {
      const arrival = arrivals[i]!;
      const row = rows[k]!;
      claims[i] = {
        arrival,
        client,
        fileId: row.id,
        attempts: row.attempts,
        unsettled: row.status === 'loaded' ? row : null,
        async release() {
          if (!held.delete(arrival.id) || broken) return;
          try {
            await unlockFiles(client, [arrival.id]);
          } catch {
            broken = true; // dropping the connection below releases every lock on the server
          }
        },
      };
    });
  } catch (error) {
    done(true);
    throw error;
  }
  let released = false;
  return {
    claims,
    async release() {
      if (released) return;
      released = true;
      if (!broken && held.size > 0) {
        try {
          await unlockFiles(client, [...held]);
        } catch {
          broken = true; // dropping the connection releases every lock on the server
        }
      }
      held.clear();
      done(broken);
    },
  };
}
