/**
 * JSON Schemas for the two files a user writes. Typed with `JSONSchemaType`, so the schema and the
 * TypeScript type in `types.ts` cannot drift apart without a compile error.
 */
import type { JSONSchemaType } from 'ajv';
import type { UserConfig, UserDataset } from './types.js';

const positiveInt = { type: 'integer', minimum: 1, nullable: true } as const;

export const userConfigSchema: JSONSchemaType<UserConfig> = {
  type: 'object',
  additionalProperties: false,
  properties: {
    root: { type: 'string', nullable: true, minLength: 1 },
    folders: {
      type: 'object',
      nullable: true,
      additionalProperties: false,
      properties: {
        input: { type: 'string', nullable: true, minLength: 1 },
        parquet: { type: 'string', nullable: true, minLength: 1 },
        failed: { type: 'string', nullable: true, minLength: 1 },
        archive: { type: 'string', nullable: true, minLength: 1 },
        logs: { type: 'string', nullable: true, minLength: 1 },
      },
    },
    database: {
      type: 'object',
      nullable: true,
      additionalProperties: false,
      properties: {
        url: { type: 'string', nullable: true, pattern: '^postgres(ql)?://' },
        embedded: {
          type: 'object',
          nullable: true,
          additionalProperties: false,
          properties: {
            data_dir: { type: 'string', nullable: true, minLength: 1 },
            port: { type: 'integer', nullable: true, minimum: 1024, maximum: 65535 },
          },
        },
      },
    },
    processing: {
      type: 'object',
      nullable: true,
      additionalProperties: false,
      properties: {
        concurrency: { type: 'integer', nullable: true, minimum: 1, maximum: 64 },
        stable_window_ms: { type: 'integer', nullable: true, minimum: 10, maximum: 60000 },
        rescan_interval_ms: { type: 'integer', nullable: true, minimum: 100 },
        batch_rows: { type: 'integer', nullable: true, minimum: 1, maximum: 1000000 },
        retry_initial_ms: positiveInt,
        retry_max_ms: positiveInt,
      },
    },
    datasets: { type: 'string', nullable: true, minLength: 1 },
  },
};

export const userDatasetSchema: JSONSchemaType<UserDataset> = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'match', 'format', 'schema', 'table'],
  properties: {
    name: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,62}$' },
    match: {
      type: ['string', 'array'],
      anyOf: [
        { type: 'string', minLength: 1 },
        { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
      ],
    } as never,
    priority: { type: 'integer', nullable: true },
    format: { type: 'string', enum: ['csv', 'jsonl', 'json'] },
    csv: {
      type: 'object',
      nullable: true,
      additionalProperties: false,
      properties: {
        delimiter: { type: 'string', nullable: true, minLength: 1, maxLength: 1 },
        header: { type: 'boolean', nullable: true },
        columns: { type: 'array', nullable: true, minItems: 1, items: { type: 'string', minLength: 1 } },
        quote: { type: 'string', nullable: true, minLength: 1, maxLength: 1 },
        encoding: { type: 'string', nullable: true, minLength: 1 },
      },
    },
    json: {
      type: 'object',
      nullable: true,
      additionalProperties: false,
      properties: { records: { type: 'string', nullable: true, minLength: 1 } },
    },
    schema: {
      type: 'object',
      required: ['properties'],
      properties: { properties: { type: 'object' } },
    } as never,
    table: { type: 'string', pattern: '^[^.]+(\\.[^.]+)?$' },
    on_success: { type: 'string', nullable: true, enum: ['archive', 'delete'] },
    extra_columns: { type: 'string', nullable: true, enum: ['error', 'ignore'] },
  },
};
