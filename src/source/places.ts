/**
 * Where loadbay's files live, local or in object storage, named by one string (a `Where`): a local
 * absolute path, or `s3://bucket/key`. The inputs, the output folders (parquet, archive, failed)
 * and export targets are each one or the other, in any mix; the load path, the outcome and the
 * quarantine name a file by its Where and ask this module to look at it, read it, write it or move
 * it. On one disk a move is a rename; anything that involves a bucket is copy-then-delete, the copy
 * durable before the source goes, and safe to run again after a crash: an earlier copy of the same
 * item is found and kept, never a second one made (transfer.ts).
 *
 * In the ledger a local file is its path relative to the project root (as before object storage),
 * an object its URL.
 */
import { createReadStream } from 'node:fs';
import { lstat, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { Config } from '../config/types.js';
import { s3ConfigError } from '../errors.js';
import { fsyncPath } from '../lib/fs-now.js';
import { freeName, writeFileAtomic } from '../outcome/move.js';
import type { S3Connection } from './s3/client.js';
import { headObject, type ObjectIdentity } from './s3/identity.js';
import { folderUrl, isS3Url } from './s3/location.js';
import { openObject } from './s3/read.js';
import { freeKey, putNewObject, uploadObject } from './s3/write.js';
import { s3Sdk } from './s3/sdk.js';

/** A local absolute path, or `s3://bucket/key` (a folder: `s3://bucket/prefix/`). */
export type Where = string;

export interface Places {
  /** The project root: local ledger paths are relative to it. */
  readonly root: string;
  /** The connection to object storage; null when no setting names a bucket. */
  readonly s3: S3Connection | null;
  /** This instance (object metadata says who wrote an object; temporary names carry it). */
  readonly writer: string;
  /** A local folder for the temporary files of outputs that go to object storage. */
  readonly staging: string;
}

/** Where the temporary files of outputs in object storage are written: `<root>/.loadbay/staging`. */
export function stagingFolder(root: string): string {
  return path.join(root, '.loadbay', 'staging');
}

/** Whether any setting names object storage: inputs, output folders, export targets. */
export function usesObjectStorage(config: Pick<Config, 'inputs' | 'buckets' | 'exports'>): boolean {
  return config.inputs.some((i) => i.location !== null) || Object.keys(config.buckets).length > 0 || config.exports.some((e) => e.toS3 !== null);
}

export function newPlaces(root: string, s3: S3Connection | null, writer: string): Places {
  return Object.freeze({ root, s3, writer, staging: stagingFolder(root) });
}

export function isObjectWhere(where: Where): boolean {
  return isS3Url(where);
}

/** `base` (a folder) and a relative path with `/` separators below it. */
export function joinWhere(base: Where, ...relative: string[]): Where {
  if (!isObjectWhere(base)) return path.join(base, ...relative.flatMap((r) => r.split('/')));
  const prefix = base.endsWith('/') ? base : `${base}/`;
  return prefix + relative.filter((r) => r !== '').join('/');
}

/** The folder a Where is in (with its trailing slash for an object). */
export function dirOfWhere(where: Where): Where {
  if (!isObjectWhere(where)) return path.dirname(where);
  return where.slice(0, where.lastIndexOf('/') + 1);
}

export function baseOfWhere(where: Where): string {
  return isObjectWhere(where) ? where.slice(where.lastIndexOf('/') + 1) : path.basename(where);
}

/** `where` below `base`, with `/` separators; null when it is not below it. */
export function relativeWhere(base: Where, where: Where): string | null {
  if (!isObjectWhere(base)) {
    if (isObjectWhere(where)) return null;
    const relative = path.relative(base, where);
    return relative === '' || relative.startsWith('..') || path.isAbsolute(relative) ? null : relative.split(path.sep).join('/');
  }
  const prefix = base.endsWith('/') ? base : `${base}/`;
  return where.startsWith(prefix) && where.length > prefix.length ? where.slice(prefix.length) : null;
}

/** How the ledger and the log name it: a local path relative to the root, an object by its URL. */
export function ledgerPath(places: Pick<Places, 'root'>, where: Where): string {
  return isObjectWhere(where) ? where : path.relative(places.root, where);
}

export function whereOfLedgerPath(places: Pick<Places, 'root'>, recorded: string): Where {
  return isObjectWhere(recorded) ? recorded : path.resolve(places.root, recorded);
}

/**
 * Bucket and key of an object's Where (`s3://bucket/key`, as objectUrl writes it). Split, not
 * validated as configuration is: any key S3 holds (`#`, `?`, `..` segments) is an object's.
 */
export function objectOf(where: Where): { bucket: string; key: string } {
  const rest = where.slice('s3://'.length);
  const slash = rest.indexOf('/');
  return { bucket: rest.slice(0, slash), key: rest.slice(slash + 1) };
}

export function s3Of(places: Places, where: Where): S3Connection {
  if (!places.s3) throw new Error(`${where} is in object storage, but no connection to it was made`);
  return places.s3;
}

export interface WhereStat {
  size: number;
  mtimeMs: number;
  /** An object's ETag and version id; null for a local file. */
  etag: string | null;
  versionId: string | null;
}

/** The file or object as it is now (a local path is not followed if a link), or null when there is none. */
export async function statWhere(places: Places, where: Where, signal?: AbortSignal): Promise<WhereStat | null> {
  if (!isObjectWhere(where)) {
    const stat = await lstat(where).catch(() => null);
    return stat?.isFile() ? { size: stat.size, mtimeMs: stat.mtimeMs, etag: null, versionId: null } : null;
  }
  const { bucket, key } = objectOf(where);
  const head = await headObject(s3Of(places, where), bucket, key, signal);
  return head ? { size: head.size, mtimeMs: head.lastModifiedMs, etag: head.etag, versionId: head.versionId } : null;
}

/** An object's identity from its Where and what a HeadObject (or listing) said of it. */
export function identityOf(where: Where, stat: WhereStat): ObjectIdentity {
  const { bucket, key } = objectOf(where);
  return { bucket, key, versionId: stat.versionId, etag: stat.etag ?? '', size: stat.size, lastModifiedMs: stat.mtimeMs };
}

/** The bytes of a file or object as it is now (one version of an object, never half of two). */
export async function readWhere(places: Places, where: Where, signal?: AbortSignal): Promise<Readable | null> {
  if (!isObjectWhere(where)) return (await statWhere(places, where)) ? createReadStream(where) : null;
  const stat = await statWhere(places, where, signal);
  return stat ? openObject(s3Of(places, where), identityOf(where, stat), signal ? { signal } : {}) : null;
}

/** The first of `wanted`, `wanted-2`, … that is free. */
export async function freeWhere(places: Places, wanted: Where): Promise<Where> {
  if (!isObjectWhere(wanted)) return freeName(wanted);
  const { bucket, key } = objectOf(wanted);
  return `s3://${bucket}/${await freeKey(s3Of(places, wanted), bucket, key)}`;
}

/**
 * Writes a small text whole: locally under a temporary name then renamed (replacing), in a bucket
 * with one PutObject — never over an existing object unless `replace`.
 */
export async function writeTextWhere(places: Places, where: Where, text: string, options: { replace?: boolean; contentType?: string } = {}): Promise<void> {
  if (!isObjectWhere(where)) return writeFileAtomic(where, text, places.writer);
  const { bucket, key } = objectOf(where);
  const s3 = s3Of(places, where);
  await putNewObject(s3, bucket, key, text, { writer: places.writer, contentType: options.contentType ?? 'application/json', overwrite: options.replace ?? false });
}

/**
 * A finished local file (a temporary one) to `where`: renamed on the same disk; uploaded to a bucket
 * (multipart when large: memory stays a few parts) and then removed. Never over an existing object
 * unless `overwrite` (KeyTakenError). Returns the object's ETag, or null for a local file.
 */
export async function putFileWhere(places: Places, file: string, where: Where, options: { overwrite?: boolean; contentType?: string; syncFolder?: boolean } = {}): Promise<string | null> {
  if (!isObjectWhere(where)) {
    await rename(file, where);
    if (options.syncFolder !== false) await fsyncPath(path.dirname(where));
    return null;
  }
  const { bucket, key } = objectOf(where);
  const body = createReadStream(file);
  try {
    const uploaded = await uploadObject(s3Of(places, where), bucket, key, body, {
      writer: places.writer,
      ...(options.contentType ? { contentType: options.contentType } : {}),
      ...(options.overwrite ? { overwrite: true } : {}),
    });
    await unlink(file).catch(() => undefined);
    return uploaded.etag;
  } finally {
    body.destroy();
  }
}

/** Removes a file or object; gone already is fine. */
export async function deleteWhere(places: Places, where: Where): Promise<void> {
  if (!isObjectWhere(where)) {
    await unlink(where).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    return;
  }
  const { bucket, key } = objectOf(where);
  try {
    await s3Of(places, where).client.send(new (s3Sdk().DeleteObjectCommand)({ Bucket: bucket, Key: key }));
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404 || status === 412) return;
    throw s3ConfigError(error, folderUrl(bucket, key));
  }
}
