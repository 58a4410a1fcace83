/**
 * Reads `loadbay.yaml` and the dataset files it points to, validates each with ajv and resolves
 * them into the `Config` the program runs with. Every error names the file and the path inside it.
 *
 * Paths: `root` is relative to the folder of the config file (default: that folder); the folders
 * and the embedded database's `data_dir` are relative to `root`; `datasets` (a folder or a glob of
 * YAML files) is relative to the config file's folder.
 */
import { readFileSync } from 'node:fs';
import { readFile, readdir, readlink, realpath } from 'node:fs/promises';
import path from 'node:path';
import picomatch from 'picomatch';
import { parseDocument } from 'yaml';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { columnsFromSchema, EXTRA_COLUMN, LINEAGE_COLUMNS, PG_TYPES } from '../columns.js';
import { ConfigError, redact } from '../errors.js';
import { fromDocumentProblem } from '../read/json-context.js';
import { userConfigSchema, userDatasetSchema } from './schema.js';
import { quoteIdent } from '../db/database.js';
import { checkInputs, checkS3Folders, resolveExportTarget, resolveFolderSetting, resolveInputs, resolveS3Settings } from '../source/s3/settings.js';
import type { Config, Dataset, DatasetView, ExportSpec, Folders, Limits, S3Folders, TableTarget, UserCheck, UserConfig, UserDataset, UserTable, UserView } from './types.js';

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
  const loopback = host === 'localhost' || host === '::1' || /^127\./.test(host);
  if (!loopback && !token) {
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

export interface DatasetPaths {
  /** Folder of loadbay.yaml: after_load and export SQL files are relative to it. */
  configDir: string;
  /** The project root: export targets are relative to it. */
  root: string;
}

function readSql(configDir: string, sqlFile: string, where: string): string {
  try {
    return readFileSync(path.resolve(configDir, sqlFile), 'utf8');
  } catch (error) {
    throw new ConfigError(`${where}: cannot read SQL file ${sqlFile}: ${(error as Error).message}`);
  }
}

function resolveTable(file: string, table: UserTable, schema: string, name: string, columns: string[]): TableTarget {
  const mode = table.mode ?? 'append';
  const key = mode === 'upsert' ? table.key ?? [] : typeof table.replace === 'object' ? table.replace.key : [];
  if (mode === 'upsert' && key.length === 0) throw new ConfigError(`${file}: /table/key: upsert needs the key columns`);
  if (mode === 'replace' && !table.replace) throw new ConfigError(`${file}: /table/replace: say "table", or { key: [columns] }`);
  if (mode !== 'replace' && table.replace) throw new ConfigError(`${file}: /table/replace: only with mode: replace`);
  for (const column of key) {
    if (!columns.includes(column)) throw new ConfigError(`${file}: /table: key column "${column}" is not in the schema`);
  }
  return {
    schema,
    name,
    mode,
    key,
    dedupe: table.dedupe ?? 'error',
    replaceScope: mode !== 'replace' ? null : table.replace === 'table' ? 'table' : 'key',
  };
}

function checkColumns(file: string, checks: UserCheck[], columns: string[]): UserCheck[] {
  const known = new Set<string>([...columns, ...LINEAGE_COLUMNS]);
  checks.forEach((check, i) => {
    const named =
      'unique' in check ? check.unique : 'not_null' in check ? check.not_null : 'accepted_values' in check ? Object.keys(check.accepted_values) : 'relationships' in check ? Object.keys(check.relationships) : [];
    for (const column of named) {
      if (!known.has(column)) throw new ConfigError(`${file}: /checks/${i}: column "${column}" is not in the schema`);
    }
  });
  return checks;
}

function resolveExport(file: string, name: string, spec: UserDataset['export'], paths: DatasetPaths): Dataset['export'] {
  if (!spec) return null;
  if (!spec.sql === !spec.query) throw new ConfigError(`${file}: /export: give either sql (a file) or query`);
  const sql = spec.sql ? readSql(paths.configDir, spec.sql, `${file}: /export/sql`) : spec.query!;
  const toS3 = resolveExportTarget(file, spec.to);
  return { sql, label: spec.sql ?? 'export.query', to: toS3 ? toS3.url : path.resolve(paths.root, spec.to), toS3, after: spec.after ?? [name], declaredIn: file };
}

function resolveViews(file: string, views: UserView[], paths: DatasetPaths): DatasetView[] {
  return views.map((view, i) => {
    const where = `${file}: /views/${i}`;
    const sources = [view.table, view.sql, view.query].filter((s) => s !== undefined && s !== null);
    if (sources.length !== 1) throw new ConfigError(`${where}: give one of table, sql (a file) or query`);
    let sql: string;
    let label: string;
    if (view.table) {
      const [schema, name] = view.table.includes('.') ? view.table.split('.', 2) : ['public', view.table];
      sql = `SELECT * FROM ${quoteIdent(schema!)}.${quoteIdent(name!)}`;
      label = view.table;
    } else if (view.sql) {
      sql = readSql(paths.configDir, view.sql, `${where}/sql`);
      label = view.sql;
    } else {
      sql = view.query!;
      label = 'query';
    }
    const y = view.y === undefined ? [] : Array.isArray(view.y) ? view.y : [view.y];
    return { title: view.title, sql, label, chart: view.chart ?? 'bar', x: view.x ?? null, y, group: view.group ?? null, ordered: !view.table };
  });
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

/**
 * A dataset file's settings, resolved: defaults filled, paths absolute, columns and table derived.
 * Plain data: its steps and schema are compiled by compile.ts, which also reports what cannot be.
 */
export function resolveDataset(file: string, user: UserDataset, paths: DatasetPaths = { configDir: path.dirname(file), root: path.dirname(file) }): Dataset {
  const fail = (where: string, what: string) => new ConfigError(`${file}: ${where}: ${what}`);
  let columns;
  try {
    columns = columnsFromSchema(user.schema, user.format);
  } catch (error) {
    throw new ConfigError(`${file}: ${(error as Error).message}`);
  }
  // A required name no property declares is a typo that no column holds, and nothing else says so.
  const required: unknown = user.schema['required'];
  if (Array.isArray(required)) {
    const names = Object.keys(user.schema['properties'] as object);
    required.forEach((name: unknown, i) => {
      if (typeof name === 'string' && !names.includes(name)) {
        throw fail(`/schema/required/${i}`, `"${name}" is not one of the schema's properties (${names.slice(0, 10).join(', ')}${names.length > 10 ? ', …' : ''})`);
      }
    });
  }
  const extraColumns = user.extra_columns ?? 'error';
  if (extraColumns === 'keep') columns.push({ name: EXTRA_COLUMN, kind: 'json', pgType: PG_TYPES.json });
  const textColumns = new Set<string>();
  for (const step of user.prepare ?? []) {
    const pattern = 'add_columns' in step ? step.add_columns.from_file_name : undefined;
    for (const m of pattern?.matchAll(/\(\?<([A-Za-z_][A-Za-z0-9_]*)>/g) ?? []) textColumns.add(m[1]!);
  }
  const csv = user.csv ?? {};
  const encoding = csv.encoding ?? 'utf-8';
  try {
    new TextDecoder(encoding);
  } catch {
    throw fail('/csv/encoding', `unknown encoding "${encoding}"`);
  }
  if (csv.header === false && !csv.columns) {
    throw fail('/csv/columns', 'name the columns when the file has no header row');
  }
  if ((user.max_invalid_rows !== undefined || user.max_invalid_ratio !== undefined) && user.on_invalid_row !== 'skip_row') {
    throw fail('/on_invalid_row', 'max_invalid_rows and max_invalid_ratio need on_invalid_row: skip_row');
  }
  const wildcards = (user.json?.records ?? '').split('.').filter((s) => s === '*').length;
  if (user.json?.path_columns && user.json.path_columns.length > wildcards) {
    throw fail('/json/path_columns', `names ${user.json.path_columns.length} columns but json.records has ${wildcards} "*" steps`);
  }
  if (user.json?.unterminated_array && user.json.records) {
    throw fail('/json/unterminated_array', 'reads a top-level array of records: leave json.records out');
  }
  for (const [column, where] of Object.entries(user.json?.from_document ?? {})) {
    const problem = fromDocumentProblem(user.json?.records ?? null, where);
    if (problem) throw fail(`/json/from_document/${column}`, problem);
    if (user.json?.path_columns?.includes(column)) throw fail(`/json/from_document/${column}`, 'is also a json.path_columns name');
  }
  const table = typeof user.table === 'string' ? { name: user.table } : user.table;
  const [tableSchema, tableName] = table.name.includes('.') ? table.name.split('.', 2) : ['public', table.name];
  for (const [where, identifier] of [['/table', tableSchema], ['/table', tableName]] as const) {
    if (!identifier || Buffer.byteLength(identifier) > 63) throw fail(where, 'each part must be 1 to 63 bytes');
  }
  const match = Array.isArray(user.match) ? user.match : [user.match];
  const matchers = match.map((pattern) => {
    if (pattern.includes('..') || path.isAbsolute(pattern)) throw fail('/match', `"${pattern}" must stay inside input/`);
    // A pattern without a slash matches the file name in any sub-folder.
    return picomatch(pattern, { basename: !pattern.includes('/'), dot: false });
  });
  return {
    name: user.name,
    file,
    match,
    matches: (relativePath: string) => matchers.some((m) => m(relativePath)),
    priority: user.priority ?? 100,
    format: user.format,
    csv: {
      delimiter: csv.delimiter ?? 'auto',
      header: csv.header ?? true,
      columns: csv.columns ?? null,
      quote: csv.quote ?? '"',
      encoding,
    },
    json: {
      records: user.json?.records ?? null,
      pathColumns: user.json?.path_columns ?? [],
      unterminatedArray: user.json?.unterminated_array ?? false,
      fromDocument: user.json?.from_document ?? {},
    },
    flatten: user.flatten ?? false,
    prepare: user.prepare ?? [],
    textColumns,
    schema: user.schema,
    columns,
    table: resolveTable(file, table, tableSchema as string, tableName as string, columns.map((c) => c.name)),
    evolve: user.evolve === 'add_columns',
    afterLoad: (user.after_load ?? []).map((sqlFile, i) => ({ file: sqlFile, sql: readSql(paths.configDir, sqlFile, `${file}: /after_load/${i}`) })),
    checks: checkColumns(file, user.checks ?? [], columns.map((c) => c.name)),
    export: resolveExport(file, user.name, user.export, paths),
    onSuccess: user.on_success ?? 'archive',
    extraColumns,
    onInvalidRow: user.on_invalid_row ?? 'reject_file',
    maxInvalidRows: user.max_invalid_rows ?? null,
    maxInvalidRatio: user.max_invalid_ratio ?? null,
    onEmpty: user.on_empty ?? 'reject',
    onDuplicate: user.on_duplicate ?? 'skip',
    views: resolveViews(file, user.views ?? [], paths),
  };
}

/**
 * The five folders must be distinct and none inside another, compared after resolving symbolic links:
 * an archive/ that is a link to input/ would feed every archived file back in, for ever. The
 * embedded database's folder and export targets must not be in input/ either.
 */
async function checkFolders(file: string, config: Config): Promise<void> {
  checkS3Folders(file, config.buckets);
  checkInputs(file, config);
  // Folders in object storage are checked among themselves (above); the local ones here.
  const named: Array<[string, string]> = Object.entries(config.folders)
    .filter(([name]) => !(name in config.buckets))
    .map(([name, dir]) => [`/folders/${name}`, dir]);
  if (!config.database.url) named.push(['/database/embedded/data_dir', config.database.embedded.dataDir]);
  const real = new Map<string, string>();
  const resolve = async (where: string, dir: string) => {
    try {
      return await realFolder(dir);
    } catch (error) {
      throw new ConfigError(`${where}: cannot resolve ${dir}: ${(error as Error).message}`);
    }
  };
  for (const [name, dir] of named) real.set(dir, await resolve(`${file}: ${name}`, dir));
  // A link is named first: "archive is the same folder as input", not the other way round.
  named.sort(([, a], [, b]) => Number(real.get(b) !== b) - Number(real.get(a) !== a));
  const shown = (dir: string) => (real.get(dir) === dir ? dir : `${dir} (${real.get(dir)})`);
  const inside = (dir: string, parent: string) => dir === parent || dir.startsWith(parent.endsWith(path.sep) ? parent : parent + path.sep);
  for (const [name, dir] of named) {
    for (const [other, otherDir] of named) {
      if (name === other || !inside(real.get(dir)!, real.get(otherDir)!)) continue;
      const how = real.get(dir) === real.get(otherDir) ? 'is the same folder as' : 'is inside';
      throw new ConfigError(`${file}: ${name}: ${shown(dir)} ${how} ${other.slice(1).replaceAll('/', '.')} ${shown(otherDir)}; each folder must be distinct and none inside another, links resolved`);
    }
  }
  // An input in a bucket: a local export cannot be in it.
  for (const local of config.inputs.filter((i) => i.location === null).map((i) => i.folder)) {
    const input = real.get(local) ?? (await resolve(`${file}: /folders/input`, local));
    for (const spec of config.exports) {
      if (spec.toS3) continue;
      const target = await resolve(`${spec.declaredIn}: /export/to`, spec.to);
      if (inside(target, input)) {
        throw new ConfigError(`${spec.declaredIn}: /export/to: ${spec.to}${target === spec.to ? '' : ` (${target})`} is inside folders.input ${real.has(local) ? shown(local) : local}: the export would be loaded as a new file`);
      }
    }
  }
}

/** Hops through links before giving up: a loop of links fails, as the kernel's ELOOP does. */
const MAX_LINK_HOPS = 40;

/**
 * The path with every symbolic link resolved. Folders loadbay has not made yet are resolved as far
 * as they exist (a dangling link is followed to where it points) and the rest is appended. Throws
 * the file system's error (a loop of links: ELOOP).
 */
export async function realFolder(dir: string): Promise<string> {
  let current = path.resolve(dir);
  let rest: string[] = [];
  for (let hops = 0; ; ) {
    try {
      return path.join(await realpath(current), ...rest);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
    }
    const link = await readlink(current).catch(() => null);
    if (link !== null) {
      if (++hops > MAX_LINK_HOPS) throw new Error('too many symbolic links');
      current = path.resolve(path.dirname(current), link);
      continue;
    }
    const parent = path.dirname(current);
    if (parent === current) return path.join(current, ...rest);
    rest = [path.basename(current), ...rest];
    current = parent;
  }
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
