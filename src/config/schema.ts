/**
 * JSON Schemas for the two files a user writes. Typed with `JSONSchemaType`, so the schema and the
 * TypeScript type in `types.ts` cannot drift apart without a compile error.
 */
import type { JSONSchemaType } from 'ajv';
import { PARQUET_CODECS, type UserConfig, type UserDataset } from './types.js';

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
        // One folder or bucket prefix, or several (a list mixing local folders and s3:// prefixes).
        input: {
          type: ['string', 'array'],
          nullable: true,
          anyOf: [
            { type: 'string', minLength: 1 },
            { type: 'array', minItems: 1, maxItems: 32, uniqueItems: true, items: { type: 'string', minLength: 1 } },
          ],
        },
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
        renamed_is_finished: { type: 'boolean', nullable: true },
        rescan_interval_ms: { type: 'integer', nullable: true, minimum: 100 },
        batch_rows: { type: 'integer', nullable: true, minimum: 1, maximum: 1000000 },
        retry_initial_ms: positiveInt,
        retry_max_ms: positiveInt,
        min_free_bytes: { type: 'integer', nullable: true, minimum: 0 },
        group_max_files: { type: 'integer', nullable: true, minimum: 1, maximum: 10000 },
        group_max_bytes: { type: 'integer', nullable: true, minimum: 0 },
        group_file_max_bytes: { type: 'integer', nullable: true, minimum: 0 },
        group_wait_ms: { type: 'integer', nullable: true, minimum: 0, maximum: 60000 },
        lock_timeout_ms: { type: 'integer', nullable: true, minimum: 1, maximum: 600000 },
      },
    },
    parquet: {
      type: 'object',
      nullable: true,
      additionalProperties: false,
      properties: {
        compression: { type: 'string', nullable: true, enum: [...PARQUET_CODECS] },
        small_file_compression: { type: 'string', nullable: true, enum: [...PARQUET_CODECS] },
      },
    },
    notify: {
      type: 'object',
      nullable: true,
      additionalProperties: false,
      required: ['webhooks'],
      properties: {
        webhooks: {
          type: 'array',
          minItems: 1,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['url'],
            properties: {
              url: { type: 'string', pattern: '^https?://' },
              events: { type: 'array', nullable: true, minItems: 1, items: { type: 'string', enum: ['failed', 'held', 'stalled', 'loaded', 'export_failed', 'vanished'] } },
              format: { type: 'string', nullable: true, enum: ['json', 'slack'] },
            },
          },
        },
        held_after_minutes: { type: 'number', nullable: true, exclusiveMinimum: 0 },
        stalled_after_minutes: { type: 'number', nullable: true, exclusiveMinimum: 0 },
      },
    } as never,
    http: {
      anyOf: [
        { const: false },
        {
          type: 'object',
          additionalProperties: false,
          properties: {
            host: { type: 'string', minLength: 1 },
            port: { type: 'integer', minimum: 0, maximum: 65535 },
            token: { type: 'string', minLength: 16 },
            allowed_hosts: { type: 'array', items: { type: 'string', minLength: 1, pattern: '^[^\\s/]+$' } },
          },
        },
      ],
    } as never,
    limits: {
      type: 'object',
      nullable: true,
      additionalProperties: false,
      properties: {
        max_record_bytes: { type: 'integer', nullable: true, minimum: 1024, maximum: 512 * 1024 * 1024 },
        max_record_values: { type: 'integer', nullable: true, minimum: 16, maximum: 50_000_000 },
        max_depth: { type: 'integer', nullable: true, minimum: 1, maximum: 1000 },
        max_columns: { type: 'integer', nullable: true, minimum: 1, maximum: 100_000 },
        max_decompressed_bytes: { type: 'integer', nullable: true, minimum: 1024 },
        max_gzip_ratio: { type: 'integer', nullable: true, minimum: 2 },
        max_distinct_rows: { type: 'integer', nullable: true, minimum: 1 },
      },
    },
    datasets: { type: 'string', nullable: true, minLength: 1 },
    s3: {
      type: 'object',
      nullable: true,
      additionalProperties: false,
      properties: {
        // Credentials never go here or in the URL: the AWS SDK reads them from the environment,
        // the shared config files or the instance's role.
        endpoint: { type: 'string', nullable: true, pattern: '^https?://[^/@\\s]+(/[^@\\s]*)?$' },
        force_path_style: { type: 'boolean', nullable: true },
        region: { type: 'string', nullable: true, pattern: '^[a-z0-9-]{1,64}$' },
        request_timeout_ms: { type: 'integer', nullable: true, minimum: 100, maximum: 600_000 },
        connect_timeout_ms: { type: 'integer', nullable: true, minimum: 100, maximum: 120_000 },
        max_attempts: { type: 'integer', nullable: true, minimum: 1, maximum: 20 },
        max_sockets: { type: 'integer', nullable: true, minimum: 1, maximum: 1024 },
        list_page_size: { type: 'integer', nullable: true, minimum: 1, maximum: 1000 },
        full_listing_minutes: { type: 'number', nullable: true, exclusiveMinimum: 0 },
        sqs_queue_url: { type: 'string', nullable: true, pattern: '^https?://[^@\\s]+$' },
      },
    },
  },
};

