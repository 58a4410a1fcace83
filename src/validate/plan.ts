/**
 * Which engine runs a dataset, and why: for CSV the columnar path (cells → column kernels →
 * vectors), for JSON and JSONL the value kernels (records → column kernels → vectors), when the
 * schema and steps are in the compiled set; the record path (ajv per record) otherwise — correct
 * either way, the record path slower. Built once per dataset
 * from its resolved configuration (the config loader does not import the stages); `loadbay
 * check-config` prints the verdict.
 */
import type { Ajv } from 'ajv';
import type { Dataset } from '../config/types.js';
import { notOnCells, type PrepareStep } from '../prepare/compile-steps.js';
import { asciiByte } from '../read/csv-cells.js';
import type { Column } from '../columns.js';
import { EXTRA_COLUMN, schemaNames } from '../columns.js';
import { compileKernel, type Kernel } from './kernels.js';
import type { PropertyRules, TextTest } from './rules.js';
import { compileValueKernel, type ValueKernel } from './value-kernels.js';

export type Plan =
  | { engine: 'columnar'; kernels: Kernel[] }
  | {
      engine: 'values';
      kernels: ValueKernel[];
      /**
       * JSONL without prepare work on values (no flatten, no steps but `add_columns`): the names
       * whose flat lines are read straight into columns, skipping the record (read/json-flat.ts).
       */
      flatColumns: string[] | null;
    }
  | { engine: 'records'; reason: string };

/** Keywords a property may use on the columnar paths (the rest only describe). */
const PROPERTY_KEYWORDS = new Set([
  'type', 'enum', 'const', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf',
  'minLength', 'maxLength', 'pattern', 'format',
  'title', 'description', 'default', 'examples', '$comment', 'deprecated', 'readOnly', 'writeOnly',
]);
const DESCRIPTIVE = new Set(['title', 'description', 'default', 'examples', '$comment', 'deprecated', 'readOnly', 'writeOnly']);
const SCHEMA_KEYWORDS = new Set(['type', 'properties', 'required', 'additionalProperties', '$schema', '$id', 'title', 'description', 'default', 'examples', '$comment']);

/**
 * The engine for a dataset and its compiled steps; `ajv` is the one that compiled its schema, whose
 * formats the kernels call. `records`: the record path whatever the schema (as LOADBAY_ENGINE=records).
 */
export function planDataset(dataset: Dataset, steps: readonly PrepareStep[], ajv: Ajv, records = false): Plan {
  if (records || process.env['LOADBAY_ENGINE'] === 'records') return recordsPlan(records ? 'asked for' : 'LOADBAY_ENGINE=records');
  const rules = compileRules(dataset, ajv);
  if (typeof rules === 'string') return recordsPlan(rules);
  if (dataset.format !== 'csv') {
    // JSON values: the records exist (JSON.parse made them); the kernels replace ajv per record.
    // Values from the file's name are the same on every line: the sink gives them (row-sink.ts).
    // (Each file is checked again: its name must give every named group a value, check.ts.)
    const columnNames = schemaNames(dataset.columns);
    const added = [...dataset.textColumns, ...steps.flatMap((step) => (step.kind === 'add_columns' ? Object.keys(step.values) : []))];
    const flat = dataset.format === 'jsonl' && !dataset.flatten && steps.every((step) => step.kind === 'add_columns') && added.every((name) => columnNames.has(name));
    return {
      engine: 'values',
      kernels: rules.map((r) => compileValueKernel(r.column, r.rules, r.required)),
      // `_extra` (extra_columns: keep) is built by prepare from the other keys, never read as one.
      flatColumns: flat ? dataset.columns.map((c) => c.name).filter((name) => name !== EXTRA_COLUMN) : null,
    };
  }
  if (dataset.csv.delimiter !== 'auto' && asciiByte(dataset.csv.delimiter) === null) return recordsPlan('the delimiter is not one ASCII character');
  if (asciiByte(dataset.csv.quote) === null) return recordsPlan('the quote is not one ASCII character');
  if (dataset.extraColumns === 'keep') return recordsPlan('extra_columns: keep (the _extra JSON column)');
  for (const step of steps) {
    const reason = notOnCells(step);
    if (reason !== null) return recordsPlan(reason);
  }
  for (const r of rules) if (r.column.kind === 'json') return recordsPlan(`property "${r.column.name}" is JSON (object or array) in a CSV file`);
  return { engine: 'columnar', kernels: rules.map((r) => compileKernel(r.column, r.rules, r.required)) };
}

