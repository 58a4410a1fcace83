/**
 * Start-up sweep of an output prefix in object storage (the Parquet prefix), the counterpart of
 * pipeline/reconcile.ts for a local folder. A Parquet key is recorded in the ledger before its
 * upload starts; if loadbay died before the load committed, what it wrote is an orphan:
 * - a multipart upload never completed → aborted (parts cost storage until then);
 * - an object whose ledger rows are none of them `loaded` → deleted. The candidates come from the
 *   ledger (keys recorded under the prefix, never loaded), not from listing the prefix, so the
 *   sweep costs the number of unfinished loads, not the size of the lake.
 * Only when the instance that wrote it is gone (its advisory lock is free), so an instance running
 * right now is never disturbed. The multipart copy of a large object into the archive or the
 * quarantine (copy.ts) has no ledger row but a marker beside it naming its writer: aborted, with its
 * marker, when that writer is gone (`sweepUploads` on those prefixes). An upload known neither way
 * is not known to be loadbay's: it is aborted only once older than `unknownUploadAgeMs` (a bucket
 * lifecycle rule AbortIncompleteMultipartUpload does the same, and is recommended).
 */
import type pg from 'pg';
import { escapeLike } from '../../db/database.js';
import { parquetWriters } from '../../db/files.js';
import { s3ConfigError } from '../../errors.js';
import { isInstanceId, livenessCache } from '../../instance.js';
import { isNotFound, type S3Connection } from './client.js';
import { copyMarkerKey } from './copy.js';
import { LEDGER_SCHEMA } from '../../db/ledger.js';
import { headObject, objectUrl } from './identity.js';
import { compareKeys, ListingError } from './listing.js';
import { MAX_KEY_BYTES, type S3Location } from './location.js';
import { WRITER_METADATA } from './write.js';
import { s3Sdk } from './sdk.js';

/** Pages of open uploads one sweep lists at most (1,000 uploads a page): past it the sweep stops, to run again at the next start. */
export const MAX_UPLOAD_PAGES = 10_000;
const MAX_UPLOAD_ID_CHARS = 1024;

export interface SweepResult {
  abortedUploads: string[];
  deletedObjects: string[];
}

export interface SweepOptions {
  /** Uploads with no ledger row are aborted once this old (default 24 h). */
  unknownUploadAgeMs?: number;
  /** Uploads neither the ledger nor a marker names are left alone, whatever their age (an input's are its producers'). */
  leaveUnknown?: boolean;
  now?: () => number;
  log?: (message: string) => void;
}

export async function sweepOrphans(s3: S3Connection, pool: pg.Pool, location: S3Location, options: SweepOptions = {}): Promise<SweepResult> {
  const result: SweepResult = { abortedUploads: [], deletedObjects: [] };
  const alive = livenessCache(pool);
  result.abortedUploads = await sweepUploads(s3, pool, location, options, alive);
  for (const { url, instances } of await unloadedParquet(pool, location.url)) {
    if (!(await allGone(instances, alive))) continue;
    const key = url.slice(`s3://${location.bucket}/`.length);
    const head = await headObject(s3, location.bucket, key);
    if (!head) continue;
    try {
      await s3.client.send(new (s3Sdk().DeleteObjectCommand)({ Bucket: location.bucket, Key: key, IfMatch: head.etag }));
    } catch (error) {
      throw s3ConfigError(error, location.url);
    }
    result.deletedObjects.push(url);
    options.log?.(`removed ${url}: written by a loadbay that stopped before its load committed`);
  }
  return result;
}

/**
 * Aborts the multipart uploads under `location` left by loadbays that are gone: a Parquet upload its
 * ledger row names, a copy its marker names, else one older than `unknownUploadAgeMs`.
 */
