/**
 * The S3-compatible server of the test run: fauxqs (S3 and SQS in one process, chosen by measurement:
 * BENCHMARKS.md, docs/object-storage.md) on 127.0.0.1, with the AWS behaviours it lacks added in front
 * of its own routes, on its own data:
 * - ListMultipartUploads (fauxqs answers `?uploads` with an empty object listing),
 * - UploadPartCopy (fauxqs stores an empty part): `x-amz-copy-source-range`, the
 *   `x-amz-copy-source-if-match` / `-if-none-match` conditions, the CopyPartResult XML,
 * - conditional writes: `If-None-Match: *` / `If-Match` on PutObject and CompleteMultipartUpload,
 *   `x-amz-copy-source-if-match` / `-if-none-match` on CopyObject, `If-Match` on DeleteObject.
 * - keys of more than 1,024 bytes refused with 400 KeyTooLongError.
 * Each answers as AWS documents it (412 PreconditionFailed, the ListMultipartUploadsResult XML).
 *
 * `stop()` then `start()` again on the same port keeps the data (the stores live in this process),
 * which is how an outage of the object store is staged.
 */
// Plain JavaScript: jest's global setup loads it without a transform, and scripts (chaos, bench) can too.
import { buildApp } from 'fauxqs';

/** fauxqs exports only its entry point; its stores are files beside it (kept here so data outlives a restart). */
async function newStores() {
  const dist = import.meta.resolve('fauxqs');
  const { S3Store } = await import(new URL('./s3/s3Store.js', dist).href);
  const { SqsStore } = await import(new URL('./sqs/sqsStore.js', dist).href);
  const { SnsStore } = await import(new URL('./sns/snsStore.js', dist).href);
  return { s3Store: new S3Store(), sqsStore: new SqsStore(), snsStore: new SnsStore() };
}

const xmlEscape = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Answers 412; returns the reply, which an async fastify hook must return to stop the route. */
function preconditionFailed(reply, condition) {
  return reply
    .status(412)
    .header('content-type', 'application/xml')
    .send(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message><Condition>${condition}</Condition></Error>`);
}

/** An S3 error as AWS sends it: status, code, message. */
function s3Error(reply, status, code, message) {
  return reply
    .status(status)
    .header('content-type', 'application/xml')
    .send(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error>`);
}

