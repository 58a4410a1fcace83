/**
 * Two kinds of configuration: what a user writes (`User*`, every key optional where a default exists)
 * and what the program runs with (`Config`, `Dataset`: absolute paths, defaults filled — plain data).
 * `load.ts` turns the first into the second once, at start-up; compile.ts then compiles each dataset
 * (steps, validators, engine) into the `CompiledDataset` the stages are handed.
 */
import type { Column } from '../columns.js';
import type { S3Location, S3ObjectUrl } from '../source/s3/location.js';

export type Format = 'csv' | 'jsonl' | 'json';

/** One `prepare:` step as written (prepare/steps.ts runs them). */
export type UserStep =
  | { headers: 'lowercase' | 'snake_case' }
  | { rename: Record<string, string> }
  | { trim: true | string[] }
  | { null_values: string[] }
  | { lowercase_values: true | string[] }
  | { uppercase_values: true | string[] }
  | { drop_rows_with_nulls: true | string[] }
  | { drop_duplicate_rows: true }
  | { defaults: Record<string, unknown> }
  | { add_columns: { from_file_name?: string; values?: Record<string, string | number | boolean> } }
  | { select: string[] }
  | { exclude: string[] };


/** What a webhook can be told about. */
export type NotifyEvent = 'failed' | 'held' | 'stalled' | 'loaded' | 'export_failed' | 'vanished';

export const PARQUET_CODECS = ['zstd', 'snappy', 'lz4_raw', 'gzip', 'uncompressed'] as const;
export type ParquetCodec = (typeof PARQUET_CODECS)[number];

export interface UserConfig {
  root?: string;
  folders?: {
    /** One input, or several: local folders and s3:// prefixes in any mix. */
    input?: string | string[];
    parquet?: string;
    failed?: string;
    archive?: string;
    logs?: string;
  };
  database?: {
    url?: string;
    embedded?: { data_dir?: string; port?: number };
  };
  processing?: {
    concurrency?: number;
    stable_window_ms?: number;
    renamed_is_finished?: boolean;
    rescan_interval_ms?: number;
    batch_rows?: number;
    retry_initial_ms?: number;
    retry_max_ms?: number;
    min_free_bytes?: number;
    group_max_files?: number;
    group_max_bytes?: number;
    group_file_max_bytes?: number;
    group_wait_ms?: number;
    lock_timeout_ms?: number;
  };
  /** How Parquet files are compressed. */
  parquet?: {
    compression?: ParquetCodec;
    small_file_compression?: ParquetCodec;
  };
  /** Webhooks told about failures, long-held files and stalls. */
  notify?: {
    webhooks: Array<{ url: string; events?: NotifyEvent[]; format?: 'json' | 'slack' }>;
    held_after_minutes?: number;
    stalled_after_minutes?: number;
  };
  /** The HTTP listener (metrics, probes, status); `false` turns it off. */
  http?: false | { host?: string; port?: number; token?: string; allowed_hosts?: string[] };
  limits?: {
    max_record_bytes?: number;
    max_record_values?: number;
    max_depth?: number;
    max_columns?: number;
    max_decompressed_bytes?: number;
    max_gzip_ratio?: number;
    max_distinct_rows?: number;
  };
  datasets?: string;
  /** Object storage: where the S3 API is and how loadbay talks to it (credentials: the AWS SDK's usual sources). */
  s3?: {
    endpoint?: string;
    force_path_style?: boolean;
    region?: string;
    request_timeout_ms?: number;
    connect_timeout_ms?: number;
    max_attempts?: number;
    max_sockets?: number;
    list_page_size?: number;
    full_listing_minutes?: number;
    sqs_queue_url?: string;
  };
}

export interface UserDataset {
  name: string;
  match: string | string[];
  priority?: number;
  format: Format;
  csv?: {
    /** One character, or `auto` to detect , ; tab | from the first lines. */
    delimiter?: string;
    header?: boolean;
    columns?: string[];
    quote?: string;
    encoding?: string;
  };
  json?: { records?: string; path_columns?: string[]; unterminated_array?: boolean; from_document?: Record<string, string> };
  flatten?: boolean;
  prepare?: UserStep[];
  schema: Record<string, unknown>;
  table: string | UserTable;
  evolve?: 'add_columns';
  after_load?: string[];
  checks?: UserCheck[];
  /** `after`: the datasets whose loads trigger the export (default: this one). */
  export?: { sql?: string; query?: string; to: string; after?: string[] };
  on_success?: 'archive' | 'delete';
  extra_columns?: 'error' | 'ignore' | 'keep';
  on_invalid_row?: 'reject_file' | 'skip_row';
  max_invalid_rows?: number;
  max_invalid_ratio?: number;
  on_empty?: 'load' | 'reject';
  on_duplicate?: 'skip' | 'load';
  /** What the console shows of the dataset's model: tables or queries, each as a chart and a table. */
  views?: UserView[];
}

