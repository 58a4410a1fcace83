/**
 * ListObjectsV2 as an async iterator of pages: one page in memory at a time, however many keys the
 * prefix holds; the caller pulls the next page when it is ready for it. What the server sends is
 * checked before it is trusted: at most the page size per page, keys of at most 1024 bytes, sizes
 * that are integers, ETags of a bounded length, a continuation token that moves on, at most
 * MAX_EMPTY_PAGES empty pages in a row.
 */
import { s3ConfigError } from '../../errors.js';
import type { S3Connection } from './client.js';
import { MAX_KEY_BYTES, type S3Location } from './location.js';
import { s3Sdk } from './sdk.js';

export interface ListedObject {
  key: string;
  size: number;
  /** As the server sends it, quotes included (`"…"`, `"…-N"` for a multipart upload). */
  etag: string;
  lastModifiedMs: number;
}

export type ListingKind = 'incremental' | 'full';

export interface ListOptions {
  /** List only keys after this one (S3 StartAfter: byte order of the UTF-8 keys). */
  startAfter?: string | null;
  kind?: ListingKind;
  signal?: AbortSignal;
}

/** A server that answers outside what S3 allows (broken paging, oversize values): never loops, never trusts. */
export class ListingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ListingError';
  }
}

const MAX_ETAG_CHARS = 256;
const MAX_TOKEN_CHARS = 8192;
/** S3 may answer a truncated page without a key now and then; this many in a row is a server paging for ever. */
export const MAX_EMPTY_PAGES = 100;
/** S3's largest object, 5 TiB: a larger size is a server error, not an object. */
const MAX_OBJECT_BYTES = 5 * 1024 ** 4;

export async function* listPages(s3: S3Connection, location: S3Location, options: ListOptions = {}): AsyncGenerator<ListedObject[], void, undefined> {
  const kind = options.kind ?? 'full';
  const pageSize = s3.settings.listPageSize;
  const endTimer = s3.metrics.listingSeconds.startTimer({ kind });
  let token: string | undefined;
  let startAfter = options.startAfter && compareKeys(options.startAfter, location.prefix) >= 0 ? options.startAfter : undefined;
  let previousLast: string | null = null;
  let emptyPages = 0;
  for (;;) {
    if (options.signal?.aborted) return;
    let page;
    try {
      page = await s3.client.send(
        new (s3Sdk().ListObjectsV2Command)({ Bucket: location.bucket, Prefix: location.prefix, MaxKeys: pageSize, ContinuationToken: token, StartAfter: token ? undefined : startAfter }),
        { abortSignal: options.signal },
      );
    } catch (error) {
      throw s3ConfigError(error, location.url);
    }
    const contents = page.Contents ?? [];
    if (contents.length > pageSize) throw new ListingError(`${location.url}: the server sent ${contents.length} keys in a page of at most ${pageSize}`);
    const objects: ListedObject[] = [];
    for (const entry of contents) {
      const object = checked(location, entry);
      if (previousLast !== null && compareKeys(object.key, previousLast) <= 0) {
        throw new ListingError(`${location.url}: the server listed ${JSON.stringify(object.key)} after ${JSON.stringify(previousLast)} (keys must come in ascending order)`);
      }
      previousLast = object.key;
      // A key ending in "/" is a folder marker some tools create, not a file.
      if (!object.key.endsWith('/')) objects.push(object);
    }
    s3.metrics.listedObjects.inc({ kind }, objects.length);
    if (objects.length > 0) yield objects;
    if (!page.IsTruncated) break;
    const next = page.NextContinuationToken;
    if (!next || next === token || next.length > MAX_TOKEN_CHARS) {
      throw new ListingError(`${location.url}: the server said the listing goes on but gave ${!next ? 'no' : next === token ? 'the same' : 'an oversize'} continuation token`);
    }
    emptyPages = contents.length === 0 ? emptyPages + 1 : 0;
    if (emptyPages >= MAX_EMPTY_PAGES) throw new ListingError(`${location.url}: the server sent ${emptyPages} pages in a row without a key, each saying the listing goes on`);
    token = next;
    startAfter = undefined;
  }
  endTimer();
  s3.metrics.listings.inc({ kind });
}

/** S3's order of keys: their UTF-8 bytes (JavaScript's `<` compares UTF-16 units, which differs past U+FFFF). */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function checked(location: S3Location, entry: { Key?: string; Size?: number; ETag?: string; LastModified?: Date }): ListedObject {
  const key = entry.Key;
  if (typeof key !== 'string' || key === '' || Buffer.byteLength(key) > MAX_KEY_BYTES || !key.startsWith(location.prefix)) {
    throw new ListingError(`${location.url}: the server listed a key that is empty, longer than ${MAX_KEY_BYTES} bytes or outside the prefix`);
  }
  const size = entry.Size ?? 0;
  if (!Number.isSafeInteger(size) || size < 0 || size > MAX_OBJECT_BYTES) {
    throw new ListingError(`${location.url}: the server listed ${JSON.stringify(key)} with size ${String(entry.Size)}`);
  }
  const etag = entry.ETag ?? '';
  if (etag === '' || etag.length > MAX_ETAG_CHARS) {
    throw new ListingError(`${location.url}: the server listed ${JSON.stringify(key)} without an ETag or with one longer than ${MAX_ETAG_CHARS} characters`);
  }
  const lastModifiedMs = entry.LastModified instanceof Date && !Number.isNaN(entry.LastModified.getTime()) ? entry.LastModified.getTime() : 0;
  return { key, size, etag, lastModifiedMs };
}
