/**
 * Readiness of a location in object storage, for `/readyz` and status: a one-key listing of the
 * prefix (what loadbay's permissions must allow anyway; HeadBucket would need more). Bounded by the
 * client's timeouts; a configuration problem says what to fix, naming bucket and prefix.
 */
import { errorMessage, s3ConfigError } from '../../errors.js';
import type { S3Connection } from './client.js';
import type { S3Location } from './location.js';
import { s3Sdk } from './sdk.js';

export interface BucketCheck {
  name: string;
  ok: boolean;
  detail?: string;
}

export async function checkLocation(s3: S3Connection, location: S3Location, signal?: AbortSignal): Promise<BucketCheck> {
  const name = `object_storage ${location.url}`;
  const started = Date.now();
  try {
    await s3.client.send(new (s3Sdk().ListObjectsV2Command)({ Bucket: location.bucket, Prefix: location.prefix, MaxKeys: 1 }), signal ? { abortSignal: signal } : {});
    return { name, ok: true, detail: `listed in ${Date.now() - started} ms at ${s3.endpoint}` };
  } catch (error) {
    return { name, ok: false, detail: errorMessage(s3ConfigError(error, location.url)) };
  }
}
