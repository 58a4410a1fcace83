/**
 * Every statement on `loadbay.files`, the ledger's table of file arrivals, and the advisory-lock key
 * of a file: one module owns them, the stages call these functions. Hot statements are named
 * (prepared once per connection; see docs/operations.md on poolers).
 */
import type pg from 'pg';
import { LEDGER_SCHEMA, type LedgerRow } from './ledger.js';

const FILES = `${LEDGER_SCHEMA}.files`;

type Queryable = Pick<pg.Pool | pg.PoolClient | pg.Client, 'query'>;

/** The session advisory lock that says "an instance has this file in hand". */
export function fileLockKey(relative: string): string {
  return `loadbay:file:${relative}`;
}

export async function tryLockFile(client: pg.PoolClient, relative: string): Promise<boolean> {
  const { rows } = await client.query<{ locked: boolean }>({
    name: 'loadbay-lock',
    text: 'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked',
    values: [fileLockKey(relative)],
  });
  return rows[0]?.locked === true;
}

/** Releases several files' locks held by this session, in one round trip. */
export async function unlockFiles(client: pg.PoolClient, relatives: string[]): Promise<void> {
  if (relatives.length === 0) return;
  await client.query({
    name: 'loadbay-unlock-many',
    text: 'SELECT pg_advisory_unlock(hashtextextended(k, 0)) FROM unnest($1::text[]) AS k',
    values: [relatives.map(fileLockKey)],
  });
}

export async function unlockFile(client: pg.PoolClient, relative: string): Promise<void> {
  await client.query({ name: 'loadbay-unlock', text: 'SELECT pg_advisory_unlock(hashtextextended($1, 0))', values: [fileLockKey(relative)] });
}

/**
 * Under the file's lock, in one round trip: an unsettled load of this very arrival or an attempt in
 * progress is counted again (so a file that cannot be moved backs off like any other), anything
 * else starts a new row.
 */
export async function claimRow(client: pg.PoolClient, arrival: { relative: string; size: number; mtimeMs: number }, instanceId: string): Promise<LedgerRow> {
  const { rows } = await client.query<LedgerRow>({
    name: 'loadbay-claim',
    text: `WITH found AS (
             SELECT * FROM ${FILES}
              WHERE path = $1 AND size = $2 AND mtime_ms = $3
                AND (status = 'processing' OR (status = 'loaded' AND settled_at IS NULL))
              ORDER BY id DESC LIMIT 1
           ), bumped AS (
             UPDATE ${FILES} f SET attempts = f.attempts + 1, instance_id = $4, updated_at = now()
               FROM found WHERE f.id = found.id
             RETURNING f.*
           ), inserted AS (
             INSERT INTO ${FILES} (path, size, mtime_ms, status, instance_id)
             SELECT $1, $2, $3, 'processing', $4 WHERE NOT EXISTS (SELECT 1 FROM found)
             RETURNING *
           )
           SELECT * FROM bumped
           UNION ALL SELECT * FROM inserted`,
    values: [arrival.relative, arrival.size, arrival.mtimeMs, instanceId],
  });
  const row = rows[0];
  if (!row) throw new Error(`the ledger returned no row for ${arrival.relative}`);
  return row;
}

/** The first load of the same content in the dataset, if any. */
export async function loadedWithContent(client: pg.PoolClient, dataset: string, sha256: string): Promise<string | null> {
  const { rows } = await client.query<{ id: string }>({
    name: 'loadbay-duplicate',
    text: `SELECT id FROM ${FILES} WHERE dataset = $1 AND sha256 = $2 AND status = 'loaded' LIMIT 1`,
    values: [dataset, sha256],
  });
  return rows[0]?.id ?? null;
}

/** Recorded (outside the load's transaction) before the Parquet rename: see pipeline/reconcile.ts. */
export async function recordParquetPath(client: pg.PoolClient, fileId: string, parquetPath: string): Promise<void> {
  await client.query({ name: 'loadbay-parquet-path', text: `UPDATE ${FILES} SET parquet_path = $2 WHERE id = $1`, values: [fileId, parquetPath] });
}

/** Inside the load's transaction: the row commits with the file's rows. */
export async function markLoaded(
  client: pg.PoolClient,
  fileId: string,
  load: { dataset: string; sha256: string; rows: number; table: string; parquetPath: string; duplicateOf: string | null },
): Promise<void> {
  await client.query({
    name: 'loadbay-loaded',
    text: `UPDATE ${FILES}
              SET status = 'loaded', dataset = $2, sha256 = $3, rows = $4, table_name = $5, parquet_path = $6,
                  error = NULL, duplicate_of = $7, updated_at = now()
            WHERE id = $1`,
    values: [fileId, load.dataset, load.sha256, load.rows, load.table, load.parquetPath, load.duplicateOf],
  });
}

