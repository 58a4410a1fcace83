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
export function fileLockKey(id: string): string {
  return `loadbay:file:${id}`;
}

/** Takes the files' locks where no other session holds them, in one round trip; true where taken. */
export async function tryLockFiles(client: pg.PoolClient, ids: string[]): Promise<boolean[]> {
  if (ids.length === 0) return [];
  const { rows } = await client.query<{ locked: boolean }>({
    name: 'loadbay-lock-many',
    text: 'SELECT pg_try_advisory_lock(hashtextextended(k, 0)) AS locked FROM unnest($1::text[]) WITH ORDINALITY AS t(k, n) ORDER BY n',
    values: [ids.map(fileLockKey)],
  });
  return rows.map((r) => r.locked === true);
}

/** Releases several files' locks held by this session, in one round trip. */
export async function unlockFiles(client: pg.PoolClient, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await client.query({
    name: 'loadbay-unlock-many',
    text: 'SELECT pg_advisory_unlock(hashtextextended(k, 0)) FROM unnest($1::text[]) AS k',
    values: [ids.map(fileLockKey)],
  });
}

/**
 * Under the files' locks, in one round trip for all of them: an unsettled load of this very arrival
 * or an attempt in progress is counted again (so a file that cannot be moved backs off like any
 * other), anything else starts a new row. "This very arrival": same path and size, and the same
 * mtime for a local file, the same ETag (and version id, when the bucket has versions) for an
 * object — an object's time says when it was written, not what it holds. Returns each arrival's
 * row, in order.
 */
export async function claimRows(
  client: pg.PoolClient,
  arrivals: Array<{ id: string; size: number; mtimeMs: number; version?: string; versionId?: string | null }>,
  instanceId: string,
): Promise<LedgerRow[]> {
  if (arrivals.length === 0) return [];
  const { rows } = await client.query<LedgerRow>({
    name: 'loadbay-claim-many',
    text: `WITH arrival AS (
             SELECT * FROM unnest($1::text[], $2::bigint[], $3::float8[], $5::text[], $6::text[]) AS a(path, size, mtime_ms, etag, version)
           ), found AS (
             SELECT DISTINCT ON (a.path) f.id, a.path FROM arrival a
               JOIN ${FILES} f ON f.path = a.path AND f.size = a.size
                AND (CASE WHEN a.etag IS NULL THEN f.mtime_ms = a.mtime_ms
                          ELSE f.object_etag = a.etag AND f.object_version IS NOT DISTINCT FROM a.version END)
                AND (f.status = 'processing' OR (f.status = 'loaded' AND f.settled_at IS NULL))
              ORDER BY a.path, f.id DESC
           ), bumped AS (
             UPDATE ${FILES} f SET attempts = f.attempts + 1, instance_id = $4, updated_at = now()
               FROM found WHERE f.id = found.id
             RETURNING f.*
           ), inserted AS (
             INSERT INTO ${FILES} (path, size, mtime_ms, object_etag, object_version, status, instance_id)
             SELECT a.path, a.size, a.mtime_ms, a.etag, a.version, 'processing', $4 FROM arrival a
              WHERE NOT EXISTS (SELECT 1 FROM found WHERE found.path = a.path)
             RETURNING *
           )
           SELECT * FROM bumped
           UNION ALL SELECT * FROM inserted`,
    values: [
      arrivals.map((a) => a.id),
      arrivals.map((a) => a.size),
      arrivals.map((a) => a.mtimeMs),
      instanceId,
      arrivals.map((a) => a.version ?? null),
      arrivals.map((a) => a.versionId ?? null),
    ],
  });
  const byPath = new Map(rows.map((row) => [row.path, row]));
  return arrivals.map((arrival) => {
    const row = byPath.get(arrival.id);
    if (!row) throw new Error(`the ledger returned no row for ${arrival.id}`);
    return row;
  });
}

