/**
 * A running loadbay's identity and liveness. Each instance holds an advisory lock named after its id
 * for as long as it runs; any other instance — on this machine or another, sharing the database —
 * tells whether it is alive by trying that lock. Files an instance writes under a temporary name
 * carry its id, so those of an instance that is gone can be removed (settle/sweep.ts,
 * pipeline/reconcile.ts) and those of a live one never are.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type pg from 'pg';
import { checkout } from './db/database.js';
import { errorMessage } from './errors.js';
import { abortableSleep, backoffDelay } from './lib/sleep.js';
import type { Logger } from './log.js';

/** host-pid-hex: no dot, so it can sit between the dots of a temporary name. */
const INSTANCE_ID = /^[A-Za-z0-9_-]+-\d+-[0-9a-f]{6}$/;

export function newInstanceId(): string {
  return `${os.hostname().replace(/[^A-Za-z0-9-]/g, '_')}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

export function isInstanceId(text: string): boolean {
  return INSTANCE_ID.test(text);
}

/** `.<label>.<instance>.<tag>.tmp`: a dotfile (the watcher and readers of the folders skip it) that names its writer. */
export function tempName(label: string, instanceId: string, tag = randomBytes(4).toString('hex')): string {
  return `.${label}.${instanceId}.${tag}.tmp`;
}

/** The instance that writes a temporary file of this name, or null when loadbay did not name it. */
export function tempWriter(name: string): string | null {
  if (!name.startsWith('.') || !name.endsWith('.tmp')) return null;
  const writer = name.split('.').at(-3);
  return writer !== undefined && isInstanceId(writer) ? writer : null;
}

export function instanceLockKey(instanceId: string): string {
  return `loadbay:instance:${instanceId}`;
}

/** Whether the instance holds its lock: the one test of liveness (reconcile.ts and sweep.ts use it). */
export async function instanceAlive(pool: pg.Pool, instanceId: string): Promise<boolean> {
  const { client, done } = await checkout(pool);
  try {
    const { rows } = await client.query<{ free: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS free', [
      instanceLockKey(instanceId),
    ]);
    if (rows[0]?.free) {
      await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [instanceLockKey(instanceId)]);
      return false;
    }
    return true;
  } finally {
    done();
  }
}

/** `instanceAlive`, asked once per instance for one sweep (many files name the same writer). */
export function livenessCache(pool: pg.Pool): (instanceId: string) => Promise<boolean> {
  const alive = new Map<string, Promise<boolean>>();
  return (instanceId) => {
    let answer = alive.get(instanceId);
    if (!answer) alive.set(instanceId, (answer = instanceAlive(pool, instanceId)));
    return answer;
  };
}

/** Backoff between attempts to take the lock again after its connection was lost. */
const RELOCK_MAX_MS = 30_000;

/**
 * Takes this instance's lock on a connection of its own and keeps it: should that connection be lost
 * (a restart of the server, a killed backend), the lock is taken again on a new one, so that other
 * instances do not take this one for dead for longer than the outage. Returns the release.
 */
export async function holdInstanceLock(pool: pg.Pool, instanceId: string, log: Logger): Promise<() => Promise<void>> {
  const stopping = new AbortController();
  let held: Awaited<ReturnType<typeof checkout>> | null = null;
  let keeping: Promise<void> | null = null;

  const take = async () => {
    const next = await checkout(pool);
    try {
      await next.client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [instanceLockKey(instanceId)]);
    } catch (error) {
      next.done(true);
      throw error;
    }
    next.client.once('end', () => {
      if (stopping.signal.aborted || held !== next) return;
      held = null;
      next.done(true); // back to the pool, which drops it: pool.end() waits for every client out
      log.warn(`instance lock of ${instanceId} lost with its database connection; taking it again`);
      keeping = keep();
    });
    held = next;
  };

  const keep = async () => {
    for (let attempt = 1; !stopping.signal.aborted; attempt++) {
      try {
        await take();
        if (stopping.signal.aborted) held?.done(true);
        else log.info(`instance lock of ${instanceId} held again`);
        return;
      } catch (error) {
        log.debug(`instance lock of ${instanceId} not taken yet: ${errorMessage(error)}`);
        await abortableSleep(backoffDelay(attempt, 1000, RELOCK_MAX_MS), stopping.signal);
      }
    }
  };

  await take();
  return async () => {
    stopping.abort();
    await keeping;
    held?.done(true);
    held = null;
  };
}