/** `x-amz-copy-source` → bucket, key (a `?versionId=` dropped: fauxqs keeps one version). */
function copySourceOf(header) {
  const source = decodeURIComponent(header).replace(/^\//, '');
  const slash = source.indexOf('/');
  return { bucket: source.slice(0, slash), key: source.slice(slash + 1).split('?versionId=')[0] };
}

/**
 * UploadPartCopy: the part is bytes `first`–`last` (inclusive) of the source, or all of it without a
 * range; the source conditions as for CopyObject; a range outside the object is InvalidRange (416),
 * a malformed one InvalidArgument (400), as AWS answers.
 */
function uploadPartCopy(store, query, header, reply) {
  const upload = store.multipartUploads.get(query.get('uploadId') ?? '');
  if (!upload) return s3Error(reply, 404, 'NoSuchUpload', 'The specified multipart upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.');
  const source = copySourceOf(header('x-amz-copy-source'));
  let object;
  try {
    object = store.getObject(source.bucket, source.key);
  } catch (error) {
    return s3Error(reply, error.statusCode ?? 500, error.code ?? 'InternalError', error.message);
  }
  const ifMatch = header('x-amz-copy-source-if-match');
  const ifNoneMatch = header('x-amz-copy-source-if-none-match');
  if (ifMatch !== undefined && ifMatch !== object.etag) return preconditionFailed(reply, 'x-amz-copy-source-If-Match');
  if (ifNoneMatch !== undefined && ifNoneMatch === object.etag) return preconditionFailed(reply, 'x-amz-copy-source-If-None-Match');
  let body = object.body;
  const range = header('x-amz-copy-source-range');
  if (range !== undefined) {
    const match = /^bytes=(\d+)-(\d+)$/.exec(range);
    if (!match || Number(match[1]) > Number(match[2])) {
      return s3Error(reply, 400, 'InvalidArgument', 'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy');
    }
    if (Number(match[2]) >= body.length) return s3Error(reply, 416, 'InvalidRange', 'The requested range is not satisfiable');
    body = body.subarray(Number(match[1]), Number(match[2]) + 1);
  }
  const etag = store.uploadPart(upload.uploadId, Number(query.get('partNumber')), Buffer.from(body));
  return reply
    .status(200)
    .header('content-type', 'application/xml')
    .send(`<?xml version="1.0" encoding="UTF-8"?>\n<CopyPartResult><LastModified>${new Date().toISOString()}</LastModified><ETag>${xmlEscape(etag)}</ETag></CopyPartResult>`);
}

function etagOf(store, bucket, key) {
  try {
    return store.getObject(bucket, key).etag;
  } catch {
    return null;
  }
}

/** "/bucket/a/b" → bucket, key (path-style requests only: the tests use path style). */
function target(request) {
  const url = new URL(request.url, 'http://s3');
  const [, bucket = '', ...rest] = url.pathname.split('/');
  return { bucket: decodeURIComponent(bucket), key: rest.map(decodeURIComponent).join('/'), query: url.searchParams };
}

function listMultipartUploads(store, bucket, query, reply) {
  const prefix = query.get('prefix') ?? '';
  const keyMarker = query.get('key-marker') ?? '';
  const uploadIdMarker = query.get('upload-id-marker') ?? '';
  const max = Math.min(1000, Number(query.get('max-uploads') ?? 1000) || 1000);
  const all = [...store.multipartUploads.values()]
    .filter((u) => u.bucket === bucket && u.key.startsWith(prefix))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.uploadId < b.uploadId ? -1 : 1))
    .filter((u) => u.key > keyMarker || (u.key === keyMarker && uploadIdMarker !== '' && u.uploadId > uploadIdMarker));
  const page = all.slice(0, max);
  const truncated = all.length > max;
  const last = page.at(-1);
  return reply
    .status(200)
    .header('content-type', 'application/xml')
    .send(
      `<?xml version="1.0" encoding="UTF-8"?>\n<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
        `<Bucket>${xmlEscape(bucket)}</Bucket><KeyMarker>${xmlEscape(keyMarker)}</KeyMarker><UploadIdMarker>${xmlEscape(uploadIdMarker)}</UploadIdMarker>` +
        (truncated && last ? `<NextKeyMarker>${xmlEscape(last.key)}</NextKeyMarker><NextUploadIdMarker>${last.uploadId}</NextUploadIdMarker>` : '') +
        `<Prefix>${xmlEscape(prefix)}</Prefix><MaxUploads>${max}</MaxUploads><IsTruncated>${truncated}</IsTruncated>` +
        page
          .map((u) => `<Upload><Key>${xmlEscape(u.key)}</Key><UploadId>${u.uploadId}</UploadId><Initiated>${u.initiated.toISOString()}</Initiated><StorageClass>STANDARD</StorageClass></Upload>`)
          .join('') +
        `</ListMultipartUploadsResult>`,
    );
}

/** The AWS behaviours fauxqs lacks, answered before its routes (see the module comment). */
function addMissingBehaviours(app, store) {
  app.addHook('preHandler', async (request, reply) => {
    const { bucket, key, query } = target(request);
    const header = (name) => {
      const value = request.headers[name];
      return typeof value === 'string' ? value : undefined;
    };
    if (request.method === 'GET' && key === '' && query.has('uploads')) return listMultipartUploads(store, bucket, query, reply);
    if (key === '') return;
    if (Buffer.byteLength(key) > 1024) return s3Error(reply, 400, 'KeyTooLongError', 'Your key is too long');
    if (request.method === 'PUT' && header('x-amz-copy-source') !== undefined && query.has('partNumber')) return uploadPartCopy(store, query, header, reply);
    const isCopy = request.method === 'PUT' && header('x-amz-copy-source') !== undefined && !query.has('partNumber');
    if (isCopy) {
      const source = copySourceOf(header('x-amz-copy-source'));
      const sourceEtag = etagOf(store, source.bucket, source.key);
      const ifMatch = header('x-amz-copy-source-if-match');
      const ifNoneMatch = header('x-amz-copy-source-if-none-match');
      if (sourceEtag !== null && ifMatch !== undefined && ifMatch !== sourceEtag) return preconditionFailed(reply, 'x-amz-copy-source-If-Match');
      if (sourceEtag !== null && ifNoneMatch !== undefined && ifNoneMatch === sourceEtag) return preconditionFailed(reply, 'x-amz-copy-source-If-None-Match');
    }
    const writes = (request.method === 'PUT' && !query.has('partNumber')) || (request.method === 'POST' && query.has('uploadId'));
    if (writes || (request.method === 'DELETE' && !query.has('uploadId'))) {
      const current = etagOf(store, bucket, key);
      const ifNoneMatch = header('if-none-match');
      const ifMatch = header('if-match');
      if (writes && ifNoneMatch === '*' && current !== null) return preconditionFailed(reply, 'If-None-Match');
      if (ifMatch !== undefined && current !== ifMatch && !(request.method === 'DELETE' && current === null)) return preconditionFailed(reply, 'If-Match');
    }
    return undefined;
  });
}

/** @param {{ port?: number }} options */
export async function startS3Server(options = {}) {
  const stores = await newStores();
  let app = null;
  let port = options.port ?? 0;
  const listen = async () => {
    const next = buildApp({ logger: false, stores }) // queue URLs name the host a request came to: 127.0.0.1:port;
    addMissingBehaviours(next, stores.s3Store);
    await next.listen({ port, host: '127.0.0.1' });
    port = next.server.address().port;
    app = next;
  };
  await listen();
  const server = {
    get endpoint() {
      return `http://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    accessKeyId: 'loadbay-test',
    secretAccessKey: 'loadbay-test-secret',
    region: 'us-east-1',
    async stop() {
      const running = app;
      app = null;
      await running?.close();
    },
    async start() {
      if (!app) await listen();
    },
  };
  return server;
}
