/**
 * Data tests (`checks:`) run inside the load's transaction, after the rows are in and before the
 * commit, in the spirit of dbt's tests. A check returns the rows that violate it; any violation
 * rolls the load back and quarantines the file with the check, the count and up to 20 examples.
 */
import type pg from 'pg';
import type { Dataset, UserCheck } from '../config/types.js';
import { quoteIdent } from '../db/database.js';
import { DataError, type Problem } from '../errors.js';
import { shorten } from '../lib/shorten.js';
import { qualifiedTable } from './postgres.js';

const EXAMPLES = 20;

function qualified(name: string): string {
  return name.split('.').map(quoteIdent).join('.');
}

/** The check as SQL returning violating rows ($1 = the file's id), and its name for messages. */
function compile(check: UserCheck, dataset: Dataset): { name: string; sql: string; countOnly?: (n: number) => string | null } {
  const table = qualifiedTable(dataset);
  const fileRows = `${table} WHERE _file_id = $1`;
  if ('unique' in check) {
    const cols = check.unique.map(quoteIdent).join(', ');
    return {
      name: `unique (${check.unique.join(', ')})`,
      sql: `SELECT ${cols}, count(*)::int AS copies FROM ${table}
             WHERE (${cols}) IN (SELECT ${cols} FROM ${fileRows}) GROUP BY ${cols} HAVING count(*) > 1`,
    };
  }
  if ('not_null' in check) {
    const cond = check.not_null.map((c) => `${quoteIdent(c)} IS NULL`).join(' OR ');
    return { name: `not_null (${check.not_null.join(', ')})`, sql: `SELECT * FROM ${fileRows} AND (${cond})` };
  }
  if ('accepted_values' in check) {
    const conds = Object.entries(check.accepted_values).map(
      ([c, values]) => `(${quoteIdent(c)} IS NOT NULL AND ${quoteIdent(c)}::text <> ALL (ARRAY[${values.map((v) => `'${String(v).replace(/'/g, "''")}'`).join(', ')}]::text[]))`,
    );
    return { name: `accepted_values (${Object.keys(check.accepted_values).join(', ')})`, sql: `SELECT * FROM ${fileRows} AND (${conds.join(' OR ')})` };
  }
  if ('relationships' in check) {
    const conds = Object.entries(check.relationships).map(([c, target]) => {
      const dot = target.lastIndexOf('.');
      const other = qualified(target.slice(0, dot));
      const column = quoteIdent(target.slice(dot + 1));
      return `(t.${quoteIdent(c)} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ${other} o WHERE o.${column} = t.${quoteIdent(c)}))`;
    });
    return {
      name: `relationships (${Object.entries(check.relationships).map(([c, t]) => `${c} → ${t}`).join(', ')})`,
      sql: `SELECT t.* FROM ${table} t WHERE t._file_id = $1 AND (${conds.join(' OR ')})`,
    };
  }
  if ('row_count' in check) {
    const { min, max, scope = 'file' } = check.row_count;
    return {
      name: `row_count (${scope}${min !== undefined ? `, min ${min}` : ''}${max !== undefined ? `, max ${max}` : ''})`,
      sql: scope === 'file' ? `SELECT count(*)::int AS n FROM ${fileRows}` : `SELECT count(*)::int AS n FROM ${table} WHERE $1::bigint IS NOT NULL`,
      countOnly: (n) => (min !== undefined && n < min ? `${n} rows, fewer than ${min}` : max !== undefined && n > max ? `${n} rows, more than ${max}` : null),
    };
  }
  return { name: sqlName(check.sql), sql: check.sql };
}

/** An sql check is named by its first line when that is a comment: `-- every team has a name`. */
function sqlName(sql: string): string {
  const comment = /^\s*--[ \t]*(\S[^\n]*)/.exec(sql);
  return comment ? `sql "${comment[1]!.trim()}"` : 'sql';
}

/** Runs every check; the first that finds violations becomes the data error. */
export async function runChecks(client: pg.PoolClient, dataset: Dataset, fileId: string): Promise<void> {
  for (const check of dataset.checks) {
    const { name, sql, countOnly } = compile(check, dataset);
    const params = /\$1\b/.test(sql) ? [fileId] : [];
    let rows: Record<string, unknown>[];
    try {
      await client.query('SAVEPOINT loadbay_check');
      rows = (await client.query(sql, params)).rows;
      await client.query('RELEASE SAVEPOINT loadbay_check');
    } catch (error) {
      // A check that cannot run is a configuration problem, not the file's: let it be held.
      throw Object.assign(new Error(`check ${name} of dataset "${dataset.name}" failed to run: ${(error as Error).message}`), { held: true });
    }
    if (countOnly) {
      const verdict = countOnly(Number(rows[0]?.['n'] ?? 0));
      if (verdict) throw new DataError('check', `check ${name} failed: ${verdict}`, [{ rule: `check ${name}`, message: verdict }], 1);
      continue;
    }
    if (rows.length === 0) continue;
    // A `reason` column (an sql check's own words) is the message, in full; the other columns the value.
    const reasonOf = (row: Record<string, unknown>) => (typeof row['reason'] === 'string' && row['reason'] !== '' ? row['reason'] : null);
    const problems: Problem[] = rows.slice(0, EXAMPLES).map((row) => {
      const source = row['_source_record'];
      const { _file_id, _source_file, _loaded_at, ...values } = row;
      void _file_id, void _source_file, void _loaded_at;
      const reason = reasonOf(row);
      if (reason) delete values['reason'];
      return {
        ...(source !== undefined && source !== null ? { [dataset.format === 'json' ? 'record' : 'line']: Number(source) } : {}),
        value: shorten(values),
        rule: `check ${name}`,
        message: reason ? `violates ${name}: ${reason}` : `violates ${name}: ${shorten(values)}`,
      };
    });
    const count = rows.length;
    const first = reasonOf(rows[0]!);
    throw new DataError('check', `check ${name} failed: ${count} violation${count === 1 ? '' : 's'}${first ? `; first: ${first}` : ''}`, problems, count);
  }
}
