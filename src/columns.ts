/**
 * One place that maps a dataset's JSON Schema to typed columns: the PostgreSQL type, the Parquet
 * (Arrow) type and how a CSV text value is coerced. Every later stage reads `Column`, never the schema.
 */

export type ColumnKind = 'integer' | 'number' | 'boolean' | 'string' | 'date' | 'timestamp' | 'json';
/** Kinds held as UTF-8 text with offsets; every other kind has a fixed width. */
export type TextKind = 'string' | 'json';
export type FixedKind = Exclude<ColumnKind, TextKind>;

export interface Column {
  name: string;
  kind: ColumnKind;
  /** PostgreSQL type as `format_type()` prints it, so an existing table can be compared. */
  pgType: string;
  /** Text whose values the schema lists (`enum`, `const`): few distinct values, dictionary-encoded in Parquet. */
  categorical?: boolean;
}

export const PG_TYPES: Record<ColumnKind, string> = {
  integer: 'bigint',
  number: 'double precision',
  boolean: 'boolean',
  string: 'text',
  date: 'date',
  timestamp: 'timestamp with time zone',
  json: 'jsonb',
};

/** The jsonb column that keeps fields the schema does not name (`extra_columns: keep`). */
export const EXTRA_COLUMN = '_extra';

const schemaNamesOf = new WeakMap<readonly Column[], ReadonlySet<string>>();

/**
 * The names of the schema's columns (`_extra` aside), made once per column list: every file of a
 * dataset asks, and a set per small file was garbage that outlived the young generation.
 */
export function schemaNames(columns: readonly Column[]): ReadonlySet<string> {
  let names = schemaNamesOf.get(columns);
  if (!names) schemaNamesOf.set(columns, (names = new Set(columns.map((c) => c.name).filter((name) => name !== EXTRA_COLUMN))));
  return names;
}

/** Columns loadbay adds to every table; a schema may not define them. */
export const LINEAGE_COLUMNS = ['_file_id', '_source_file', '_source_record', '_loaded_at', '_extra'] as const;

const MAX_IDENTIFIER_BYTES = 63;

/** Throws an Error whose message names the offending property; the caller adds the file. */
export function columnsFromSchema(schema: Record<string, unknown>, format: 'csv' | 'jsonl' | 'json' = 'json'): Column[] {
  if (schema['type'] !== undefined && schema['type'] !== 'object') {
    throw new Error('/schema/type: a record schema must have type "object"');
  }
  const properties = schema['properties'];
  if (typeof properties !== 'object' || properties === null || Array.isArray(properties)) {
    throw new Error('/schema/properties: must be an object of column definitions');
  }
  const columns: Column[] = [];
  for (const [name, definition] of Object.entries(properties as Record<string, unknown>)) {
    const where = `/schema/properties/${name}`;
    if (name.trim() === '') throw new Error(`${where}: a column name must not be empty`);
    if (Buffer.byteLength(name) > MAX_IDENTIFIER_BYTES) {
      throw new Error(`${where}: column name longer than PostgreSQL's ${MAX_IDENTIFIER_BYTES}-byte limit`);
    }
    if ((LINEAGE_COLUMNS as readonly string[]).includes(name)) {
      throw new Error(`${where}: "${name}" is reserved for loadbay's lineage columns`);
    }
    if (typeof definition !== 'object' || definition === null) {
      throw new Error(`${where}: must be an object`);
    }
    const kind = kindOf(definition as Record<string, unknown>, where, format);
    const listed = Array.isArray((definition as Record<string, unknown>)['enum']) || 'const' in definition;
    columns.push({ name, kind, pgType: PG_TYPES[kind], ...(kind === 'string' && listed ? { categorical: true } : {}) });
  }
  if (columns.length === 0) throw new Error('/schema/properties: define at least one column');
  return columns;
}

/**
 * The column type a property declares: its `type` (one, optionally with "null"; `object` and `array`
 * together are JSON); without one, the type its `enum` or `const` values all share; a property with
 * neither (`{}`) holds any value: text in CSV, where every value is text, JSON otherwise.
 */
function kindOf(definition: Record<string, unknown>, where: string, format: 'csv' | 'jsonl' | 'json'): ColumnKind {
  const declared = definition['type'] ?? typeOfValues(definition, where);
  if (declared === undefined) return format === 'csv' ? 'string' : 'json';
  let types = (Array.isArray(declared) ? declared : [declared]).filter((t) => t !== 'null');
  if (types.length > 1 && types.every((t) => t === 'object' || t === 'array')) types = ['object'];
  if (types.length !== 1) {
    throw new Error(
      `${where}/type: give exactly one type (integer, number, boolean, string, object, array), optionally with "null"`,
    );
  }
  switch (types[0]) {
    case 'integer':
      return 'integer';
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'object':
    case 'array':
      return 'json';
    case 'string': {
      const format = definition['format'];
      if (format === 'date') return 'date';
      if (format === 'date-time') return 'timestamp';
      return 'string';
    }
    default:
      throw new Error(`${where}/type: unsupported type ${JSON.stringify(types[0])}`);
  }
}

/** The JSON Schema type shared by all `enum` / `const` values; undefined when there are none. */
function typeOfValues(definition: Record<string, unknown>, where: string): string[] | undefined {
  const values = Array.isArray(definition['enum']) ? (definition['enum'] as unknown[]) : 'const' in definition ? [definition['const']] : null;
  if (!values || values.length === 0) return undefined;
  const types = new Set<string>();
  for (const value of values) {
    if (value === null) types.add('null');
    else if (typeof value === 'number') types.add(Number.isInteger(value) ? 'integer' : 'number');
    else if (Array.isArray(value)) types.add('array');
    else types.add(typeof value === 'object' ? 'object' : typeof value);
  }
  if (types.has('integer') && types.has('number')) types.delete('integer');
  const named = [...types].filter((t) => t !== 'null');
  if (named.length !== 1) {
    throw new Error(`${where}: the enum/const values are of several types (${named.join(', ')}); give a "type"`);
  }
  return [...types];
}
