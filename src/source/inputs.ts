/**
 * Which input a file belongs to, from the name the ledger knows it by (its arrival id), and that
 * name for a file put into an input: the first local folder's files by their path inside it (as
 * before several inputs existed), another local folder's by their absolute path, objects by their
 * URL. Retry and fix send a quarantined file back into the input it came from.
 */
import path from 'node:path';
import type { Config } from '../config/types.js';
import { isObjectWhere, joinWhere, relativeWhere, type Where } from './places.js';

/** The first local input: its files' ids are their paths inside it (sources.ts builds the sources by it). */
export function firstLocal(config: Pick<Config, 'inputs'>): string | null {
  return config.inputs.find((i) => i.location === null)?.folder ?? null;
}

/**
 * The input folder (a local path or an s3:// prefix) that the file named `id` in the ledger came
 * from; when no input holds it any more (the configuration changed), the first input.
 */
export function inputFolderOf(config: Pick<Config, 'inputs'>, id: string | null): Where {
  const fallback = firstLocal(config) ?? config.inputs[0]!.folder;
  if (id === null) return fallback;
  if (isObjectWhere(id) || path.isAbsolute(id)) {
    const holder = config.inputs.find((input) => relativeWhere(input.folder, id) !== null);
    return holder?.folder ?? fallback;
  }
  return fallback;
}

/** The ledger id of the file at `relative` inside the input `folder`. */
export function idInInput(config: Pick<Config, 'inputs'>, folder: Where, relative: string): string {
  if (isObjectWhere(folder)) return joinWhere(folder, relative);
  return folder === firstLocal(config) ? relative : joinWhere(folder, relative);
}
