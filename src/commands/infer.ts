/**
 * `loadbay infer FILE [--name N] [--records PATH] [--flatten]`: reads a sample of a file with the
 * daemon's readers — the `json.records` path and `flatten` the dataset will use — and prints a
 * dataset definition to start from: format options, columns with JSON Schema types, `required` for
 * columns never empty, `enum` for low-cardinality text, date and date-time formats, and a name and
 * glob without the parts of the file name that vary (infer-name.ts).
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import { DEFAULT_LIMITS } from '../config/load.js';
import type { CsvOptions, Dataset, Format, Limits } from '../config/types.js';
import { detectDelimiter } from '../read/csv.js';
import { readFile } from '../read/index.js';
import { openSource } from '../read/source.js';
import { flattenRecord } from '../prepare/steps.js';
import { UsageError } from './output.js';
import { localFile } from '../source/folder/file-input.js';
import { datasetName, proposeNameAndGlob } from './infer-name.js';
import { errorMessage } from '../errors.js';

const SAMPLE = 1000;
const INTEGER = /^[+-]?\d+$/;
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const BOOLEAN = new Set(['true', 'false', 'yes', 'no', 't', 'f', 'y', 'n']);
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:?\d{2})$/;

function formatOf(file: string): Format {
  const name = file.toLowerCase().replace(/\.gz$/, '');
  if (name.endsWith('.csv') || name.endsWith('.tsv') || name.endsWith('.txt')) return 'csv';
  if (name.endsWith('.jsonl') || name.endsWith('.ndjson')) return 'jsonl';
  if (name.endsWith('.json')) return 'json';
  throw new UsageError(`${file}: cannot tell the format from the name (.csv, .tsv, .jsonl, .json, optionally .gz)`);
}

async function firstText(file: string): Promise<string> {
  const source = openSource(localFile(file), 'utf-8', DEFAULT_LIMITS);
  let text = '';
  for await (const chunk of source.text) {
    text += chunk as string;
    if (text.length >= 64 * 1024) break;
  }
  source.text.destroy();
  return text;
}

type Kind = 'integer' | 'number' | 'boolean' | 'date' | 'date-time' | 'string' | 'object' | 'array';

function kindOf(value: unknown, fromText: boolean): Kind {
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  if (typeof value === 'boolean') return 'boolean';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'object') return 'object';
  const text = String(value);
  if (fromText) {
    if (INTEGER.test(text)) return 'integer';
    if (NUMBER.test(text)) return 'number';
    if (BOOLEAN.has(text.toLowerCase())) return 'boolean';
  }
  if (DATE.test(text)) return 'date';
  if (DATE_TIME.test(text)) return 'date-time';
  return 'string';
}

function merge(a: Kind | undefined, b: Kind): Kind {
  if (!a || a === b) return b;
  if ((a === 'integer' && b === 'number') || (a === 'number' && b === 'integer')) return 'number';
  if ((a === 'date' || a === 'date-time') && (b === 'date' || b === 'date-time')) return 'string';
  return 'string';
}

export interface InferOptions {
  name?: string;
  limits?: Limits;
  /** `json.records`: where the records are in a JSON document (`dates.*.games.*`). */
  records?: string;
  /** `json.path_columns`: a column per `*` of `records`, holding the key or index it stood for. */
  pathColumns?: string[];
  /** `flatten: true`: nested objects become `parent_child` columns. */
  flatten?: boolean;
}

