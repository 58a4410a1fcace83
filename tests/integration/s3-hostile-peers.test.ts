/**
 * A broken or hostile endpoint posing as S3 (and SQS): a real HTTP server on 127.0.0.1 that answers
 * with endless or trickling bodies, empty pages for ever, paging markers that never move on. loadbay
 * must fail each with a clear error, soon, never hang or read without bound.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { classify } from '../../src/errors.js';
import { connectS3, limitResponseBodies, MAX_REPLY_BYTES, ReplyLimitError, type S3Connection } from '../../src/source/s3/client.js';
import { sqsClientFor } from '../../src/source/s3/hints.js';
import { headObject } from '../../src/source/s3/identity.js';
import { ListingError, listPages, MAX_EMPTY_PAGES, type ListedObject } from '../../src/source/s3/listing.js';
import { parseS3Folder } from '../../src/source/s3/location.js';
import { sweepUploads } from '../../src/source/s3/sweep.js';
import { useLedger, waitFor } from '../helpers/env.js';
import { testS3Settings } from '../helpers/s3.js';

type Handler = (request: http.IncomingMessage, response: http.ServerResponse) => void;

interface Peer {
  url: string;
  s3: S3Connection;
  /** Requests answered so far. */
  readonly requests: number;
  /** Bytes of endless bodies written (what the client read, plus socket buffers), counted once a connection closes. */
  readonly bytesSent: number;
  /** Connections whose endless body stopped because the client went. */
  readonly closed: number;
  close(): Promise<void>;
}

let peer: Peer | null = null;
afterEach(async () => {
  await peer?.close();
  peer = null;
});

let sent = 0;
let closed = 0;

