/**
 * Error classes and the one table that decides what happens to a file when something fails:
 * - `DataError`: the file itself is bad → quarantine it with a report.
 * - `HeldError`: the file may be fine but configuration and database disagree (e.g. a table's
 *   column has another type) → leave it in `input/`, log why, retry slowly until someone fixes it.
 * - anything else is infrastructure (database down, disk full) or a bug → leave the file untouched
 *   and retry with backoff. A good file is never quarantined for a reason outside the file.
 */

export type Stage = 'route' | 'read' | 'prepare' | 'validate' | 'load' | 'check' | 'settle';

export interface Problem {
  /** Line number (CSV, JSONL) or record number (JSON), 1-based. */
  line?: number;
  record?: number;
  field?: string;
  value?: string;
  /** The value as the file had it, when a prepare step changed it (trim, lowercase_values …). */
  value_in_file?: string;
  rule: string;
  message: string;
  /** Rule `extra_columns`: every unknown column of the record (the message names the first five). */
  columns?: string[];
  /** The record as read, when no record object exists (a ragged CSV row, a line that is not JSON):
   * written to a rejects file, never to a report. */
  raw?: unknown;
}

/** Problems of one field and rule, counted (a report's `groups`). */
export interface ProblemGroup {
  field: string | null;
  rule: string;
  count: number;
  /** Line or record numbers of the first few. */
  first_at: number[];
  example: string | null;
}

export class DataError extends Error {
  readonly stage: Stage;
  readonly problems: Problem[];
  /** How many problems there were in all; `problems` keeps only the first few. */
  readonly problemCount: number;
  /** A few lines to read first (the report's `summary`); the message when not given. */
  readonly summary: string | null;
  readonly groups: ProblemGroup[];
  /** What was read of the file before it was rejected, when it was read to the end. */
  digest: { sha256: string; bytes: number; read?: Record<string, unknown> } | null = null;
  constructor(
    stage: Stage,
    message: string,
    problems: Problem[] = [],
    problemCount = problems.length,
    details: { summary?: string; groups?: ProblemGroup[] } = {},
  ) {
    super(message);
    this.name = 'DataError';
    this.stage = stage;
    this.problems = problems;
    this.problemCount = problemCount;
    this.summary = details.summary ?? null;
    this.groups = details.groups ?? [];
  }
}

/**
 * An error that a file's content provoked in loadbay's own processing (a RangeError, TypeError or
 * SyntaxError without a system code) becomes a data error, so the file is quarantined with the
 * reason instead of being retried for ever; anything else (a system or database error) is returned
 * as it is. `where` says which records were being processed.
 */
export function contentError(error: unknown, stage: Stage, where: string): unknown {
  if (error instanceof DataError || error instanceof HeldError) return error;
  const isContent = (error instanceof RangeError || error instanceof TypeError || error instanceof SyntaxError) && (error as { code?: unknown }).code === undefined;
  if (!isContent) return error;
  const message = `${where}: the content could not be processed: ${(error as Error).message}`;
  return new DataError(stage, message, [{ rule: 'content', message }]);
}

export class HeldError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HeldError';
  }
}

/** A configuration file is invalid; loadbay refuses to start. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * Error codes that mean "try again later": SQLSTATEs from PostgreSQL and errno codes from Node.
 * Modelled on graphile-worker's retryable-error table.
 */
export const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  // PostgreSQL
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '53000', // insufficient_resources
  '53100', // disk_full
  '53200', // out_of_memory
  '53300', // too_many_connections
  '55P03', // lock_not_available
  '57014', // query_canceled (statement timeout)
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '58000', // system_error
  '58030', // io_error
  '08000', // connection_exception
  '08001',
  '08003',
  '08004',
  '08006',
  'XX000', // internal_error
  // Node / OS
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOSPC',
  'EMFILE',
  'ENFILE',
  'EBUSY',
  'EAGAIN',
  'EIO',
  'EDQUOT',
]);

