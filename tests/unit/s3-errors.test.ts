/**
 * The classification table for S3 answers, on error objects built as the SDK builds them (a
 * service exception with its name, `$fault` and `$metadata.httpStatusCode`), and the shortening of
 * keys that would pass S3's 1,024-byte limit.
 */
import { InvalidObjectState, S3ServiceException } from '@aws-sdk/client-s3';
import fc from 'fast-check';
import { classify, HeldError, holdsWhenRepeated, isKnownTransient, s3ConfigError, s3ErrorKind, s3RefusedReason } from '../../src/errors.js';
import { MAX_KEY_BYTES } from '../../src/source/s3/location.js';
import { fitKey, KEY_RESERVE_BYTES, MAX_NUMBERED_NAMES, NamesTakenError, numberedKey } from '../../src/source/s3/write.js';

function sdkError(name: string, status: number, message = `${name} from the server`): S3ServiceException {
  return new S3ServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status, requestId: 'r1' }, message });
}

describe('S3 answers in the one table', () => {
  it("loadbay's own errors for a misbehaving peer are retried, never quarantined", async () => {
    const { ReplyLimitError } = await import('../../src/source/s3/client.js');
    const { ResumesExhaustedError } = await import('../../src/source/s3/read.js');
    for (const error of [new ReplyLimitError('ListObjectsV2', 'the reply passed 16 MiB'), new ResumesExhaustedError('s3://b/k', 50, 10, 100, '50 resumes', new Error('ECONNRESET'))]) {
      expect(isKnownTransient(error)).toBe(true);
      expect(classify(error)).toBe('transient');
    }
  });

  it('an unlisted 4xx is refused: transient at first, held once it came back on every attempt, naming code and request', () => {
    for (const [name, status] of [
      ['KeyTooLongError', 400],
      ['InvalidArgument', 400],
      ['EntityTooLarge', 400],
      ['MethodNotAllowed', 405],
      ['MissingContentLength', 411],
      ['InvalidRange', 416],
      ['Unknown', 400],
    ] as const) {
      const error = sdkError(name, status);
      expect([name, s3ErrorKind(error)]).toEqual([name, 'refused']);
      expect(classify(error)).toBe('transient'); // retried with backoff first, like any infrastructure error
      expect(isKnownTransient(error)).toBe(false);
      expect(holdsWhenRepeated(error)).toBe('s3-refused');
      expect(s3ConfigError(error, 's3://lake/in/')).toBe(error); // not a configuration error: returned as it is
    }
    const tooLong = Object.defineProperty(sdkError('KeyTooLongError', 400, 'Your key is too long'), 'loadbayRequest', { value: { operation: 'CopyObject', bucket: 'lake', key: 'archive/x.csv' } });
    expect(s3RefusedReason(tooLong, 5)).toBe(
      'S3 answered KeyTooLongError (HTTP 400) on CopyObject of s3://lake/archive/x.csv: Your key is too long on each of 5 attempts: the request will not succeed as it is sent (check the key, the object and the storage\'s limits)',
    );
    // Without the request's context (an error of another client), the code and status still say what happened.
    expect(s3RefusedReason(sdkError('InvalidArgument', 400, 'Bad part'), 7)).toMatch(/^S3 answered InvalidArgument \(HTTP 400\): Bad part on each of 7 attempts/);
  });

  it('404, 408, 409, 412 and 429 are not refused: handled by their callers or retried', () => {
    expect(s3ErrorKind(sdkError('NoSuchKey', 404))).toBeNull();
    expect(s3ErrorKind(sdkError('RequestTimeout', 400))).toBe('transient'); // listed by code, whatever its status
    expect(s3ErrorKind(sdkError('Unknown', 408))).toBeNull();
    expect(s3ErrorKind(sdkError('OperationAborted', 409))).toBe('transient');
    expect(s3ErrorKind(sdkError('ConditionalRequestConflict', 409))).toBeNull();
    expect(s3ErrorKind(sdkError('PreconditionFailed', 412))).toBeNull();
    expect(s3ErrorKind(sdkError('Unknown', 429))).toBe('transient');
    expect(s3ErrorKind(sdkError('SlowDown', 503))).toBe('transient');
    for (const status of [404, 408, 409, 412, 429, 500, 503]) expect(holdsWhenRepeated(sdkError('Unknown', status))).toBeNull();
    // Errors of other kinds keep their rules.
    expect(holdsWhenRepeated(Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' }))).toBe('statement-timeout');
    expect(holdsWhenRepeated(Object.assign(new Error('EACCES'), { code: 'EACCES', syscall: 'open', path: '/x' }))).toBe('file-system');
    expect(holdsWhenRepeated(Object.assign(new Error('reset'), { code: 'ECONNRESET' }))).toBeNull();
  });

  it('403 InvalidObjectState (Glacier, Deep Archive) is held at once with its own reason, not "access denied"', () => {
    const archived = new InvalidObjectState({ $metadata: { httpStatusCode: 403 }, message: 'The operation is not valid for the object\'s storage class', StorageClass: 'GLACIER' });
    expect(s3ErrorKind(archived)).toBe('config');
    const held = s3ConfigError(archived, 's3://lake/in/cold.csv');
    expect(held).toBeInstanceOf(HeldError);
    expect(classify(held)).toBe('held');
    expect((held as Error).message).toBe('s3://lake/in/cold.csv: the object is archived in a storage class that must be restored first (S3 Glacier or Deep Archive: restore it, or copy it to another storage class) (InvalidObjectState)');
    expect((s3ConfigError(sdkError('AccessDenied', 403), 's3://lake/in/') as Error).message).toMatch(/^s3:\/\/lake\/in\/: access denied: /);
  });
});

describe('keys that fit S3', () => {
  it('a short key stays; a long name is cut, tagged with a hash of the whole key, and keeps its extensions', () => {
    expect(fitKey('archive/items/a.csv.gz')).toBe('archive/items/a.csv.gz');
    const long = `archive/items/${'n'.repeat(1100)}.csv.gz`;
    const fitted = fitKey(long);
    expect(Buffer.byteLength(fitted)).toBe(MAX_KEY_BYTES - KEY_RESERVE_BYTES);
    expect(fitted).toMatch(/^archive\/items\/n+~[0-9a-f]{8}\.csv\.gz$/);
    expect(fitKey(long.replace('nnn', 'nnm'))).not.toBe(fitted); // two long keys stay two keys
    expect(fitKey(fitted)).toBe(fitted); // fitting twice changes nothing
    // The numbered names of a fitted key fit too.
    expect(Buffer.byteLength(numberedKey(fitted, MAX_NUMBERED_NAMES)) + '.error.json'.length * 2).toBeLessThanOrEqual(MAX_KEY_BYTES);
    // Long folders: the cut reaches into them; still a key of the same extension.
    expect(fitKey(`${'d/'.repeat(600)}x.csv`)).toMatch(/^(d\/)+d?~[0-9a-f]{8}\.csv$/);
    expect(new NamesTakenError('lake', 'archive/items/a.csv').message).toBe(
      's3://lake/archive/items/: a.csv and its numbered names up to a-1000.csv are all taken: move or delete some of them (loadbay never overwrites an object)',
    );
    expect(classify(new NamesTakenError('lake', 'a.csv'))).toBe('held');
  });

  it('property: at most 1,024 bytes with room for the reserve, valid UTF-8, the extension kept', () => {
    const segment = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 120 }).filter((s) => !s.includes('/') && !s.includes('.'));
    fc.assert(
      fc.property(fc.array(segment, { minLength: 0, maxLength: 12 }), segment, fc.constantFrom('', '.csv', '.csv.gz', '.jsonl.gz', '.json'), fc.integer({ min: 0, max: 64 }), (dirs, stem, ext, reserve) => {
        const key = [...dirs, `${stem}${ext}`].join('/');
        const fitted = fitKey(key, reserve);
        const bytes = Buffer.from(fitted);
        expect(bytes.length + reserve).toBeLessThanOrEqual(MAX_KEY_BYTES);
        expect(bytes.toString('utf8')).toBe(fitted); // whole characters only: no half of a surrogate pair
        expect(new TextDecoder('utf-8', { fatal: true }).decode(bytes)).toBe(fitted);
        expect(fitted.endsWith(ext)).toBe(true);
        if (Buffer.byteLength(key) + reserve <= MAX_KEY_BYTES) expect(fitted).toBe(key);
      }),
      { numRuns: 300 },
    );
  });
});