/** The outcome is durable and the file has left input/. */
export async function markSettled(
  client: pg.PoolClient,
  fileId: string,
  status: 'loaded' | 'failed' | 'skipped',
  details: { dataset?: string | null; sha256?: string | null; error?: unknown; duplicateOf?: string } = {},
): Promise<void> {
  await client.query({
    name: 'loadbay-settled',
    text: `UPDATE ${FILES}
              SET status = $2, settled_at = now(), updated_at = now(),
                  dataset = COALESCE($3, dataset), sha256 = COALESCE($4, sha256),
                  error = COALESCE($5::jsonb, error), duplicate_of = COALESCE($6, duplicate_of)
            WHERE id = $1`,
    values: [fileId, status, details.dataset ?? null, details.sha256 ?? null, details.error ? JSON.stringify(details.error) : null, details.duplicateOf ?? null],
  });
}

/** Why the last attempt did not finish (the file stays in input/ and is retried). */
export async function recordAttemptError(client: pg.PoolClient, fileId: string, kind: string, reason: string): Promise<void> {
  await client.query(`UPDATE ${FILES} SET error = $2, updated_at = now() WHERE id = $1`, [fileId, JSON.stringify({ kind, reason })]);
}

/**
 * The file was deleted from input/ while in hand: before the commit the row closes as `vanished`;
 * after it, the load stands and the row is settled. Returns the row's status.
 */
export async function closeVanished(client: pg.PoolClient, fileId: string, reason: string): Promise<string | null> {
  const { rows } = await client.query<{ status: string }>(
    `UPDATE ${FILES}
        SET status = CASE WHEN status = 'processing' THEN 'vanished' ELSE status END,
            settled_at = now(), updated_at = now(), error = COALESCE(error, $2)
      WHERE id = $1 RETURNING status`,
    [fileId, JSON.stringify({ kind: 'vanished', reason })],
  );
  return rows[0]?.status ?? null;
}

/** Who wrote a Parquet file, and whether its load committed (start-up recovery). */
export async function parquetWriter(db: Queryable, parquetPath: string): Promise<{ status: string; instance_id: string } | null> {
  const { rows } = await db.query<{ status: string; instance_id: string }>(
    `SELECT status, instance_id FROM ${FILES} WHERE parquet_path = $1 ORDER BY status = 'loaded' DESC LIMIT 1`,
    [parquetPath],
  );
  return rows[0] ?? null;
}

/** `processing` rows whose claim lock some instance holds right now. */
export async function filesInProgress(db: Queryable): Promise<Array<{ path: string; attempts: number; instance_id: string; updated_at: Date }>> {
  const { rows } = await db.query<{ path: string; attempts: number; instance_id: string; updated_at: Date }>(
    `SELECT f.path, f.attempts, f.instance_id, f.updated_at FROM ${FILES} f
      WHERE f.status = 'processing' AND f.settled_at IS NULL
        AND EXISTS (SELECT 1 FROM pg_locks l
                     WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                       AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended('loadbay:file:' || f.path, 0))
      ORDER BY f.updated_at`,
  );
  return rows;
}

/** Files and rows loaded per minute over the last hour (the console's chart). */
export async function loadsPerMinute(db: Queryable): Promise<Array<{ minute: Date; files: number; rows: number }>> {
  const { rows } = await db.query<{ minute: Date; files: number; rows: string }>(
    `SELECT date_trunc('minute', settled_at) AS minute, count(*)::int AS files, coalesce(sum(rows), 0)::text AS rows
       FROM ${FILES} WHERE status = 'loaded' AND settled_at > now() - interval '1 hour' GROUP BY 1 ORDER BY 1`,
  );
  return rows.map((r) => ({ minute: r.minute, files: r.files, rows: Number(r.rows) }));
}

/** Loads and rows per dataset, and the last load. */
export async function loadsByDataset(db: Queryable): Promise<Map<string, { loads: number; rows: number; last: Date | null }>> {
  const { rows } = await db.query<{ dataset: string; loads: number; rows: string; last: Date | null }>(
    `SELECT dataset, count(*)::int AS loads, coalesce(sum(rows), 0)::text AS rows, max(settled_at) AS last
       FROM ${FILES} WHERE status = 'loaded' GROUP BY dataset`,
  );
  return new Map(rows.map((r) => [r.dataset, { loads: r.loads, rows: Number(r.rows), last: r.last }]));
}

/** A dataset's latest loads, newest first. */
export async function recentLoads(db: Queryable, dataset: string, limit = 50): Promise<Array<{ id: string; file: string; rows: number; at: Date; seconds: number }>> {
  const { rows } = await db.query<{ id: string; path: string; rows: string; settled_at: Date; seconds: number }>(
    `SELECT id::text, path, rows::text, settled_at, extract(epoch FROM settled_at - created_at)::float8 AS seconds
       FROM ${FILES} WHERE dataset = $1 AND status = 'loaded' AND settled_at IS NOT NULL ORDER BY id DESC LIMIT $2`,
    [dataset, limit],
  );
  return rows.map((r) => ({ id: r.id, file: r.path, rows: Number(r.rows), at: r.settled_at, seconds: r.seconds }));
}