function recordsPlan(reason: string): Plan {
  return { engine: 'records', reason };
}

type Compiled = { column: Column; rules: PropertyRules; required: boolean };

/** The schema's rules per column, or why they are outside the compiled set. */
function compileRules(dataset: Dataset, ajv: Ajv): Compiled[] | string {
  const schema = dataset.schema;
  for (const key of Object.keys(schema)) if (!SCHEMA_KEYWORDS.has(key)) return `schema keyword ${key}`;
  if (schema['type'] !== undefined && schema['type'] !== 'object') return 'schema type other than object';
  const additional = schema['additionalProperties'];
  if (additional !== undefined && typeof additional !== 'boolean') return 'additionalProperties with a schema';
  if (additional === false && dataset.extraColumns === 'keep') return 'additionalProperties: false with extra_columns: keep';
  const required = new Set(Array.isArray(schema['required']) ? (schema['required'] as string[]) : []);
  const properties = schema['properties'] as Record<string, Record<string, unknown>>;
  for (const name of required) if (!Object.hasOwn(properties, name)) return `required names "${name}", which is not a property`;
  const compiled: Compiled[] = [];
  for (const column of dataset.columns) {
    if (column.name === EXTRA_COLUMN && !Object.hasOwn(properties, EXTRA_COLUMN)) {
      // Built by prepare from the fields the schema does not name: any JSON object, unchecked.
      compiled.push({ column, rules: { hasConst: false, typed: false, nullable: true }, required: false });
      continue;
    }
    const where = `property "${column.name}"`;
    const property = properties[column.name]!;
    for (const key of Object.keys(property)) if (!PROPERTY_KEYWORDS.has(key)) return `${where} uses ${key}`;
    const type = property['type'];
    const types = type === undefined ? null : Array.isArray(type) ? (type as string[]) : [type as string];
    const rules: PropertyRules = { hasConst: Object.hasOwn(property, 'const'), typed: types !== null, nullable: types === null || types.includes('null') };
    if (column.kind === 'json') {
      if (Object.keys(property).some((k) => k !== 'type' && !DESCRIPTIVE.has(k))) return `${where} is JSON with keywords beyond type`;
      if (types) rules.jsonTypes = new Set(types.filter((t) => t !== 'null'));
      compiled.push({ column, rules, required: required.has(column.name) });
      continue;
    }
    for (const key of ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'minLength', 'maxLength'] as const) {
      const value = property[key];
      if (value === undefined) continue;
      if (typeof value !== 'number') return `${where}: ${key} is not a number`;
      rules[key] = value;
    }
    if (property['enum'] !== undefined) {
      if (!Array.isArray(property['enum'])) return `${where}: enum is not an array`;
      if (property['enum'].some((v) => typeof v === 'object' && v !== null)) return `${where}: enum holds objects or arrays`;
      rules.enum = property['enum'];
    }
    if (rules.hasConst) {
      if (typeof property['const'] === 'object' && property['const'] !== null) return `${where}: const is an object or array`;
      rules.const = property['const'];
    }
    if (property['pattern'] !== undefined) {
      if (typeof property['pattern'] !== 'string') return `${where}: pattern is not text`;
      rules.pattern = new RegExp(property['pattern'], 'u'); // as ajv compiles it (unicodeRegExp)
    }
    if (property['format'] !== undefined) {
      const format = formatTest(ajv, property['format']);
      if (typeof format === 'string') return `${where}: ${format}`;
      rules.format = format;
    }
    if ((column.kind === 'date' || column.kind === 'timestamp') && !rules.format) return `${where}: no format`;
    compiled.push({ column, rules, required: required.has(column.name) });
  }
  return compiled;
}

/** The format's check exactly as ajv runs it, or why it cannot be used. */
function formatTest(ajv: Ajv, name: unknown): TextTest | string {
  if (typeof name !== 'string') return 'format is not a name';
  const format = ajv.formats[name];
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
export function describePlan(plan: Plan): string {
  if (plan.engine === 'columnar') return 'columnar (CSV cells → column kernels)';
  if (plan.engine === 'values') {
    const flat = plan.flatColumns ? '; flat lines read straight into columns' : '';
    return `column kernels on the records' values (ajv for failed rows only${flat})`;
  }
  return `records, ajv per record (${plan.reason})`;
}
