/**
 * Column profiles of a dataset's table, computed by PostgreSQL: per column its type, null share,
 * distinct count, min/max, a histogram (numbers, dates, times) or the top values (text, booleans).
 * A small table is read whole and the figures are exact; a big one (by its size on disk) is read
 * through `TABLESAMPLE SYSTEM` — a fixed number of pages whatever its size — and its row count and
 * distinct counts come from PostgreSQL's own statistics (`pg_class`, `pg_stats`) where it has them.
 * Two statements read the table (aggregates, then histograms and top values), beside a few small
 * catalogue queries (size, columns, statistics), on the caller's read-only connection with its timeouts.
 */
import type pg from 'pg';
import { quoteIdent } from './database.js';

type Queryable = Pick<pg.Pool | pg.PoolClient | pg.Client, 'query'>;

/** Tables up to this many pages (8 KiB each: 16 MiB) are read whole. */
const WHOLE_TABLE_PAGES = 2048;
/** A big table's sample: about this many pages. */
const SAMPLE_PAGES = 1024;
const HISTOGRAM_BINS = 20;
const TOP_VALUES = 8;
/** Integer columns with at most this many values in their range get a bin per value. */
const VALUE_BINS = 40;

export type ColumnKind = 'number' | 'integer' | 'date' | 'timestamp' | 'boolean' | 'text' | 'json' | 'other';

export interface ColumnProfile {
  name: string;
  /** PostgreSQL's name of the type. */
  type: string;
  kind: ColumnKind;
  /** Share of rows where the column is NULL, 0 … 1. */
  null_share: number;
  distinct: number | null;
  /** exact: counted over the whole table; statistics: PostgreSQL's estimate; sample: at least this many. */
  distinct_basis: 'exact' | 'statistics' | 'sample';
  min: string | null;
  max: string | null;
  /** Numbers, dates, times: counts per bin; `from`/`to` as numbers (epoch seconds for dates and times). */
  histogram?: Array<{ from: number; to: number; count: number }>;
  /** Text, booleans and others: the most frequent values with their counts (in the rows read). */
  top?: Array<{ value: string; count: number }>;
}

export interface TableProfile {
  table: string;
  rows: number;
  /** The row count is PostgreSQL's estimate (a big table). */
  rows_estimated: boolean;
  /** The figures come from a sample of the rows. */
  sampled: boolean;
  rows_read: number;
  columns: ColumnProfile[];
}

interface ColumnInfo {
  name: string;
  type: string;
  kind: ColumnKind;
}

function kindOf(type: string, category: string): ColumnKind {
  if (['smallint', 'integer', 'bigint'].includes(type)) return 'integer';
  if (category === 'N') return 'number';
  if (type === 'date') return 'date';
  if (type.startsWith('timestamp')) return 'timestamp';
  if (category === 'B') return 'boolean';
  if (category === 'S') return 'text';
  if (type === 'jsonb' || type === 'json') return 'json';
  return 'other';
}

/** The column as a float8 for binning: numbers as they are, dates and times as epoch seconds. */
function asNumber(kind: ColumnKind, column: string): string | null {
  if (kind === 'number' || kind === 'integer') return `${column}::float8`;
  if (kind === 'date') return `extract(epoch FROM ${column}::timestamp)::float8`;
  if (kind === 'timestamp') return `extract(epoch FROM ${column})::float8`;
  return null;
}

