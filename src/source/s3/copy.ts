/**
 * Copying an object too large for one CopyObject (S3 stops at 5 GiB): a multipart upload whose parts
 * the server copies from ranges of the source (UploadPartCopy), each only from the version that was
 * loaded (`x-amz-copy-source-if-match`), completed with `If-None-Match: *` so a key taken meanwhile
 * is never overwritten. The outcomes mean what they mean for CopyObject (settle.ts). Any failure
 * aborts the upload; one a crash leaves open is the start-up sweep's (sweep.ts), which tells it from
 * others by a marker object beside the destination that names its writer, present while the parts
 * are copied.
 */
import { createHash } from 'node:crypto';
import type { CompletedPart } from '@aws-sdk/client-s3';
import { s3ConfigError } from '../../errors.js';
import { isNotFound, isPreconditionFailed, type S3Connection } from './client.js';
import { headObject, objectUrl, type ObjectIdentity } from './identity.js';
import { folderUrl } from './location.js';
import { WRITER_METADATA } from './write.js';
import { s3Sdk } from './sdk.js';

export type CopyOutcome = 'copied' | 'taken' | 'replaced' | 'vanished';

export interface CopyLimits {
  /** Objects up to this size are copied with one CopyObject (S3's limit: 5 GiB). */
  singleCopyMaxBytes: number;
  /** Bytes per copied part (at least S3's 5 MiB; more when the object would need over 10,000 parts). */
  partBytes: number;
  /** Parts copied at once. */
  partsInFlight: number;
}

export const DEFAULT_COPY_LIMITS: Readonly<CopyLimits> = Object.freeze({ singleCopyMaxBytes: 5 * 1024 ** 3, partBytes: 512 * 1024 ** 2, partsInFlight: 4 });

const MIN_PART_BYTES = 5 * 1024 ** 2;
const MAX_PART_BYTES = 5 * 1024 ** 3;
const MAX_PARTS = 10_000;

/** What the copy is written with: the source's content type and encoding, and loadbay's metadata. */
export interface CopyHeaders {
  contentType: string;
  contentEncoding?: string;
  metadata: Record<string, string>;
}

/** The marker of an open copy upload: a dotfile beside its destination (inputs skip dotfiles), named by key and upload id. */
export function copyMarkerKey(key: string, uploadId: string): string {
  const dir = key.slice(0, key.lastIndexOf('/') + 1);
  return `${dir}.loadbay-copy.${createHash('sha256').update(`${key}\n${uploadId}`).digest('hex').slice(0, 32)}`;
}

/** The byte ranges of the parts: `partBytes` each (raised so that at most 10,000 parts cover the object). */
export function copyParts(size: number, partBytes: number): Array<{ first: number; last: number }> {
  const part = Math.max(MIN_PART_BYTES, partBytes, Math.ceil(size / MAX_PARTS));
  if (part > MAX_PART_BYTES) throw new Error(`an object of ${size} bytes exceeds what a multipart copy can hold (${MAX_PARTS} parts of 5 GiB)`);
  const parts = [];
  for (let first = 0; first < size; first += part) parts.push({ first, last: Math.min(size, first + part) - 1 });
  return parts;
}

