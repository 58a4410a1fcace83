/**
 * Settling an input object: archive or quarantine as copy-then-delete, safe to run again after a
 * crash at any point. The copy carries the source's URL and ETag as metadata, so a second run finds
 * a copy made by the first (crash between copy and delete) and only deletes; a source already
 * deleted (crash after the delete) with its copy in place is done. Never overwrites: the copy goes
 * to the first free of `name.csv`, `name-2.csv`, … (as local folders do), guarded by
 * `If-None-Match: *`; the source is copied only if it is still the version that was loaded
 * (`x-amz-copy-source-if-match`) and deleted only if it still is (`If-Match`, and a HeadObject
 * before it for servers without conditional deletes). An object larger than one CopyObject allows
 * (5 GiB) is copied in parts under the same conditions (copy.ts).
 */
import { s3ConfigError } from '../../errors.js';
import { isNotFound, isPreconditionFailed, type S3Connection } from './client.js';
import { DEFAULT_COPY_LIMITS, multipartCopy, type CopyLimits, type CopyOutcome } from './copy.js';
import { headObject, objectUrl, type ObjectIdentity } from './identity.js';
import { folderUrl, keyUnder, type S3Location } from './location.js';
import { ObjectVanishedError } from './read.js';
import { fitKey, KeyTakenError, MAX_NUMBERED_NAMES, NamesTakenError, numberedKey, WRITER_METADATA } from './write.js';
import { s3Sdk } from './sdk.js';

export const SOURCE_METADATA = 'loadbay-source';
export const SOURCE_ETAG_METADATA = 'loadbay-source-etag';

export interface SettledObject {
  /** Where the object is now: `s3://bucket/key`. */
  url: string;
  bucket: string;
  key: string;
  /** False when a copy from an earlier run was found and reused. */
  copied: boolean;
}

/** The source was overwritten after it was loaded: the loaded version is gone, the new one is a new arrival (left in place). */
export class SourceReplacedError extends Error {
  constructor(readonly url: string) {
    super(`${url} was replaced by a new version after it was loaded: the new version stays for its own load`);
    this.name = 'SourceReplacedError';
  }
}

/**
 * Moves `source` to `relative` under `target` (copy, then delete). `writer` is this instance's id
 * (object metadata, as for every object loadbay writes). `exact`: to that very key, not a numbered
 * one (its name was reserved, e.g. by the report written beside it); taken by anything else than
 * an earlier copy of this source, it fails with KeyTakenError. `limits`: when to copy in parts, and how
 * (S3's limits by default; a test lowers them).
 */
export async function moveObject(
  s3: S3Connection,
  source: ObjectIdentity,
  target: S3Location,
  relative: string,
  writer: string,
  signal?: AbortSignal,
  exact = false,
  limits: Partial<CopyLimits> = {},
): Promise<SettledObject> {
  const copyLimits: CopyLimits = { ...DEFAULT_COPY_LIMITS, ...limits };
  // A key too long for S3 is shortened (an exact one was chosen, and fitted, by the caller).
  const wanted = exact ? keyUnder(target, relative) : fitKey(keyUnder(target, relative));
  const placed = await placeCopy(s3, markOf(source), target.bucket, wanted, exact, async (key) => {
    const outcome = await copyOnce(s3, source, target.bucket, key, writer, copyLimits, signal);
    if (outcome === 'vanished') throw new ObjectVanishedError(objectUrl(source));
    if (outcome === 'replaced') throw new SourceReplacedError(objectUrl(source));
    return outcome === 'copied';
  }, signal);
  const settled: SettledObject = { url: objectUrl({ bucket: target.bucket, key: placed.key }), bucket: target.bucket, key: placed.key, copied: placed.copied };
  await deleteSource(s3, source, signal);
  return settled;
}

/** What a copy carries to say what it is a copy of: the source's URL and its ETag (or another mark of its version). */
export interface SourceMark {
  url: string;
  etag: string;
}

export function markOf(source: ObjectIdentity): SourceMark {
  return { url: objectUrl(source), etag: source.etag };
}

/** The metadata that marks a copy of `mark`, written by `writer`. */
export function copyMetadata(mark: SourceMark, writer: string): Record<string, string> {
  return { [SOURCE_METADATA]: mark.url, [SOURCE_ETAG_METADATA]: mark.etag, [WRITER_METADATA]: writer };
}

/**
 * Where a copy of `mark` is, or goes, under `wanted`: an earlier run's copy found (`copied` false),
 * else `write(key)` at the first free numbered name, and the next while it answers false (the name
 * was taken meanwhile, and not by this copy itself). `exact`: `wanted` alone, KeyTakenError when another object holds it.
 */
export async function placeCopy(
  s3: S3Connection,
  mark: SourceMark,
  bucket: string,
  wanted: string,
  exact: boolean,
  write: (key: string) => Promise<boolean>,
  signal?: AbortSignal,
): Promise<{ key: string; copied: boolean }> {
  const existing = await findCopy(s3, mark, bucket, wanted, signal, exact);
  if (existing.copy !== null) return { key: existing.copy, copied: false };
  for (let n = existing.free; ; n++) {
    if (exact && n > 1) throw new KeyTakenError(objectUrl({ bucket, key: wanted }));
    if (n > MAX_NUMBERED_NAMES) throw new NamesTakenError(bucket, wanted);
    const key = numberedKey(wanted, n);
    if (await write(key)) return { key, copied: true };
    // Taken: by another object, or by this very copy — a request that succeeded but whose answer
    // was lost, sent again (by the SDK's retry) and refused by its own If-None-Match.
    if ((await copyAt(s3, mark, bucket, key, signal)) === 'copy') return { key, copied: true };
  }
}