/** The profile of `schema.name`, or null when the table does not exist. */
export async function profileTable(db: Queryable, schema: string, name: string): Promise<TableProfile | null> {
  const table = `${quoteIdent(schema)}.${quoteIdent(name)}`;
  const found = await db.query<{ estimate: number; pages: string }>(
    `SELECT c.reltuples::float8 AS estimate, (pg_relation_size(c.oid) / current_setting('block_size')::int)::text AS pages
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
    [schema, name],
  );
  if (!found.rows[0]) return null;
  const estimate = Number(found.rows[0].estimate);
  const pages = Number(found.rows[0].pages);
  const columns = (
    await db.query<{ name: string; type: string; category: string }>(
      `SELECT a.attname AS name, format_type(a.atttypid, NULL) AS type, t.typcategory AS category
         FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
        WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
      [table],
    )
  ).rows.map((c): ColumnInfo => ({ name: c.name, type: c.type, kind: kindOf(c.type, c.category) }));
  const sampled = pages > WHOLE_TABLE_PAGES;
  const percent = sampled ? Math.max(0.0001, Math.min(100, (100 * SAMPLE_PAGES) / pages)) : 100;
  const source = sampled ? `${table} TABLESAMPLE SYSTEM (${percent.toFixed(6)}) REPEATABLE (1)` : table;

  // 1: counts, distinct counts, min and max of every column, in one pass.
  const aggregates = ['count(*)::text AS n'];
  columns.forEach((c, i) => {
    const col = quoteIdent(c.name);
    aggregates.push(`count(${col})::text AS n${i}`);
    if (c.kind === 'json' || c.kind === 'other') return; // no ordering, maybe no equality
    aggregates.push(`count(DISTINCT ${col})::text AS d${i}`);
    // Dates and times as ISO 8601, whatever the session's DateStyle.
    const text = (v: string) => (c.kind === 'date' || c.kind === 'timestamp' ? `to_json(${v}) #>> '{}'` : `${v}::text`);
    if (c.kind !== 'boolean') aggregates.push(`${text(`min(${col})`)} AS lo${i}`, `${text(`max(${col})`)} AS hi${i}`);
    const numeric = asNumber(c.kind, col);
    if (numeric) aggregates.push(`min(${numeric}) AS flo${i}`, `max(${numeric}) AS fhi${i}`);
  });
  const first = (await db.query<Record<string, string | number | null>>(`SELECT ${aggregates.join(', ')} FROM ${source}`)).rows[0]!;
  const read = Number(first['n']);

  // 2: histograms and top values, over the same rows (the sample is read once).
  const parts: string[] = [];
  columns.forEach((c, i) => {
    const col = quoteIdent(c.name);
    const numeric = asNumber(c.kind, col);
    const lo = first[`flo${i}`];
    const hi = first[`fhi${i}`];
    if (numeric && lo !== null && hi !== null && lo !== undefined && hi !== undefined) {
      const [l, h] = [Number(lo), Number(hi)];
      if (c.kind === 'integer' && h - l + 1 <= VALUE_BINS) {
        parts.push(`(SELECT ${i} AS i, ${col}::float8 AS b, NULL::text AS v, count(*)::int AS n FROM s WHERE ${col} IS NOT NULL GROUP BY ${col})`);
      } else if (h > l) {
        parts.push(`(SELECT ${i} AS i, least(width_bucket(${numeric}, ${l}, ${h}, ${HISTOGRAM_BINS}), ${HISTOGRAM_BINS})::float8 AS b, NULL::text AS v, count(*)::int AS n FROM s WHERE ${col} IS NOT NULL GROUP BY 2)`);
      } else {
        parts.push(`(SELECT ${i} AS i, 1::float8 AS b, NULL::text AS v, count(*)::int AS n FROM s WHERE ${col} IS NOT NULL)`);
      }
    } else if (c.kind === 'text' || c.kind === 'boolean' || c.kind === 'other') {
      parts.push(`(SELECT ${i} AS i, NULL::float8 AS b, left(${col}::text, 200) AS v, count(*)::int AS n FROM s WHERE ${col} IS NOT NULL GROUP BY ${col}::text ORDER BY 4 DESC, 3 LIMIT ${TOP_VALUES})`);
    }
  });
  const second = parts.length === 0 ? [] : (await db.query<{ i: number; b: number | null; v: string | null; n: number }>(`WITH s AS MATERIALIZED (SELECT * FROM ${source}) ${parts.join(' UNION ALL ')}`)).rows;

  const stats = sampled ? await distinctStatistics(db, schema, name) : new Map<string, number>();
  const rows = sampled ? Math.round(estimate >= 0 ? estimate : (read * 100) / percent) : read;
  const profiles = columns.map((c, i): ColumnProfile => {
    const nonNull = Number(first[`n${i}`] ?? 0);
    const counted = first[`d${i}`] === undefined ? null : Number(first[`d${i}`]);
    const fromStats = stats.get(c.name);
    const fromStatsCount = fromStats === undefined ? undefined : fromStats < 0 ? Math.round(-fromStats * rows) : Math.round(fromStats);
    const profile: ColumnProfile = {
      name: c.name,
      type: c.type,
      kind: c.kind,
      null_share: read === 0 ? 0 : (read - nonNull) / read,
      distinct: !sampled ? counted : fromStatsCount ?? counted,
      distinct_basis: !sampled ? 'exact' : fromStatsCount !== undefined ? 'statistics' : 'sample',
      min: (first[`lo${i}`] as string | null | undefined) ?? null,
      max: (first[`hi${i}`] as string | null | undefined) ?? null,
    };
    const mine = second.filter((r) => Number(r.i) === i);
    const lo = first[`flo${i}`];
    const hi = first[`fhi${i}`];
    if (asNumber(c.kind, 'x') && lo !== null && lo !== undefined && hi !== null && hi !== undefined) {
      profile.histogram = histogram(c.kind, Number(lo), Number(hi), mine);
    } else if (c.kind === 'text' || c.kind === 'boolean' || c.kind === 'other') {
      profile.top = mine.map((r) => ({ value: r.v ?? '', count: Number(r.n) })).sort((a, b) => b.count - a.count || a.value.localeCompare(b.value));
    }
    return profile;
  });
  return { table: `${schema}.${name}`, rows, rows_estimated: sampled, sampled, rows_read: read, columns: profiles };
}

function histogram(kind: ColumnKind, lo: number, hi: number, bins: Array<{ b: number | null; n: number }>): ColumnProfile['histogram'] {
  if (kind === 'integer' && hi - lo + 1 <= VALUE_BINS) {
    const counts = new Map(bins.map((r) => [Number(r.b), Number(r.n)]));
    return Array.from({ length: hi - lo + 1 }, (_, k) => ({ from: lo + k, to: lo + k, count: counts.get(lo + k) ?? 0 }));
  }
  if (hi <= lo) return [{ from: lo, to: hi, count: bins.reduce((sum, r) => sum + Number(r.n), 0) }];
  const width = (hi - lo) / HISTOGRAM_BINS;
  const counts = new Map(bins.map((r) => [Number(r.b), Number(r.n)]));
  return Array.from({ length: HISTOGRAM_BINS }, (_, k) => ({ from: lo + k * width, to: lo + (k + 1) * width, count: counts.get(k + 1) ?? 0 }));
}

/** `pg_stats.n_distinct` per column (negative: a fraction of the rows), where ANALYZE has run. */
async function distinctStatistics(db: Queryable, schema: string, name: string): Promise<Map<string, number>> {
  const { rows } = await db.query<{ attname: string; n_distinct: number }>(`SELECT attname, n_distinct FROM pg_stats WHERE schemaname = $1 AND tablename = $2`, [schema, name]);
  return new Map(rows.map((r) => [r.attname, Number(r.n_distinct)]));
}
