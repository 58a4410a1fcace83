/**
 * A test environment: its own temporary project folder (config, datasets, input/, output folders)
 * and its own database on the test server. Everything real: files, folders, watcher, PostgreSQL.
 */
import { cp, mkdir, mkdtemp, readFile, rename, rm, writeFile, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { loadConfig } from '../../src/config/load.js';
import { migrate } from '../../src/db/ledger.js';
import type { Config } from '../../src/config/types.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { createLogger, type Logger } from '../../src/log.js';

export const PROJECT_ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

export function serverUrl(): string {
  const url = process.env['TEST_DATABASE_URL'];
  if (!url) throw new Error('TEST_DATABASE_URL is not set: run the tests with `npm test` (jest global setup starts a server)');
  return url;
}

export function databaseUrl(base: string, database: string): string {
  const url = new URL(base);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function createDatabase(): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const name = `lb_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return {
    name,
    url: databaseUrl(serverUrl(), name),
    async drop() {
      const client = new pg.Client({ connectionString: serverUrl() });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/**
 * A database of the suite's own with loadbay's ledger, for the tests of a file or a describe block
 * (made before them, dropped after); returns the pool's getter.
 */
export function useLedger(max = 4): () => pg.Pool {
  let database: Awaited<ReturnType<typeof createDatabase>>;
  let pool: pg.Pool;
  beforeAll(async () => {
    database = await createDatabase();
    pool = new pg.Pool({ connectionString: database.url, max });
    pool.on('error', () => undefined);
    await migrate(pool);
  });
  afterAll(async () => {
    await pool.end();
    await database.drop();
  });
  return () => pool;
}

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  message?: string;
}

/** Polls `condition` until it returns a truthy value, or fails after the deadline. */
export async function waitFor<T>(condition: () => Promise<T> | T, options: WaitOptions = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  let lastError: unknown = null;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${options.message ?? 'condition'}${lastError ? `: ${String(lastError)}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 50));
  }
}

export interface LogLine {
  event: string;
  file?: string;
  dataset?: string;
  rows?: number;
  stage?: string;
  reason?: string;
  problems?: Array<Record<string, unknown>>;
  [key: string]: unknown;
}

export interface TestEnv {
  root: string;
  url: string;
  pool: pg.Pool;
  folders: Config['folders'];
  configFile: string;
  loadConfig(): Promise<Config>;
  start(): Promise<Daemon>;
  /** Writes a file into input/ atomically (dotfile, then rename), like a careful producer. */
  drop(relative: string, content: string | Buffer): Promise<string>;
  logLines(): Promise<LogLine[]>;
  /** Waits for an outcome line (`loaded`, `failed`, `skipped`) for the file. */
  outcome(relative: string, event?: string): Promise<LogLine>;
  files(folder: keyof Config['folders'], sub?: string): Promise<string[]>;
  cleanup(): Promise<void>;
}

export interface EnvOptions {
  /** Dataset YAML texts by file name; default: the project's config/datasets. */
  datasets?: Record<string, string>;
  /** Extra lines for the `processing:` section. */
  processing?: Record<string, number | boolean>;
  /** Lines for the `limits:` section. */
  limits?: Record<string, number>;
  /** Lines for the `parquet:` section. */
  parquet?: Record<string, string>;
  /** `folders:` settings (e.g. s3:// URLs; `input` may be a list). */
  folders?: Record<string, string | string[]>;
  /** The `s3:` section (tests/helpers/s3.ts `s3Section()` reaches the test server). */
  s3?: Record<string, string | number | boolean>;
  /** Another environment's database (several daemons on one ledger); default: a database of its own. */
  databaseUrl?: string;
}

