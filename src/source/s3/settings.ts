/**
 * The object-storage part of the configuration, resolved: which folders are `s3://` URLs, the
 * `s3:` section with its defaults, and the checks across folders (no folder inside another).
 * Every error names the configuration file and the path inside it.
 */
import path from 'node:path';
import { ConfigError } from '../../errors.js';
import type { Folders, S3Folders, S3Settings, UserConfig } from '../../config/types.js';
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

/**
 * The folders in object storage, for a command that cannot use them yet. The daemon refuses to
 * start with any until object-storage input is wired into the load path.
 */
export function objectStorageSettings(config: { configFile: string; buckets: S3Folders; exports: Array<{ toS3: S3ObjectUrl | null; declaredIn: string }> }): string[] {
  const found = Object.entries(config.buckets).map(([name, location]) => `${config.configFile}: /folders/${name}: ${location.url}`);
  for (const spec of config.exports) if (spec.toS3) found.push(`${spec.declaredIn}: /export/to: ${spec.toS3.url}`);
  return found;
}