/**
 * SQLSTATEs that no retry will mend until someone changes something: the file is held (retried at
 * the slow interval, reported as `held`), never quarantined.
 */
export const HELD_CODES: ReadonlySet<string> = new Set([
  '42501', // insufficient_privilege: a grant revoked on the table or the ledger
]);

/**
 * S3 error codes (an error response's `Code`, the AWS SDK's error `name`) that mean "try again
 * later"; any 5xx answer counts too. The SDK retries these itself first (`s3.max_attempts`).
 */
export const S3_TRANSIENT_CODES: ReadonlySet<string> = new Set([
  'SlowDown',
  'ServiceUnavailable',
  'InternalError',
  'RequestTimeout',
  'RequestTimeoutException',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestThrottled',
  'OperationAborted',
  'TimeoutError', // the SDK's request handler: no connection or no answer in time
]);

/**
 * S3 error codes that say the configuration is wrong (credentials, permissions, bucket, region):
 * held with a message naming the bucket and prefix, never a reason to quarantine a file.
 */
export const S3_CONFIG_CODES: ReadonlySet<string> = new Set([
  'AccessDenied',
  'AllAccessDisabled',
  'AccountProblem',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidToken',
  'ExpiredToken',
  'CredentialsProviderError',
  'NoSuchBucket',
  'InvalidBucketName',
  'PermanentRedirect',
  'AuthorizationHeaderMalformed',
  'IllegalLocationConstraintException',
  'RequestTimeTooSkewed',
]);

/**
 * 4xx answers a retry may mend or a caller handles itself: not found, request timeout, conflict,
 * precondition failed, too many requests. Any other 4xx will never succeed as it was sent.
 */
const S3_RETRYABLE_4XX: ReadonlySet<number> = new Set([404, 408, 409, 412, 429]);

/** Which request an S3 error answered (request-context.ts sets it on errors of loadbay's clients). */
export interface S3RequestContext {
  operation: string;
  bucket?: string;
  key?: string;
}

interface S3ErrorShape {
  name?: unknown;
  Code?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: number };
  $response?: { headers?: Record<string, string | undefined> };
  loadbayRequest?: S3RequestContext;
}

/** The S3 error code; null when the answer named none (a HEAD has no body: the SDK then says "Unknown"). */
function s3Code(error: unknown): string | null {
  const e = error as S3ErrorShape | null;
  const code = typeof e?.Code === 'string' ? e.Code : typeof e?.name === 'string' ? e.name : null;
  return code === 'Unknown' ? null : code;
}

function s3Status(error: unknown): number | null {
  const status = (error as S3ErrorShape | null)?.$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : null;
}

/**
 * What an object store's answer means: retry later (`transient`), the configuration or the object's
 * state must change (`config`: held at once), the request will never succeed as sent (`refused`: an
 * unlisted 4xx, retried and then held, see `holdsWhenRepeated`), or none of these (null).
 */
export function s3ErrorKind(error: unknown): 'transient' | 'config' | 'refused' | null {
  const code = s3Code(error);
  const status = s3Status(error);
  if (code !== null && S3_TRANSIENT_CODES.has(code)) return 'transient';
  if (code !== null && S3_CONFIG_CODES.has(code)) return 'config';
  if (status !== null && (status >= 500 || status === 429)) return 'transient';
  if (status === 403 || status === 301) return 'config';
  if (status !== null && status >= 400 && status < 500 && !S3_RETRYABLE_4XX.has(status)) return 'refused';
  return null;
}

/** "KeyTooLongError (HTTP 400) on PutObject of s3://bucket/key": what an S3 error answered, as far as known. */
export function s3ErrorSummary(error: unknown): string {
  const code = s3Code(error) ?? 'an error';
  const status = s3Status(error);
  const request = (error as S3ErrorShape | null)?.loadbayRequest;
  const target = request?.bucket ? ` of s3://${request.bucket}/${request.key ?? ''}` : '';
  return `${code}${status !== null ? ` (HTTP ${status})` : ''}${request ? ` on ${request.operation}${target}` : ''}`;
}

