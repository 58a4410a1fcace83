/**
 * The daemon: opens the database (waiting while it is unreachable), migrates the ledger, recovers
 * from an earlier crash, then runs sources (input folders, bucket prefixes) → queue → workers until
 * stopped. Every resource registers a releaser; `stop()` is idempotent and lets files in progress
 * finish.
 */
import { compileConfig } from './compile.js';
import { setMaxListeners } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { WorkQueue } from './work/queue.js';
import type { Config } from './config/types.js';
import { openDatabase, type Database } from './db/database.js';
import { migrate } from './db/ledger.js';
import { errorMessage } from './errors.js';
import { Releasers } from './lib/releasers.js';
import type { Logger } from './log.js';
import type { LoadContext } from './load/context.js';
import { reconcileParquet, retireSuperseded } from './load/reconcile.js';
import { TempSweeper } from './load/sweep.js';
import { verifyTable } from './load/table.js';
import { holdInstanceLock, newInstanceId } from './instance.js';
import { DatasetGate } from './work/gate.js';
import { runWorker } from './work/worker.js';
import { useParquetThread } from './write/parquet.js';
import { useCheckThread } from './validate/check-remote.js';
import { Exports } from './export/export.js';
import type { Arrival } from './source/source.js';
import type { LoadbayEvents } from './events.js';
import { Health } from './http/health.js';
import { createMetrics } from './http/metrics.js';
import { startHttp } from './http/server.js';
import { sourceJson, WebConsole } from './http/console.js';
import { Notifier } from './notify/notifier.js';
import { StallWatch } from './notify/stall.js';
import { bucketChecks, connectObjectStorage, Sources } from './source/sources.js';
import { isObjectWhere, newPlaces, type Places } from './source/places.js';
import { sweepOrphans, sweepUploads } from './source/s3/sweep.js';
import { parseS3Folder } from './source/s3/location.js';
import { countOpenQuarantined } from './db/quarantine.js';
import { inputOf } from './outcome/outcome.js';
import { loadConfig } from './config/load.js';
import { Reloader } from './reload/reloader.js';
import type { ReloadOutcome } from './reload/run-file.js';

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
   * Reads the configuration files again and takes their datasets, or keeps the running ones and
   * says why (src/reload/reloader.ts); then looks again at the unmatched files. The files changing,
   * SIGHUP and `loadbay reload` all come here.
   */
  reloadFiles(trigger: string): Promise<ReloadOutcome>;
  /** Stops taking files, lets those in progress finish, releases everything. Idempotent. */
  stop(): Promise<void>;
  /** Settles when the daemon has stopped (by `stop()` or a fatal error). */
  done: Promise<void>;
}

export { newInstanceId };

export interface StartOptions {
  /** Aborting it during start-up (e.g. a signal while waiting for the database) cancels the start. */
  signal?: AbortSignal;
  /** Reads the configuration again for a reload; default: the same file, the running database URL. */
  loadConfig?: () => Promise<Config>;
  /** Reload when loadbay.yaml or a dataset file changes (default true). */
  watchConfig?: boolean;
}

export class StartCancelled extends Error {}

/**
 * Start-up recovery of the outputs: Parquet files (local) and objects (a bucket) whose loads never
 * committed, multipart uploads left open (Parquet uploads, and large copies into the archive, the
 * quarantine or an input) — each only when the instance that wrote it is gone — then the retirement
 * of superseded Parquet files a crash interrupted. (Temporary files, the staging folder's too, are
 * the sweeper's: load/sweep.ts.)
 */
async function recoverOutputs(pool: Database['pool'], places: Places, config: Config, log: Logger): Promise<void> {
  await sweepCopies(pool, places, config, log);
  if (!isObjectWhere(config.folders.parquet)) {
    await reconcileParquet(pool, config.root, config.folders.parquet, log);
    await retireSuperseded(pool, places, log);
    return;
  }
  // An object store that does not answer now must not keep loadbay from starting: what is left
  // is swept at the next start (an orphan is never read as loaded: the ledger does not name it).
  try {
    await sweepOrphans(places.s3!, pool, parseS3Folder(config.folders.parquet), { log: (message) => log.info(message) });
    await retireSuperseded(pool, places, log);
  } catch (error) {
    log.warn(`start-up sweep of ${config.folders.parquet}: ${errorMessage(error)}; it runs again at the next start`);
  }
}

