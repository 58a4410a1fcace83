/**
 * The AWS SDK's modules, loaded on first use: a daemon without a bucket never loads them (~13 MB of
 * its memory, BENCHMARKS.md). The packages have no `exports` map, so an ESM import and this
 * `require` load the same CommonJS build, one instance either way. Everything else in src imports
 * the SDK's types only (tests/unit/structure.test.ts holds it to that).
 */
import { createRequire } from 'node:module';
import type * as S3 from '@aws-sdk/client-s3';
import type * as SQS from '@aws-sdk/client-sqs';
import type * as Storage from '@aws-sdk/lib-storage';

const require = createRequire(import.meta.url);
let s3: typeof S3 | undefined;
let sqs: typeof SQS | undefined;
let storage: typeof Storage | undefined;

export const s3Sdk = (): typeof S3 => (s3 ??= require('@aws-sdk/client-s3') as typeof S3);
export const sqsSdk = (): typeof SQS => (sqs ??= require('@aws-sdk/client-sqs') as typeof SQS);
export const storageSdk = (): typeof Storage => (storage ??= require('@aws-sdk/lib-storage') as typeof Storage);
