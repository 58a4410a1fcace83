/**
 * For `check-config`: how each dataset's schema compares with its existing table. Uses the
 * configured database (DATABASE_URL / database.url) or the embedded server if it is running; never
 * starts one and never changes anything.
 */
import pg from 'pg';
import type { Config } from '../config/types.js';
import { errorMessage } from '../errors.js';
import { existingColumns, qualifiedTable, tableDifferences } from '../write/postgres.js';

/**
 * A short-lived connection for a command: the configured database, or the embedded server if it is
 * running. Never starts one. Returns the reason instead when nothing answers.
 */
export async function connectForCommand(config: Config): Promise<pg.Client | string> {
  const url = config.database.url ?? `postgres://postgres@127.0.0.1:${config.database.embedded.port}/postgres`;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return client;
  } catch (error) {
    return `database not reachable: ${errorMessage(error)}`;
  }
}

export async function compareTables(config: Config): Promise<string> {
  const client = await connectForCommand(config);
  if (typeof client === 'string') return `tables: not compared (${client})`;
  try {
    const lines = ['tables:'];
    for (const dataset of config.datasets) {
      const table = qualifiedTable(dataset);
      const existing = await existingColumns(client, dataset);
      if (!existing) {
        lines.push(`  ${dataset.name}: ${table} does not exist yet (created on the first load)`);
        continue;
      }
      const differences = tableDifferences(dataset, table, existing);
      lines.push(differences.length === 0 ? `  ${dataset.name}: ${table} fits` : `  ${dataset.name}: ${differences.length} difference(s)`);
      for (const difference of differences) lines.push(`    ! ${difference}`);
    }
    return lines.join('\n');
  } finally {
    await client.end().catch(() => undefined);
  }
}
