/**
 * Whether a file's content changes anything, by its dataset's mode — the one rule for `on_duplicate:
 * skip` (the default):
 * - append: content loaded before is skipped (appending it again would double its rows);
 * - replace and upsert: the latest delivery wins. Only a file identical to the current delivery of
 *   its scope is skipped; content loaded before but replaced since loads again (A, B, A leaves A).
 * `on_duplicate: load` loads in every case. A file that loads content loaded before names that
 * earlier load (`duplicate_of`), and its Parquet file gets its own name.
 */
import path from 'node:path';
import type pg from 'pg';
import type { CompiledDataset } from '../compile.js';
import { currentDelivery, loadedWithContent } from '../db/files.js';
import { fileConstants } from '../prepare/prepare.js';

/**
 * What a replacing file covers: '' the whole table (`replace: table`), or its key as JSON when the
 * file's name gives every key column (`add_columns.from_file_name`); null otherwise — the keys are
 * in its rows (and for append and upsert).
 */
export function scopeOf(dataset: CompiledDataset, relative: string): string | null {
  const { mode, replaceScope, key } = dataset.table;
  if (mode !== 'replace') return null;
  if (replaceScope === 'table') return '';
  const constants = fileConstants(dataset, path.basename(relative));
  if (!key.every((k) => Object.hasOwn(constants, k))) return null;
  return JSON.stringify(key.map((k) => constants[k]));
}

export interface DeliveryVerdict {
  /** Skipped as a repeat of this load; null: the file loads. */
  skipAs: string | null;
  /** The first load of the same content, if any (the ledger's `duplicate_of` when it loads again). */
  earlier: string | null;
}

/** On the claim's connection: the load's own may be in the middle of its COPY. */
export async function judgeDelivery(client: pg.PoolClient, dataset: CompiledDataset, sha256: string, scope: string | null): Promise<DeliveryVerdict> {
  const earlier = await loadedWithContent(client, dataset.name, sha256);
  if (earlier === null || dataset.onDuplicate === 'load') return { skipAs: null, earlier };
  if (dataset.table.mode === 'append') return { skipAs: earlier, earlier };
  const current = await currentDelivery(client, dataset.name, scope);
  return { skipAs: current?.sha256 === sha256 ? current.id : null, earlier };
}