const stringList = { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } } as const;
const allOrList = { anyOf: [{ const: true }, stringList] } as const;

/** One `prepare:` step: an object with exactly one of these keys. */
export const stepSchema = {
  type: 'object',
  minProperties: 1,
  maxProperties: 1,
  additionalProperties: false,
  properties: {
    headers: { enum: ['lowercase', 'snake_case'] },
    rename: { type: 'object', minProperties: 1, additionalProperties: { type: 'string', minLength: 1 } },
    trim: allOrList,
    null_values: { type: 'array', minItems: 1, items: { type: 'string' } },
    lowercase_values: allOrList,
    uppercase_values: allOrList,
    drop_rows_with_nulls: allOrList,
    drop_duplicate_rows: { const: true },
    defaults: { type: 'object', minProperties: 1 },
    add_columns: {
      type: 'object',
      minProperties: 1,
      additionalProperties: false,
      properties: {
        from_file_name: { type: 'string', minLength: 1 },
        values: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] } },
      },
    },
    select: stringList,
    exclude: stringList,
  },
} as const;

/** One data test under `checks:`: an object with exactly one of these keys. */
export const checkSchema = {
  type: 'object',
  minProperties: 1,
  maxProperties: 1,
  additionalProperties: false,
  properties: {
    unique: stringList,
    not_null: stringList,
    accepted_values: { type: 'object', minProperties: 1, additionalProperties: { type: 'array', minItems: 1 } },
    relationships: { type: 'object', minProperties: 1, additionalProperties: { type: 'string', pattern: '^[^.]+(\\.[^.]+){1,2}$' } },
    row_count: {
      type: 'object',
      minProperties: 1,
      additionalProperties: false,
      properties: { min: { type: 'integer', minimum: 0 }, max: { type: 'integer', minimum: 0 }, scope: { enum: ['file', 'table'] } },
    },
    sql: { type: 'string', minLength: 1 },
  },
} as const;

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
        delimiter: { type: 'string', nullable: true, pattern: '^(.|auto)$' },
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
      properties: {
        records: { type: 'string', nullable: true, minLength: 1 },
        path_columns: { type: 'array', nullable: true, items: { type: 'string', minLength: 1 } },
        unterminated_array: { type: 'boolean', nullable: true },
        from_document: {
          type: 'object',
          nullable: true,
          required: [],
          minProperties: 1,
          additionalProperties: { type: 'string', minLength: 1 },
        },
      },
    },
    flatten: { type: 'boolean', nullable: true },
    prepare: { type: 'array', nullable: true, items: stepSchema } as never,
    schema: {
      type: 'object',
      required: ['properties'],
      properties: { properties: { type: 'object' } },
    } as never,
    table: {
      anyOf: [
        { type: 'string', pattern: '^[^.]+(\\.[^.]+)?$' },
        {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', pattern: '^[^.]+(\\.[^.]+)?$' },
            mode: { enum: ['append', 'upsert', 'replace'] },
            key: stringList,
            dedupe: { enum: ['error', 'last'] },
            replace: {
              anyOf: [
                { const: 'table' },
                { type: 'object', required: ['key'], additionalProperties: false, properties: { key: stringList } },
              ],
            },
          },
        },
      ],
    } as never,
    evolve: { type: 'string', nullable: true, enum: ['add_columns'] },
    after_load: { type: 'array', nullable: true, items: { type: 'string', minLength: 1 } },
    checks: { type: 'array', nullable: true, items: checkSchema } as never,
    export: {
      type: 'object',
      nullable: true,
      required: ['to'],
      additionalProperties: false,
      properties: {
        sql: { type: 'string', nullable: true },
        query: { type: 'string', nullable: true },
        to: { type: 'string', minLength: 1 },
        after: { type: 'array', nullable: true, minItems: 1, items: { type: 'string', minLength: 1 } },
      },
    } as never,
    on_success: { type: 'string', nullable: true, enum: ['archive', 'delete'] },
    extra_columns: { type: 'string', nullable: true, enum: ['error', 'ignore', 'keep'] },
    on_invalid_row: { type: 'string', nullable: true, enum: ['reject_file', 'skip_row'] },
    max_invalid_rows: { type: 'integer', nullable: true, minimum: 0 },
    max_invalid_ratio: { type: 'number', nullable: true, minimum: 0, maximum: 1 },
    on_empty: { type: 'string', nullable: true, enum: ['load', 'reject'] },
    on_duplicate: { type: 'string', nullable: true, enum: ['skip', 'load'] },
    views: {
      type: 'array',
      nullable: true,
      items: {
        type: 'object',
        required: ['title'],
        additionalProperties: false,
        properties: {
          title: { type: 'string', minLength: 1, maxLength: 200 },
          table: { type: 'string', nullable: true, pattern: '^[^.]+(\\.[^.]+)?$' },
          sql: { type: 'string', nullable: true, minLength: 1 },
          query: { type: 'string', nullable: true, minLength: 1 },
          chart: { type: 'string', nullable: true, enum: ['bar', 'line', 'table'] },
          x: { type: 'string', nullable: true, minLength: 1 },
          y: { type: ['string', 'array'], anyOf: [{ type: 'string', minLength: 1 }, { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } }] },
          group: { type: 'string', nullable: true, minLength: 1 },
        },
      },
    } as never,
  },
};
