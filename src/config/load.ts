/**
 * Reads `loadbay.yaml` and the dataset files it points to, validates each with ajv and resolves
 * them into the `Config` the program runs with. Every error names the file and the path inside it.
 *
 * Paths: `root` is relative to the folder of the config file (default: that folder); the folders
 * and the embedded database's `data_dir` are relative to `root`; `datasets` (a folder or a glob of
 * YAML files) is relative to the config file's folder.
 */
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import picomatch from 'picomatch';
import { isLoopback } from '../lib/hosts.js';
import { parseDocument } from 'yaml';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { ConfigError, redact } from '../errors.js';
import { userConfigSchema, userDatasetSchema } from './schema.js';
import { resolveDataset, type DatasetPaths } from './dataset.js';
import { checkFolders } from './folders.js';
import { resolveFolderSetting, resolveInputs, resolveS3Settings } from '../source/s3/settings.js';
import type { Config, Dataset, ExportSpec, Folders, Limits, S3Folders, UserConfig, UserDataset } from './types.js';

const configAjv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
const validateUserConfig = configAjv.compile(userConfigSchema);
const validateUserDataset = configAjv.compile(userDatasetSchema);

export interface LoadOptions {
  /** Overrides `database.url`; the CLI passes `process.env.DATABASE_URL`. */
  databaseUrl?: string | undefined;
}

export async function loadConfig(configFile: string, options: LoadOptions = {}): Promise<Config> {
  const file = path.resolve(configFile);
  const user = await readYaml<UserConfig>(file, validateUserConfig);
  const configDir = path.dirname(file);
  const root = path.resolve(configDir, user.root ?? '.');
  const folder = (value: string | undefined, fallback: string) => path.resolve(root, value ?? fallback);
  // A folder setting may be an s3:// URL (not the database's data_dir, which uses `folder`).
  const buckets: S3Folders = {};
  const inputs = resolveInputs(file, user.folders?.input, root);
  if (inputs[0]!.location) buckets.input = inputs[0]!.location;
  const setting = (name: Exclude<keyof Folders, 'input'>, fallback: string) => {
    const { folder: resolved, location } = resolveFolderSetting(file, name, user.folders?.[name], fallback, root);
    if (location && name !== 'logs') buckets[name] = location;
    return resolved;
  };
  const processing = user.processing ?? {};
  const retryInitialMs = processing.retry_initial_ms ?? 1000;
  const retryMaxMs = processing.retry_max_ms ?? 60_000;
  if (retryMaxMs < retryInitialMs) {
    throw new ConfigError(`${file}: /processing/retry_max_ms must be at least retry_initial_ms`);
  }
  const datasetsLocation = path.resolve(configDir, user.datasets ?? 'datasets');
  const datasets = await loadDatasets(datasetsLocation, { configDir, root });
  const config: Config = {
    configFile: file,
    datasetsLocation,
    root,
    folders: {
      input: inputs[0]!.folder,
      parquet: setting('parquet', 'output_parquet'),
      failed: setting('failed', 'output_failed'),
      archive: setting('archive', 'archive'),
      logs: setting('logs', 'logs'),
    },
    database: {
      url: checkDatabaseUrl(file, options.databaseUrl || null, user.database?.url ?? null),
      embedded: {
        dataDir: folder(user.database?.embedded?.data_dir, 'data/postgres'),
        port: user.database?.embedded?.port ?? 54329,
      },
    },
    processing: {
      concurrency: processing.concurrency ?? 4,
      stableWindowMs: processing.stable_window_ms ?? 250,
      renamedIsFinished: processing.renamed_is_finished ?? true,
      rescanIntervalMs: processing.rescan_interval_ms ?? 30_000,
      batchRows: processing.batch_rows ?? 5000,
      retryInitialMs,
      retryMaxMs,
      minFreeBytes: processing.min_free_bytes ?? 64 * 1024 * 1024,
      groupMaxFiles: processing.group_max_files ?? 64,
      groupMaxBytes: processing.group_max_bytes ?? 16 * 1024 * 1024,
      groupFileMaxBytes: processing.group_file_max_bytes ?? 1024 * 1024,
      groupWaitMs: processing.group_wait_ms ?? 20,
      lockTimeoutMs: processing.lock_timeout_ms ?? 2000,
    },
    limits: resolveLimits(user.limits ?? {}),
    parquet: {
      compression: user.parquet?.compression ?? DEFAULT_PARQUET.compression,
      smallFileCompression: user.parquet?.small_file_compression ?? DEFAULT_PARQUET.smallFileCompression,
    },
    http: resolveHttp(file, user.http),
    inputs,
    s3: resolveS3Settings(user.s3),
    buckets: Object.freeze(buckets),
    notify: {
      webhooks: (user.notify?.webhooks ?? []).map((w) => ({ url: w.url, events: w.events ?? ['failed', 'held', 'stalled'], format: w.format ?? 'json' })),
      heldAfterMs: (user.notify?.held_after_minutes ?? 60) * 60_000,
      stalledAfterMs: (user.notify?.stalled_after_minutes ?? 15) * 60_000,
    },
    datasets,
    exports: collectExports(datasets),
  };
  await checkFolders(file, config);
  return Object.freeze(config);
}

