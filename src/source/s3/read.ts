/**
 * An object's bytes as a Node Readable, for the same readers as a local file (gz included).
 *
 * - Every request carries `If-Match` with the ETag the object was identified by (and its version id
 *   when known), so an object overwritten meanwhile is never read half old, half new: the read fails
 *   with ObjectChangedError and the load starts again on the new version.
 * - A connection that drops (or stalls past `s3.request_timeout_ms`) mid-body is resumed with a
 *   range request from the last byte received: at most `maxResumes` times in a row without
 *   MIN_RESUME_PROGRESS bytes in between, at most MAX_RESUMES_PER_READ times in all; past either the
 *   read fails (ResumesExhaustedError, an infrastructure error: the whole load is retried later).
 * - An object deleted before (or while) it is read fails with ObjectVanishedError.
 * - The bytes are bounded by the identified size: more, or a range that starts elsewhere, is a
 *   changed object, never appended.
 * Nothing is read ahead: the next chunk is requested when the consumer pulls.
 */
import { Readable } from 'node:stream';
import { s3ConfigError } from '../../errors.js';
import { abortableSleep, backoffDelay } from '../../lib/sleep.js';
import { isNotFound, isPreconditionFailed, type S3Connection } from './client.js';
import { objectUrl, type ObjectIdentity } from './identity.js';
import { s3Sdk } from './sdk.js';

/** The object is gone: the outcome is `vanished`, as for a file deleted from input/. */
export class ObjectVanishedError extends Error {
  readonly code = 'vanished';
  constructor(readonly url: string) {
    super(`${url} was deleted before it was read`);
    this.name = 'ObjectVanishedError';
  }
}

/** The object was overwritten: what was read is discarded and the new version is read from the start (a retry). */
export class ObjectChangedError extends Error {
  constructor(
    readonly url: string,
    detail: string,
  ) {
    super(`${url} changed while it was read (${detail}): it is read again from the start`);
    this.name = 'ObjectChangedError';
  }
}

/** A resume that brought fewer new bytes than this (a peer dropping after every few bytes) is no progress. */
export const MIN_RESUME_PROGRESS = 64 * 1024;
/** Resumes in one read, however much each brought: a link that drops this often will not finish the read. */
export const MAX_RESUMES_PER_READ = 50;

/** The connection kept dropping: the read gives up (an infrastructure error, retried with backoff). */
export class ResumesExhaustedError extends Error {
  constructor(
    readonly url: string,
    readonly resumes: number,
    readonly bytesRead: number,
    size: number,
    why: string,
    cause: unknown,
  ) {
    super(`${url}: the connection dropped ${resumes + 1} times while it was read (${why}; ${bytesRead} of ${size} bytes read): ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'ResumesExhaustedError';
  }
}

export interface ReadOptions {
  /** Resumes after dropped connections, in a row without MIN_RESUME_PROGRESS bytes in between (default 5). */
  maxResumes?: number;
  /** Resumes in all (default MAX_RESUMES_PER_READ). */
  maxResumesPerRead?: number;
  signal?: AbortSignal;
  /** Told of each resume (for a log line). */
  onResume?: (offset: number, error: unknown) => void;
}

export function openObject(s3: S3Connection, identity: ObjectIdentity, options: ReadOptions = {}): Readable {
  return Readable.from(objectChunks(s3, identity, options), { objectMode: false, highWaterMark: 1 });
}

async function* objectChunks(s3: S3Connection, identity: ObjectIdentity, options: ReadOptions): AsyncGenerator<Buffer, void, undefined> {
  const url = objectUrl(identity);
  const maxResumes = options.maxResumes ?? 5;
  const maxInAll = options.maxResumesPerRead ?? MAX_RESUMES_PER_READ;
  let offset = 0;
  let failures = 0;
  let resumes = 0;
  for (;;) {
    const body = await request(s3, identity, offset, options.signal);
    const before = offset;
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        if (offset + chunk.length > identity.size) throw new ObjectChangedError(url, `more than the ${identity.size} bytes it had`);
        offset += chunk.length;
        s3.metrics.bytesRead.inc(chunk.length);
        yield chunk;
      }
      if (offset === identity.size) return;
      if (offset === before) throw new ObjectChangedError(url, `the body ended at byte ${offset} of ${identity.size}`);
    } catch (error) {
      if (error instanceof ObjectChangedError || options.signal?.aborted) throw error;
      // Anything else from a body that had started is the connection: resume from here.
      failures = offset - before >= MIN_RESUME_PROGRESS ? 1 : failures + 1;
      if (failures > maxResumes) throw new ResumesExhaustedError(url, resumes, offset, identity.size, `${maxResumes} resumes in a row brought less than ${MIN_RESUME_PROGRESS} bytes each`, error);
      if (resumes >= maxInAll) throw new ResumesExhaustedError(url, resumes, offset, identity.size, `at most ${maxInAll} resumes per read`, error);
      resumes++;
      options.onResume?.(offset, error);
    } finally {
      body.destroy();
    }
    s3.metrics.resumes.inc();
    await abortableSleep(backoffDelay(failures, 50, 2000), options.signal);
  }
}

async function request(s3: S3Connection, identity: ObjectIdentity, offset: number, signal: AbortSignal | undefined): Promise<Readable> {
  const url = objectUrl(identity);
  let answer;
  try {
    answer = await s3.client.send(
      new (s3Sdk().GetObjectCommand)({
        Bucket: identity.bucket,
        Key: identity.key,
        IfMatch: identity.etag,
        ...(identity.versionId ? { VersionId: identity.versionId } : {}),
        ...(offset > 0 ? { Range: `bytes=${offset}-` } : {}),
      }),
      signal ? { abortSignal: signal } : {},
    );
  } catch (error) {
    if (isNotFound(error)) throw new ObjectVanishedError(url);
    if (isPreconditionFailed(error)) throw new ObjectChangedError(url, 'its ETag is no longer the one listed');
    throw s3ConfigError(error, url);
  }
  const body = answer.Body as Readable | undefined;
  const fail = (detail: string) => {
    body?.destroy();
    return new ObjectChangedError(url, detail);
  };
  if (!body) throw fail('the server sent no body');
  // A server that ignores If-Match still names the version it sends.
  if (answer.ETag && answer.ETag !== identity.etag) throw fail(`ETag ${answer.ETag}, not ${identity.etag}`);
  const expected = identity.size - offset;
  if (answer.ContentLength !== undefined && answer.ContentLength !== expected) throw fail(`${answer.ContentLength} bytes from byte ${offset}, not ${expected}`);
  if (offset > 0 && !answer.ContentRange?.startsWith(`bytes ${offset}-`)) throw fail(`a range from byte ${offset} was answered with ${answer.ContentRange ?? 'the whole object'}`);
  return body;
}