export async function sweepUploads(s3: S3Connection, pool: pg.Pool, location: S3Location, options: SweepOptions = {}, alive = livenessCache(pool)): Promise<string[]> {
  const now = options.now ?? Date.now;
  const unknownAge = options.unknownUploadAgeMs ?? 24 * 3600_000;
  const aborted: string[] = [];

  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  let pages = 0;
  const seen = { key: null as string | null, uploadIds: new Set<string>() };
  for (;;) {
    let page;
    try {
      page = await s3.client.send(new (s3Sdk().ListMultipartUploadsCommand)({ Bucket: location.bucket, Prefix: location.prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }));
    } catch (error) {
      throw s3ConfigError(error, location.url);
    }
    // The ledger rows of the page's keys, in one query.
    const recorded = await parquetWriters(pool, (page.Uploads ?? []).filter((u) => u.Key).map((u) => objectUrl({ bucket: location.bucket, key: u.Key! })));
    /** An orphan: recorded, never loaded, every attempt's writer gone (a running one may be about to commit it). null: no ledger row. */
    const orphan = async (url: string): Promise<boolean | null> => {
      const rows = recorded.get(url);
      return rows ? !rows.loaded && (await allGone(rows.instances, alive)) : null;
    };
    for (const upload of page.Uploads ?? []) {
      if (!upload.Key || !upload.UploadId) continue;
      const url = objectUrl({ bucket: location.bucket, key: upload.Key });
      const marker = copyMarkerKey(upload.Key, upload.UploadId);
      const markedBy = await markerWriter(s3, location, marker);
      const copyWriter = markedBy !== null && isInstanceId(markedBy) ? markedBy : null;
      const isOrphan = copyWriter !== null ? !(await alive(copyWriter)) : await orphan(url);
      const old = !options.leaveUnknown && upload.Initiated instanceof Date && now() - upload.Initiated.getTime() >= unknownAge;
      if (isOrphan === true || (isOrphan === null && old)) {
        try {
          await s3.client.send(new (s3Sdk().AbortMultipartUploadCommand)({ Bucket: location.bucket, Key: upload.Key, UploadId: upload.UploadId }));
        } catch (error) {
          if ((error as { name?: string }).name !== 'NoSuchUpload') throw s3ConfigError(error, location.url);
        }
        if (markedBy !== null) {
          try {
            await s3.client.send(new (s3Sdk().DeleteObjectCommand)({ Bucket: location.bucket, Key: marker }));
          } catch (error) {
            throw s3ConfigError(error, location.url);
          }
        }
        aborted.push(url);
        const why = copyWriter !== null ? `a copy by loadbay ${copyWriter}, which stopped before finishing it` : isOrphan ? 'its load never committed and its writer is gone' : 'unknown to the ledger and older than a day';
        options.log?.(`aborted the upload of ${url}: ${why}`);
      }
    }
    if (!page.IsTruncated || !page.NextKeyMarker) break;
    pages++;
    const fault = pagingFault(seen, page.NextKeyMarker, page.NextUploadIdMarker, pages);
    if (fault) throw new ListingError(`${location.url}: listing the open multipart uploads, the server ${fault}`);
    keyMarker = page.NextKeyMarker;
    uploadIdMarker = page.NextUploadIdMarker;
  }
  return aborted;
}

/**
 * Why the next page's markers cannot be followed, or null. Uploads come in key order (then by upload
 * id, in an order S3 does not define), so the key marker never goes back and, while it stays, no
 * upload id marker comes twice: a server that breaks this would page for ever.
 */
function pagingFault(seen: { key: string | null; uploadIds: Set<string> }, nextKey: string, nextUploadId: string | undefined, pages: number): string | null {
  if (pages >= MAX_UPLOAD_PAGES) return `said the listing goes on past ${MAX_UPLOAD_PAGES} pages`;
  if (Buffer.byteLength(nextKey) > MAX_KEY_BYTES || (nextUploadId?.length ?? 0) > MAX_UPLOAD_ID_CHARS) return 'sent an oversize key or upload id marker';
  const order = seen.key === null ? 1 : compareKeys(nextKey, seen.key);
  if (order < 0) return `went back from key marker ${JSON.stringify(seen.key)} to ${JSON.stringify(nextKey)}`;
  if (order > 0) {
    seen.key = nextKey;
    seen.uploadIds.clear();
  }
  if (seen.uploadIds.has(nextUploadId ?? '')) return `sent the same markers twice (${JSON.stringify(nextKey)}, ${JSON.stringify(nextUploadId ?? '')})`;
  seen.uploadIds.add(nextUploadId ?? '');
  return null;
}

/** The writer a copy's marker names ('' when none); null when there is no marker. */
async function markerWriter(s3: S3Connection, location: S3Location, marker: string): Promise<string | null> {
  try {
    const head = await s3.client.send(new (s3Sdk().HeadObjectCommand)({ Bucket: location.bucket, Key: marker }));
    return head.Metadata?.[WRITER_METADATA] ?? '';
  } catch (error) {
    if (isNotFound(error)) return null;
    throw s3ConfigError(error, location.url);
  }
}

/** Parquet keys recorded under `prefixUrl` that no `loaded` row has, with the instance that recorded them last. */
async function unloadedParquet(pool: pg.Pool, prefixUrl: string): Promise<Array<{ url: string; instances: string[] }>> {
  const pattern = `${escapeLike(prefixUrl)}%`;
  const { rows } = await pool.query<{ parquet_path: string; instances: string[] }>(
    `SELECT parquet_path, array_agg(DISTINCT instance_id) FILTER (WHERE instance_id IS NOT NULL) AS instances FROM ${LEDGER_SCHEMA}.files
      WHERE parquet_path LIKE $1 GROUP BY parquet_path HAVING NOT bool_or(status = 'loaded')`,
    [pattern],
  );
  return rows.map((r) => ({ url: r.parquet_path, instances: r.instances ?? [] }));
}

/** Whether every instance that recorded a key is gone (none recorded: nobody can be writing it). */
async function allGone(instances: string[], alive: (instance: string) => Promise<boolean>): Promise<boolean> {
  for (const instance of instances) if (await alive(instance)) return false;
  return true;
}
