/**
 * The Parquet folder holds exactly the rows of the table. A Parquet file is renamed into place just
 * before its load commits; if loadbay died in between, the file has no `loaded` ledger row: at
 * start-up temporary files and such orphans are removed, but only when the instance that wrote them
 * is gone (its advisory lock is free: instance.ts), so a second instance running right now is never disturbed.
 * A load that replaced earlier loads retires their Parquet files into `<dataset>/_superseded/` once
 * it has committed; a crash before that is finished at the next start (`retireSuperseded`). In
 * object storage the same happens by copy-then-delete (source/transfer.ts), and the start-up sweep
 * of orphans is source/s3/sweep.ts.
 */
import { mkdir, opendir, readdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';
import { markRetired, parquetWriters, unretired } from '../db/files.js';
import { fsyncPath, renameNow } from '../lib/fs-now.js';
import { livenessCache } from '../instance.js';
import type { Logger } from '../log.js';
import { baseOfWhere, dirOfWhere, isObjectWhere, joinWhere, statWhere, whereOfLedgerPath, type Places } from '../source/places.js';
import { moveItem } from '../source/transfer.js';

/** Where a superseded load's Parquet file goes: `_superseded/` beside it. */
export const SUPERSEDED = '_superseded';

/**
 * Moves the Parquet files of superseded loads (ledger paths: relative to the root, or s3:// URLs)
 * into `_superseded/`, durably, then tells the ledger. A file already moved (a repeat after a
 * crash) counts as moved.
 */
export async function retireParquet(db: pg.Pool | pg.PoolClient, places: Places, parquetPaths: string[]): Promise<void> {
  if (parquetPaths.length === 0) return;
  const folders = new Set<string>();
  for (const recorded of parquetPaths) {
    const from = whereOfLedgerPath(places, recorded);
    if (isObjectWhere(from)) {
      const seen = await statWhere(places, from);
      // Gone from its place: retired before a crash (or removed by hand); nothing left to move.
      if (seen) await moveItem(places, { where: from, ...seen }, joinWhere(dirOfWhere(from), SUPERSEDED, baseOfWhere(from)));
      continue;
    }
    const to = path.join(path.dirname(from), SUPERSEDED, path.basename(from));
    await mkdir(path.dirname(to), { recursive: true });
    try {
      renameNow(from, to);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    folders.add(path.dirname(from)).add(path.dirname(to));
  }
  for (const folder of folders) await fsyncPath(folder);
  await markRetired(db, parquetPaths);
}

/** Start-up: superseded loads whose Parquet file a crash left in place are retired now. */
export async function retireSuperseded(pool: pg.Pool, places: Places, log: Logger): Promise<number> {
  let retired = 0;
  for (;;) {
    const rows = await unretired(pool);
    if (rows.length === 0) return retired;
    await retireParquet(pool, places, rows.map((r) => r.parquet_path));
    retired += rows.length;
    log.info(`retired ${rows.length} superseded Parquet file(s) into ${SUPERSEDED}/ (their loads were replaced before a stop)`);
  }
}

/** Parquet files whose ledger rows are asked for in one query. */
const RECONCILE_CHUNK = 1000;

export async function reconcileParquet(pool: pg.Pool, root: string, parquetDir: string, log: Logger): Promise<number> {
  let removed = 0;
  const alive = livenessCache(pool);
  /** Removed when each instance that may be writing it is gone (a live one may be about to commit it). */
  const remove = async (file: string, writers: string[]) => {
    if (writers.length === 0) return;
    for (const writer of writers) if (await alive(writer)) return;
    await unlink(file).catch(() => undefined);
    removed++;
    log.info(`removed ${path.relative(root, file)}: written by a loadbay that stopped before its load committed`);
  };
  const datasets = await readdir(parquetDir, { withFileTypes: true }).catch(() => []);
  for (const entry of datasets) {
    if (!entry.isDirectory()) continue;
    const dir = path.join(parquetDir, entry.name);
    let pending: string[] = [];
    const settle = async () => {
      const writers = await parquetWriters(pool, pending.map((file) => path.relative(root, file)));
      for (const file of pending) {
        const recorded = writers.get(path.relative(root, file));
        if (recorded && !recorded.loaded) await remove(file, recorded.instances);
      }
      pending = [];
    };
    for await (const item of await opendir(dir)) {
      const name = item.name;
      const file = path.join(dir, name);
      if (name.startsWith('.') && name.endsWith('.tmp')) await remove(file, [name.split('.').at(-3) ?? ''].filter(Boolean));
      else if (name.endsWith('.parquet') && (pending.push(file), pending.length >= RECONCILE_CHUNK)) await settle();
    }
    if (pending.length > 0) await settle();
  }
  return removed;
}
