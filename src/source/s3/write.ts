/**
 * Writing objects: a stream uploaded with lib-storage's Upload (one PutObject for a small body,
 * multipart in parts of `partSize` for a large one, at most `queueSize` parts in memory), straight
 * to its final key. An S3 object appears whole or not at all (a multipart upload only when it is
 * completed), so a final key plays the part a temporary name and rename play on a local disk,
 * without copying every byte a second time. Exactly once (docs/object-storage.md): the key is chosen
 * free, recorded in the ledger before the upload, and the load commits after it; `If-None-Match: *`
 * makes the upload fail rather than overwrite anything; what a crash leaves (an upload never
 * completed, an object whose load never committed) the start-up sweep removes (sweep.ts).
 */
import type { Readable } from 'node:stream';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { s3ConfigError } from '../../errors.js';
import { isPreconditionFailed, type S3Connection } from './client.js';
import { headObject } from './identity.js';
import { folderUrl, MAX_KEY_BYTES } from './location.js';

/** Metadata on every object loadbay writes: which instance wrote it (the sweep asks whether it still runs). */
export const WRITER_METADATA = 'loadbay-writer';

export interface UploadOptions {
  /** The instance writing (recorded as object metadata). */
  writer: string;
  contentType?: string;
  /** Bytes per part of a multipart upload (≥ 5 MiB, S3's minimum; default 8 MiB). */
  partSize?: number;
  /** Parts in flight at once (default 4): memory is about partSize × queueSize. */
  queueSize?: number;
  signal?: AbortSignal;
  metadata?: Record<string, string>;
  /** Replaces an object of the key (an export's snapshot); by default an existing key fails with KeyTakenError. */
  overwrite?: boolean;
}

export interface UploadedObject {
  bucket: string;
  key: string;
  etag: string;
  versionId: string | null;
}

/** The key already exists: loadbay never overwrites (the caller picks another name). */
export class KeyTakenError extends Error {
  constructor(readonly url: string) {
    super(`${url} already exists: loadbay does not overwrite objects`);
    this.name = 'KeyTakenError';
  }
}

export async function uploadObject(s3: S3Connection, bucket: string, key: string, body: Readable | Buffer | string, options: UploadOptions): Promise<UploadedObject> {
  const upload = new Upload({
    client: s3.client,
    params: {
      Bucket: bucket,
      Key: key,
      Body: body,
      ...(options.overwrite ? {} : { IfNoneMatch: '*' }),
      ContentType: options.contentType ?? 'application/octet-stream',
      Metadata: { ...options.metadata, [WRITER_METADATA]: options.writer },
    },
    partSize: Math.max(5 * 1024 * 1024, options.partSize ?? 8 * 1024 * 1024),
    queueSize: options.queueSize ?? 4,
    // A failed multipart upload is aborted at once; one left by a crash is the sweep's.
    leavePartsOnError: false,
  });
  const abort = () => void upload.abort();
  options.signal?.addEventListener('abort', abort, { once: true });
  try {
    const done = await upload.done();
    return { bucket, key, etag: done.ETag ?? '', versionId: done.VersionId ?? null };
  } catch (error) {
    if (isPreconditionFailed(error)) throw new KeyTakenError(`s3://${bucket}/${key}`);
    throw s3ConfigError(error, folderUrl(bucket, key));
  } finally {
    options.signal?.removeEventListener('abort', abort);
  }
}

/** A small object written whole (a report, a marker), never over an existing one. */
export async function putNewObject(s3: S3Connection, bucket: string, key: string, body: string | Buffer, options: Omit<UploadOptions, 'partSize' | 'queueSize'>): Promise<UploadedObject> {
  try {
    const result = await s3.client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: typeof body === 'string' ? Buffer.from(body) : body,
        ...(options.overwrite ? {} : { IfNoneMatch: '*' }),
        ContentType: options.contentType ?? 'application/octet-stream',
        Metadata: { ...options.metadata, [WRITER_METADATA]: options.writer },
      }),
      options.signal ? { abortSignal: options.signal } : {},
    );
    return { bucket, key, etag: result.ETag ?? '', versionId: result.VersionId ?? null };
  } catch (error) {
    if (isPreconditionFailed(error)) throw new KeyTakenError(`s3://${bucket}/${key}`);
    throw s3ConfigError(error, folderUrl(bucket, key));
  }
}

/** "a/b.csv.gz" → "a/b-2.csv.gz": the suffix goes before the first extension, as for local folders. */
export function numberedKey(key: string, n: number): string {
  if (n <= 1) return key;
  const slash = key.lastIndexOf('/');
  const dir = key.slice(0, slash + 1);
  const base = key.slice(slash + 1);
  const dot = base.indexOf('.', 1);
  const stem = dot === -1 ? base : base.slice(0, dot);
  const ext = dot === -1 ? '' : base.slice(dot);
  return `${dir}${stem}-${n}${ext}`;
}

/** The first of `key`, `key-2`, … with no object (checked with HeadObject; `If-None-Match` guards the race). */
export async function freeKey(s3: S3Connection, bucket: string, key: string, signal?: AbortSignal): Promise<string> {
  if (Buffer.byteLength(key) + 20 > MAX_KEY_BYTES) throw new Error(`s3://${bucket}/${key}: the key leaves no room under S3's ${MAX_KEY_BYTES}-byte limit`);
  for (let n = 1; ; n++) {
    const candidate = numberedKey(key, n);
    if (!(await headObject(s3, bucket, candidate, signal))) return candidate;
  }
}
