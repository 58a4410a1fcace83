/**
 * Moving a file or object to a place that may be on another side (a local folder, a bucket): the
 * archive, the quarantine, `_superseded/`, back into an input. On one disk a rename; otherwise
 * copy-then-delete — the copy complete and durable (fsync'd, or an object written) before the
 * source is removed, and safe to run again after a crash at any point:
 * - into a bucket, a copy carries the source's name and version as metadata (s3/settle.ts), so a
 *   second run finds the copy the first made and only removes the source;
 * - into a local folder, a copy gets the object's modification time, so a second run finds it by
 *   name, size and time;
 * - a source already removed (a crash after the delete) with its copy in place is done.
 * Never over an existing file: the copy goes to the first free of `name.csv`, `name-2.csv`, … (or,
 * `exact`, to that very name, reserved by the caller).
 */
import { createWriteStream } from 'node:fs';
import { link, lstat, mkdir, unlink, utimes } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createReadStream } from 'node:fs';
import { tempName } from '../instance.js';
import { fsyncPath } from '../lib/fs-now.js';
import { fitName, freeName, moveFile, numbered } from '../outcome/move.js';
import { identityOf, isObjectWhere, objectOf, s3Of, statWhere, type Places, type Where } from './places.js';
import { objectUrl } from './s3/identity.js';
import { openObject } from './s3/read.js';
import { copyMetadata, deleteObject, moveObject, placeCopy, type SourceMark } from './s3/settle.js';
import { fitKey, KeyTakenError, uploadObject } from './s3/write.js';

/** What is moved: where it is and the version that was seen (an object's ETag; a file's size and time). */
export interface Item {
  where: Where;
  size: number;
  mtimeMs: number;
  etag: string | null;
  versionId: string | null;
}

export interface Moved {
  /** Where it is now. */
  where: Where;
  /** The local folder whose fsync makes the move durable, when the caller said it would do it; else null. */
  folder: string | null;
  /** A local source changed while it was copied: the copy holds what was seen, the source was left. */
  sourceChanged: boolean;
}

export interface MoveOptions {
  /** To `wanted` itself (reserved by the caller): taken by anything else, it fails. */
  exact?: boolean;
  /** false: a local destination folder is left to the caller to fsync (`Moved.folder`). */
  syncFolder?: boolean;
}

export async function moveItem(places: Places, item: Item, wanted: Where, options: MoveOptions = {}): Promise<Moved> {
  const exact = options.exact ?? false;
  const sync = options.syncFolder ?? true;
  const fromObject = isObjectWhere(item.where);
  const toObject = isObjectWhere(wanted);
  if (!fromObject && !toObject) {
    const target = exact ? wanted : await freeName(wanted);
    await moveFile(item.where, target, sync);
    return { where: target, folder: sync ? null : path.dirname(target), sourceChanged: false };
  }
  if (fromObject && toObject) {
    const { bucket, key } = objectOf(wanted);
    const settled = await moveObject(s3Of(places, wanted), identityOf(item.where, item), { url: `s3://${bucket}/`, bucket, prefix: '' }, key, places.writer, undefined, exact);
    return { where: settled.url, folder: null, sourceChanged: false };
  }
  if (toObject) return uploadItem(places, item, wanted, exact, sync);
  return downloadItem(places, item, wanted, exact);
}

/** A mark that names this local file on this machine, in this version (size and time). */
export function localMark(item: Pick<Item, 'where' | 'size' | 'mtimeMs'>): SourceMark {
  return { url: `file://${os.hostname()}${item.where}`, etag: `${item.size}:${Math.round(item.mtimeMs)}` };
}

/** A local file into a bucket: uploaded (the size seen, no more), then removed unless it changed meanwhile. */
async function uploadItem(places: Places, item: Item, wanted: Where, exact: boolean, sync: boolean): Promise<Moved> {
  const s3 = s3Of(places, wanted);
  const { bucket, key: wantedKey } = objectOf(wanted);
  const key = exact ? wantedKey : fitKey(wantedKey);
  const mark = localMark(item);
  const { key: target } = await placeCopy(s3, mark, bucket, key, exact, async (candidate) => {
    const body = createReadStream(item.where, { end: item.size - 1 });
    try {
      await uploadObject(s3, bucket, candidate, item.size === 0 ? Buffer.alloc(0) : body, { writer: places.writer, metadata: copyMetadata(mark, places.writer) });
      return true;
    } catch (error) {
      if (error instanceof KeyTakenError) return false;
      throw error;
    } finally {
      body.destroy();
    }
  });
  const now = await statWhere(places, item.where);
  if (now && (now.size !== item.size || Math.round(now.mtimeMs) !== Math.round(item.mtimeMs))) {
    return { where: objectUrl({ bucket, key: target }), folder: null, sourceChanged: true };
  }
  await unlink(item.where).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
  if (sync) await fsyncPath(path.dirname(item.where));
  return { where: objectUrl({ bucket, key: target }), folder: sync ? null : path.dirname(item.where), sourceChanged: false };
}

/** An object into a local folder: written under a temporary name, fsync'd, linked into place, then the object deleted. */
async function downloadItem(places: Places, item: Item, wanted: Where, exact: boolean): Promise<Moved> {
  const s3 = s3Of(places, item.where);
  const identity = identityOf(item.where, item);
  const isCopy = async (file: string) => {
    const stat = await lstat(file).catch(() => null);
    return stat !== null && stat.isFile() && stat.size === item.size && Math.round(stat.mtimeMs / 1000) === Math.round(item.mtimeMs / 1000);
  };
  let target: string | null = null;
  const file = path.join(path.dirname(wanted), fitName(path.basename(wanted), 20));
  for (let n = 1; target === null; n++) {
    const candidate = exact ? wanted : numbered(file, n);
    const stat = await lstat(candidate).catch(() => null);
    if (stat && (await isCopy(candidate))) {
      target = candidate; // an earlier run copied it and stopped before deleting the object
      break;
    }
    if (stat) {
      if (exact) throw Object.assign(new Error(`${wanted} exists already`), { code: 'EEXIST' });
      continue;
    }
    await mkdir(path.dirname(candidate), { recursive: true });
    const tmp = path.join(path.dirname(candidate), tempName('loadbay', places.writer)); // the sweeper knows whose it is
    try {
      await pipeline(openObject(s3, identity), createWriteStream(tmp, { flags: 'wx' }));
      await fsyncPath(tmp);
      const seconds = item.mtimeMs / 1000;
      await utimes(tmp, seconds, seconds);
      await link(tmp, candidate); // never over a file that appeared meanwhile
      target = candidate;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || exact) throw error;
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  }
  // The object goes only once its copy is durable.
  await fsyncPath(path.dirname(target));
  await deleteObject(s3, identity);
  return { where: target, folder: null, sourceChanged: false };
}