/**
 * The connection URL, parsed once here: `pg` takes a string it cannot parse as a URL relative to a
 * host named "base", so a typo would only ever show as an unreachable server. The value is shown
 * only when it is a postgres:// URL, with its password redacted; anything else may be a bare secret.
 */
function checkDatabaseUrl(file: string, fromEnv: string | null, fromFile: string | null): string | null {
  const url = fromEnv ?? fromFile;
  if (url === null) return null;
  const where = fromEnv !== null ? 'DATABASE_URL' : `${file}: /database/url`;
  const form = 'e.g. postgres://host:5432/database, with user:password@ before the host';
  if (!/^postgres(ql)?:\/\//i.test(url)) throw new ConfigError(`${where}: not a PostgreSQL URL (${form})`);
  try {
    new URL(url);
  } catch {
    throw new ConfigError(`${where}: ${redact(url)} cannot be parsed as a URL (${form}; a password with reserved characters must be percent-encoded)`);
  }
  return url;
}

export const DEFAULT_HTTP_PORT = 9477;

/** Loopback by default; any other address only with a token (requests must carry it). */
function resolveHttp(file: string, user: UserConfig['http']): Config['http'] {
  if (user === false) return null;
  const host = user?.host ?? '127.0.0.1';
  const token = user?.token ?? process.env['LOADBAY_HTTP_TOKEN'] ?? null;
  if (!isLoopback(host) && !token) {
    throw new ConfigError(`${file}: /http/host: listening on ${host} needs http.token (or LOADBAY_HTTP_TOKEN), at least 16 characters, sent as a bearer token`);
  }
  return Object.freeze({ host, port: user?.port ?? DEFAULT_HTTP_PORT, token, allowedHosts: user?.allowed_hosts ? [...user.allowed_hosts] : null });
}

/** `parquet:` when the configuration says nothing (docs/configuration.md says why snappy for one-piece files). */
export const DEFAULT_PARQUET: Config['parquet'] = { compression: 'zstd', smallFileCompression: 'snappy' };

export const DEFAULT_LIMITS: Limits = Object.freeze({
  maxRecordBytes: 16 * 1024 * 1024,
  maxRecordValues: 1_000_000,
  maxDepth: 64,
  maxColumns: 4096,
  maxDecompressedBytes: 16 * 1024 * 1024 * 1024,
  maxGzipRatio: 200,
  maxDistinctRows: 2_000_000,
});

function resolveLimits(user: NonNullable<UserConfig['limits']>): Limits {
  return Object.freeze({
    maxRecordBytes: user.max_record_bytes ?? DEFAULT_LIMITS.maxRecordBytes,
    maxRecordValues: user.max_record_values ?? DEFAULT_LIMITS.maxRecordValues,
    maxDepth: user.max_depth ?? DEFAULT_LIMITS.maxDepth,
    maxColumns: user.max_columns ?? DEFAULT_LIMITS.maxColumns,
    maxDecompressedBytes: user.max_decompressed_bytes ?? DEFAULT_LIMITS.maxDecompressedBytes,
    maxGzipRatio: user.max_gzip_ratio ?? DEFAULT_LIMITS.maxGzipRatio,
    maxDistinctRows: user.max_distinct_rows ?? DEFAULT_LIMITS.maxDistinctRows,
  });
}

async function loadDatasets(location: string, paths: DatasetPaths): Promise<Dataset[]> {
  const files = await datasetFiles(location);
  const datasets: Dataset[] = [];
  for (const file of files) {
    const user = await readYaml<UserDataset>(file, validateUserDataset);
    datasets.push(resolveDataset(file, user, paths));
  }
  const seen = new Map<string, string>();
  for (const dataset of datasets) {
    const earlier = seen.get(dataset.name);
    if (earlier) throw new ConfigError(`${dataset.file}: /name: "${dataset.name}" is also the name in ${earlier}`);
    seen.set(dataset.name, dataset.file);
  }
  // First match wins: lower priority first, then by file name.
  return datasets.sort((a, b) => a.priority - b.priority || a.file.localeCompare(b.file));
}

/**
 * The folder the dataset files are read from, and which of its files are dataset files: YAML files,
 * or those the glob matches; never a dotfile (an editor's swap or lock file while one is edited).
 */
export function datasetsFolder(location: string): { dir: string; accepts: (file: string) => boolean } {
  const scan = picomatch.scan(location);
  const visible = (p: string) => !path.basename(p).startsWith('.');
  if (!scan.isGlob) return { dir: location, accepts: (p: string) => visible(p) && /\.ya?ml$/i.test(p) };
  const matches = picomatch(location);
  return { dir: scan.base, accepts: (p: string) => visible(p) && matches(p) };
}

async function datasetFiles(location: string): Promise<string[]> {
  const { dir, accepts: accept } = datasetsFolder(location);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    throw new ConfigError(`datasets: cannot read ${dir}: ${(error as Error).message}`);
  }
  return names
    .map((name) => path.join(dir, name))
    .filter((p) => accept(p))
    .sort();
}

