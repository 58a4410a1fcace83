/**
 * The local folders of a configuration checked against each other after links are resolved.
 */
import { readlink, realpath } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { checkInputs, checkS3Folders } from '../source/s3/settings.js';
import type { Config } from './types.js';

/**
 * The five folders must be distinct and none inside another, compared after resolving symbolic links:
 * an archive/ that is a link to input/ would feed every archived file back in, for ever. The
 * embedded database's folder and export targets must not be in input/ either.
 */
export async function checkFolders(file: string, config: Config): Promise<void> {
  checkS3Folders(file, config.buckets);
  checkInputs(file, config);
  // Folders in object storage are checked among themselves (above); the local ones here.
  const named: Array<[string, string]> = Object.entries(config.folders)
    .filter(([name]) => !(name in config.buckets))
    .map(([name, dir]) => [`/folders/${name}`, dir]);
  if (!config.database.url) named.push(['/database/embedded/data_dir', config.database.embedded.dataDir]);
  const real = new Map<string, string>();
  const resolve = async (where: string, dir: string) => {
    try {
      return await realFolder(dir);
    } catch (error) {
      throw new ConfigError(`${where}: cannot resolve ${dir}: ${(error as Error).message}`);
    }
  };
  for (const [name, dir] of named) real.set(dir, await resolve(`${file}: ${name}`, dir));
  // A link is named first: "archive is the same folder as input", not the other way round.
  named.sort(([, a], [, b]) => Number(real.get(b) !== b) - Number(real.get(a) !== a));
  const shown = (dir: string) => (real.get(dir) === dir ? dir : `${dir} (${real.get(dir)})`);
  const inside = (dir: string, parent: string) => dir === parent || dir.startsWith(parent.endsWith(path.sep) ? parent : parent + path.sep);
  for (const [name, dir] of named) {
    for (const [other, otherDir] of named) {
      if (name === other || !inside(real.get(dir)!, real.get(otherDir)!)) continue;
      const how = real.get(dir) === real.get(otherDir) ? 'is the same folder as' : 'is inside';
      throw new ConfigError(`${file}: ${name}: ${shown(dir)} ${how} ${other.slice(1).replaceAll('/', '.')} ${shown(otherDir)}; each folder must be distinct and none inside another, links resolved`);
    }
  }
  // An input in a bucket: a local export cannot be in it.
  for (const local of config.inputs.filter((i) => i.location === null).map((i) => i.folder)) {
    const input = real.get(local) ?? (await resolve(`${file}: /folders/input`, local));
    for (const spec of config.exports) {
      if (spec.toS3) continue;
      const target = await resolve(`${spec.declaredIn}: /export/to`, spec.to);
      if (inside(target, input)) {
        throw new ConfigError(`${spec.declaredIn}: /export/to: ${spec.to}${target === spec.to ? '' : ` (${target})`} is inside folders.input ${real.has(local) ? shown(local) : local}: the export would be loaded as a new file`);
      }
    }
  }
}

/** Hops through links before giving up: a loop of links fails, as the kernel's ELOOP does. */
const MAX_LINK_HOPS = 40;

/**
 * The path with every symbolic link resolved. Folders loadbay has not made yet are resolved as far
 * as they exist (a dangling link is followed to where it points) and the rest is appended. Throws
 * the file system's error (a loop of links: ELOOP).
 */
export async function realFolder(dir: string): Promise<string> {
  let current = path.resolve(dir);
  let rest: string[] = [];
  for (let hops = 0; ; ) {
    try {
      return path.join(await realpath(current), ...rest);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
    }
    const link = await readlink(current).catch(() => null);
    if (link !== null) {
      if (++hops > MAX_LINK_HOPS) throw new Error('too many symbolic links');
      current = path.resolve(path.dirname(current), link);
      continue;
    }
    const parent = path.dirname(current);
    if (parent === current) return path.join(current, ...rest);
    rest = [path.basename(current), ...rest];
    current = parent;
  }
}