/**
 * The copy an earlier run made of this source under `wanted` or its numbered names, else the first
 * free number. Names are filled in order and never freed by loadbay, so the search stops at the
 * first free one, or with NamesTakenError past MAX_NUMBERED_NAMES. `exact`: only `wanted` itself is
 * looked at (free: 1 when free, 2 when taken).
 */
export async function findCopy(s3: S3Connection, mark: SourceMark, bucket: string, wanted: string, signal?: AbortSignal, exact = false): Promise<{ copy: string | null; free: number }> {
  for (let n = 1; ; n++) {
    if (exact && n > 1) return { copy: null, free: n };
    if (n > MAX_NUMBERED_NAMES) throw new NamesTakenError(bucket, wanted);
    const key = numberedKey(wanted, n);
    const at = await copyAt(s3, mark, bucket, key, signal);
    if (at === 'free') return { copy: null, free: n };
    if (at === 'copy') return { copy: key, free: n };
  }
}

/** What is at `key`, in one HeadObject: nothing, a copy of `mark` (its metadata says so), or another object. */
export async function copyAt(s3: S3Connection, mark: SourceMark, bucket: string, key: string, signal?: AbortSignal): Promise<'free' | 'copy' | 'other'> {
  let head;
  try {
    head = await s3.client.send(new (s3Sdk().HeadObjectCommand)({ Bucket: bucket, Key: key }), signal ? { abortSignal: signal } : {});
  } catch (error) {
    if (isNotFound(error)) return 'free';
    throw s3ConfigError(error, folderUrl(bucket, key));
  }
  const metadata = head.Metadata ?? {};
  return metadata[SOURCE_METADATA] === mark.url && metadata[SOURCE_ETAG_METADATA] === mark.etag ? 'copy' : 'other';
}

async function copyOnce(s3: S3Connection, source: ObjectIdentity, bucket: string, key: string, writer: string, limits: CopyLimits, signal?: AbortSignal): Promise<CopyOutcome> {
  const copySource = `${source.bucket}/${source.key.split('/').map(encodeURIComponent).join('/')}${source.versionId ? `?versionId=${encodeURIComponent(source.versionId)}` : ''}`;
  let head;
  try {
    head = await s3.client.send(new (s3Sdk().HeadObjectCommand)({ Bucket: source.bucket, Key: source.key, ...(source.versionId ? { VersionId: source.versionId } : {}) }), signal ? { abortSignal: signal } : {});
  } catch (error) {
    if (isNotFound(error)) return 'vanished';
    throw s3ConfigError(error, folderUrl(source.bucket, source.key));
  }
  if (head.ETag !== source.etag) return 'replaced';
  const headers = {
    contentType: head.ContentType ?? 'application/octet-stream',
    ...(head.ContentEncoding ? { contentEncoding: head.ContentEncoding } : {}),
    metadata: { ...head.Metadata, ...copyMetadata(markOf(source), writer) },
  };
  if (source.size > limits.singleCopyMaxBytes) return multipartCopy(s3, source, copySource, bucket, key, headers, writer, limits, signal);
  try {
    await s3.client.send(
      new (s3Sdk().CopyObjectCommand)({
        Bucket: bucket,
        Key: key,
        CopySource: copySource,
        CopySourceIfMatch: source.etag,
        IfNoneMatch: '*',
        MetadataDirective: 'REPLACE',
        ContentType: headers.contentType,
        ...(headers.contentEncoding ? { ContentEncoding: headers.contentEncoding } : {}),
        Metadata: headers.metadata,
      }),
      signal ? { abortSignal: signal } : {},
    );
    return 'copied';
  } catch (error) {
    if (isNotFound(error) && (error as { name?: string }).name !== 'NoSuchBucket') return 'vanished';
    if (!isPreconditionFailed(error)) throw s3ConfigError(error, folderUrl(bucket, key));
    // Which condition failed: the source changed, or the destination was taken meanwhile.
    const now = await headObject(s3, source.bucket, source.key, signal);
    if (!now) return 'vanished';
    return now.etag !== source.etag ? 'replaced' : 'taken';
  }
}

/** Deletes the source if it is still the version that was loaded; gone already is fine. */
async function deleteSource(s3: S3Connection, source: ObjectIdentity, signal?: AbortSignal): Promise<void> {
  const now = await headObject(s3, source.bucket, source.key, signal);
  if (!now) return;
  // A new version arrived after the copy: it stays, for its own load.
  if (now.etag !== source.etag && source.versionId === null) return;
  try {
    await s3.client.send(
      new (s3Sdk().DeleteObjectCommand)({ Bucket: source.bucket, Key: source.key, ...(source.versionId ? { VersionId: source.versionId } : { IfMatch: source.etag }) }),
      signal ? { abortSignal: signal } : {},
    );
  } catch (error) {
    if (isNotFound(error) || isPreconditionFailed(error)) return;
    throw s3ConfigError(error, folderUrl(source.bucket, source.key));
  }
}

/** Deletes the source (on_success: delete) under the same conditions. */
export async function deleteObject(s3: S3Connection, source: ObjectIdentity, signal?: AbortSignal): Promise<void> {
  await deleteSource(s3, source, signal);
}