/** The open multipart copies of gone instances in the archive, the quarantine and the inputs in object storage (an input's other uploads are its producers'). */
async function sweepCopies(pool: Database['pool'], places: Places, config: Config, log: Logger): Promise<void> {
  const swept = new Set([config.folders.parquet]);
  const folders = [config.buckets.archive, config.buckets.failed, ...config.inputs.map((i) => i.location)];
  for (const location of folders) {
    if (!location || swept.has(location.url)) continue;
    swept.add(location.url);
    const leaveUnknown = location !== config.buckets.archive && location !== config.buckets.failed;
    try {
      await sweepUploads(places.s3!, pool, location, { leaveUnknown, log: (message) => log.info(message) });
    } catch (error) {
      log.warn(`start-up sweep of ${location.url}: ${errorMessage(error)}; it runs again at the next start`);
    }
  }
}

export async function startDaemon(loaded: Config, log: Logger, options: StartOptions = {}): Promise<Daemon> {
  const config = compileConfig(loaded); // a step or schema that cannot compile stops the start, naming its file
  const releasers = new Releasers();
  const stopping = new AbortController();
  // Each archived file's later look (source/folder/folder-source.ts) listens for the stop until it has run.
  setMaxListeners(0, stopping.signal);
  const cancel = () => stopping.abort();
  options.signal?.addEventListener('abort', cancel, { once: true });
  releasers.add('start signal', () => options.signal?.removeEventListener('abort', cancel));
  const instanceId = newInstanceId();
  try {
    // Local folders only: a bucket's prefix exists as soon as something is written under it.
    for (const dir of [...Object.values(config.folders), ...config.inputs.map((i) => i.folder)]) if (!isObjectWhere(dir)) await mkdir(dir, { recursive: true });
    const s3 = connectObjectStorage(config);
    if (s3) releasers.add('object storage', () => s3.close());
    const places = newPlaces(config.root, s3, instanceId);
    if (s3) await mkdir(places.staging, { recursive: true });
    const database = await openDatabase(config, log);
    releasers.add('database', () => database.close());
    log.info(`database: ${database.displayUrl}`);
    await database.waitUntilReachable(stopping.signal);
    if (stopping.signal.aborted) throw new StartCancelled('stopped while waiting for the database');
    await migrate(database.pool);

    // Held for the instance's lifetime: others use it to tell whether this instance is alive.
    releasers.add('instance lock', await holdInstanceLock(database.pool, instanceId, log));
    await recoverOutputs(database.pool, places, config, log);

    releasers.add('parquet thread', useParquetThread());
    releasers.add('check thread', useCheckThread());
    const queue = new WorkQueue();
    releasers.add('queue', () => queue.close());
    const context: LoadContext = {
      config,
      pool: database.pool,
      log,
      instanceId,
      verifiedTables: new Set<string>(),
      signal: stopping.signal,
      exports: new Exports(database.pool, log, places),
      places,
    };
    const source = new Sources({ config, log, places, pool: database.pool, signal: stopping.signal });
    releasers.add('sources', () => source.close());
    const arrived = (arrival: Arrival) => {
      if (queue.has(arrival.id)) return;
      queue.push(arrival);
      log.event('discovered', { file: arrival.relative, ...inputOf(arrival), bytes: arrival.size });
    };
    await source.start({ ready: arrived, inHand: (id) => queue.has(id), waiting: () => queue.stats.waiting }, (input) => queue.room(input));

    const health = new Health({
      pool: database.pool,
      watcher: () => source.health(),
      rescanIntervalMs: config.processing.rescanIntervalMs,
      // The staging folder holds the temporary files of outputs in object storage.
      folders: [config.folders.parquet, config.folders.failed, config.folders.archive, config.folders.logs, ...(s3 ? [places.staging] : [])].filter((f) => !isObjectWhere(f)),
      minFreeBytes: config.processing.minFreeBytes,
      buckets: () => bucketChecks(places, config),
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
    const stalls = new StallWatch(log.events, log, config.notify.stalledAfterMs, () => queue.backlog().files);
    releasers.add('stall watch', () => stalls.close());
    const notifier = new Notifier(database.pool, config, log.events, log, instanceId);
    notifier.start();
    releasers.add('notifier', () => notifier.close());
    releasers.add('exports', () => context.exports.idle()); // a stop lets running exports finish
    const backlogs = () => source.list.map((input) => ({ source: input.name, ...queue.backlog(input), inProgress: queue.inHand(input) }));
    const registry = createMetrics({
      events: log.events,
      datasets: () => context.config.datasets,
      backlog: () => ({ ...queue.backlog(), inProgress: queue.stats.inFlight }),
      sources: backlogs,
      failedDir: config.folders.failed,
      ...(isObjectWhere(config.folders.failed) ? { countQuarantined: () => countOpenQuarantined(database.pool) } : {}),
      ready: () => health.ready,
    });
    s3?.metrics.register(registry);
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
        sources: backlogs,
        places,
      });
      releasers.add('console', () => web.close());
      const sourcesStatus = () => ({ sources: backlogs().map(sourceJson) });
      const server = await startHttp(config, database.pool, registry, health, web, (message) => log.warn(message), {
        hooks: (request, response) => source.hook(request, response),
        status: sourcesStatus,
      });
      releasers.add('http', () => server.close());
      httpUrl = server.url;
      log.info(`http: ${server.url}/ (console), /metrics, /livez, /readyz, /api/status`);
    }
    // Every dataset's table exists from the start, so SQL that joins them (after_load, checks,
    // exports) does not depend on which file happens to arrive first. A table that does not fit is
    // reported now and held per file later.
    for (const dataset of config.datasets) {
      await verifyTable(context, dataset).catch((error: unknown) => log.warn(`dataset ${dataset.name}: ${errorMessage(error)}`));
    }
    const gate = new DatasetGate(log, { initialMs: config.processing.retryInitialMs, maxMs: config.processing.retryMaxMs });
    const workers = Array.from({ length: config.processing.concurrency }, () => runWorker(context, queue, gate));

    let stopPromise: Promise<void> | null = null;
    const stop = () => {
      stopPromise ??= (async () => {
        stopping.abort();
        await source.close();
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
    const apply = async (loadedNext: Config) => {
      const next = compileConfig(loadedNext);
      const fixed = (c: Config) => JSON.stringify([c.folders, c.inputs, c.database, c.processing, c.limits, c.s3]);
      if (fixed(next) !== fixed(context.config)) {
        throw new Error('folders, database, processing and limits take effect at the next start; only dataset files are reloaded');
      }
      for (const dataset of next.datasets) context.verifiedTables.delete(dataset.name);
      context.config = next;
      for (const dataset of next.datasets) {
        await verifyTable(context, dataset).catch((error: unknown) => log.warn(`dataset ${dataset.name}: ${errorMessage(error)}`));
      }
    };
    const reloader = new Reloader({
      instanceId,
      log,
      pool: database.pool,
      current: () => context.config,
      load: options.loadConfig ?? (() => loadConfig(config.configFile, { databaseUrl: config.database.url ?? undefined }).then(compileConfig)),
      apply,
      rescan: () => source.rescan(),
      watch: options.watchConfig ?? true,
      places,
    });
    releasers.add('reloader', () => reloader.close());
    await reloader.start();
    // Said once `loadbay reload` can find this instance (its run file is written).
    log.info(
      `loadbay ${instanceId} watching ${source.describe()} with ${context.config.datasets.length} dataset(s), ${config.processing.concurrency} worker(s)`,
    );
    const reloadFiles = (trigger: string) => reloader.reload(trigger);
    return { instanceId, database, events: log.events, httpUrl, rescan: () => source.rescan(), sweep: () => sweeper.sweep(), reloadFiles, stop, done };
  } catch (error) {
    stopping.abort();
    await releasers.release().catch(() => undefined);
    throw error;
  }
}

