/**
 * Load modes, all inside the file's transaction:
 * - append: COPY straight into the table;
 * - replace (table): DELETE every row, then COPY — readers see the old rows until the commit;
 * - upsert: COPY into a temporary stage, refuse (or, with `dedupe: last`, collapse) duplicate keys
 *   within the file, then INSERT … ON CONFLICT (key) DO UPDATE;
 * - replace (key): COPY into the stage, delete the table's rows whose key values the file brings
 *   (or, when the file's name gives the key, the rows of that key, even for a file without rows),
 *   insert the file's rows.
 */
import type pg from 'pg';
import type { Dataset } from '../config/types.js';
import { quoteIdent } from '../db/database.js';
import { DataError } from '../errors.js';
import { copyColumns, qualifiedTable } from './postgres.js';

const STAGE = '"_loadbay_stage"';

/** Prepares the transaction and returns the relation COPY writes into. */
export async function beforeCopy(client: pg.PoolClient, dataset: Dataset): Promise<string> {
  const table = qualifiedTable(dataset);
  const { mode, replaceScope } = dataset.table;
  if (mode === 'append') return table;
  // Replacing loads of one table take turns (load/table.ts lockTable), so a DELETE here sees the
  // rows an earlier load committed.
  if (mode === 'replace' && replaceScope === 'table') {
    await client.query(`DELETE FROM ${table}`);
    return table;
  }
  // The stage lives for one file's load: afterCopy drops it (files sharing a transaction each stage
  // their own, one after the other), and a rollback to the file's savepoint takes it with it.
  await client.query(`CREATE TEMP TABLE ${STAGE} (LIKE ${table} INCLUDING DEFAULTS) ON COMMIT DROP`);
  return STAGE;
}

/**
 * Moves staged rows into the table; `locator` names lines or records in errors. `constants` are the
 * values every record of the file has from its name: a replace whose key they cover replaces that key
 * even when the file brings no rows (a competition whose team list is now empty).
 */
export async function afterCopy(
  client: pg.PoolClient,
  dataset: Dataset,
  locator: 'line' | 'record',
  constants: Record<string, unknown> = {},
): Promise<void> {
  const { mode, replaceScope, key, dedupe } = dataset.table;
  if (mode === 'append' || (mode === 'replace' && replaceScope === 'table')) return;
  const table = qualifiedTable(dataset);
  const keyList = key.map(quoteIdent).join(', ');
  const columns = [...copyColumns(dataset), '_loaded_at'].map(quoteIdent).join(', ');
  if (mode === 'upsert') {
    const { rows: duplicates } = await client.query<{ key: string; at: string[] }>(
      `SELECT json_build_array(${keyList})::text AS key, array_agg(_source_record ORDER BY _source_record)::text[] AS at
         FROM ${STAGE} GROUP BY ${keyList} HAVING count(*) > 1 ORDER BY min(_source_record) LIMIT 20`,
    );
    if (duplicates.length > 0 && dedupe === 'error') {
      const problems = duplicates.map((d) => {
        const message = `${locator}s ${d.at.join(' and ')} have the same key (${key.join(', ')}) = ${d.key}`;
        return { [locator]: Number(d.at[1]), field: key.join(', '), value: d.key, rule: 'upsert key: unique within the file (or dedupe: last)', message };
      });
      throw new DataError('load', problems[0]!.message, problems, problems.length);
    }
    if (duplicates.length > 0) {
      const same = key.map((k) => `s.${quoteIdent(k)} IS NOT DISTINCT FROM t.${quoteIdent(k)}`).join(' AND ');
      await client.query(`DELETE FROM ${STAGE} s USING ${STAGE} t WHERE ${same} AND s._source_record < t._source_record`);
    }
    const updates = [...copyColumns(dataset), '_loaded_at']
      .filter((c) => !key.includes(c))
      .map((c) => `${quoteIdent(c)} = EXCLUDED.${quoteIdent(c)}`)
      .join(', ');
    await client.query(`INSERT INTO ${table} (${columns}) SELECT ${columns} FROM ${STAGE} ON CONFLICT (${keyList}) DO UPDATE SET ${updates}`);
    await client.query(`DROP TABLE ${STAGE}`);
    return;
  }
  // replace by key
  if (key.every((k) => Object.hasOwn(constants, k))) {
    const byName = key.map((k, i) => `${quoteIdent(k)} IS NOT DISTINCT FROM $${i + 1}`).join(' AND ');
    await client.query(`DELETE FROM ${table} WHERE ${byName}`, key.map((k) => constants[k]));
  }
  const same = key.map((k) => `t.${quoteIdent(k)} IS NOT DISTINCT FROM s.${quoteIdent(k)}`).join(' AND ');
  await client.query(`DELETE FROM ${table} t WHERE EXISTS (SELECT 1 FROM ${STAGE} s WHERE ${same})`);
  await client.query(`INSERT INTO ${table} (${columns}) SELECT ${columns} FROM ${STAGE}`);
  await client.query(`DROP TABLE ${STAGE}`);
}
