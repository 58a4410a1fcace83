/**
 * A group's claim in two statements (src/claim/claim.ts, src/db/files.ts): the files' advisory
 * locks in one, their ledger rows in one — against a real PostgreSQL and real files.
 */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { claimFiles } from '../../src/claim/claim.js';
import type { Config } from '../../src/config/types.js';
import { migrate } from '../../src/db/ledger.js';
import type { Logger } from '../../src/log.js';
import { FolderSource } from '../../src/source/folder/folder-source.js';
import { newPlaces } from '../../src/source/places.js';
import type { Arrival } from '../../src/source/source.js';
import { createDatabase } from '../helpers/env.js';

let database: Awaited<ReturnType<typeof createDatabase>>;
let pool: pg.Pool;
let dir: string;
let source: FolderSource;

beforeAll(async () => {
  database = await createDatabase();
  pool = new pg.Pool({ connectionString: database.url, max: 4 });
  pool.on('error', () => undefined);
  await migrate(pool);
  dir = await mkdtemp(path.join(os.tmpdir(), 'loadbay-claims-'));
  // The input folder as the daemon sees it, not started: claims only ask it whether a file changed.
  const config = { root: dir, folders: { input: dir } } as unknown as Config;
  source = new FolderSource({ config, log: null as unknown as Logger, places: newPlaces(config.root, null, 'claims-test-1-000000'), signal: new AbortController().signal });
});
afterAll(async () => {
  await pool.end();
  await database.drop();
  await rm(dir, { recursive: true, force: true });
});

async function arrival(name: string, content = 'x'): Promise<Arrival> {
  const file = path.join(dir, name);
  await writeFile(file, content);
  const { size, mtimeMs } = await stat(file);
  return { source, id: name, relative: name, size, mtimeMs };
}

it('claims a group in order: new rows, an unsettled load found again, a file held elsewhere and a changed file left out', async () => {
  const [a, b, c, d, e] = await Promise.all(['a.csv', 'b.csv', 'c.csv', 'd.csv', 'e.csv'].map((n) => arrival(n)));
  // b was loaded before but never moved: its claim must find that row, not start a new one.
  const { rows } = await pool.query<{ id: string }>(
    "INSERT INTO loadbay.files (path, size, mtime_ms, status, sha256, dataset, rows, instance_id) VALUES ($1, $2, $3, 'loaded', 'f00d', 'items', 2, 'old') RETURNING id",
    [b!.relative, b!.size, b!.mtimeMs],
  );
  // c is in another instance's hands.
  const other = await pool.connect();
  await other.query("SELECT pg_advisory_lock(hashtextextended('loadbay:file:c.csv', 0))");
  // d changed after it was seen.
  const seenD = { ...d!, size: d!.size + 1 };
  try {
    const group = await claimFiles(pool, [a!, b!, c!, seenD, e!], 'me');
    try {
      const [ca, cb, cc, cd, ce] = group.claims;
      expect(cc).toBeNull();
      expect(cd).toBeNull();
      expect(ca).toMatchObject({ attempts: 1, unsettled: null, arrival: a });
      expect(ce).toMatchObject({ attempts: 1, unsettled: null, arrival: e });
      expect(cb).toMatchObject({ fileId: rows[0]!.id, attempts: 2 });
      expect(cb!.unsettled).toMatchObject({ status: 'loaded', sha256: 'f00d' });
      expect(new Set([ca!.fileId, cb!.fileId, ce!.fileId]).size).toBe(3);
      // The group's session holds exactly the locks of the files it claimed (in this test's database:
      // the server is shared with the other test files' daemons).
      const held = await pool.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid <> $1 AND objsubid = 1 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        [(await other.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid],
      );
      expect(held.rows[0]!.n).toBe(3);
      // Released one by one or all at once: nothing stays locked.
      await ca!.release();
      await group.release();
      const after = await pool.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid <> $1 AND objsubid = 1 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        [(await other.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid],
      );
      expect(after.rows[0]!.n).toBe(0);
    } finally {
      await group.release();
    }
    const ledger = await pool.query<{ path: string; status: string; attempts: number; instance_id: string }>(
      'SELECT path, status, attempts, instance_id FROM loadbay.files ORDER BY path',
    );
    expect(ledger.rows).toEqual([
      { path: 'a.csv', status: 'processing', attempts: 1, instance_id: 'me' },
      { path: 'b.csv', status: 'loaded', attempts: 2, instance_id: 'me' },
      { path: 'e.csv', status: 'processing', attempts: 1, instance_id: 'me' },
    ]);
  } finally {
    other.release();
  }
});
