/**
 * Reloading the dataset files while the daemon runs. Whatever asks — the files changing (watched),
 * SIGHUP, `loadbay reload` (which sends SIGHUP) — a reload reads the configuration again with the
 * loader's own validation; a set that does not load is refused with the reason and the running one
 * stays. After every reload, and at start, files in `output_failed/_unmatched/` that a dataset now
 * matches go back into input/ (a `retried` line each in conversion.log). Reloads run one at a time.
 */
import { hostname } from 'node:os';
import type pg from 'pg';
import { retryOne } from '../commands/failed.js';
import { ledgerQuarantine } from '../quarantine/quarantined.js';
import type { Places } from '../source/places.js';
import type { Config } from '../config/types.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { UNMATCHED } from '../outcome/settle.js';
import { removeRunFile, writeRunFile, type ReloadOutcome, type RunInfo } from './run-file.js';
import { watchConfig, type ConfigWatch } from './watch-config.js';

export interface ReloaderDeps {
  instanceId: string;
  log: Logger;
  /** The ledger, which knows the unmatched files (quarantine/quarantined.ts). */
  pool: pg.Pool;
  /** The configuration in force. */
  current(): Config;
  /** Reads the configuration files again (the CLI's loader: the same file, DATABASE_URL). */
  load(): Promise<Config>;
  /** Puts a newly read configuration in force; throws (nothing changed) when it cannot be. */
  apply(next: Config): Promise<void>;
  /** Looks at input/ now. */
  rescan(): Promise<void>;
  /** Watch the configuration file and the datasets folder (default: yes). */
  watch: boolean;
  /** Where the quarantine and the inputs are (buckets included). */
  places?: Places;
}

/** The parts of the configuration a reload takes: the datasets (their files' content, resolved). */
const datasetsOf = (config: Config) => JSON.stringify([config.datasets, config.exports]);
/** Parts a running daemon keeps until its next start (folders, database … are refused instead). */
const keptUntilRestart = (config: Config) => JSON.stringify([config.http, config.notify, config.parquet]);

export class Reloader {
  private queue: Promise<unknown> = Promise.resolve();
  private reloads = 0;
  private last: ReloadOutcome | null = null;
  private watch: ConfigWatch | null = null;
  private closed = false;
  private readonly startedAt = new Date().toISOString();

  constructor(private readonly deps: ReloaderDeps) {}

  /** Writes the run file and starts watching; then, in turn with reloads, looks at the unmatched files once. */
  async start(): Promise<void> {
    const { log } = this.deps;
    if (this.deps.watch) {
      this.watch = watchConfig(this.deps.current(), () => void this.reload('files changed'), (message) => log.warn(message));
    }
    await this.writeRunFile().catch((error: unknown) => log.warn(`cannot write the run file (loadbay reload will not find this instance): ${errorMessage(error)}`));
    this.queue = this.queue.then(async () => {
      const requeued = await this.requeueUnmatched();
      if (requeued.length > 0) await this.deps.rescan().catch((error: unknown) => log.warn(`rescan: ${errorMessage(error)}`));
    });
  }

  /** Reads the configuration again and takes its datasets, or keeps the running ones and says why. */
  reload(trigger: string): Promise<ReloadOutcome> {
    const run = this.queue.then(() => this.reloadNow(trigger));
    this.queue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.watch?.close();
    await this.queue;
    await removeRunFile(this.deps.current().folders.logs, this.deps.instanceId).catch(() => undefined);
  }

  private async reloadNow(trigger: string): Promise<ReloadOutcome> {
    const { log } = this.deps;
    const before = this.deps.current();
    let outcome: ReloadOutcome;
    try {
      const next = await this.deps.load();
      const changed = datasetsOf(next) !== datasetsOf(before);
      if (keptUntilRestart(next) !== keptUntilRestart(before)) {
        log.warn(`${trigger}: changes to http, notify or parquet in ${next.configFile} take effect at the next start`);
      }
      if (changed) await this.deps.apply(next);
      const names = this.deps.current().datasets.map((d) => d.name);
      if (changed) log.info(`${trigger}: reloaded ${names.length} dataset(s): ${names.join(', ')}`);
      else log.info(`${trigger}: the dataset files are unchanged (${names.length} dataset(s))`);
      outcome = { at: new Date().toISOString(), trigger, ok: true, datasets: names, requeued: [] };
    } catch (error) {
      const reason = errorMessage(error);
      log.warn(`${trigger}: configuration not reloaded, the running one stays: ${reason}`);
      outcome = { at: new Date().toISOString(), trigger, ok: false, reason, datasets: before.datasets.map((d) => d.name), requeued: [] };
    }
    outcome.requeued = await this.requeueUnmatched();
    await this.deps.rescan().catch((error: unknown) => log.warn(`rescan after a reload: ${errorMessage(error)}`));
    this.watch?.follow(this.deps.current());
    this.reloads++;
    this.last = outcome;
    if (!this.closed) await this.writeRunFile().catch((error: unknown) => log.warn(`cannot update the run file: ${errorMessage(error)}`));
    return outcome;
  }

  /** Moves the unmatched files a dataset now matches back into input/; returns where they went. */
  private async requeueUnmatched(): Promise<string[]> {
    const { log } = this.deps;
    const config = this.deps.current();
    const moved: string[] = [];
    let files;
    try {
      files = (await ledgerQuarantine(config, this.deps.pool, { dataset: UNMATCHED }, this.deps.places)).files;
    } catch (error) {
      log.warn(`cannot list ${UNMATCHED}/ to look at its files again: ${errorMessage(error)}`);
      return moved;
    }
    for (const file of files) {
      const dataset = config.datasets.find((d) => d.matches(file.report.file));
      if (!dataset) continue;
      try {
        const to = await retryOne(config, log, file, this.deps.pool);
        moved.push(to);
        log.info(`${file.path} matches dataset ${dataset.name} now: moved back to input/${to}`);
      } catch (error) {
        // Another instance on the same folders may have moved it first.
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') log.warn(`cannot move ${file.path} back into input/: ${errorMessage(error)}`);
      }
    }
    return moved;
  }

  private writeRunFile(): Promise<void> {
    const config = this.deps.current();
    const info: RunInfo = {
      pid: process.pid,
      host: hostname(),
      instance: this.deps.instanceId,
      config: config.configFile,
      started_at: this.startedAt,
      reloads: this.reloads,
      last_reload: this.last,
    };
    return writeRunFile(config.folders.logs, info);
  }
}