/** Every dataset's export, checked across datasets: known trigger names, one export per target file. */
function collectExports(datasets: Dataset[]): ExportSpec[] {
  const names = new Set(datasets.map((d) => d.name));
  const byTarget = new Map<string, ExportSpec>();
  for (const dataset of datasets) {
    const spec = dataset.export;
    if (!spec) continue;
    spec.after.forEach((name, i) => {
      if (!names.has(name)) throw new ConfigError(`${dataset.file}: /export/after/${i}: no dataset is named "${name}"`);
    });
    const earlier = byTarget.get(spec.to);
    if (earlier) {
      throw new ConfigError(`${dataset.file}: /export/to: ${spec.to} is also written by the export in ${earlier.declaredIn}; declare it once, with after: [the datasets that trigger it]`);
    }
    byTarget.set(spec.to, spec);
  }
  return [...byTarget.values()];
}

async function readYaml<T>(file: string, validate: ValidateFunction<T>): Promise<T> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`${file}: cannot read: ${(error as Error).message}`);
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const where = first.linePos ? `line ${first.linePos[0].line}, column ${first.linePos[0].col}` : 'YAML';
    throw new ConfigError(`${file}: ${where}: ${first.message.split('\n')[0]}`);
  }
  const value: unknown = doc.toJS() ?? {};
  if (!validate(value)) throw new ConfigError(`${file}: ${formatAjvErrors(validate.errors ?? [])}`);
  return value;
}

export function formatAjvErrors(errors: ErrorObject[]): string {
  return errors
    .filter((e) => e.keyword !== 'anyOf' && e.keyword !== 'if')
    .slice(0, 5)
    .map((e) => {
      const where = e.instancePath || '/';
      if (e.keyword === 'additionalProperties') {
        return `${where}: unknown key "${(e.params as { additionalProperty: string }).additionalProperty}"`;
      }
      if (e.keyword === 'enum') {
        return `${where}: ${e.message} (${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')})`;
      }
      return `${where}: ${e.message}`;
    })
    .join('; ');
}
