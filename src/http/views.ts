/**
 * A dataset's model views (`views:` in its file): the tables or queries its pipeline answers with,
 * run read-only on the console's connections — through a cursor, so a query's own ORDER BY stands
 * and at most `MAX_ROWS` rows are fetched — and described for the page's chart: which column is x,
 * which are drawn, which splits the rows into series.
 */
import { withoutClosingSemicolon } from '../lib/sql.js';
import type pg from 'pg';
import type { DatasetView } from '../config/types.js';
import { plainValue } from '../db/console.js';
import { errorMessage } from '../errors.js';

export const MAX_ROWS = 1000;

/** PostgreSQL type ids of numbers (int2, int4, int8, float4, float8, numeric) and of dates and times. */
const NUMERIC = new Set([20, 21, 23, 700, 701, 1700]);
const TEMPORAL = new Set([1082, 1114, 1184]);

export interface ViewColumn {
  name: string;
  kind: 'number' | 'time' | 'text';
}

export interface ViewResult {
  title: string;
  chart: DatasetView['chart'];
  source: string;
  columns: ViewColumn[];
  rows: unknown[][];
  /** More rows than MAX_ROWS: the first ones are shown. */
  truncated: boolean;
  x: string | null;
  y: string[];
  group: string | null;
  /** The rows come in the query's order; else a chart orders them itself. */
  ordered: boolean;
  error: string | null;
}

export async function runView(db: pg.Pool, view: DatasetView): Promise<ViewResult> {
  const result: ViewResult = { title: view.title, chart: view.chart, source: view.label, columns: [], rows: [], truncated: false, x: null, y: [], group: null, ordered: view.ordered, error: null };
  let client: pg.PoolClient | null = null;
  try {
    client = await db.connect();
    await client.query('BEGIN READ ONLY');
    await client.query(`DECLARE loadbay_view NO SCROLL CURSOR FOR ${withoutClosingSemicolon(view.sql)}\n`);
    const fetched = await client.query({ text: `FETCH ${MAX_ROWS + 1} FROM loadbay_view`, rowMode: 'array' });
    await client.query('COMMIT');
    result.columns = fetched.fields.map((f) => ({ name: f.name, kind: NUMERIC.has(f.dataTypeID) ? 'number' : TEMPORAL.has(f.dataTypeID) ? 'time' : 'text' }));
    result.truncated = fetched.rows.length > MAX_ROWS;
    result.rows = (fetched.rows as unknown[][]).slice(0, MAX_ROWS).map((row) => row.map(plainValue));
  } catch (error) {
    await client?.query('ROLLBACK').catch(() => undefined);
    const code = (error as { code?: string }).code;
    result.error =
      code === '42P01'
        ? `${view.label}: ${errorMessage(error)} (the table is made by the dataset's first load)`
        : code === '57014'
          ? `${view.label}: took longer than the console allows (statement_timeout)`
          : `${view.label}: ${errorMessage(error)}`;
    return result;
  } finally {
    client?.release();
  }
  const names = result.columns.map((c) => c.name);
  const missing = [view.x, view.group, ...view.y].filter((c): c is string => c !== null && !names.includes(c));
  if (missing.length > 0) {
    result.error = `${view.label}: no column ${missing.map((m) => `"${m}"`).join(', ')} in its rows (${names.join(', ')})`;
    return result;
  }
  result.x = view.x ?? names[0] ?? null;
  result.group = view.group;
  result.y = view.y.length > 0 ? view.y : result.columns.filter((c) => c.kind === 'number' && c.name !== result.x && c.name !== view.group).map((c) => c.name);
  if (view.chart !== 'table' && result.y.length === 0) result.error = `${view.label}: no numeric column to draw (name them in y)`;
  return result;
}
