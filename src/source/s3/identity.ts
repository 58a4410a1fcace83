/**
 * What identifies an object, as the ledger records an arrival: bucket, key, version id (a versioned
 * bucket) or else ETag, and size. The same key with another ETag or version is another arrival.
 */
import { s3ConfigError } from '../../errors.js';
import { isNotFound, type S3Connection } from './client.js';
import type { ListedObject } from './listing.js';
import { folderUrl, type S3Location } from './location.js';
import { s3Sdk } from './sdk.js';

export interface ObjectIdentity {
  bucket: string;
  key: string;
  /** null: an unversioned bucket (or a server without versions). */
  versionId: string | null;
  /** As the server sends it, quotes included. */
  etag: string;
  size: number;
  lastModifiedMs: number;
}

/** `s3://bucket/key`: how an object is named in the ledger (`files.path`), logs and reports. */
export function objectUrl(identity: Pick<ObjectIdentity, 'bucket' | 'key'>): string {
  return `s3://${identity.bucket}/${identity.key}`;
}

/** A stable text for "this very version of the object" (a claim's lock key, a map key). */
export function identityKey(identity: ObjectIdentity): string {
  return `${objectUrl(identity)}#${identity.versionId ?? identity.etag}:${identity.size}`;
}

export function sameVersion(a: ObjectIdentity, b: ObjectIdentity): boolean {
  return a.bucket === b.bucket && a.key === b.key && a.size === b.size && (a.versionId !== null && b.versionId !== null ? a.versionId === b.versionId : a.etag === b.etag);
}

export function identityOfListed(location: S3Location, object: ListedObject): ObjectIdentity {
  return { bucket: location.bucket, key: object.key, versionId: null, etag: object.etag, size: object.size, lastModifiedMs: object.lastModifiedMs };
}

/** The object as it is now (HeadObject), or null when there is none. */
export async function headObject(s3: S3Connection, bucket: string, key: string, signal?: AbortSignal): Promise<ObjectIdentity | null> {
  try {
    const head = await s3.client.send(new (s3Sdk().HeadObjectCommand)({ Bucket: bucket, Key: key }), signal ? { abortSignal: signal } : {});
    const size = head.ContentLength ?? 0;
    if (!head.ETag || !Number.isSafeInteger(size) || size < 0) throw new Error(`${objectUrl({ bucket, key })}: the server answered HeadObject without an ETag or a size`);
    return { bucket, key, versionId: head.VersionId && head.VersionId !== 'null' ? head.VersionId : null, etag: head.ETag, size, lastModifiedMs: head.LastModified?.getTime() ?? 0 };
  } catch (error) {
    if (isNotFound(error)) return null;
    throw s3ConfigError(error, folderUrl(bucket, key));
  }
}