/**
 * An object store's configuration error as a held error that says what to fix, naming bucket and
 * prefix (`where`, e.g. `s3://bucket/prefix/`); any other error is returned as it is.
 */
export function s3ConfigError(error: unknown, where: string): unknown {
  if (s3ErrorKind(error) !== 'config') return error;
  const code = s3Code(error) ?? `HTTP ${s3Status(error) ?? '?'}`;
  const region = (error as S3ErrorShape).$response?.headers?.['x-amz-bucket-region'];
  const why =
    code === 'InvalidObjectState'
      ? 'the object is archived in a storage class that must be restored first (S3 Glacier or Deep Archive: restore it, or copy it to another storage class)'
      : code === 'RequestTimeTooSkewed'
      ? "this machine's clock differs from the server's by more than S3 allows (15 minutes): synchronise it (NTP)"
      : code === 'NoSuchBucket' || code === 'InvalidBucketName'
      ? 'the bucket does not exist (check the bucket name and the endpoint)'
      : code === 'PermanentRedirect' || code === 'AuthorizationHeaderMalformed' || code === 'IllegalLocationConstraintException' || s3Status(error) === 301
        ? `the bucket is in another region${region ? ` (${region})` : ''}: set s3.region or AWS_REGION`
        : 'access denied: check the credentials (environment, shared config or instance role) and the bucket policy';
  const held = new HeldError(`${where}: ${why} (${code})`);
  return Object.assign(held, { cause: error });
}

export type ErrorClass = 'data' | 'held' | 'transient';

/** query_canceled: a statement_timeout, or an administrator's pg_cancel_backend. */
export const STATEMENT_CANCELED = '57014';

/**
 * A transient error that, back on every attempt up to the hold threshold (outcome.ts), means only
 * someone can mend it: the file is held from then on, with a reason for each kind. `file-system`: a
 * path loadbay may not read or write (EACCES, EROFS, a full target); `statement-timeout`: a load
 * cancelled each time; `s3-refused`: a request S3 refuses as sent (an unlisted 4xx, see s3ErrorKind).
 */
export function holdsWhenRepeated(error: unknown): 'file-system' | 'statement-timeout' | 's3-refused' | null {
  if (isFileSystemError(error)) return 'file-system';
  if ((error as { code?: unknown } | null)?.code === STATEMENT_CANCELED) return 'statement-timeout';
  if (s3ErrorKind(error) === 'refused') return 's3-refused';
  return null;
}

/** The reason a file is held for an S3 request refused on each of `attempts` attempts. */
export function s3RefusedReason(error: unknown, attempts: number): string {
  const message = (error as S3ErrorShape | null)?.message;
  const detail = typeof message === 'string' && message !== '' && message !== 'UnknownError' ? `: ${redact(message)}` : '';
  return `S3 answered ${s3ErrorSummary(error)}${detail} on each of ${attempts} attempts: the request will not succeed as it is sent (check the key, the object and the storage's limits)`;
}

export function classify(error: unknown): ErrorClass {
  if (error instanceof DataError) return 'data';
  if (error instanceof HeldError || (error as { held?: unknown } | null)?.held === true) return 'held';
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && HELD_CODES.has(code)) return 'held';
  return 'transient';
}

/** loadbay's own errors for a peer that misbehaves for now (source/s3/client.ts, read.ts): retried later. */
const TRANSIENT_ERROR_NAMES: ReadonlySet<string> = new Set(['ReplyLimitError', 'ResumesExhaustedError']);

/** True when the code is in the table, or the message is one pg prints for a lost connection. */
export function isKnownTransient(error: unknown): boolean {
  if (error instanceof Error && TRANSIENT_ERROR_NAMES.has(error.name)) return true;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && TRANSIENT_CODES.has(code)) return true;
  if (s3ErrorKind(error) === 'transient') return true;
  const message = error instanceof Error ? error.message : String(error);
  if (/Connection terminated|connection timeout|Client has encountered a connection error/i.test(message)) return true;
  // The AWS SDK wraps a network error from another realm (a test's vm context) and keeps only its text.
  const wrapped = /^AWS SDK error wrapper for .*\b(E[A-Z]{3,})\b/.exec(message);
  return wrapped !== null && TRANSIENT_CODES.has(wrapped[1]!);
}

