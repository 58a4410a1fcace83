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
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { HeldError, s3ConfigError } from '../../errors.js';
import { isPreconditionFailed, type S3Connection } from './client.js';
import { headObject } from './identity.js';
import { folderUrl, MAX_KEY_BYTES } from './location.js';
import { s3Sdk, storageSdk } from './sdk.js';

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
  const upload = new (storageSdk().Upload)({
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
      new (s3Sdk().PutObjectCommand)({
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
  const { dir, stem, ext } = splitKey(key);
  return `${dir}${stem}-${n}${ext}`;
}

function splitKey(key: string): { dir: string; stem: string; ext: string } {
  const slash = key.lastIndexOf('/');
  const base = key.slice(slash + 1);
  const dot = base.indexOf('.', 1);
  return { dir: key.slice(0, slash + 1), stem: dot === -1 ? base : base.slice(0, dot), ext: dot === -1 ? '' : base.slice(dot) };
}

/** Bytes a key chosen by loadbay keeps free under S3's limit: a `-1000` and a report's `.error.json` (twice: a report's own report is looked for). */
export const KEY_RESERVE_BYTES = 32;

/**
 * A key that still fits S3's 1,024-byte limit once `reserve` more bytes are added: a longer key is
 * cut at the end of its name (and, when the name alone cannot make room, of its folders), whole
 * characters only, and tagged with a hash of the whole key, so two long keys stay distinct. The
 * extensions are kept (up to 40 bytes of them).
 */
export function fitKey(key: string, reserve = KEY_RESERVE_BYTES): string {
  if (Buffer.byteLength(key) + reserve <= MAX_KEY_BYTES) return key;
  const { dir, stem, ext: found } = splitKey(key);
  const ext = Buffer.byteLength(found) > 40 ? '' : found;
  const tag = `~${createHash('sha256').update(key).digest('hex').slice(0, 8)}`;
  const head = Array.from(ext === '' ? key : `${dir}${stem}`);
  const budget = MAX_KEY_BYTES - reserve - Buffer.byteLength(ext) - tag.length;
  let bytes = Buffer.byteLength(head.join(''));
  while (bytes > budget) bytes -= Buffer.byteLength(head.pop()!);
  return `${head.join('')}${tag}${ext}`;
}

/** How many numbered names are tried: a folder with `name.csv` … `name-1000.csv` taken is someone's to tidy. */
export const MAX_NUMBERED_NAMES = 1000;

/** Every numbered name of a key is taken: held (someone must tidy the folder), not retried for ever. */
export class NamesTakenError extends HeldError {
  constructor(bucket: string, key: string) {
    super(
      `${folderUrl(bucket, key)}: ${key.slice(key.lastIndexOf('/') + 1)} and its numbered names up to ${numberedKey(key, MAX_NUMBERED_NAMES).slice(key.lastIndexOf('/') + 1)} are all taken: move or delete some of them (loadbay never overwrites an object)`,
    );
    this.name = 'NamesTakenError';
  }
}

/** The first of `key`, `key-2`, … with no object (checked with HeadObject; `If-None-Match` guards the race); a key too long for S3 is shortened first (fitKey). */
export async function freeKey(s3: S3Connection, bucket: string, key: string, signal?: AbortSignal): Promise<string> {
  const fitted = fitKey(key);
  for (let n = 1; n <= MAX_NUMBERED_NAMES; n++) {
    const candidate = numberedKey(fitted, n);
    if (!(await headObject(s3, bucket, candidate, signal))) return candidate;
  }
  throw new NamesTakenError(bucket, fitted);
}
