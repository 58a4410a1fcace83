/**
 * Temporary files whose writer is gone. Every file loadbay writes under a temporary name sits beside
 * its final place as `.<label>.<instance id>.<tag>.tmp` (reports, rejects files, Parquet files,
 * exports); an instance killed while writing leaves it behind. The sweep removes those whose instance
 * no longer holds its lock (instance.ts: the test the Parquet recovery uses too), at start and every
 * SWEEP_INTERVAL_MS. Instances share folders: a file of a live instance, or of this one, is never
 * touched, and nor is any name loadbay does not write.
 */
import { readdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';
import type { Config } from '../config/types.js';
import { errorMessage } from '../errors.js';
import { livenessCache, tempWriter } from '../instance.js';
import type { Logger } from '../log.js';
import { statNow } from '../lib/fs-now.js';
import { isObjectWhere, stagingFolder, usesObjectStorage } from '../source/places.js';

/** A dead instance's leftovers cost only disk space; a sweep costs a walk of the output folders. */
const SWEEP_INTERVAL_MS = 10 * 60_000;

/**
 * The report temporaries of loadbay before instance ids were in the names carry only a pid, which
 * says nothing across machines; a report is written in milliseconds, so one a day old is an orphan.
 */
const LEGACY_REPORT_TEMP = /^\.loadbay-\d+-[0-9a-f]{8}\.tmp$/;
const LEGACY_MIN_AGE_MS = 24 * 3600_000;

/**
 * The folders loadbay writes temporary files in: recursively the Parquet and failed folders, and each
 * export target's folder — those that are local; with folders in object storage, the staging folder.
 */
export function sweptFolders(config: Config): Array<{ dir: string; recursive: boolean }> {
  return [
    { dir: config.folders.parquet, recursive: true },
    { dir: config.folders.failed, recursive: true },
    ...[...new Set(config.exports.filter((spec) => !spec.toS3).map((spec) => path.dirname(spec.to)))].map((dir) => ({ dir, recursive: false })),
    ...(usesObjectStorage(config) ? [{ dir: stagingFolder(config.root), recursive: true }] : []),
  ].filter(({ dir }) => !isObjectWhere(dir));
}

export class TempSweeper {
  private readonly timer: NodeJS.Timeout;
  private running: Promise<number> | null = null;
  private closed = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly config: () => Config,
    private readonly instanceId: string,
    private readonly log: Logger,
  ) {
    this.timer = setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  /** Sweeps now (or joins the sweep under way); resolves with the number of files removed. */
  sweep(): Promise<number> {
    this.running ??= this.sweepAll()
      .catch((error: unknown) => {
        this.log.warn(`sweeping temporary files: ${errorMessage(error)}`);
        return 0;
      })
      .finally(() => (this.running = null));
    return this.running;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.running;
  }

  private async sweepAll(): Promise<number> {
    const alive = livenessCache(this.pool);
    let removed = 0;
    for (const { dir, recursive } of sweptFolders(this.config())) {
      for await (const file of temporaryFiles(dir, recursive)) {
        if (this.closed) return removed;
        const name = path.basename(file);
        const writer = tempWriter(name);
        let why: string;
        if (writer !== null) {
          if (writer === this.instanceId) continue;
          if (await alive(writer)) continue;
          why = `a temporary file of loadbay ${writer}, which stopped before finishing it`;
        } else if (LEGACY_REPORT_TEMP.test(name)) {
          const stat = statNow(file);
          if (!stat || Date.now() - stat.mtimeMs < LEGACY_MIN_AGE_MS) continue;
          why = 'a temporary report file of an earlier loadbay, untouched for a day';
        } else {
          continue;
        }
        try {
          await unlink(file);
          removed++;
          this.log.info(`removed ${path.relative(this.config().root, file)}: ${why}`);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') this.log.warn(`cannot remove ${file} (${why}): ${errorMessage(error)}`);
        }
      }
    }
    return removed;
  }
}

/** The dotfiles ending in .tmp under `dir`, folder by folder (a folder that is gone holds none). */
async function* temporaryFiles(dir: string, recursive: boolean): AsyncGenerator<string> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (recursive) yield* temporaryFiles(full, true);
    } else if (entry.isFile() && entry.name.startsWith('.') && entry.name.endsWith('.tmp')) {
      yield full;
    }
  }
}