async function startPeer(handler: Handler): Promise<Peer> {
  let requests = 0;
  sent = 0;
  closed = 0;
  const server = http.createServer((request, response) => {
    requests++;
    request.resume();
    handler(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const s3 = connectS3(testS3Settings({ endpoint: url, maxAttempts: 1, requestTimeoutMs: 5000 }));
  return {
    url,
    s3,
    get requests() {
      return requests;
    },
    get bytesSent() {
      return sent;
    },
    get closed() {
      return closed;
    },
    async close() {
      s3.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Writes `head`, then `repeat` again and again, as fast as the client reads, until the connection goes. */
function endless(contentType: string, head: string, repeat: string): Handler {
  return (_request, response) => {
    response.writeHead(200, { 'content-type': contentType });
    const chunk = Buffer.from(repeat.repeat(Math.ceil((64 * 1024) / repeat.length)));
    response.write(head);
    const more = () => {
      while (!response.destroyed) {
        sent += chunk.length;
        if (!response.write(chunk)) return void response.once('drain', more);
      }
    };
    response.on('close', () => closed++);
    more();
  };
}

async function drain(pages: AsyncIterable<ListedObject[]>): Promise<string[]> {
  const keys: string[] = [];
  for await (const page of pages) keys.push(...page.map((o) => o.key));
  return keys;
}

const location = parseS3Folder('s3://bucket/in/');
const listHead = '<?xml version="1.0"?><ListBucketResult><Name>bucket</Name><IsTruncated>false</IsTruncated>';
const contents = (key: string) => `<Contents><Key>${key}</Key><Size>1</Size><ETag>"e"</ETag></Contents>`;

describe('a reply other than an object is bounded while it arrives', () => {
  it('refuses an endless listing page past 16 MiB, frees the connection, and names the operation', async () => {
    peer = await startPeer(endless('application/xml', listHead, contents('in/' + 'k'.repeat(900))));
    const error = await drain(listPages(peer.s3, location)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReplyLimitError);
    expect((error as Error).message).toBe(`ListObjectsV2: the server's reply went past loadbay's limit of ${MAX_REPLY_BYTES} bytes`);
    expect(classify(error)).toBe('transient'); // infrastructure: retried, no file touched
    // The reading stopped at the limit and the connection was closed, not drained.
    await waitFor(() => peer!.closed === 1, { message: 'the endless reply closed' });
    expect(peer.bytesSent).toBeGreaterThan(MAX_REPLY_BYTES);
    expect(peer.bytesSent).toBeLessThan(MAX_REPLY_BYTES + 8 * 1024 * 1024);
  });

  it('refuses a reply that announces more than the limit before reading it', async () => {
    peer = await startPeer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/xml', 'content-length': String(MAX_REPLY_BYTES + 1) });
      response.write(listHead); // and nothing more: without the check the read would wait for the rest
    });
    await expect(drain(listPages(peer.s3, location))).rejects.toThrow(`ListObjectsV2: the server announced a reply of ${MAX_REPLY_BYTES + 1} bytes, more than loadbay's limit of ${MAX_REPLY_BYTES}`);
  });

  it("takes a HEAD reply's Content-Length for what it is, the object's size, however large", async () => {
    const size = 5 * 1024 ** 4;
    peer = await startPeer((request, response) => {
      expect(request.method).toBe('HEAD');
      response.writeHead(200, { 'content-length': String(size), etag: '"big"', 'last-modified': new Date().toUTCString() });
      response.end();
    });
    expect(await headObject(peer.s3, 'bucket', 'in/huge.bin')).toMatchObject({ key: 'in/huge.bin', etag: '"big"', size });
  });

  it('refuses a reply that trickles in for longer than the time limit, each pause shorter than the idle timeout', async () => {
    const timers = new Set<NodeJS.Timeout>();
    peer = await startPeer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/xml' });
      response.write(listHead);
      const timer = setInterval(() => response.write(' '), 50);
      timers.add(timer);
      response.on('close', () => clearInterval(timer));
    });
    limitResponseBodies(peer.s3.client, MAX_REPLY_BYTES, 500); // the same middleware, a shorter time
    try {
      await expect(drain(listPages(peer.s3, location))).rejects.toThrow(/^ListObjectsV2: the server's reply took longer than 500 ms \(\d+ bytes received\)$/);
    } finally {
      for (const timer of timers) clearInterval(timer);
    }
  });

  it('bounds an SQS receive the same way', async () => {
    peer = await startPeer(endless('application/x-amz-json-1.0', '{"Messages":[{"MessageId":"m","ReceiptHandle":"r","Body":"', 'x'));
    const sqs = sqsClientFor(testS3Settings({ maxAttempts: 1 }), `${peer.url}/000000000000/hints`, {});
    try {
      await expect(sqs.send(new ReceiveMessageCommand({ QueueUrl: `${peer.url}/000000000000/hints`, WaitTimeSeconds: 0 }))).rejects.toThrow(
        `ReceiveMessage: the server's reply went past loadbay's limit of ${MAX_REPLY_BYTES} bytes`,
      );
    } finally {
      sqs.destroy();
    }
  });
});

describe('paging that never ends', () => {
  it('a listing of empty truncated pages with fresh tokens fails after a bounded number; a few empty pages are fine', async () => {
    const page = (keys: string[], token: string | null) =>
      `<?xml version="1.0"?><ListBucketResult><Name>bucket</Name><IsTruncated>${token !== null}</IsTruncated>${token ? `<NextContinuationToken>${token}</NextContinuationToken>` : ''}${keys.map(contents).join('')}</ListBucketResult>`;
    let script: ((n: number) => string) | null = null;
    peer = await startPeer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/xml' });
      response.end(script!(peer!.requests));
    });
    script = (n) => (n <= 3 ? page([], `t${n}`) : n === 4 ? page(['in/a'], 't4') : n <= 6 ? page([], `t${n}`) : page(['in/b'], null));
    expect(await drain(listPages(peer.s3, location))).toEqual(['in/a', 'in/b']);

    const before = peer.requests;
    script = (n) => page([], `t${n}`);
    await expect(drain(listPages(peer.s3, location))).rejects.toThrow(
      new ListingError(`s3://bucket/in/: the server sent ${MAX_EMPTY_PAGES} pages in a row without a key, each saying the listing goes on`),
    );
    expect(peer.requests - before).toBe(MAX_EMPTY_PAGES);
  });

  describe('the sweep of open multipart uploads', () => {
    const ledger = useLedger(2);

    const uploadsPage = (next: [string, string] | null) =>
      `<?xml version="1.0"?><ListMultipartUploadsResult><Bucket>bucket</Bucket><IsTruncated>${next !== null}</IsTruncated>` +
      (next ? `<NextKeyMarker>${next[0]}</NextKeyMarker><NextUploadIdMarker>${next[1]}</NextUploadIdMarker>` : '') +
      '</ListMultipartUploadsResult>';

    async function sweepWith(pages: Array<[string, string] | null>): Promise<unknown> {
      await peer?.close();
      const markers: Array<string | null> = [];
      const answers = [...pages];
      peer = await startPeer((request, response) => {
        const query = new URL(request.url!, 'http://x').searchParams;
        markers.push(query.has('key-marker') ? `${query.get('key-marker')}/${query.get('upload-id-marker')}` : null);
        response.writeHead(200, { 'content-type': 'application/xml' });
        response.end(uploadsPage(answers.length > 1 ? answers.shift()! : answers[0]!));
      });
      return sweepUploads(peer.s3, ledger(), parseS3Folder('s3://bucket/out/')).then(
        (aborted) => ({ aborted, markers }),
        (error: unknown) => error,
      );
    }

    it('follows markers that move on (the same key with other upload ids included)', async () => {
      expect(await sweepWith([['out/a', 'u1'], ['out/a', 'u2'], ['out/b', 'u1'], null])).toEqual({ aborted: [], markers: [null, 'out/a/u1', 'out/a/u2', 'out/b/u1'] });
    });

    it('fails, naming the prefix, on markers that repeat or go back, instead of looping for ever', async () => {
      const repeated = await sweepWith([['out/a', 'u1'], ['out/a', 'u2'], ['out/a', 'u1']]);
      expect(repeated).toBeInstanceOf(ListingError);
      expect((repeated as Error).message).toBe('s3://bucket/out/: listing the open multipart uploads, the server sent the same markers twice ("out/a", "u1")');
      expect(peer!.requests).toBe(3);

      const back = await sweepWith([['out/b', 'u1'], ['out/a', 'u9']]);
      expect((back as Error).message).toBe('s3://bucket/out/: listing the open multipart uploads, the server went back from key marker "out/b" to "out/a"');
    });
  });
});
