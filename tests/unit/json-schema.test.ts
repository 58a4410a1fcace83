/**
 * The JSON Schemas published for editors are the loader's own (src/config/schema.ts), and every
 * shipped YAML file points its editor at the right one.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { CONFIG_SCHEMA_FILE, DATASET_SCHEMA_FILE, PUBLISHED_SCHEMA_DIR, publishedSchemas, schemaText } from '../../src/config/json-schema.js';
import { PROJECT_ROOT } from '../helpers/env.js';

const published = (name: string) => readFileSync(path.join(PROJECT_ROOT, PUBLISHED_SCHEMA_DIR, name), 'utf8');
const DATASET_FILES = readdirSync(path.join(PROJECT_ROOT, 'config', 'datasets')).filter((n) => n.endsWith('.yaml')).map((n) => path.join('config', 'datasets', n));
const CONFIG_FILES = ['config/loadbay.yaml', 'docs/monitoring/loadbay.yaml'];

test('the published files are the loader\'s schemas (else: npm run schemas)', () => {
  const schemas = publishedSchemas();
  expect(Object.keys(schemas).sort()).toEqual([DATASET_SCHEMA_FILE, CONFIG_SCHEMA_FILE].sort());
  for (const [name, schema] of Object.entries(schemas)) expect([name, published(name)]).toEqual([name, schemaText(schema)]);
});

test('a standard JSON Schema validator (no ajv extensions) accepts the shipped files and refuses what the loader refuses', () => {
  // strict: no unknown keyword may hide in the published schemas; validateSchema: they are draft-07.
  const ajv = new Ajv({ strict: true, allErrors: true, allowUnionTypes: true, keywords: [] });
  const config = ajv.compile(JSON.parse(published(CONFIG_SCHEMA_FILE)));
  const dataset = ajv.compile(JSON.parse(published(DATASET_SCHEMA_FILE)));
  expect(JSON.stringify(JSON.parse(published(CONFIG_SCHEMA_FILE)))).not.toContain('nullable');
  for (const file of CONFIG_FILES) expect([file, config(parse(readFileSync(path.join(PROJECT_ROOT, file), 'utf8'))), config.errors]).toEqual([file, true, null]);
  for (const file of DATASET_FILES) expect([file, dataset(parse(readFileSync(path.join(PROJECT_ROOT, file), 'utf8'))), dataset.errors]).toEqual([file, true, null]);
  expect(config({ root: null, processing: { concurrency: 4 } })).toBe(true); // `root:` left empty is null
  expect(config({ procesing: {} })).toBe(false);
  expect(config({ parquet: { compression: 'brotli' } })).toBe(false);
  expect(config({ parquet: { compression: null } })).toBe(false); // as ajv's nullable: null is not in the enum
  const minimal = { name: 'x', match: 'x-*.csv', format: 'csv', table: 't', schema: { properties: {} } };
  expect(dataset(minimal)).toBe(true);
  expect(dataset({ ...minimal, format: 'xml' })).toBe(false);
  expect(dataset({ ...minimal, schema: { properties: {}, type: 'int' } })).toBe(false); // the record schema is draft-07 too
});

test('every shipped YAML file names its schema for the YAML language server, by a path that resolves', () => {
  for (const [files, schema] of [
    [CONFIG_FILES, CONFIG_SCHEMA_FILE],
    [DATASET_FILES, DATASET_SCHEMA_FILE],
  ] as const) {
    for (const file of files) {
      const line = /^# yaml-language-server: \$schema=(\S+)$/m.exec(readFileSync(path.join(PROJECT_ROOT, file), 'utf8'));
      expect([file, line !== null]).toEqual([file, true]);
      expect([file, path.resolve(PROJECT_ROOT, path.dirname(file), line![1]!)]).toEqual([file, path.join(PROJECT_ROOT, PUBLISHED_SCHEMA_DIR, schema)]);
    }
  }
});
