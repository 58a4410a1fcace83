/**
 * Which engine runs a dataset, and why: the columnar path (CSV cells → column kernels → vectors)
 * when everything about the dataset is in its compiled set, the record path (an object per record,
 * ajv per record) otherwise — correct either way, the record path slower. Built once per dataset
 * from its resolved configuration (the config loader does not import the stages); `loadbay
 * check-config` prints the verdict.
 */
import type { Ajv } from 'ajv';
import { recordAjv } from '../config/load.js';
import type { Dataset } from '../config/types.js';
import { asciiByte } from '../read/csv-cells.js';
import { compileKernel, type Kernel, type PropertyRules, type TextTest } from './kernels.js';

export type Plan = { engine: 'columnar'; kernels: Kernel[] } | { engine: 'records'; reason: string };

/** Keywords a property may use on the columnar path (the rest only describe). */
const PROPERTY_KEYWORDS = new Set([
  'type', 'enum', 'const', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf',
  'minLength', 'maxLength', 'pattern', 'format',
  'title', 'description', 'default', 'examples', '$comment', 'deprecated', 'readOnly', 'writeOnly',
]);
const SCHEMA_KEYWORDS = new Set(['type', 'properties', 'required', 'additionalProperties', '$schema', '$id', 'title', 'description', 'default', 'examples', '$comment']);
const STEPS = new Set(['headers', 'rename', 'select', 'exclude', 'add_columns', 'trim', 'lowercase_values', 'uppercase_values', 'null_values', 'drop_rows_with_nulls', 'drop_duplicate_rows']);

const plans = new WeakMap<Dataset, Plan>();
let formatsAjv: Ajv | null = null;

export function planOf(dataset: Dataset): Plan {
  let plan = plans.get(dataset);
  if (!plan) {
    plan = compile(dataset);
    plans.set(dataset, plan);
  }
  return plan;
}

function records(reason: string): Plan {
  return { engine: 'records', reason };
}

function compile(dataset: Dataset): Plan {
  if (process.env['LOADBAY_ENGINE'] === 'records') return records('LOADBAY_ENGINE=records');
  if (dataset.format !== 'csv') return records(`format ${dataset.format} (the columnar path reads CSV)`);
  if (dataset.csv.delimiter !== 'auto' && asciiByte(dataset.csv.delimiter) === null) return records('the delimiter is not one ASCII character');
  if (asciiByte(dataset.csv.quote) === null) return records('the quote is not one ASCII character');
  if (dataset.extraColumns === 'keep') return records('extra_columns: keep (the _extra JSON column)');
  for (const step of dataset.prepare) {
    const user = step.user;
    const name = user ? Object.keys(user)[0]! : step.name;
    if (!user || !STEPS.has(name)) return records(`prepare step ${name}`);
    if (name === 'add_columns') {
      const values = (user as { add_columns: { values?: Record<string, unknown> } }).add_columns.values ?? {};
      if (Object.values(values).some((v) => typeof v !== 'string')) return records('add_columns with values that are not text');
    }
  }
  const schema = dataset.schema;
  for (const key of Object.keys(schema)) if (!SCHEMA_KEYWORDS.has(key)) return records(`schema keyword ${key}`);
  if (schema['type'] !== undefined && schema['type'] !== 'object') return records('schema type other than object');
  if (schema['additionalProperties'] !== undefined && typeof schema['additionalProperties'] !== 'boolean') return records('additionalProperties with a schema');
  const required = new Set(Array.isArray(schema['required']) ? (schema['required'] as string[]) : []);
  const properties = schema['properties'] as Record<string, Record<string, unknown>>;
  for (const name of required) if (!Object.hasOwn(properties, name)) return records(`required names "${name}", which is not a property`);
  const kernels: Kernel[] = [];
  for (const column of dataset.columns) {
    const where = `property "${column.name}"`;
    if (column.kind === 'json') return records(`${where} is JSON (object or array)`);
    const property = properties[column.name]!;
    for (const key of Object.keys(property)) if (!PROPERTY_KEYWORDS.has(key)) return records(`${where} uses ${key}`);
    const rules: PropertyRules = { hasConst: Object.hasOwn(property, 'const') };
    for (const key of ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'minLength', 'maxLength'] as const) {
      const value = property[key];
      if (value === undefined) continue;
      if (typeof value !== 'number') return records(`${where}: ${key} is not a number`);
      rules[key] = value;
    }
    if (property['enum'] !== undefined) {
      if (!Array.isArray(property['enum'])) return records(`${where}: enum is not an array`);
      rules.enum = property['enum'];
    }
    if (rules.hasConst) rules.const = property['const'];
    if (property['pattern'] !== undefined) {
      if (typeof property['pattern'] !== 'string') return records(`${where}: pattern is not text`);
      rules.pattern = new RegExp(property['pattern'], 'u'); // as ajv compiles it (unicodeRegExp)
    }
    if (property['format'] !== undefined) {
      const format = formatTest(property['format']);
      if (typeof format === 'string') return records(`${where}: ${format}`);
      rules.format = format;
    }
    if ((column.kind === 'date' || column.kind === 'timestamp') && !rules.format) return records(`${where}: no format`);
    kernels.push(compileKernel(column, rules, required.has(column.name)));
  }
  return { engine: 'columnar', kernels };
}

/** The format's check exactly as ajv runs it, or why it cannot be used. */
function formatTest(name: unknown): TextTest | string {
  if (typeof name !== 'string') return 'format is not a name';
  formatsAjv ??= recordAjv();
  const format = formatsAjv.formats[name];
  if (format === undefined) return `unknown format ${name}`;
  if (format === true) return `format ${name} is not checked`;
  const definition = typeof format === 'object' && !(format instanceof RegExp) ? format : { validate: format };
  if ('async' in definition && definition.async) return `format ${name} is asynchronous`;
  if ('type' in definition && definition.type !== undefined && definition.type !== 'string') return `format ${name} is for ${String(definition.type)}s`;
  const validate = definition.validate;
  if (validate instanceof RegExp) return (s) => validate.test(s);
  if (typeof validate === 'function') return (s) => (validate as (s: string) => boolean)(s);
  return `format ${name} cannot be run`;
}

/** One line per dataset for check-config: the engine and, for the record path, why. */
export function describePlan(dataset: Dataset): string {
  const plan = planOf(dataset);
  return plan.engine === 'columnar' ? 'columnar (CSV cells → column kernels)' : `records (${plan.reason})`;
}
