/**
 * `export:` — after a successful load, the result of a query is written as CSV (with a header) to a
 * file, completely under a temporary name and then renamed, so a reader never sees half of it.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { Dataset } from '../config/types.js';
import { checkout } from '../claim/claim.js';
import { fsyncDir } from './move.js';

export async function runExport(pool: pg.Pool, dataset: Dataset): Promise<string | null> {
  const spec = dataset.export;
  if (!spec) return null;
  await mkdir(path.dirname(spec.to), { recursive: true });
  const tmp = path.join(path.dirname(spec.to), `.${path.basename(spec.to)}.${process.pid}.tmp`);
  const { client, done } = await checkout(pool);
  let ok = false;
  try {
    const query = spec.sql.trim().replace(/;\s*$/, '');
    const stream = client.query(copyTo(`COPY (${query}) TO STDOUT WITH (FORMAT csv, HEADER)`));
    await pipeline(stream, createWriteStream(tmp));
    await rename(tmp, spec.to);
    await fsyncDir(path.dirname(spec.to));
    ok = true;
    return spec.to;
  } finally {
    if (!ok) await unlink(tmp).catch(() => undefined);
    done(!ok);
  }
}
