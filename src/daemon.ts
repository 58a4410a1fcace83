/**
 * The daemon: opens the database (waiting while it is unreachable), migrates the ledger, recovers
 * from an earlier crash, then runs watcher → stabilizer → queue → workers until stopped. Every
 * resource registers a releaser; `stop()` is idempotent and lets files in progress finish.
 */
import { compileConfig } from './compile.js';
import { setMaxListeners } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { WorkQueue } from './claim/queue.js';
import type { Config } from './config/types.js';
import { openDatabase, type Database } from './db/database.js';
import { migrate } from './db/ledger.js';
import { errorMessage } from './errors.js';
import { Releasers } from './lib/releasers.js';
import type { Logger } from './log.js';
import { holdInstanceLock, newInstanceId } from './instance.js';
import { reconcileParquet } from './pipeline/reconcile.js';
import { TempSweeper } from './settle/sweep.js';
import { verifyTable, type PipelineContext } from './pipeline/process-file.js';
import { relativeToInput, runWorker } from './pipeline/worker.js';
import { useParquetThread } from './write/parquet.js';
import { Exports } from './settle/export.js';
import type { LoadbayEvents } from './events.js';
import { Health } from './http/health.js';
import { createMetrics } from './http/metrics.js';
import { startHttp } from './http/server.js';
import { WebConsole } from './http/console.js';
import { Notifier } from './notify/notifier.js';
import { StallWatch } from './notify/stall.js';
import { Stabilizer } from './watch/stability.js';
import { SpecialFiles } from './watch/special.js';
import { watchInput } from './watch/watcher.js';

export interface Daemon {
  instanceId: string;
  database: Database;
  /** The event stream (the same as the logger's). */
  events: LoadbayEvents;
  /** The HTTP listener's address, or null when `http: false`. */
  httpUrl: string | null;
  /** Look at input/ now instead of at the next periodic rescan. */
  rescan(): Promise<void>;
  /** Remove the temporary files of stopped instances now instead of at the next periodic sweep; resolves with how many. */
  sweep(): Promise<number>;
  /**
   * Takes the datasets of a newly loaded configuration (SIGHUP): files claimed from now on are
   * routed by them. Folders, database and processing settings need a restart; a change to them is
   * refused with the reason.
   */
  reload(next: Config): Promise<void>;
  /** Stops taking files, lets those in progress finish, releases everything. Idempotent. */
  stop(): Promise<void>;
  /** Settles when the daemon has stopped (by `stop()` or a fatal error). */
  done: Promise<void>;
}

export { newInstanceId };

/**
 * Paths in hand before a worker takes them (being watched until they stand still, or waiting): ~10 s
 * of the fastest loading measured (~800 tiny files/s) at ~0.5 KB each, so memory does not grow with
 * the number of files in input/; the rest stay there until there is room (watch/watcher.ts).
 */
const MAX_WAITING_FILES = 10_000;

export interface StartOptions {
  /** Aborting it during start-up (e.g. a signal while waiting for the database) cancels the start. */
  signal?: AbortSignal;
}

export class StartCancelled extends Error {}

