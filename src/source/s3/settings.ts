/**
 * The object-storage part of the configuration, resolved: which folders are `s3://` URLs, the
 * `s3:` section with its defaults, and the checks across folders (no folder inside another).
 * Every error names the configuration file and the path inside it.
 */
import path from 'node:path';
import { ConfigError } from '../../errors.js';
import type { Config, Folders, InputFolder, S3Folders, S3Settings, UserConfig } from '../../config/types.js';
import { isS3Url, overlaps, parseS3Folder, parseS3Object, type S3Location, type S3ObjectUrl } from './location.js';

export const DEFAULT_S3: Readonly<Omit<S3Settings, 'endpoint' | 'region' | 'sqsQueueUrl'>> = Object.freeze({
  forcePathStyle: false,
  requestTimeoutMs: 30_000,
  connectTimeoutMs: 5_000,
  maxAttempts: 3,
  maxSockets: 64,
  listPageSize: 1000,
  fullListingMs: 15 * 60_000,
});

export function resolveS3Settings(user: UserConfig['s3']): S3Settings {
  return Object.freeze({
    endpoint: user?.endpoint ?? null,
    forcePathStyle: user?.force_path_style ?? DEFAULT_S3.forcePathStyle,
    region: user?.region ?? null,
    requestTimeoutMs: user?.request_timeout_ms ?? DEFAULT_S3.requestTimeoutMs,
    connectTimeoutMs: user?.connect_timeout_ms ?? DEFAULT_S3.connectTimeoutMs,
    maxAttempts: user?.max_attempts ?? DEFAULT_S3.maxAttempts,
    maxSockets: user?.max_sockets ?? DEFAULT_S3.maxSockets,
    listPageSize: user?.list_page_size ?? DEFAULT_S3.listPageSize,
    fullListingMs: user?.full_listing_minutes !== undefined ? Math.round(user.full_listing_minutes * 60_000) : DEFAULT_S3.fullListingMs,
    sqsQueueUrl: user?.sqs_queue_url ?? null,
  });
}

/**
 * One folder setting: an `s3://` URL (returned as its canonical URL, with its location) or a local
 * path relative to `root`.
 */
export function resolveFolderSetting(file: string, name: keyof Folders, value: string | undefined, fallback: string, root: string): { folder: string; location: S3Location | null } {
  if (value === undefined || !isS3Url(value)) return { folder: path.resolve(root, value ?? fallback), location: null };
  if (name === 'logs') throw new ConfigError(`${file}: /folders/logs: the log folder must be local (${value} is in object storage)`);
  try {
    const location = parseS3Folder(value);
    return { folder: location.url, location };
  } catch (error) {
    throw new ConfigError(`${file}: /folders/${name}: ${(error as Error).message}`);
  }
}

/**
 * `folders.input`: one folder or prefix, or a list of them (local and s3:// in any mix); default
 * `input`. Each entry's errors name its place in the list.
 */
export function resolveInputs(file: string, value: string | string[] | undefined, root: string): InputFolder[] {
  const entries = Array.isArray(value) ? value : [value];
  return entries.map((entry, i) => {
    const where = Array.isArray(value) ? `input/${i}` : 'input';
    try {
      const { folder, location } = resolveFolderSetting(file, 'input', entry, 'input', root);
      return Object.freeze({ folder, location });
    } catch (error) {
      throw new ConfigError((error as Error).message.replace(`/folders/input:`, `/folders/${where}:`));
    }
  });
}

/**
 * Inputs past the first (the first is checked with the other folders): none is another input or
 * another folder, or inside one, or holds one (an archived file must never be listed as input).
 */
export function checkInputs(file: string, config: Pick<Config, 'inputs' | 'folders' | 'buckets'>): void {
  if (config.inputs.length < 2) return;
  const named: Array<{ name: string; folder: string; location: S3Location | null }> = [
    ...config.inputs.map((input, i) => ({ name: `input/${i}`, ...input })),
    ...(['parquet', 'failed', 'archive', 'logs'] as const).map((name) => ({ name, folder: config.folders[name], location: (config.buckets as Partial<Record<string, S3Location>>)[name] ?? null })),
  ];
  const inside = (a: string, b: string) => a === b || a.startsWith(b + path.sep) || b.startsWith(a + path.sep);
  for (const [i, input] of config.inputs.entries()) {
    if (i === 0) continue;
    for (const other of named) {
      if (other.name === `input/${i}`) continue;
      const clash = input.location && other.location ? overlaps(input.location, other.location) : !input.location && !other.location && inside(input.folder, other.folder);
      if (clash) throw new ConfigError(`${file}: /folders/input/${i}: ${input.folder} and /folders/${other.name}: ${other.folder} must not be the same or one inside the other`);
    }
  }
}

/** An export's `to`: an object URL, or null for a local path. */
export function resolveExportTarget(file: string, to: string): S3ObjectUrl | null {
  if (!isS3Url(to)) return null;
  try {
    return parseS3Object(to);
  } catch (error) {
    throw new ConfigError(`${file}: /export/to: ${(error as Error).message}`);
  }
}

/** No folder in object storage is another or inside it (an archived object would be listed as new input). */
export function checkS3Folders(file: string, buckets: S3Folders): void {
  const entries = Object.entries(buckets) as Array<[string, S3Location]>;
  for (const [name, location] of entries) {
    for (const [other, otherLocation] of entries) {
      if (name < other && overlaps(location, otherLocation)) {
        throw new ConfigError(`${file}: /folders/${name}: ${location.url} and /folders/${other}: ${otherLocation.url} must not be the same or one inside the other`);
      }
    }
  }
}

/** The settings that name object storage (each with its file and path): what `check-config` and status can list. */
export function objectStorageSettings(config: { configFile: string; buckets: S3Folders; exports: Array<{ toS3: S3ObjectUrl | null; declaredIn: string }> }): string[] {
  const found = Object.entries(config.buckets).map(([name, location]) => `${config.configFile}: /folders/${name}: ${location.url}`);
  for (const spec of config.exports) if (spec.toS3) found.push(`${spec.declaredIn}: /export/to: ${spec.toS3.url}`);
  return found;
}