export type ChartKind = 'bar' | 'line' | 'table';

/** A model view as written: one of `table`, `sql` (a file) or `query`. */
export interface UserView {
  title: string;
  table?: string;
  sql?: string;
  query?: string;
  chart?: ChartKind;
  /** The column along the x axis (default: the first); `y`: the columns drawn (default: the other numeric ones). */
  x?: string;
  y?: string | string[];
  /** A column whose values split the rows into series (one bar or line each). */
  group?: string;
}

export interface UserTable {
  name: string;
  mode?: 'append' | 'upsert' | 'replace';
  key?: string[];
  dedupe?: 'error' | 'last';
  replace?: 'table' | { key: string[] };
}

export type UserCheck =
  | { unique: string[] }
  | { not_null: string[] }
  | { accepted_values: Record<string, Array<string | number | boolean>> }
  | { relationships: Record<string, string> }
  | { row_count: { min?: number; max?: number; scope?: 'file' | 'table' } }
  | { sql: string };

export interface TableTarget {
  schema: string;
  name: string;
  mode: 'append' | 'upsert' | 'replace';
  /** upsert: the conflict key; replace by key: the columns whose values a file replaces. */
  key: string[];
  dedupe: 'error' | 'last';
  /** replace: the whole table, or the rows with the same key values as the file's. */
  replaceScope: 'table' | 'key' | null;
}

/** A local folder's absolute path, or for a folder in object storage its `s3://bucket/prefix/` (see `Config.buckets`). */
export interface Folders {
  input: string;
  parquet: string;
  failed: string;
  archive: string;
  logs: string;
}

/**
 * One input of the configuration (`folders.input`, or each entry of a list): a local folder's
 * absolute path, or an `s3://bucket/prefix/` with its location.
 */
export interface InputFolder {
  folder: string;
  location: S3Location | null;
}

/** The folders that are in object storage; `logs` is always local. */
export type S3Folders = Partial<Record<Exclude<keyof Folders, 'logs'>, S3Location>>;

/** How loadbay talks to object storage (resolved `s3:`). */
export interface S3Settings {
  /** null: the SDK's own resolution (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, then AWS). */
  endpoint: string | null;
  forcePathStyle: boolean;
  /** null: the SDK's own resolution (AWS_REGION, shared config). */
  region: string | null;
  /** A request (or a pause in a response body) that takes longer fails and is retried. */
  requestTimeoutMs: number;
  connectTimeoutMs: number;
  /** The SDK's attempts per request (its own backoff), before loadbay's retry of the file. */
  maxAttempts: number;
  maxSockets: number;
  listPageSize: number;
  /** Every this often the whole input prefix is listed again, not only past the saved position. */
  fullListingMs: number;
  /** An SQS queue that receives the bucket's event notifications: hints, never the only source. */
  sqsQueueUrl: string | null;
}

export interface CsvOptions {
  delimiter: string;
  header: boolean;
  columns: string[] | null;
  quote: string;
  encoding: string;
}

export interface Dataset {
  name: string;
  /** The YAML file this dataset came from, for error messages. */
  file: string;
  match: string[];
  matches: (relativePath: string) => boolean;
  priority: number;
  format: Format;
  csv: CsvOptions;
  json: {
    records: string | null;
    pathColumns: string[];
    /** A top-level array may lack its closing `]` (read/json-unterminated.ts); default false. */
    unterminatedArray?: boolean;
    /** Column → path of a value elsewhere in the document (read/json-context.ts); default none. */
    fromDocument?: Record<string, string>;
  };
  flatten: boolean;
  /** The steps as written; compile.ts makes them functions. */
  prepare: UserStep[];
  /** Columns whose values come as text from the file name (coerced even in JSON formats). */
  textColumns: Set<string>;
  /** The record schema as written; compile.ts compiles it (ajv) and plans its engine. */
  schema: Record<string, unknown>;
  columns: Column[];
  table: TableTarget;
  evolve: boolean;
  /** after_load SQL, read at start-up: file (for messages) and text. */
  afterLoad: Array<{ file: string; sql: string }>;
  checks: UserCheck[];
  /** The export this dataset declares (it may be triggered by others too: `Config.exports`). */
  export: ExportSpec | null;
  onSuccess: 'archive' | 'delete';
  extraColumns: 'error' | 'ignore' | 'keep';
  onInvalidRow: 'reject_file' | 'skip_row';
  maxInvalidRows: number | null;
  maxInvalidRatio: number | null;
  onEmpty: 'load' | 'reject';
  /** The same content (sha256) as a file already loaded: skip it (default) or load it again. */
  onDuplicate: 'skip' | 'load';
  views: DatasetView[];
}

