/**
 * `loadbay infer FILE [--name N]`: reads a sample of a file with the daemon's readers and prints a
 * dataset definition to start from: format options, columns with JSON Schema types, `required` for
 * columns never empty, `enum` for low-cardinality text, date and date-time formats.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import { DEFAULT_LIMITS } from '../config/load.js';
import type { CsvOptions, Dataset, Format, Limits } from '../config/types.js';
import { detectDelimiter } from '../read/csv.js';
import { readFile } from '../read/index.js';
import { openSource } from '../read/source.js';
import { UsageError } from './output.js';
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
  const source = openSource(file, 'utf-8', DEFAULT_LIMITS);
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

export async function inferCommand(file: string, options: { name?: string; limits?: Limits }): Promise<string> {
  const limits = options.limits ?? DEFAULT_LIMITS;
  // As `validate` does: a path that is not a readable file is a usage error (exit 2), said plainly.
  const info = await stat(file).catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`${file}: ${error.code === 'ENOENT' ? 'no such file' : errorMessage(error)}`);
  });
  if (!info.isFile()) throw new UsageError(`${file}: not a file`);
  const format = formatOf(file);
  const base = path.basename(file);
  const name = (options.name ?? base.replace(/\..*$/, '')).toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '') || 'dataset';
  const csv: CsvOptions = { delimiter: ',', header: true, columns: null, quote: '"', encoding: 'utf-8' };
  if (format === 'csv') csv.delimiter = detectDelimiter(await firstText(file));
  const reading: Pick<Dataset, 'format' | 'csv' | 'json'> = { format, csv, json: { records: null, pathColumns: [] } };
  const opened = readFile(file, reading, { batchRows: SAMPLE, limits });
  const columns = new Map<string, { kind?: Kind; present: number; values: Map<string, number> }>();
  let records = 0;
  for await (const batch of opened.batches) {
    for (const record of batch.records) {
      if (records >= SAMPLE) break;
      records++;
      for (const [key, value] of Object.entries(record)) {
        let column = columns.get(key);
        if (!column) columns.set(key, (column = { present: 0, values: new Map() }));
        if (value === null || value === undefined || value === '') continue;
        column.present++;
        column.kind = merge(column.kind, kindOf(value, format === 'csv'));
        if (typeof value === 'string' && column.values.size <= 20) column.values.set(value, (column.values.get(value) ?? 0) + 1);
      }
    }
    if (records >= SAMPLE) break;
  }
  await opened.batches.return(undefined);
  if (records === 0) throw new UsageError(`${file}: no records found to infer from`);
  const properties: Record<string, Record<string, unknown>> = {};
  const required: string[] = [];
  for (const [key, column] of columns) {
    const kind = column.kind ?? 'string';
    const property: Record<string, unknown> =
      kind === 'date' || kind === 'date-time' ? { type: 'string', format: kind } : { type: kind };
    if (kind === 'string' && records >= 20 && column.values.size > 0 && column.values.size <= 10 && column.values.size <= column.present / 3) {
      property['enum'] = [...column.values.keys()].sort();
    }
    properties[key] = property;
    if (column.present === records) required.push(key);
  }
  const definition: Record<string, unknown> = {
    name,
    match: base.replace(/\d+/g, '*'),
    format,
    ...(format === 'csv' ? { csv: { delimiter: csv.delimiter } } : {}),
    table: `public.${name.replace(/-/g, '_')}`,
    schema: { type: 'object', required, properties },
  };
  return (
    `# Inferred by \`loadbay infer\` from ${base} (${records} records sampled). A starting point, not a\n` +
    `# verdict: check types, required columns and enums, then save it as config/datasets/${name}.yaml.\n` +
    stringify(definition, { lineWidth: 120, flowCollectionPadding: false, collectionStyle: 'block' })
  );
}