/** The first load of the same content in the dataset, if any. */
export async function loadedWithContent(client: pg.PoolClient, dataset: string, sha256: string): Promise<string | null> {
  return (await loadedWithContents(client, dataset, [sha256])).get(sha256) ?? null;
}

/** For several contents at once: content (sha256) → the first load of it in the dataset. */
export async function loadedWithContents(client: pg.PoolClient, dataset: string, sha256s: string[]): Promise<Map<string, string>> {
  if (sha256s.length === 0) return new Map();
  const { rows } = await client.query<{ sha256: string; id: string }>({
    name: 'loadbay-duplicates',
    text: `SELECT DISTINCT ON (sha256) sha256, id FROM ${FILES}
            WHERE dataset = $1 AND sha256 = ANY($2::text[]) AND status = 'loaded' ORDER BY sha256, id`,
    values: [dataset, sha256s],
  });
  return new Map(rows.map((r) => [r.sha256, r.id]));
}

/** Recorded (outside the load's transaction) before the Parquet renames: see load/reconcile.ts. */
export async function recordParquetPaths(client: pg.PoolClient, files: Array<{ fileId: string; parquetPath: string }>): Promise<void> {
  if (files.length === 0) return;
  await client.query({
    name: 'loadbay-parquet-paths',
    text: `UPDATE ${FILES} f SET parquet_path = v.parquet_path
             FROM unnest($1::bigint[], $2::text[]) AS v(id, parquet_path) WHERE f.id = v.id`,
    values: [files.map((f) => f.fileId), files.map((f) => f.parquetPath)],
  });
}

export interface LoadedFile {
  fileId: string;
  dataset: string;
  sha256: string;
  rows: number;
  table: string;
  parquetPath: string;
  duplicateOf: string | null;
  /** What a replacing file covers: '' the whole table, its key from the file name as JSON; null: no scope. */
  scope: string | null;
}

/**
 * Inside the load's transaction: the rows commit with the files' rows. One round trip for all;
 * `loaded_at` is the clock time, a microsecond apart in the files' order (the order they replaced).
 */
export async function markLoaded(client: pg.PoolClient, files: LoadedFile[]): Promise<void> {
  if (files.length === 0) return;
  const column = <K extends keyof LoadedFile>(key: K) => files.map((f) => f[key]);
  await client.query({
    name: 'loadbay-loaded-many',
    text: `UPDATE ${FILES} f
              SET status = 'loaded', dataset = v.dataset, sha256 = v.sha256, rows = v.rows, table_name = v.table_name,
                  parquet_path = v.parquet_path, error = NULL, duplicate_of = v.duplicate_of, scope = v.scope,
                  loaded_at = clock_timestamp() + v.n * interval '1 microsecond', updated_at = now()
             FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::bigint[], $8::text[])
                  WITH ORDINALITY AS v(id, dataset, sha256, rows, table_name, parquet_path, duplicate_of, scope, n)
            WHERE f.id = v.id`,
    values: [
      column('fileId'), column('dataset'), column('sha256'), column('rows'), column('table'), column('parquetPath'), column('duplicateOf'), column('scope'),
    ],
  });
}

/**
 * The dataset's current delivery: its latest load in `scope` (any scope when null), as id and
 * content. A replacing or upserting file identical to it changes nothing and is skipped.
 */
export async function currentDelivery(client: pg.PoolClient, dataset: string, scope: string | null): Promise<{ id: string; sha256: string } | null> {
  const { rows } = await client.query<{ id: string; sha256: string }>({
    name: 'loadbay-current',
    text: `SELECT id::text, sha256 FROM ${FILES}
            WHERE dataset = $1 AND status = 'loaded' AND ($2::text IS NULL OR scope = $2)
            ORDER BY loaded_at DESC NULLS LAST, id DESC LIMIT 1`,
    values: [dataset, scope],
  });
  return rows[0] ?? null;
}

/**
 * Inside a replacing load's transaction, after `markLoaded`: the loads of the dataset it replaced
 * (in its scope; scope '' replaces every load) are superseded by it. Returns their Parquet files,
 * to be retired once the load commits (`markRetired`).
 */