export async function inferCommand(file: string, options: InferOptions): Promise<string> {
  const limits = options.limits ?? DEFAULT_LIMITS;
  // As `validate` does: a path that is not a readable file is a usage error (exit 2), said plainly.
  const info = await stat(file).catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`${file}: ${error.code === 'ENOENT' ? 'no such file' : errorMessage(error)}`);
  });
  if (!info.isFile()) throw new UsageError(`${file}: not a file`);
  const format = formatOf(file);
  const base = path.basename(file);
  const proposed = proposeNameAndGlob(base);
  const name = options.name !== undefined ? datasetName(options.name) : proposed.name;
  if ((options.records || options.pathColumns) && format !== 'json') throw new UsageError('--records and --path-columns are for .json files');
  const records = options.records ?? null;
  const pathColumns = options.pathColumns ?? [];
  if (pathColumns.length > (records ?? '').split('.').filter((s) => s === '*').length) {
    throw new UsageError(`--path-columns names ${pathColumns.length} columns but --records has fewer "*" steps`);
  }
  const csv: CsvOptions = { delimiter: ',', header: true, columns: null, quote: '"', encoding: 'utf-8' };
  if (format === 'csv') csv.delimiter = detectDelimiter(await firstText(file));
  const reading: Pick<Dataset, 'format' | 'csv' | 'json'> = { format, csv, json: { records, pathColumns } };
  const opened = readFile(localFile(file), reading, { batchRows: SAMPLE, limits });
  let firstRecord: Record<string, unknown> | null = null;
  const columns = new Map<string, { kind?: Kind; present: number; values: Map<string, number> }>();
  let sampled = 0;
  for await (const batch of opened.batches) {
    for (const read of batch.records) {
      if (sampled >= SAMPLE) break;
      sampled++;
      firstRecord ??= read;
      const record = options.flatten ? flattenRecord(read) : read;
      for (const [key, value] of Object.entries(record)) {
        let column = columns.get(key);
        if (!column) columns.set(key, (column = { present: 0, values: new Map() }));
        if (value === null || value === undefined || value === '') continue;
        column.present++;
        column.kind = merge(column.kind, kindOf(value, format === 'csv'));
        if (typeof value === 'string' && column.values.size <= 20) column.values.set(value, (column.values.get(value) ?? 0) + 1);
      }
    }
    if (sampled >= SAMPLE) break;
  }
  await opened.batches.return(undefined);
  if (sampled === 0) throw new UsageError(`${file}: no records found to infer from${records ? ` at ${records}` : ''}`);
  const properties: Record<string, Record<string, unknown>> = {};
  const required: string[] = [];
  for (const [key, column] of columns) {
    const kind = column.kind ?? 'string';
    const property: Record<string, unknown> =
      kind === 'date' || kind === 'date-time' ? { type: 'string', format: kind } : { type: kind };
    if (kind === 'string' && sampled >= 20 && column.values.size > 0 && column.values.size <= 10 && column.values.size <= column.present / 3) {
      property['enum'] = [...column.values.keys()].sort();
    }
    properties[key] = property;
    if (column.present === sampled) required.push(key);
  }
  const definition: Record<string, unknown> = {
    name,
    match: proposed.glob,
    format,
    ...(format === 'csv' ? { csv: { delimiter: csv.delimiter } } : {}),
    ...(records ? { json: { records, ...(pathColumns.length > 0 ? { path_columns: pathColumns } : {}) } } : {}),
    ...(options.flatten ? { flatten: true } : {}),
    table: `public.${name.replace(/-/g, '_')}`,
    schema: { type: 'object', required, properties },
  };
  const hint = format === 'json' && !records && sampled === 1 && firstRecord ? recordsHint(file, firstRecord) : '';
  return (
    `# Inferred by \`loadbay infer\` from ${base} (${sampled} records sampled). A starting point, not a\n` +
    `# verdict: check types, required columns and enums, then save it as config/datasets/${name}.yaml.\n` +
    `# yaml-language-server: $schema=../schema/dataset.schema.json\n` +
    hint +
    stringify(definition, { lineWidth: 120, flowCollectionPadding: false, collectionStyle: 'block' })
  );
}

/**
 * A JSON file read as one record is usually a document holding the records: say where the most
 * records are (arrays of objects, through nested arrays), and how to infer from them.
 */
function recordsHint(file: string, document: Record<string, unknown>): string {
  const counts = new Map<string, number>();
  let budget = 200_000; // values looked at: a hint must not cost more than the sample
  const visit = (value: unknown, at: string, depth: number) => {
    if (budget-- <= 0 || depth > 16 || value === null || typeof value !== 'object') return;
    if (Array.isArray(value)) {
      const path = at === '' ? '*' : `${at}.*`;
      let objects = 0;
      for (const item of value) {
        if (item === null || typeof item !== 'object' || Array.isArray(item)) continue;
        objects++;
        visit(item, path, depth + 1);
      }
      if (objects > 0) counts.set(path, (counts.get(path) ?? 0) + objects);
      return;
    }
    for (const [key, child] of Object.entries(value)) if (!key.includes('.') && key !== '*') visit(child, at === '' ? key : `${at}.${key}`, depth + 1);
  };
  visit(document, '', 0);
  let found: { path: string; count: number } | null = null;
  for (const [path, count] of counts) {
    if (!found || count > found.count || (count === found.count && path.length > found.path.length)) found = { path, count };
  }
  if (!found) return '';
  return (
    `# The whole file was read as one record. Its records look to be at ${found.path} (${found.count} in this\n` +
    `# file); to infer from them, as the dataset will read them:\n` +
    `#   loadbay infer ${file} --records '${found.path}' --flatten\n`
  );
}