/** A model view, resolved: the query the console runs (read-only) and how it draws the rows. */
export interface DatasetView {
  title: string;
  sql: string;
  /** The SQL file, the table or `query`, for messages. */
  label: string;
  chart: ChartKind;
  x: string | null;
  /** Empty: the numeric columns other than x and group. */
  y: string[];
  group: string | null;
  /** The query orders its rows (sql, query); a table's rows come in no order. */
  ordered: boolean;
}

export interface Config {
  configFile: string;
  /** `datasets:` resolved: a folder of YAML files, or a glob of them. */
  datasetsLocation: string;
  root: string;
  /** `folders.input` is the first of these: every input, in the order written. */
  folders: Folders;
  inputs: readonly InputFolder[];
  database: {
    /** From DATABASE_URL or `database.url`; null means: start the embedded server. */
    url: string | null;
    embedded: { dataDir: string; port: number };
  };
  processing: {
    concurrency: number;
    stableWindowMs: number;
    /** A file renamed into input/ (ctime after mtime) is ready without the window. */
    renamedIsFinished: boolean;
    rescanIntervalMs: number;
    batchRows: number;
    retryInitialMs: number;
    retryMaxMs: number;
    /** Below this many free bytes in an output folder loadbay is not ready and takes no new file. */
    minFreeBytes: number;
    /**
     * Small files of one dataset that wait at the same time share a transaction: at most this many
     * files, this many bytes together, each at most `groupFileMaxBytes` (1 file: no groups).
     */
    groupMaxFiles: number;
    groupMaxBytes: number;
    groupFileMaxBytes: number;
    /** How long the first small file waits for others of its dataset to join its group. */
    groupWaitMs: number;
    /** How long a load waits for a lock on its table before its dataset waits instead (ms). */
    lockTimeoutMs: number;
  };
  limits: Limits;
  parquet: {
    /** Files written in more than one batch. */
    compression: ParquetCodec;
    /** A file written in one piece: at most `processing.batchRows` rows. */
    smallFileCompression: ParquetCodec;
  };
  notify: {
    webhooks: Array<{ url: string; events: NotifyEvent[]; format: 'json' | 'slack' }>;
    heldAfterMs: number;
    stalledAfterMs: number;
  };
  /**
   * null: no listener. `allowedHosts`: names a request's Host may carry besides the address and the
   * loopback names; null (an address other than loopback, none listed): any.
   */
  http: { host: string; port: number; token: string | null; allowedHosts: string[] | null } | null;
  s3: S3Settings;
  /** The folders given as `s3://` URLs, parsed. */
  buckets: S3Folders;
  datasets: Dataset[];
  /** Every dataset's `export:`, each with the datasets whose loads trigger it. */
  exports: ExportSpec[];
}

/** A CSV written from a query after loads of the datasets in `after`. */
export interface ExportSpec {
  sql: string;
  /** The SQL file (or `export.query`), for messages. */
  label: string;
  /** Absolute path of the CSV, or its `s3://bucket/key`. */
  to: string;
  /** The CSV's object when `to` is an s3:// URL. */
  toS3: S3ObjectUrl | null;
  after: string[];
  /** The dataset file that declares it. */
  declaredIn: string;
}

/**
 * What one file may make loadbay hold or do, enforced while it streams; a file over a limit is a
 * data error naming the limit (see docs/operations.md, Limits).
 */
export interface Limits {
  /** Characters of one record as written: a CSV row, a JSONL line, a JSON record's text. */
  maxRecordBytes: number;
  /** Values (scalars, objects, arrays) in one JSON or JSONL record. */
  maxRecordValues: number;
  /** Nesting of objects and arrays in one JSON or JSONL record. */
  maxDepth: number;
  /** Fields of one CSV row (and the header), keys of one JSON record. */
  maxColumns: number;
  /** Bytes a `.gz` file may decompress to. */
  maxDecompressedBytes: number;
  /** Decompressed bytes per compressed byte, checked once past 16 MiB decompressed. */
  maxGzipRatio: number;
  /** Distinct rows `drop_duplicate_rows` remembers in one file (~80 bytes each). */
  maxDistinctRows: number;
}
