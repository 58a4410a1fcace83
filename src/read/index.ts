/** Picks the reader for a dataset's format; every reader streams and yields `RawBatch`es. */
import type { Dataset } from '../config/types.js';
import { readCsv } from './csv.js';
import { readJson } from './json.js';
import { readJsonl, type FlatLines } from './jsonl.js';
import { openSource, type Source } from './source.js';
import type { Locator, RawBatch, ReadOptions } from './types.js';
import type { ByteInput } from '../source/source.js';

export type { ReadOptions };

export interface OpenedFile {
  source: Source;
  batches: AsyncGenerator<RawBatch>;
  locator: Locator;
  /** How the file was read, where the log line and the report should say so (filled while reading). */
  notes: Record<string, unknown>;
}


/** `flat`: for JSONL, the columns whose flat lines go straight to a sink (json-flat.ts). */
export function readFile(input: ByteInput, dataset: Pick<Dataset, 'format' | 'csv' | 'json'>, options: ReadOptions, flat?: FlatLines): OpenedFile {
  const encoding = dataset.format === 'csv' ? dataset.csv.encoding : 'utf-8';
  // JSONL is read as bytes (jsonl.ts checks them as UTF-8), the others as decoded text.
  const source = openSource(input, encoding, options.limits, dataset.format === 'jsonl');
  const notes: Record<string, unknown> = {};
  switch (dataset.format) {
    case 'csv':
      return { source, batches: readCsv(source, dataset.csv, options), locator: 'line', notes };
    case 'jsonl':
      return { source, batches: readJsonl(source, options, flat), locator: 'line', notes };
    case 'json': {
      const { records, pathColumns, unterminatedArray, fromDocument } = dataset.json;
      return { source, batches: readJson(source, records, options, pathColumns, { unterminatedArray, fromDocument, notes }), locator: 'record', notes };
    }
  }
}
