/**
 * `export:` — after loads of the datasets an export names (`after`), the result of its query is
 * written as CSV (with a header). One export per target file at a time: in this process (triggers
 * while one runs coalesce into one more run, so the last run starts after the last load) and across
 * instances (an advisory lock on the target for the query and the rename, so a later snapshot never
 * loses to an earlier one). Written completely under a unique temporary name, fsync'd, then renamed:
 * a reader sees the old file or the new one, never half of one. A target in object storage
 * (`s3://bucket/key`) is written to the staging folder first and then uploaded over the previous
 * snapshot: an object, too, is replaced whole.
 */
import { withoutClosingSemicolon } from '../lib/sql.js';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { checkout } from '../db/database.js';
import type { ExportSpec } from '../config/types.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { fsyncPath } from '../lib/fs-now.js';
import { tempName } from '../instance.js';
import { ledgerPath, putFileWhere, type Places } from '../source/places.js';

/** What set an export off: the load it follows. */
export interface ExportCause {
  dataset: string;
  file: string;
  file_id: string;
}

interface TargetState {
  running: Promise<void> | null;
  /** Loads that triggered the export while it ran: one more run covers them all. */
  again: ExportCause[];
}

export class Exports {
  private readonly targets = new Map<string, TargetState>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly log: Logger,
    /** Where the targets are; its writer (this instance) names the temporary files. */
    private readonly places: Places,
  ) {}

  /** Runs every export a load of `cause.dataset` triggers; resolves when they have run (or failed). */
  after(exports: ExportSpec[], cause: ExportCause): Promise<void> {
    return Promise.all(exports.filter((spec) => spec.after.includes(cause.dataset)).map((spec) => this.trigger(spec, cause))).then(() => undefined);
  }

  /** Resolves once no export is running: for a graceful stop. */
  async idle(): Promise<void> {
    for (;;) {
      const running = [...this.targets.values()].map((t) => t.running).filter((p): p is Promise<void> => p !== null);
      if (running.length === 0) return;
      await Promise.all(running);
    }
  }

  private trigger(spec: ExportSpec, cause: ExportCause): Promise<void> {
    let state = this.targets.get(spec.to);
    if (!state) this.targets.set(spec.to, (state = { running: null, again: [] }));
    if (state.running) {
      state.again.push(cause); // one more run after this one, for every trigger meanwhile
      return state.running;
    }
    const target = state;
    target.running = (async () => {
      let causes: ExportCause[] = [cause];
      while (causes.length > 0) {
        target.again = [];
        await this.runOnce(spec, causes);
        causes = target.again;
      }
    })().finally(() => {
      target.running = null;
    });
    return target.running;
  }

  /** One run for the loads in `causes`; the log line names the last and lists them all. */
  private async runOnce(spec: ExportSpec, causes: ExportCause[]): Promise<void> {
    const started = Date.now();
    const to = ledgerPath(this.places, spec.to);
    const last = causes[causes.length - 1]!;
    const all = causes.length > 1 ? { after_files: causes.map((c) => c.file), after_file_ids: causes.map((c) => c.file_id) } : {};
    const fields = { ...last, ...all, to, sql: spec.label };
    try {
      const rows = await writeExport(this.pool, spec, this.places);
      this.log.event('exported', { ...fields, rows, duration_ms: Date.now() - started });
    } catch (error) {
      // After the commit: a failed export is reported, the load stands.
      this.log.event('export_failed', { ...fields, reason: errorMessage(error) });
    }
  }
}

/** Writes the query's result to `spec.to`; returns the number of rows. */
export async function writeExport(pool: pg.Pool, spec: ExportSpec, places: Places): Promise<number> {
  // A target in a bucket is written in the staging folder first (swept like the folders: load/sweep.ts).
  const dir = spec.toS3 ? path.join(places.staging, '_exports') : path.dirname(spec.to);
  await mkdir(dir, { recursive: true });
  const tmp = path.join(dir, tempName(path.basename(spec.to).slice(0, 100), places.writer));
  const { client, done } = await checkout(pool);
  const lock = `loadbay:export:${spec.to}`;
  let ok = false;
  try {
    await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [lock]);
    const query = withoutClosingSemicolon(spec.sql);
    const stream = client.query(copyTo(`COPY (${query}\n) TO STDOUT WITH (FORMAT csv, HEADER)`));
    await pipeline(stream, createWriteStream(tmp));
    await fsyncPath(tmp);
    if (spec.toS3) {
      await putFileWhere(places, tmp, spec.to, { overwrite: true, contentType: 'text/csv' });
    } else {
      await rename(tmp, spec.to);
      await fsyncPath(path.dirname(spec.to));
    }
    await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [lock]);
    ok = true;
    return (stream as unknown as { rowCount?: number }).rowCount ?? 0;
  } finally {
    if (!ok) await unlink(tmp).catch(() => undefined);
    done(!ok); // a failed export drops the connection, and with it the lock
  }
}
