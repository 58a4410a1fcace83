/**
 * The JSON Schemas published for editors (config/schema/*.schema.json), made from the ones the
 * loader validates with (schema.ts), so the two cannot differ: `npm run schemas` writes them, and a
 * test holds the files to this output. ajv's `nullable: true` is not standard JSON Schema: it
 * becomes a `"null"` type, which editors understand (ajv still rejects null where an `enum` lacks it,
 * and so does the published schema).
 */
import { userConfigSchema, userDatasetSchema } from './schema.js';

/** Where the published files live, relative to the package root. */
export const PUBLISHED_SCHEMA_DIR = 'config/schema';
export const CONFIG_SCHEMA_FILE = 'loadbay.schema.json';
export const DATASET_SCHEMA_FILE = 'dataset.schema.json';
const DRAFT_07 = 'http://json-schema.org/draft-07/schema#';

function standard(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(standard);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) if (key !== 'nullable') out[key] = standard(child);
  if ((value as { nullable?: boolean }).nullable === true) {
    const type = out['type'];
    out['type'] = Array.isArray(type) ? [...new Set([...type, 'null'])] : [type, 'null'];
  }
  return out;
}

/** The published schemas by file name, as their files hold them. */
export function publishedSchemas(): Record<string, unknown> {
  const config = standard(userConfigSchema) as Record<string, unknown>;
  const dataset = standard(userDatasetSchema) as Record<string, unknown> & { properties: Record<string, Record<string, unknown>> };
  // A dataset's `schema` is itself a JSON Schema (draft-07): editors can help with it too.
  dataset.properties['schema'] = { ...dataset.properties['schema'], allOf: [{ $ref: DRAFT_07 }] };
  return {
    [CONFIG_SCHEMA_FILE]: {
      $schema: DRAFT_07,
      title: 'loadbay.yaml',
      description: "loadbay's configuration file (docs/configuration.md). Generated from src/config/schema.ts by `npm run schemas`.",
      ...config,
    },
    [DATASET_SCHEMA_FILE]: {
      $schema: DRAFT_07,
      title: 'loadbay dataset file',
      description: 'One dataset: which files, how to read and check them, where they load (docs/datasets.md). Generated from src/config/schema.ts by `npm run schemas`.',
      ...dataset,
    },
  };
}

/** A file's text: two-space JSON and a final newline. */
export const schemaText = (schema: unknown) => JSON.stringify(schema, null, 2) + '\n';
