/**
 * Which request an S3 error answered: the SDK's errors carry a status and a code but not the
 * operation, bucket or key, which a held file's reason must name (errors.ts `s3ErrorSummary`).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { S3RequestContext } from '../../errors.js';

const named = new WeakSet<S3Client>();

/** Every error of the client's requests gets `loadbayRequest`: operation, bucket and key (once per client). */
export function nameRequestsInErrors(client: S3Client): void {
  if (named.has(client)) return;
  named.add(client);
  client.middlewareStack.add(
    (next, context) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        if (error !== null && typeof error === 'object' && !('loadbayRequest' in error)) {
          const input = args.input as { Bucket?: unknown; Key?: unknown };
          const request: S3RequestContext = {
            operation: (context as { commandName?: string }).commandName?.replace(/Command$/, '') ?? 'unknown',
            ...(typeof input.Bucket === 'string' ? { bucket: input.Bucket } : {}),
            ...(typeof input.Key === 'string' ? { key: input.Key } : {}),
          };
          // Not enumerable: a log that prints the error's fields shows it once, in the reason.
          Object.defineProperty(error, 'loadbayRequest', { value: request, enumerable: false });
        }
        throw error;
      }
    },
    { step: 'initialize', name: 'loadbayRequestContext' },
  );
}
