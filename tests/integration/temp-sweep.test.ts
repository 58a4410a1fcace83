/**
 * Temporary files of a killed instance, in every folder loadbay writes them to: swept at start and
 * now and then, while those of a live instance stay — with real instances sharing one database and
 * one set of folders. And the instance lock, whose holder is what "live" means, survives the loss
 * of its connection.
 */
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';
import { instanceAlive } from '../../src/instance.js';
import { createTestEnv, waitFor, type TestEnv } from '../helpers/env.js';

const DATASET = {
  'rows.yaml':
    'name: rows\nmatch: "*.csv"\nformat: csv\ntable: sweep.rows\nexport: { query: "SELECT count(*) FROM sweep.rows", to: exports/count.csv }\nschema:\n  type: object\n  properties:\n    id: { type: integer }\n',
};

/** An instance id no running loadbay has: what a SIGKILLed instance leaves in its temporary names. */
const DEAD = 'killedhost-4242-0badc0';

let env: TestEnv | null = null;
afterEach(async () => {
  await env?.cleanup();
  env = null;
});

/** Where each writer of loadbay puts its temporary file, named for `instance`. */
function temporaries(env: TestEnv, instance: string): string[] {
  return [
    path.join(env.folders.failed, 'rows', 'sub', `.loadbay.${instance}.1a2b3c4d.tmp`), // a report (writeFileAtomic)
    path.join(env.folders.failed, 'rows', `.x.csv.rejects.jsonl.${instance}.17.tmp`), // a rejects file
    path.join(env.folders.parquet, 'rows', `.x.csv.${instance}.17.tmp`), // a Parquet file
    path.join(env.root, 'exports', `.count.csv.${instance}.5e6f7a8b.tmp`), // an export
  ];
}

async function place(files: string[]): Promise<void> {
  for (const file of files) {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, 'half-written');
  }
}

async function present(files: string[]): Promise<string[]> {
  const { existsSync } = await import('node:fs');
  return files.filter((f) => existsSync(f));
}

it('a dead instance\'s temporary files go at start; a live one\'s stay, and go at a later sweep once it has stopped', async () => {
  env = await createTestEnv({ datasets: DATASET });
  const live = await env.start();
  const dead = temporaries(env, DEAD);
  const alive = temporaries(env, live.instanceId);
  // Not loadbay's names, or loadbay's from before instance ids: only an old one of the latter goes.
  const foreign = [path.join(env.folders.failed, 'rows', '.notes.tmp'), path.join(env.folders.failed, 'rows', '.a.b.c.tmp')];
  const legacyOld = path.join(env.folders.failed, 'rows', '.loadbay-31337-deadbeef.tmp');
  const legacyNew = path.join(env.folders.failed, 'rows', '.loadbay-31338-deadbeef.tmp');
  await place([...dead, ...alive, ...foreign, legacyOld, legacyNew]);
  const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600_000);
  await utimes(legacyOld, twoDaysAgo, twoDaysAgo);

  const second = await env.start(); // sweeps at its start
  expect(await present(dead)).toEqual([]);
  expect(await present(alive)).toEqual(alive);
  expect(await present([...foreign, legacyOld, legacyNew])).toEqual([...foreign, legacyNew]);

  // The first instance stops (its lock goes with it): the next sweep takes its files.
  await live.stop();
  expect(await second.sweep()).toBe(alive.length);
  expect(await present(alive)).toEqual([]);
  expect(await present(foreign)).toEqual(foreign);
  // Its own files a sweep never touches, whatever it thinks of its lock.
  const own = temporaries(env, second.instanceId);
  await place(own);
  expect(await second.sweep()).toBe(0);
  expect(await present(own)).toEqual(own);
});

/** The backend holding an instance's advisory lock (pg_locks shows a bigint key as two oids). */
async function lockHolder(pool: pg.Pool, instanceId: string): Promise<number | null> {
  const { rows } = await pool.query<{ pid: number }>(
    `SELECT pid FROM pg_locks
      WHERE locktype = 'advisory' AND granted AND objsubid = 1
        AND ((classid::bigint << 32) | objid::bigint) = hashtextextended($1, 0)`,
    [`loadbay:instance:${instanceId}`],
  );
  return rows[0]?.pid ?? null;
}

it('the instance lock is taken again when its connection is lost, so the instance is not taken for dead', async () => {
  env = await createTestEnv({ datasets: DATASET });
  const daemon = await env.start();
  const before = await lockHolder(env.pool, daemon.instanceId);
  expect(before).not.toBeNull();
  await env.pool.query('SELECT pg_terminate_backend($1)', [before]);
  const after = await waitFor(async () => {
    const pid = await lockHolder(env!.pool, daemon.instanceId);
    return pid !== null && pid !== before ? pid : null;
  }, { message: 'the lock held again on a new connection' });
  expect(after).not.toBe(before);
  expect(await instanceAlive(env.pool, daemon.instanceId)).toBe(true);
  // And loading goes on.
  await env.drop('after.csv', 'id\n1\n');
  expect(await env.outcome('after.csv')).toMatchObject({ event: 'loaded', rows: 1 });
});