export async function startDaemon(config: Config, log: Logger, options: StartOptions = {}): Promise<Daemon> {
  compileConfig(config); // a step or schema that cannot compile stops the start, naming its file
  const releasers = new Releasers();
  const stopping = new AbortController();
  // Each archived file's later look (settle/changed.ts) listens for the stop until it has run.
  setMaxListeners(0, stopping.signal);
  const cancel = () => stopping.abort();
  options.signal?.addEventListener('abort', cancel, { once: true });
  releasers.add('start signal', () => options.signal?.removeEventListener('abort', cancel));
  const instanceId = newInstanceId();
  try {
    for (const dir of Object.values(config.folders)) await mkdir(dir, { recursive: true });
    const database = await openDatabase(config, log);
    releasers.add('database', () => database.close());
    log.info(`database: ${database.displayUrl}`);
    await database.waitUntilReachable(stopping.signal);
    if (stopping.signal.aborted) throw new StartCancelled('stopped while waiting for the database');
    await migrate(database.pool);

    // Held for the instance's lifetime: others use it to tell whether this instance is alive.
    releasers.add('instance lock', await holdInstanceLock(database.pool, instanceId, log));
    await reconcileParquet(database.pool, config.root, config.folders.parquet, log);

    releasers.add('parquet thread', useParquetThread());
    const queue = new WorkQueue();
    releasers.add('queue', () => queue.close());
    const specials = new SpecialFiles((file, kind) =>
      log.event('ignored', { file: relativeToInput(config.folders.input, file), reason: `${kind}, not a regular file: left alone` }),
    );
    const stabilizer = new Stabilizer(
      config.processing.stableWindowMs,
      (file) => {
        if (queue.has(file.file)) return;
        queue.push(file);
        log.event('discovered', { file: relativeToInput(config.folders.input, file.file), bytes: file.size });
      },
      (file, error) => log.warn(`cannot stat ${file}: ${errorMessage(error)}`),
      (file, kind) => specials.found(file, kind),
    );
    releasers.add('stabilizer', () => stabilizer.close());
    const notice = (file: string) => {
      if (!queue.has(file)) stabilizer.notify(file);
    };
    const watcher = watchInput(config.folders.input, {
      rescanIntervalMs: config.processing.rescanIntervalMs,
      onPath: notice,
      onError: (error) => log.warn(`watching ${config.folders.input}: ${errorMessage(error)}`),
      specials,
      onInput: (present) =>
        present
          ? log.info(`${config.folders.input} is there again: watching it, taking files`)
          : log.warn(`${config.folders.input} is gone (deleted, moved or unmounted): no file is taken until it is back`),
      // Files being watched until they stand still, and finished ones waiting for a worker.
      room: () => MAX_WAITING_FILES - stabilizer.size - queue.stats.waiting,
    });
    releasers.add('watcher', () => watcher.close());
    await watcher.ready;
    await watcher.rescan();

    const health = new Health({
      pool: database.pool,
      watcher: () => watcher.health(),
      rescanIntervalMs: config.processing.rescanIntervalMs,
      folders: [config.folders.parquet, config.folders.failed, config.folders.archive, config.folders.logs],
      minFreeBytes: config.processing.minFreeBytes,
      onChange: (ready, reasons) => {
        if (ready) {
          log.info('ready again: taking files');
          queue.resume();
        } else {
          log.warn(`not ready, no new files taken until it is: ${reasons.join('; ')}`);
          queue.pause();
        }
      },
    });
    releasers.add('health', () => health.close());
    await health.readiness();
    const registry = createMetrics({
      events: log.events,
      backlog: () => ({ ...queue.backlog(), inProgress: queue.stats.inFlight }),
      failedDir: config.folders.failed,
      ready: () => health.ready,
    });
    const stalls = new StallWatch(log.events, log, config.notify.stalledAfterMs, () => queue.backlog().files);
    releasers.add('stall watch', () => stalls.close());
    const notifier = new Notifier(database.pool, config, log.events, log, instanceId);
    notifier.start();
    releasers.add('notifier', () => notifier.close());
    const exports = new Exports(database.pool, log, config.root, instanceId);
    releasers.add('exports', () => exports.idle()); // a stop lets running exports finish
    const context: PipelineContext = {
      config,
      pool: database.pool,
      log,
      instanceId,
      verifiedTables: new Set<string>(),
      signal: stopping.signal,
      exports,
    };
    // Temporary files of instances that died mid-write: now, before any work, and now and then.
    const sweeper = new TempSweeper(database.pool, () => context.config, instanceId, log);
    releasers.add('temporary file sweep', () => sweeper.close());
    await sweeper.sweep();
    let httpUrl: string | null = null;
    if (config.http) {
      const web = new WebConsole({
        config: () => context.config,
        pool: database.pool,
        log,
        events: log.events,
        health,
        backlog: () => ({ ...queue.backlog(), inProgress: queue.stats.inFlight }),
      });
      const server = await startHttp(config, database.pool, registry, health, web, (message) => log.warn(message));
      releasers.add('http', () => server.close());
      httpUrl = server.url;
      log.info(`http: ${server.url}/metrics, /livez, /readyz, /api/status`);
    }
    // Every dataset's table exists from the start, so SQL that joins them (after_load, checks,
    // exports) does not depend on which file happens to arrive first. A table that does not fit is
    // reported now and held per file later.
    for (const dataset of config.datasets) {
      await verifyTable(context, dataset).catch((error: unknown) => log.warn(`dataset ${dataset.name}: ${errorMessage(error)}`));
    }
    const workers = Array.from({ length: config.processing.concurrency }, () => runWorker(context, queue, notice));
    log.info(
      `loadbay ${instanceId} watching ${config.folders.input} with ${config.datasets.length} dataset(s), ${config.processing.concurrency} worker(s)`,
    );

    let stopPromise: Promise<void> | null = null;
    const stop = () => {
      stopPromise ??= (async () => {
        stopping.abort();
        await watcher.close();
        stabilizer.close();
        queue.close();
        await Promise.all(workers);
        await releasers.release();
        log.info('loadbay stopped');
      })();
      return stopPromise;
    };
    let resolveDone!: () => void;
    const done = new Promise<void>((resolve) => (resolveDone = resolve));
    void Promise.all(workers).then(() => stop().then(resolveDone, resolveDone));
    const reload = async (next: Config) => {
      compileConfig(next);
      const fixed = (c: Config) => JSON.stringify([c.folders, c.database, c.processing, c.limits]);
      if (fixed(next) !== fixed(context.config)) {
        throw new Error('folders, database, processing and limits take effect at the next start; only dataset files are reloaded');
      }
      for (const dataset of next.datasets) context.verifiedTables.delete(dataset.name);
      context.config = next;
      for (const dataset of next.datasets) {
        await verifyTable(context, dataset).catch((error: unknown) => log.warn(`dataset ${dataset.name}: ${errorMessage(error)}`));
      }
      log.info(`reloaded ${next.datasets.length} dataset(s): ${next.datasets.map((d) => d.name).join(', ')}`);
      await watcher.rescan(); // files that matched nothing may match now
    };
    return { instanceId, database, events: log.events, httpUrl, rescan: () => watcher.rescan(), sweep: () => sweeper.sweep(), reload, stop, done };
  } catch (error) {
    stopping.abort();
    await releasers.release().catch(() => undefined);
    throw error;
  }
}

