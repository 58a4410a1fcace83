/** Picks the reader for a dataset's format; every reader streams and yields `RawBatch`es. */
import type { Dataset } from '../config/types.js';
import { readCsv } from './csv.js';
import { readJson } from './json.js';
import { readJsonl } from './jsonl.js';
import { openSource, type Source } from './source.js';
import type { Locator, RawBatch, ReadOptions } from './types.js';

export type { ReadOptions };

export interface OpenedFile {
  source: Source;
  batches: AsyncGenerator<RawBatch>;
  locator: Locator;
}


export function readFile(file: string, dataset: Pick<Dataset, 'format' | 'csv' | 'json'>, options: ReadOptions): OpenedFile {
  const encoding = dataset.format === 'csv' ? dataset.csv.encoding : 'utf-8';
  const source = openSource(file, encoding, options.limits, false, options.size);
  switch (dataset.format) {
    case 'csv':
      return { source, batches: readCsv(source, dataset.csv, options), locator: 'line' };
    case 'jsonl':
      return { source, batches: readJsonl(source, options), locator: 'line' };
    case 'json':
      return { source, batches: readJson(source, dataset.json.records, options, dataset.json.pathColumns), locator: 'record' };
  }
}
