/**
 * The console's read-only questions to the ledger and to a dataset's table: loads over time, the
 * recent loads, the latest rows. The ledger's statements for the pipeline stay in files.ts.
 */
import type pg from 'pg';
import { LEDGER_SCHEMA } from './ledger.js';

const FILES = `${LEDGER_SCHEMA}.files`;

type Queryable = Pick<pg.Pool | pg.PoolClient | pg.Client, 'query'>;

/** Files and rows loaded per minute over the last hour (the overview's chart). */
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

export interface RecentLoad {
  id: string;
  file: string;
  rows: number;
  at: Date;
  seconds: number;
}

/** A dataset's latest loads, the most recent first (by when they settled, then by id as a number). */
export async function recentLoads(db: Queryable, dataset: string, limit = 50): Promise<RecentLoad[]> {
  const { rows } = await db.query<{ file_id: string; path: string; rows: string; settled_at: Date; seconds: number }>(
    `SELECT f.id::text AS file_id, f.path, f.rows::text AS rows, f.settled_at, extract(epoch FROM f.settled_at - f.created_at)::float8 AS seconds
       FROM ${FILES} f WHERE f.dataset = $1 AND f.status = 'loaded' AND f.settled_at IS NOT NULL
      ORDER BY f.settled_at DESC, f.id DESC LIMIT $2`,
    [dataset, limit],
  );
  return rows.map((r) => ({ id: r.file_id, file: r.path, rows: Number(r.rows), at: r.settled_at, seconds: r.seconds }));
}

/** Bucket widths for loads over time, in seconds: the first that keeps the history in `maxBuckets`. */
const BUCKETS = [60, 300, 900, 3600, 3 * 3600, 6 * 3600, 86_400, 7 * 86_400, 30 * 86_400, 365 * 86_400];

export interface LoadHistory {
  bucket_seconds: number;
  points: Array<{ at: string; loads: number; rows: number }>;
}

/** A dataset's loads over its whole history, counted per bucket (a minute … a year, whatever fits). */
export async function loadHistory(db: Queryable, dataset: string, maxBuckets = 60): Promise<LoadHistory> {
  const span = await db.query<{ first: number | null; last: number | null }>(
    `SELECT extract(epoch FROM min(settled_at))::float8 AS first, extract(epoch FROM max(settled_at))::float8 AS last
       FROM ${FILES} WHERE dataset = $1 AND status = 'loaded' AND settled_at IS NOT NULL`,
    [dataset],
  );
  const { first, last } = span.rows[0] ?? { first: null, last: null };
  if (first === null || last === null) return { bucket_seconds: 60, points: [] };
  const bucket = BUCKETS.find((b) => (last - first) / b < maxBuckets) ?? BUCKETS[BUCKETS.length - 1]!;
  const { rows } = await db.query<{ at: number; loads: number; rows: string }>(
    `SELECT floor(extract(epoch FROM settled_at) / $2) * $2 AS at, count(*)::int AS loads, coalesce(sum(rows), 0)::text AS rows
       FROM ${FILES} WHERE dataset = $1 AND status = 'loaded' AND settled_at IS NOT NULL
      GROUP BY 1 ORDER BY 1`,
    [dataset, bucket],
  );
  return { bucket_seconds: bucket, points: rows.map((r) => ({ at: new Date(Number(r.at) * 1000).toISOString(), loads: r.loads, rows: Number(r.rows) })) };
}

/** What a JSON reply can carry of a value PostgreSQL returned. */
export function plainValue(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (value !== null && typeof value === 'object') return JSON.stringify(value);
  return value;
}

/** Past this many rows (PostgreSQL's estimate) a page neither counts nor sorts the table. */
const BIG_TABLE_ROWS = 1_000_000;

export interface TablePreview {
  count: number;
  /** The count is PostgreSQL's estimate (a big table). */
  estimated: boolean;
  /** The rows are the latest loaded; false: some rows (a big table is not sorted for a page). */
  latest: boolean;
  columns: string[];
  rows: unknown[][];
}

/** The table's row count and its latest rows; `table` quoted and qualified. */
export async function tablePreview(db: Queryable, table: string, limit = 10): Promise<TablePreview> {
  const estimate = Number((await db.query<{ n: number }>(`SELECT reltuples::float8 AS n FROM pg_class WHERE oid = $1::regclass`, [table])).rows[0]?.n ?? -1);
  const big = estimate > BIG_TABLE_ROWS;
  const count = big ? Math.round(estimate) : Number((await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`)).rows[0]?.n ?? 0);
  const order = big ? '' : 'ORDER BY _loaded_at DESC, _file_id DESC, _source_record DESC';
  const latest = await db.query({ text: `SELECT * FROM ${table} ${order} LIMIT ${limit}`, rowMode: 'array' });
  return { count, estimated: big, latest: !big, columns: latest.fields.map((f) => f.name), rows: latest.rows.map((row: unknown[]) => row.map(plainValue)) };
}