export async function supersede(client: pg.PoolClient, dataset: string, scope: string, byId: string): Promise<string[]> {
  const { rows } = await client.query<{ parquet_path: string | null }>({
    name: 'loadbay-supersede',
    text: `UPDATE ${FILES} f SET superseded_by = $3
             FROM ${FILES} n
            WHERE n.id = $3 AND f.dataset = $1 AND f.status = 'loaded' AND f.superseded_by IS NULL AND f.id <> $3
              AND ($2 = '' OR f.scope = $2) AND (f.loaded_at IS NULL OR f.loaded_at < n.loaded_at)
           RETURNING f.parquet_path`,
    values: [dataset, scope, byId],
  });
  return rows.flatMap((r) => (r.parquet_path ? [r.parquet_path] : []));
}

/** Superseded loads whose Parquet file is still to be retired (a crash came first), oldest first. */
export async function unretired(db: Queryable, limit = 1000): Promise<Array<{ id: string; parquet_path: string }>> {
  const { rows } = await db.query<{ id: string; parquet_path: string }>(
    `SELECT f.id::text, f.parquet_path FROM ${FILES} f JOIN ${FILES} n ON n.id = f.superseded_by
      WHERE f.superseded_by IS NOT NULL AND f.retired_at IS NULL AND n.status = 'loaded' AND f.parquet_path IS NOT NULL
      ORDER BY f.id LIMIT $1`,
    [limit],
  );
  return rows;
}

/** Their Parquet files are in `_superseded/` now. */
export async function markRetired(db: Queryable, parquetPaths: string[]): Promise<void> {
  if (parquetPaths.length === 0) return;
  await db.query(`UPDATE ${FILES} SET retired_at = now() WHERE parquet_path = ANY($1::text[]) AND superseded_by IS NOT NULL AND retired_at IS NULL`, [parquetPaths]);
}

/** Several loaded files that have left input/ (their moves durable), in one round trip. */
export async function markLoadedSettled(client: pg.PoolClient, fileIds: string[]): Promise<void> {
  if (fileIds.length === 0) return;
  await client.query({
    name: 'loadbay-loaded-settled',
    text: `UPDATE ${FILES} SET settled_at = now(), updated_at = now() WHERE id = ANY($1::bigint[]) AND status = 'loaded'`,
    values: [fileIds],
  });
}

/** The outcome is durable and the file has left input/ (a loaded file: `markLoadedSettled`). */
export async function markSettled(
  client: pg.PoolClient,
  fileId: string,
  status: 'failed' | 'skipped',
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

/**
 * For each of `parquetPaths` the ledger rows that recorded it, in one query: whether one of them
 * loaded it, and the instances of the others (each may still be writing it).
 */
export async function parquetWriters(db: Queryable, parquetPaths: string[]): Promise<Map<string, { loaded: boolean; instances: string[] }>> {
  const { rows } = await db.query<{ parquet_path: string; loaded: boolean; instances: string[] }>(
    `SELECT parquet_path, bool_or(status = 'loaded') AS loaded,
            coalesce(array_agg(DISTINCT instance_id) FILTER (WHERE status <> 'loaded' AND instance_id IS NOT NULL), '{}') AS instances
       FROM ${FILES} WHERE parquet_path = ANY($1::text[]) GROUP BY parquet_path`,
    [parquetPaths],
  );
  return new Map(rows.map((r) => [r.parquet_path, { loaded: r.loaded, instances: r.instances }]));
}

/** The other ledger rows that recorded a Parquet path, with their status and instance. */
export async function parquetHolders(db: Queryable, parquetPath: string, exceptFileId: string): Promise<Array<{ status: string; instance_id: string }>> {
  const { rows } = await db.query<{ status: string; instance_id: string }>(
    `SELECT status, instance_id FROM ${FILES} WHERE parquet_path = $1 AND id <> $2`,
    [parquetPath, exceptFileId],
  );
  return rows;
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