/** An error from the file system about a path (Node sets `syscall` and `path`): EACCES, EROFS, ENOSPC … */
export function isFileSystemError(error: unknown): boolean {
  const e = error as { code?: unknown; syscall?: unknown; path?: unknown } | null;
  return typeof e?.code === 'string' && typeof e.syscall === 'string' && typeof e.path === 'string';
}

export function errorMessage(error: unknown): string {
  return redact(error instanceof Error ? error.message : String(error));
}

const URL_IN_TEXT = /postgres(?:ql)?:\/\/[^\s'"<>]+/gi;
const KEY_VALUE_PASSWORD = /\b((?:ssl)?password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]+)/gi;
/** A user and password in an http(s) or s3 URL (an endpoint, a presigned or webhook URL). */
const WEB_USERINFO = /\b((?:https?|s3):\/\/[^\s/:@'"<>]*:)[^\s/@'"<>]*@/gi;
/** Signing secrets in a presigned URL's query (SigV4 and SigV2) or a header. */
const SIGNED_QUERY = /([?&](?:X-Amz-Signature|X-Amz-Security-Token|X-Amz-Credential|Signature|AWSAccessKeyId|x-amz-security-token)=)[^&\s'"<>]*/gi;
const AUTHORIZATION = /\b(Authorization\s*[:=]\s*)(?:AWS4-HMAC-SHA256|AWS|Bearer|Basic)\s+[^\r\n'"]*/gi;
/** `aws_secret_access_key = …`, `AWS_SESSION_TOKEN=…` (shared config, environment dumps). */
const AWS_SECRET = /\b((?:aws_)?(?:secret_access_key|session_token|secretAccessKey|sessionToken)["']?\s*[:=]\s*["']?)[^\s"',}]+/gi;

/**
 * Removes secrets from text: passwords in connection URLs (userinfo, parsed as PostgreSQL reads it,
 * so a password holding `@` or `:` goes whole; `password=` in the query) and in key/value connection
 * strings (`password=… ` or `password='…'`); a password in an http(s)/s3 URL; the signature,
 * credential and token of a presigned S3 URL; Authorization headers; AWS secret keys and tokens.
 */
export function redact(text: string): string {
  return text
    .replace(URL_IN_TEXT, redactUrl)
    .replace(KEY_VALUE_PASSWORD, '$1***')
    .replace(WEB_USERINFO, '$1***@')
    .replace(SIGNED_QUERY, '$1***')
    .replace(AUTHORIZATION, '$1***')
    .replace(AWS_SECRET, '$1***');
}

/**
 * Every string inside `value` redacted (plain objects and arrays, to a depth of 8; deeper parts
 * are replaced): a secret can sit in a nested field — an error's cause, a request's details.
 */
export function redactDeep<T>(value: T, depth = 0): T {
  if (typeof value === 'string') return redact(value) as T;
  if (value === null || typeof value !== 'object') return value;
  if (depth >= 8) return '[nested too deep]' as T;
  if (Array.isArray(value)) return value.map((item) => redactDeep(item, depth + 1)) as T;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value; // dates, buffers, class instances: as they are
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) out[key] = redactDeep(item, depth + 1);
  return out as T;
}

function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password) url.password = '***';
    url.search = url.search.replace(/([?&](?:ssl)?password=)[^&]*/gi, '$1***');
    return url.toString();
  } catch {
    // Not parseable: everything between "user:" and the last "@" of the authority goes.
    return raw.replace(/^(postgres(?:ql)?:\/\/[^:/@?#]*:)[^/?#]*@/i, '$1***@').replace(/([?&](?:ssl)?password=)[^&]*/gi, '$1***');
  }
}
