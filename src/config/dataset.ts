/**
 * One dataset file's settings resolved into plain data (`Dataset`): defaults filled, paths absolute,
 * columns and table derived, SQL files read. Errors name the file and the path inside it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';
import { columnsFromSchema, EXTRA_COLUMN, LINEAGE_COLUMNS, PG_TYPES } from '../columns.js';
import { ConfigError } from '../errors.js';
import { fromDocumentProblem } from '../read/json-context.js';
import { quoteIdent } from '../db/database.js';
import { resolveExportTarget } from '../source/s3/settings.js';
import type { Dataset, DatasetView, TableTarget, UserCheck, UserDataset, UserTable, UserView } from './types.js';

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
