/**
 * PostgreSQL side of a load: create the target table if it is missing, check that an existing one
 * fits the schema, and stream rows in with `COPY … FROM STDIN` (binary format, copy-binary.ts;
 * copy-in.ts) inside the caller's transaction.
 */
import { checkout } from '../db/database.js';
import type pg from 'pg';
import type { Dataset } from '../config/types.js';
import { quoteIdent } from '../db/database.js';
import { HeldError } from '../errors.js';
import { startCopyIn, type CopyLoad } from './copy-in.js';

const LINEAGE_DDL = [
  '"_file_id" bigint',
  '"_source_file" text',
  '"_source_record" bigint',
  '"_loaded_at" timestamptz NOT NULL DEFAULT now()',
];
const LINEAGE_TYPES: Record<string, string> = {
  _file_id: 'bigint',
  _source_file: 'text',
  _source_record: 'bigint',
  _loaded_at: 'timestamp with time zone',
};

export function qualifiedTable(dataset: Dataset): string {
  return `${quoteIdent(dataset.table.schema)}.${quoteIdent(dataset.table.name)}`;
}

/**
 * Creates schema and table when missing (serialised across instances by an advisory lock) and
 * throws `HeldError` naming the first column that does not fit.
 */
export async function ensureTable(pool: pg.Pool, dataset: Dataset, lockTimeoutMs = 0): Promise<string[]> {
  const table = qualifiedTable(dataset);
  const { client, done } = await checkout(pool);
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`loadbay:table:${table}`]);
    // Adding a column or the upsert index needs a strong lock: wait for a stranger's lock no longer than a load would.
    await client.query(`SET LOCAL lock_timeout = ${Math.floor(lockTimeoutMs)}`);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(dataset.table.schema)}`);
    const notNull = notNullColumns(dataset);
    const columns = dataset.columns.map((c) => `${quoteIdent(c.name)} ${c.pgType}${notNull.has(c.name) ? ' NOT NULL' : ''}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${table} (${[...columns, ...LINEAGE_DDL].join(', ')})`);
    const { rows } = await client.query<ExistingColumn>(COLUMNS_SQL, [table]);
    const added: string[] = [];
    if (dataset.evolve) {
      // evolve: add_columns — a column the schema gained is added, nullable; nothing else changes.
      const existing = new Set(rows.map((r) => r.name));
      for (const column of dataset.columns) {
        if (existing.has(column.name)) continue;
        await client.query(`ALTER TABLE ${table} ADD COLUMN ${quoteIdent(column.name)} ${column.pgType}`);
        rows.push({ name: column.name, type: column.pgType, notnull: false, hasdefault: false });
        added.push(column.name);
      }
    }
    checkColumns(dataset, table, rows);
    if (dataset.table.mode === 'upsert') {
      const index = quoteIdent(`${dataset.table.name.slice(0, 40)}_loadbay_key`);
      const key = dataset.table.key.map(quoteIdent).join(', ');
      try {
        await client.query('SAVEPOINT key_index');
        await client.query(`CREATE UNIQUE INDEX IF NOT EXISTS ${index} ON ${table} (${key})`);
      } catch (error) {
        throw new HeldError(`table ${table} cannot get a unique index on (${key}) for upsert: ${(error as Error).message}`);
      }
    }
    await client.query('COMMIT');
    return added;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    done();
  }
}

/**
 * The columns a table loadbay creates declares NOT NULL: those the schema requires and whose type
 * does not allow null (validation has refused every row without a value by then). A column added by
 * `evolve` stays nullable (the rows already there have no value), and an existing table is taken as
 * it is: a required column that is nullable there is no difference (docs/datasets.md).
 */
export function notNullColumns(dataset: Dataset): Set<string> {
  const required = dataset.schema['required'];
  const properties = dataset.schema['properties'] as Record<string, unknown>;
  if (!Array.isArray(required)) return new Set();
  return new Set(
    required.filter((name): name is string => {
      const property = typeof name === 'string' ? properties[name] : undefined;
      return typeof property === 'object' && property !== null && !allowsNull(property as Record<string, unknown>);
    }),
  );
}

/** Whether a property's values may be null: a "null" type, null in its enum or const, or no type at all. */
function allowsNull(property: Record<string, unknown>): boolean {
  const type = property['type'];
  if (type === 'null' || (Array.isArray(type) && type.includes('null')) || property['nullable'] === true) return true;
  if (Array.isArray(property['enum'])) return property['enum'].includes(null);
  if ('const' in property) return property['const'] === null;
  return type === undefined;
}

export interface ExistingColumn {
  name: string;
  type: string;
  notnull: boolean;
  hasdefault: boolean;
}

export const COLUMNS_SQL = `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
        a.attnotnull AS notnull, a.atthasdef AS hasdefault
   FROM pg_attribute a
  WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped`;

/** Every way the existing table does not fit the dataset; empty when it fits. */
export function tableDifferences(dataset: Dataset, table: string, existing: ExistingColumn[]): string[] {
  const byName = new Map(existing.map((c) => [c.name, c]));
  const expected = new Map<string, string>([
    ...dataset.columns.map((c): [string, string] => [c.name, c.pgType]),
    ...Object.entries(LINEAGE_TYPES),
  ]);
  const differences: string[] = [];
  for (const [name, type] of expected) {
    const column = byName.get(name);
    if (!column) {
      differences.push(
        `table ${table} has no column ${quoteIdent(name)} (${type}) that dataset "${dataset.name}" needs` +
          (dataset.evolve && !name.startsWith('_') ? ' (evolve: add_columns will add it)' : ''),
      );
    } else if (column.type !== type) {
      differences.push(`table ${table} column ${quoteIdent(name)} is ${column.type}, but dataset "${dataset.name}" (${dataset.file}) says ${type}`);
    }
  }
  for (const column of existing) {
    if (!expected.has(column.name) && column.notnull && !column.hasdefault) {
      differences.push(`table ${table} column ${quoteIdent(column.name)} is NOT NULL without a default and not in dataset "${dataset.name}"`);
    }
  }
  return differences;
}

/** The table's columns, or null when it does not exist. */
export async function existingColumns(client: pg.ClientBase, dataset: Dataset): Promise<ExistingColumn[] | null> {
  const { rows } = await client.query<ExistingColumn>(COLUMNS_SQL, [qualifiedTable(dataset)]);
  return rows.length > 0 ? rows : null;
}

function checkColumns(dataset: Dataset, table: string, existing: ExistingColumn[]): void {
  const first = tableDifferences(dataset, table, existing)[0];
  if (first) throw new HeldError(first);
}

// ---- COPY stream --------------------------------------------------------------------------------

/** The columns COPY fills, in the order `encodeCopyBinary` writes them. */
export function copyColumns(dataset: Dataset): string[] {
  return [...dataset.columns.map((c) => c.name), '_file_id', '_source_file', '_source_record'];
}

export function startCopy(client: pg.PoolClient, dataset: Dataset, into = qualifiedTable(dataset)): CopyLoad {
  return startCopyIn(client, `COPY ${into} (${copyColumns(dataset).map(quoteIdent).join(', ')}) FROM STDIN WITH (FORMAT binary)`);
}
