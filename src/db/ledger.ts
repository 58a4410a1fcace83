/**
 * The ledger: loadbay's own schema in the same PostgreSQL that receives the rows, so a file's rows
 * and its ledger row commit in one transaction. Versioned migrations, safe to run from several
 * instances at once (they serialise on an advisory lock).
 */
import { checkout } from './database.js';
import type pg from 'pg';

export const LEDGER_SCHEMA = 'loadbay';

const MIGRATIONS: string[] = [
  // 1: file arrivals
  `CREATE TABLE loadbay.files (
     id           bigserial PRIMARY KEY,
     path         text NOT NULL,
     size         bigint NOT NULL,
     mtime_ms     double precision NOT NULL,
     sha256       text,
     dataset      text,
     status       text NOT NULL CHECK (status IN ('processing', 'loaded', 'failed', 'skipped')),
     attempts     integer NOT NULL DEFAULT 1,
     rows         bigint,
     table_name   text,
     parquet_path text,
     error        jsonb,
     duplicate_of bigint REFERENCES loadbay.files (id),
     instance_id  text NOT NULL,
     created_at   timestamptz NOT NULL DEFAULT now(),
     updated_at   timestamptz NOT NULL DEFAULT now(),
     settled_at   timestamptz
   );
   CREATE INDEX files_path_idx ON loadbay.files (path);
   CREATE INDEX files_status_idx ON loadbay.files (status, updated_at);
   CREATE UNIQUE INDEX files_loaded_content_idx ON loadbay.files (dataset, sha256) WHERE status = 'loaded';`,
  // 2: on_duplicate: load — a deliberate reload records the first load in duplicate_of; only first
  // loads of a content are unique (so two instances still cannot both load it by accident).
  `DROP INDEX loadbay.files_loaded_content_idx;
   CREATE UNIQUE INDEX files_first_load_idx ON loadbay.files (dataset, sha256) WHERE status = 'loaded' AND duplicate_of IS NULL;`,
  // 3: a file deleted from input/ before it was settled is closed as `vanished`, not left `processing`.
  `ALTER TABLE loadbay.files DROP CONSTRAINT files_status_check;
   ALTER TABLE loadbay.files ADD CONSTRAINT files_status_check CHECK (status IN ('processing', 'loaded', 'failed', 'skipped', 'vanished'));`,
  // 4: the notification outbox: an event to deliver to a webhook, until it is delivered (at least once).
  `CREATE TABLE loadbay.notifications (
     id           bigserial PRIMARY KEY,
     webhook      integer NOT NULL,
     event        text NOT NULL,
     payload      jsonb NOT NULL,
     attempts     integer NOT NULL DEFAULT 0,
     last_error   text,
     next_at      timestamptz NOT NULL DEFAULT now(),
     created_at   timestamptz NOT NULL DEFAULT now(),
     delivered_at timestamptz
   );
   CREATE INDEX notifications_due_idx ON loadbay.notifications (next_at) WHERE delivered_at IS NULL;`,
  // 5: the latest delivery wins — what a replace file covers (`scope`: '' the whole table, or its
  // key from the file name as JSON), when its load committed (clock time, in the order replacing
  // loads take turns), and which later load replaced its rows (its Parquet file is then retired).
  `ALTER TABLE loadbay.files ADD COLUMN scope text, ADD COLUMN loaded_at timestamptz,
     ADD COLUMN superseded_by bigint REFERENCES loadbay.files (id), ADD COLUMN retired_at timestamptz;
   CREATE INDEX files_current_idx ON loadbay.files (dataset, scope, loaded_at DESC) WHERE status = 'loaded';
   CREATE INDEX files_superseded_by_idx ON loadbay.files (superseded_by) WHERE superseded_by IS NOT NULL;`,
  // 6: files sent back from the quarantine (retried as they were, or fixed in the console: the
  // edits), once each; the quarantine found through the ledger (a failed row's `error` is its
  // report), and the loads of a dataset over time.
  `CREATE TABLE loadbay.resubmissions (
     id          bigserial PRIMARY KEY,
     file_id     bigint NOT NULL UNIQUE REFERENCES loadbay.files (id),
     kind        text NOT NULL CHECK (kind IN ('retry', 'fix')),
     input_path  text NOT NULL,
     edits       jsonb,
     created_at  timestamptz NOT NULL DEFAULT now()
   );
   CREATE INDEX resubmissions_input_idx ON loadbay.resubmissions (input_path);
   CREATE INDEX files_quarantined_idx ON loadbay.files (id) WHERE error ? 'quarantined_as';
   CREATE INDEX files_dataset_loaded_idx ON loadbay.files (dataset, settled_at) WHERE status = 'loaded';`,
  // 7: object storage — where each input prefix's listing resumes (keys in byte order, as S3 lists
  // them) and when it was last listed whole; an object's ETag and version beside its arrival.
  `CREATE TABLE loadbay.s3_listings (
     source          text PRIMARY KEY,
     start_after     text COLLATE "C",
     full_listing_at timestamptz,
     updated_at      timestamptz NOT NULL DEFAULT now()
   );
   ALTER TABLE loadbay.files ADD COLUMN object_etag text, ADD COLUMN object_version text;
   -- Deleting old rows (keeping the ledger small) checks duplicate_of's references row by row: without
   -- this index each check scans the table (docs/scaling.md).
   CREATE INDEX files_duplicate_of_idx ON loadbay.files (duplicate_of) WHERE duplicate_of IS NOT NULL;`,
  // 8: the start-up reconciliation asks the ledger about every Parquet file in the folder: without
  // this index each question scanned the table, and a start took minutes with a large ledger.
  `CREATE INDEX files_parquet_path_idx ON loadbay.files (parquet_path) WHERE parquet_path IS NOT NULL;`,
];

/** The ledger version this loadbay needs (readiness checks it). */
export const MIGRATION_COUNT = MIGRATIONS.length;

export async function migrate(pool: pg.Pool): Promise<number> {
  const { client, done } = await checkout(pool);
  try {
    await client.query('BEGIN');
    await client.query(`SELECT pg_advisory_xact_lock(hashtextextended('loadbay:migrate', 0))`);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${LEDGER_SCHEMA}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${LEDGER_SCHEMA}.migrations (
      version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ version: number | null }>(
      `SELECT max(version) AS version FROM ${LEDGER_SCHEMA}.migrations`,
    );
    const current = rows[0]?.version ?? 0;
    for (let version = current + 1; version <= MIGRATIONS.length; version++) {
      await client.query(MIGRATIONS[version - 1]!);
      await client.query(`INSERT INTO ${LEDGER_SCHEMA}.migrations (version) VALUES ($1)`, [version]);
    }
    await client.query('COMMIT');
    return MIGRATIONS.length;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    done();
  }
}

export type FileStatus = 'processing' | 'loaded' | 'failed' | 'skipped' | 'vanished';

export interface LedgerRow {
  id: string;
  path: string;
  size: string;
  mtime_ms: number;
  sha256: string | null;
  dataset: string | null;
  status: FileStatus;
  attempts: number;
  rows: string | null;
  parquet_path: string | null;
  settled_at: Date | null;
}
