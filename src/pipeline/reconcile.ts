/**
 * Start-up recovery of the Parquet folder. A Parquet file is renamed into place just before its
 * load commits; if loadbay died in between, the file has no `loaded` ledger row. Temporary files
 * and such orphans are removed, but only when the instance that wrote them is gone (its advisory
 * lock is free: instance.ts), so a second instance running right now is never disturbed.
 */
import { readdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';
import { parquetWriter } from '../db/files.js';
import { instanceAlive } from '../instance.js';
import type { Logger } from '../log.js';

export async function reconcileParquet(pool: pg.Pool, root: string, parquetDir: string, log: Logger): Promise<number> {
  let removed = 0;
  const datasets = await readdir(parquetDir, { withFileTypes: true }).catch(() => []);
  for (const entry of datasets) {
    if (!entry.isDirectory()) continue;
    const dir = path.join(parquetDir, entry.name);
    for (const name of await readdir(dir)) {
      const file = path.join(dir, name);
      let writer: string | null = null;
      if (name.startsWith('.') && name.endsWith('.tmp')) {
        writer = name.split('.').at(-3) ?? null;
      } else if (name.endsWith('.parquet')) {
        const relative = path.relative(root, file);
        const row = await parquetWriter(pool, relative);
        if (!row || row.status === 'loaded') continue;
        writer = row.instance_id;
      }
      if (writer && !(await instanceAlive(pool, writer))) {
        await unlink(file).catch(() => undefined);
        removed++;
        log.info(`removed ${path.relative(root, file)}: written by a loadbay that stopped before its load committed`);
      }
    }
  }
  return removed;
}
