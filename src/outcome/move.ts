/**
 * Durable file moves: rename (then fsync the destination folder), falling back to copy + fsync +
 * unlink across file systems. Destinations never overwrite: `name.csv` becomes `name-2.csv`, …
 */
import { constants } from 'node:fs';
import { copyFile, mkdir, rename, unlink, writeFile } from 'node:fs/promises';
import { fsyncPath, renameNow, statNow } from '../lib/fs-now.js';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { tempName } from '../instance.js';

function exists(file: string): boolean {
  return statNow(file) !== null;
}

const NAME_MAX = 255;

/**
 * A file name that still fits the file system's 255-byte limit once `reserve` more bytes are added
 * (a `-2`, `.error.json`, a temporary suffix): a longer stem is cut and tagged with a hash of the
 * whole name, so two long names stay distinct. The extensions are kept.
 */
export function fitName(name: string, reserve = 0): string {
  if (Buffer.byteLength(name) + reserve <= NAME_MAX) return name;
  const dot = name.indexOf('.', 1);
  let ext = dot === -1 ? '' : name.slice(dot);
  if (Buffer.byteLength(ext) > 40) ext = '';
  const tag = `~${createHash('sha256').update(name).digest('hex').slice(0, 8)}`;
  let stem = dot === -1 || ext === '' ? name : name.slice(0, dot);
  const budget = NAME_MAX - reserve - Buffer.byteLength(ext) - tag.length;
  while (Buffer.byteLength(stem) > budget) stem = stem.slice(0, -1);
  return `${stem}${tag}${ext}`;
}

/** "a/b.csv.gz" → "a/b-2.csv.gz": the suffix goes before the first extension. */
export function numbered(file: string, n: number): string {
  if (n <= 1) return file;
  const dir = path.dirname(file);
  const base = path.basename(file);
  const dot = base.indexOf('.', 1);
  const stem = dot === -1 ? base : base.slice(0, dot);
  const ext = dot === -1 ? '' : base.slice(dot);
  return path.join(dir, `${stem}-${n}${ext}`);
}

/** The first of `file`, `file-2`, … that does not exist yet. */
export async function freeName(wanted: string): Promise<string> {
  // Room for "-NNN" and ".error.json" beside it.
  const file = path.join(path.dirname(wanted), fitName(path.basename(wanted), 20));
  for (let n = 1; ; n++) {
    const candidate = numbered(file, n);
    if (!exists(candidate)) return candidate;
  }
}

/**
 * Moves `from` to `to` durably; with `syncFolder` false the caller fsyncs the destination folder
 * (once for several moves) before anything relies on them.
 */
export async function moveFile(from: string, to: string, syncFolder = true): Promise<void> {
  try {
    await renameInto(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    try {
      await copyFile(from, to, constants.COPYFILE_EXCL);
      await fsyncPath(to);
    } catch (copyError) {
      // A full target must not keep a partial copy (the next attempt would pick another name).
      if ((copyError as NodeJS.ErrnoException).code !== 'EEXIST') await unlink(to).catch(() => undefined);
      throw copyError;
    }
    await unlink(from);
  }
  if (syncFolder) await fsyncPath(path.dirname(to));
}

/** rename(2), making the destination folder first when it is missing (not on every move). */
async function renameInto(from: string, to: string): Promise<void> {
  try {
    renameNow(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await mkdir(path.dirname(to), { recursive: true });
    renameNow(from, to); // a missing source fails again, with its own ENOENT
  }
}

/**
 * Writes a file completely under a temporary name, fsyncs it, then renames it into place. The
 * temporary name carries the writing instance's id (`writer`): should it die half-way, another
 * instance sweeps the file (sweep.ts).
 */
export async function writeFileAtomic(file: string, content: string, writer: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  // A short temporary name: the final one may already be close to the 255-byte limit.
  const tmp = path.join(path.dirname(file), tempName('loadbay', writer));
  try {
    await writeFile(tmp, content);
    await fsyncPath(tmp);
    await rename(tmp, file);
  } catch (error) {
    await unlink(tmp).catch(() => undefined); // a full disk must not leave temporary files behind
    throw error;
  }
  await fsyncPath(path.dirname(file));
}
