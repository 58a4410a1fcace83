/**
 * `s3://bucket/prefix/` as a user writes it in a folder setting, and `s3://bucket/key` for a file
 * (an export's `to`): parsed and checked once, with the reason a value is refused. A folder's prefix
 * always ends with `/` (`s3://b/in` means `s3://b/in/`), so `in/` never matches `inbox/`.
 */

export interface S3Location {
  /** The canonical form: `s3://bucket/prefix/` (`s3://bucket/` for a whole bucket). */
  url: string;
  bucket: string;
  /** '' or ending with '/'. */
  prefix: string;
}

export interface S3ObjectUrl {
  url: string;
  bucket: string;
  key: string;
}

/** S3 keys are at most 1024 bytes; a prefix leaves room for the names under it (and `-2`, `.error.json`). */
export const MAX_KEY_BYTES = 1024;
export const MAX_PREFIX_BYTES = 512;

export function isS3Url(value: string): boolean {
  return /^s3:\/\//i.test(value);
}

/** Why a bucket name is refused, or null (the rules of AWS general-purpose buckets, which MinIO follows). */
export function bucketNameProblem(bucket: string): string | null {
  if (bucket.length < 3 || bucket.length > 63) return `bucket name "${bucket}" must be 3 to 63 characters`;
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(bucket)) {
    return `bucket name "${bucket}" may hold only lowercase letters, digits, dots and hyphens, and must begin and end with a letter or digit`;
  }
  if (bucket.includes('..')) return `bucket name "${bucket}" must not hold two dots in a row`;
  if (/^\d+\.\d+\.\d+\.\d+$/.test(bucket)) return `bucket name "${bucket}" must not look like an IP address`;
  return null;
}

/** Why a key or prefix is refused, or null. */
function keyProblem(key: string, what: string, maxBytes: number): string | null {
  if (Buffer.byteLength(key) > maxBytes) return `${what} is longer than ${maxBytes} bytes`;
  // Control characters cannot be listed back reliably (XML 1.0 cannot carry most of them).
  if (/[\u0000-\u001f\u007f]/.test(key)) return `${what} must not contain control characters`;
  if (key.startsWith('/')) return `${what} must not start with "/" (write s3://bucket/path, not s3://bucket//path)`;
  const segments = key.split('/');
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    // The last segment of a prefix is '' (the trailing slash).
    if (segment === '' && i < segments.length - 1) return `${what} must not contain an empty segment ("//")`;
    if (segment === '.' || segment === '..') return `${what} must not contain "." or ".." segments`;
  }
  return null;
}

function split(value: string): { bucket: string; rest: string } {
  if (!isS3Url(value)) throw new S3UrlError(`"${value}" is not an s3:// URL`);
  if (/[?#]/.test(value)) throw new S3UrlError(`"${value}": an s3:// URL has no query or fragment ("?" or "#")`);
  const body = value.slice('s3://'.length);
  const slash = body.indexOf('/');
  const bucket = slash === -1 ? body : body.slice(0, slash);
  const rest = slash === -1 ? '' : body.slice(slash + 1);
  if (bucket === '') throw new S3UrlError(`"${value}": the bucket name is missing (s3://bucket/prefix/)`);
  const problem = bucketNameProblem(bucket);
  if (problem) throw new S3UrlError(`"${value}": ${problem}`);
  return { bucket, rest };
}

/** A folder: `s3://bucket/prefix/` (trailing slash added), or a whole bucket `s3://bucket/`. */
export function parseS3Folder(value: string): S3Location {
  const { bucket, rest } = split(value);
  const prefix = rest === '' || rest.endsWith('/') ? rest : `${rest}/`;
  const problem = prefix === '' ? null : keyProblem(prefix, 'the prefix', MAX_PREFIX_BYTES);
  if (problem) throw new S3UrlError(`"${value}": ${problem}`);
  return { url: `s3://${bucket}/${prefix}`, bucket, prefix };
}

/** A single object: `s3://bucket/key` (a key ending in "/" is a folder, refused). */
export function parseS3Object(value: string): S3ObjectUrl {
  const { bucket, rest } = split(value);
  if (rest === '' || rest.endsWith('/')) throw new S3UrlError(`"${value}": name an object (s3://bucket/path/file.csv), not a folder`);
  const problem = keyProblem(rest, 'the key', MAX_KEY_BYTES);
  if (problem) throw new S3UrlError(`"${value}": ${problem}`);
  return { url: `s3://${bucket}/${rest}`, bucket, key: rest };
}

/** True when one location is the other or inside it (same bucket, one prefix starts the other). */
export function overlaps(a: S3Location, b: S3Location): boolean {
  return a.bucket === b.bucket && (a.prefix.startsWith(b.prefix) || b.prefix.startsWith(a.prefix));
}

/** The key of `relative` (a path below the location, with "/" separators) under the location. */
export function keyUnder(location: S3Location, relative: string): string {
  return `${location.prefix}${relative}`;
}

/** `s3://bucket/folder/` of a key: what an error names (bucket and prefix), never the secret-free key alone. */
export function folderUrl(bucket: string, key: string): string {
  return `s3://${bucket}/${key.slice(0, key.lastIndexOf('/') + 1)}`;
}

/** The part of `key` below the location's prefix (what routing matches, like a path below input/). */
export function relativeKey(location: S3Location, key: string): string {
  if (!key.startsWith(location.prefix)) throw new Error(`${key} is not under ${location.url}`);
  return key.slice(location.prefix.length);
}

export class S3UrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'S3UrlError';
  }
}