export async function createTestEnv(options: EnvOptions = {}): Promise<TestEnv> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'loadbay-test-'));
  const database = options.databaseUrl ? { url: options.databaseUrl, drop: async () => undefined } : await createDatabase();
  const configDir = path.join(root, 'config');
  await mkdir(path.join(configDir, 'datasets'), { recursive: true });
  const datasets = options.datasets ?? (await projectDatasets());
  for (const [name, text] of Object.entries(datasets)) await writeFile(path.join(configDir, 'datasets', name), text);
  await cp(path.join(PROJECT_ROOT, 'config', 'sql'), path.join(configDir, 'sql'), { recursive: true });
  const processing = {
    concurrency: 2,
    stable_window_ms: 100,
    rescan_interval_ms: 1000,
    retry_initial_ms: 100,
    retry_max_ms: 1000,
    ...options.processing,
  };
  const configFile = path.join(configDir, 'loadbay.yaml');
  await writeFile(
    configFile,
    `root: ..\nprocessing:\n${Object.entries(processing)
      .map(([k, v]) => `  ${k}: ${v}`)
      .join('\n')}\n` +
      (options.limits ? `limits:\n${Object.entries(options.limits).map(([k, v]) => `  ${k}: ${v}`).join('\n')}\n` : '') +
      (options.parquet ? `parquet:\n${Object.entries(options.parquet).map(([k, v]) => `  ${k}: ${v}`).join('\n')}\n` : '') +
      (options.folders ? `folders:\n${Object.entries(options.folders).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`).join('\n')}\n` : '') +
      (options.s3 ? `s3:\n${Object.entries(options.s3).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`).join('\n')}\n` : '') +
      // Many daemons run at once in the tests: each listens on a port of its own choosing.
      'http:\n  port: 0\n',
  );
  const pool = new pg.Pool({ connectionString: database.url, max: 3 });
  pool.on('error', () => undefined);
  const daemons: Daemon[] = [];
  const loggers: Logger[] = [];
  const captured: LogLine[] = [];
  const waiters = new Set<() => void>();
  const folders = {
    input: path.join(root, 'input'),
    parquet: path.join(root, 'output_parquet'),
    failed: path.join(root, 'output_failed'),
    archive: path.join(root, 'archive'),
    logs: path.join(root, 'logs'),
  };
  await mkdir(folders.input, { recursive: true });
  const env: TestEnv = {
    root,
    url: database.url,
    pool,
    folders,
    configFile,
    loadConfig: () => loadConfig(configFile, { databaseUrl: database.url }),
    async start() {
      const config = await env.loadConfig();
      const log = createLogger({ logsDir: config.folders.logs, console: false });
      loggers.push(log);
      // Every event of an in-process daemon, as the log line it becomes: outcome() waits on these.
      log.events.onAny((event, fields) => {
        captured.push({ ...fields, event } as LogLine);
        for (const waiter of [...waiters]) waiter();
      });
      const daemon = await startDaemon(config, log);
      daemons.push(daemon);
      running.add(daemon);
      return daemon;
    },
    async drop(relative, content) {
      const target = path.join(folders.input, relative);
      await mkdir(path.dirname(target), { recursive: true });
      const tmp = path.join(path.dirname(target), `.drop-${randomBytes(6).toString('hex')}`);
      await writeFile(tmp, content);
      await rename(tmp, target);
      return target;
    },
    async logLines() {
      for (const log of loggers) await log.flush(); // what an in-process daemon said is in the file
      const text = await readFile(path.join(folders.logs, 'conversion.log'), 'utf8').catch(() => '');
      return text
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as LogLine);
    },
    async outcome(relative, event) {
      const wanted = (l: LogLine) => l.file === relative && (event ? l.event === event : ['loaded', 'failed', 'skipped'].includes(l.event));
      if (loggers.length === 0) {
        // A daemon in another process (the CLI tests): its conversion.log is what there is.
        return waitFor(async () => (await env.logLines()).find(wanted), { message: `an outcome for ${relative}`, timeoutMs: 30_000 });
      }
      // An in-process daemon: wait for the event itself, no polling.
      return new Promise<LogLine>((resolve, reject) => {
        const check = () => {
          const found = captured.find(wanted);
          if (!found) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for an outcome for ${relative}${event ? ` (${event})` : ''}`));
        }, 30_000);
        waiters.add(check);
        check();
      });
    },
    async files(folder, sub = '') {
      const entries = await readdir(path.join(folders[folder], sub), { recursive: true, withFileTypes: true }).catch(
        () => [],
      );
      return entries
        .filter((e) => !e.isDirectory() && e.name !== '.gitkeep')
        .map((e) => path.relative(path.join(folders[folder], sub), path.join(e.parentPath, e.name)))
        .sort();
    },
    async cleanup() {
      for (const daemon of daemons) {
        await daemon.stop();
        running.delete(daemon);
      }
      for (const log of loggers) await log.close();
      await pool.end();
      await database.drop();
      await rm(root, { recursive: true, force: true });
    },
  };
  return env;
}

/** In-process daemons of every environment not cleaned up yet. */
const running = new Set<Daemon>();

/**
 * Stops every in-process daemon still running (stopping is idempotent: the environment's own
 * cleanup stops them again at no cost). A bucket's cleanup calls it first: jest runs a file's
 * afterEach hooks in the order they were declared, and a bucket declared before the environment
 * was emptied while its daemon still wrote into it.
 */
export async function stopRunningDaemons(): Promise<void> {
  for (const daemon of [...running]) {
    await daemon.stop();
    running.delete(daemon);
  }
}

/**
 * One environment with a running daemon for a whole test file: `const env = sharedEnv(options)`,
 * then `env()` inside the tests. Registers jest's beforeAll/afterAll.
 */
export function sharedEnv(options: EnvOptions = {}): () => TestEnv {
  let env: TestEnv | null = null;
  beforeAll(async () => {
    env = await createTestEnv(options);
    await env.start();
  });
  afterAll(async () => {
    await env?.cleanup();
  });
  return () => {
    if (!env) throw new Error('sharedEnv: used outside a test');
    return env;
  };
}

async function projectDatasets(): Promise<Record<string, string>> {
  const dir = path.join(PROJECT_ROOT, 'config', 'datasets');
  const result: Record<string, string> = {};
  for (const name of await readdir(dir)) result[name] = await readFile(path.join(dir, name), 'utf8');
  return result;
}