export async function multipartCopy(
  s3: S3Connection,
  source: ObjectIdentity,
  copySource: string,
  bucket: string,
  key: string,
  headers: CopyHeaders,
  writer: string,
  limits: CopyLimits,
  signal?: AbortSignal,
): Promise<CopyOutcome> {
  const options = signal ? { abortSignal: signal } : {};
  const where = folderUrl(bucket, key);
  let uploadId: string;
  try {
    const created = await s3.client.send(
      new (s3Sdk().CreateMultipartUploadCommand)({
        Bucket: bucket,
        Key: key,
        ContentType: headers.contentType,
        ...(headers.contentEncoding ? { ContentEncoding: headers.contentEncoding } : {}),
        Metadata: headers.metadata,
      }),
      options,
    );
    if (!created.UploadId) throw new Error(`${objectUrl({ bucket, key })}: the server started a multipart upload without an upload id`);
    uploadId = created.UploadId;
  } catch (error) {
    throw s3ConfigError(error, where);
  }
  const marker = copyMarkerKey(key, uploadId);
  let markerPut = false;
  const dropMarker = async () => {
    if (!markerPut) return;
    await s3.client.send(new (s3Sdk().DeleteObjectCommand)({ Bucket: bucket, Key: marker }));
    markerPut = false;
  };
  let completed = false;
  try {
    await s3.client.send(new (s3Sdk().PutObjectCommand)({ Bucket: bucket, Key: marker, Body: Buffer.alloc(0), Metadata: { [WRITER_METADATA]: writer, 'loadbay-copy-of': objectUrl(source) } }), options);
    markerPut = true;
    const parts = await copyAllParts(s3, source, copySource, bucket, key, uploadId, limits, signal);
    if (typeof parts === 'string') return parts;
    // Without its marker an open upload is only swept once a day old: the window is one request.
    await dropMarker();
    try {
      await s3.client.send(new (s3Sdk().CompleteMultipartUploadCommand)({ Bucket: bucket, Key: key, UploadId: uploadId, IfNoneMatch: '*', MultipartUpload: { Parts: parts } }), options);
    } catch (error) {
      if (isPreconditionFailed(error)) return 'taken';
      throw error;
    }
    completed = true;
    return 'copied';
  } catch (error) {
    throw s3ConfigError(error, where);
  } finally {
    if (!completed) {
      await dropMarker().catch(() => undefined);
      // AWS drops the upload itself after a 409 on completion (NoSuchUpload then); anything else left is the sweep's.
      await s3.client.send(new (s3Sdk().AbortMultipartUploadCommand)({ Bucket: bucket, Key: key, UploadId: uploadId })).catch(() => undefined);
    }
  }
}

/** Copies every part, a few at once; the parts in order, or the outcome that stopped the copy. */
async function copyAllParts(
  s3: S3Connection,
  source: ObjectIdentity,
  copySource: string,
  bucket: string,
  key: string,
  uploadId: string,
  limits: CopyLimits,
  signal?: AbortSignal,
): Promise<CompletedPart[] | CopyOutcome> {
  const ranges = copyParts(source.size, limits.partBytes);
  const done: CompletedPart[] = new Array(ranges.length);
  // The first failure stops the other parts in flight.
  const stop = new AbortController();
  const abortSignal = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
  let failure: { error: unknown } | null = null;
  let next = 0;
  const worker = async () => {
    while (failure === null && next < ranges.length) {
      const index = next++;
      const { first, last } = ranges[index]!;
      try {
        const answer = await s3.client.send(
          new (s3Sdk().UploadPartCopyCommand)({
            Bucket: bucket,
            Key: key,
            UploadId: uploadId,
            PartNumber: index + 1,
            CopySource: copySource,
            CopySourceIfMatch: source.etag,
            CopySourceRange: `bytes=${first}-${last}`,
          }),
          { abortSignal },
        );
        const etag = answer.CopyPartResult?.ETag;
        if (!etag) throw new Error(`${objectUrl({ bucket, key })}: the server copied part ${index + 1} without an ETag`);
        done[index] = { PartNumber: index + 1, ETag: etag };
      } catch (error) {
        failure ??= { error };
        stop.abort();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limits.partsInFlight, ranges.length)) }, worker));
  if (failure === null) return done;
  const { error } = failure as { error: unknown };
  if ((error as { name?: string }).name === 'NoSuchUpload') throw error;
  if (isNotFound(error) && (error as { name?: string }).name !== 'NoSuchBucket') return 'vanished';
  if (!isPreconditionFailed(error)) throw error;
  const now = await headObject(s3, source.bucket, source.key, signal);
  if (!now) return 'vanished';
  if (now.etag !== source.etag) return 'replaced';
  throw error;
}
