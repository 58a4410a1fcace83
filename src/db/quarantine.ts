/**
 * The quarantine as the ledger knows it: a file's row whose `error` is its report (written in the
 * same update that settles it `failed`, or, for a loaded file that grew after it was read, when the
 * rest is quarantined), and `loadbay.resubmissions`, the files sent back from there — retried as
 * they were, or fixed in the console — each at most once. Read-only but for those two records.
 */
import type pg from 'pg';
import { escapeLike } from './database.js';
import { LEDGER_SCHEMA } from './ledger.js';

const FILES = `${LEDGER_SCHEMA}.files`;
const RESUBMISSIONS = `${LEDGER_SCHEMA}.resubmissions`;

type Queryable = Pick<pg.Pool | pg.PoolClient | pg.Client, 'query'>;

export type QuarantineState = 'open' | 'resubmitted' | 'all';

export interface QuarantineFilter {
  /** A dataset's name, or `_unmatched` for files no dataset claimed. */
  dataset?: string;
  since?: Date;
  /** open (default): still in output_failed/ and not sent back; resubmitted: retried or fixed. */
  state?: QuarantineState;
  /** Part of the file's name or of the reason, case-insensitive. */
  search?: string;
  limit?: number;
}

export interface Resubmission {
  kind: 'retry' | 'fix';
  /** Where the file went, inside input/. */
  input: string;
  edits: unknown;
  at: Date;
  /** The ledger row of the file that arrived there afterwards, once it has. */
  next: { id: string; status: string } | null;
}

export interface QuarantineRow {
  id: string;
  path: string;
  dataset: string | null;
  status: string;
  /** The report as the ledger has it: to be checked (quarantine/report.ts) before use. */
  report: unknown;
  resubmission: Resubmission | null;
  /** The quarantined file this one is a retry or fix of. */
  resubmissionOf: { id: string; kind: 'retry' | 'fix' } | null;
}

interface Row {
  id: string;
  path: string;
  dataset: string | null;
  status: string;
  report: unknown;
  kind: 'retry' | 'fix' | null;
  input_path: string | null;
  edits: unknown;
  resubmitted_at: Date | null;
  next_id: string | null;
  next_status: string | null;
  of_id: string | null;
  of_kind: 'retry' | 'fix' | null;
}

const SELECT = `
  SELECT f.id::text AS id, f.path, f.dataset, f.status, f.error AS report,
         r.kind, r.input_path, r.edits, r.created_at AS resubmitted_at,
         n.id::text AS next_id, n.status AS next_status,
         o.file_id::text AS of_id, o.kind AS of_kind
    FROM ${FILES} f
    LEFT JOIN ${RESUBMISSIONS} r ON r.file_id = f.id
    LEFT JOIN LATERAL (SELECT id, status FROM ${FILES} x
                        WHERE r.input_path IS NOT NULL AND x.path = r.input_path AND x.created_at >= r.created_at
                        ORDER BY x.id LIMIT 1) n ON true
    LEFT JOIN LATERAL (SELECT file_id, kind FROM ${RESUBMISSIONS} y
                        WHERE y.input_path = f.path AND y.created_at <= f.created_at
                        ORDER BY y.created_at DESC LIMIT 1) o ON true`;

function toRow(row: Row): QuarantineRow {
  return {
    id: row.id,
    path: row.path,
    dataset: row.dataset,
    status: row.status,
    report: row.report,
    resubmission:
      row.kind && row.input_path && row.resubmitted_at
        ? { kind: row.kind, input: row.input_path, edits: row.edits, at: row.resubmitted_at, next: row.next_id ? { id: row.next_id, status: row.next_status ?? '' } : null }
        : null,
    resubmissionOf: row.of_id && row.of_kind ? { id: row.of_id, kind: row.of_kind } : null,
  };
}

/** Quarantined files, newest first. */
export async function quarantineRows(db: Queryable, filter: QuarantineFilter = {}): Promise<QuarantineRow[]> {
  const state = filter.state ?? 'open';
  const search = filter.search?.trim() ? `%${escapeLike(filter.search.trim())}%` : null;
  const { rows } = await db.query<Row>(
    `${SELECT}
      WHERE f.error ? 'quarantined_as'
        AND ($1::text IS NULL OR ($1 = '_unmatched' AND f.dataset IS NULL) OR f.dataset = $1)
        AND ($2::timestamptz IS NULL OR f.updated_at >= $2)
        AND ($3 = 'all' OR ($3 = 'open') = (r.file_id IS NULL))
        AND ($4::text IS NULL OR f.path ILIKE $4 OR f.error->>'reason' ILIKE $4)
      ORDER BY f.id DESC
      LIMIT $5`,
    [filter.dataset ?? null, filter.since ?? null, state, search, filter.limit ?? 500],
  );
  return rows.map(toRow);
}

/** How many quarantined files were not sent back (the metric, when the quarantine is a bucket). */
export async function countOpenQuarantined(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM ${FILES} f
      WHERE f.error ? 'quarantined_as' AND NOT EXISTS (SELECT 1 FROM ${RESUBMISSIONS} r WHERE r.file_id = f.id)`,
  );
  return rows[0]?.n ?? 0;
}

/** One quarantined file by its ledger id. */
export async function quarantineRow(db: Queryable, id: string): Promise<QuarantineRow | null> {
  if (!/^[0-9]{1,18}$/.test(id)) return null;
  const { rows } = await db.query<Row>(`${SELECT} WHERE f.id = $1 AND f.error ? 'quarantined_as'`, [id]);
  return rows[0] ? toRow(rows[0]) : null;
}

/** A loaded file whose rest was quarantined (it grew after it was read): its row learns the report. */
export async function recordQuarantined(db: Queryable, fileId: string, report: unknown): Promise<void> {
  await db.query(`UPDATE ${FILES} SET error = $2, updated_at = now() WHERE id = $1`, [fileId, JSON.stringify(report)]);
}

/**
 * Files sent back into an input prefix since `since` (retried or fixed): a listing that resumes
 * after its saved position would not see a key that sorts before it.
 */
export async function resubmittedSince(db: Queryable, prefixUrl: string, since: Date): Promise<Array<{ input: string; at: Date }>> {
  const pattern = `${escapeLike(prefixUrl)}%`;
  const { rows } = await db.query<{ input_path: string; created_at: Date }>(
    `SELECT input_path, created_at FROM ${RESUBMISSIONS} WHERE input_path LIKE $1 AND created_at > $2 ORDER BY created_at LIMIT 10000`,
    [pattern, since],
  );
  return rows.map((r) => ({ input: r.input_path, at: r.created_at }));
}

export class AlreadyResubmitted extends Error {}

/** Records that the file was sent back; a file is sent back once (a second time: AlreadyResubmitted). */
export async function recordResubmission(
  db: Queryable,
  entry: { fileId: string; kind: 'retry' | 'fix'; input: string; edits?: unknown },
): Promise<void> {
  try {
    await db.query(`INSERT INTO ${RESUBMISSIONS} (file_id, kind, input_path, edits) VALUES ($1, $2, $3, $4)`, [
      entry.fileId,
      entry.kind,
      entry.input,
      entry.edits === undefined ? null : JSON.stringify(entry.edits),
    ]);
  } catch (error) {
    if ((error as { code?: string }).code === '23505') throw new AlreadyResubmitted(`file ${entry.fileId} was already sent back from the quarantine`);
    throw error;
  }
}
