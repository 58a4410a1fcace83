/**
 * The listener's guards (issue 30, item 8), through a running daemon: a request naming a host the
 * listener does not answer to is refused (DNS rebinding against the tokenless loopback console),
 * `http.allowed_hosts` adds names; wrong tokens are throttled per address, the right one too while
 * an address waits. And the live stream's bounds: a cap on streams, heartbeats, no reader dropped.
 */
import { appendFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ITEM_DATASETS } from '../helpers/datasets.js';
import { createTestEnv, waitFor, type TestEnv } from '../helpers/env.js';
import type { Daemon } from '../../src/daemon.js';
import { answeredHosts, hostAllowed, SignInThrottle } from '../../src/http/guard.js';
import { LiveEvents } from '../../src/http/live.js';
import { sendReply } from '../../src/http/reply.js';
import { LoadbayEvents } from '../../src/events.js';

/** A raw request (fetch will not send another Host than the URL's). */
function request(url: string, options: { method?: string; host?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const req = http.request(
      { host: target.hostname, port: target.port, path: `${target.pathname}${target.search}`, method: options.method ?? 'GET', headers: { ...(options.host ? { Host: options.host } : {}), ...options.headers } },
      (response) => {
        let body = '';
        response.on('data', (d) => (body += d));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('Host', () => {
  let env: TestEnv;
  let daemon: Daemon;
  beforeAll(async () => {
    env = await createTestEnv({ datasets: ITEM_DATASETS });
    await appendFile(env.configFile, '  allowed_hosts: [loadbay.internal]\n');
    daemon = await env.start();
  });
  afterAll(async () => {
    await env?.cleanup();
  });

  it('a tokenless loopback console does not answer a page that rebinds its name to 127.0.0.1', async () => {
    const port = new URL(daemon.httpUrl!).port;
    for (const route of ['/', '/api/quarantine', '/api/datasets/items-csv', '/api/overview', '/metrics', '/api/events']) {
      const refused = await request(`${daemon.httpUrl}${route}`, { host: `evil.example:${port}` });
      expect([route, refused.status]).toEqual([route, 421]);
      expect(JSON.parse(refused.body).error).toMatch(/does not answer to the host "evil\.example:\d+".*http\.allowed_hosts/);
    }
    expect((await request(`${daemon.httpUrl}/api/quarantine`, { host: `evil.example` })).status).toBe(421);
    expect((await request(`${daemon.httpUrl}/api/quarantine`, { host: `127.0.0.1.evil.example:${port}` })).status).toBe(421);
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'LOCALHOST', `[::1]:${port}`, `loadbay.internal:${port}`, 'localhost.']) {
      expect([host, (await request(`${daemon.httpUrl}/api/quarantine`, { host })).status]).toEqual([host, 200]);
    }
  });

  it('the names answered to: loopback names always, the address, allowed_hosts; any off loopback without a list', () => {
    expect(answeredHosts('0.0.0.0', null)).toBeNull();
    expect(hostAllowed(answeredHosts('0.0.0.0', null), 'loadbay:9477')).toBe(true);
    const listed = answeredHosts('0.0.0.0', ['loadbay']);
    expect(hostAllowed(listed, 'loadbay:9477')).toBe(true);
    expect(hostAllowed(listed, '127.0.0.1:9477')).toBe(true);
    expect(hostAllowed(listed, 'evil.example')).toBe(false);
    expect(hostAllowed(answeredHosts('127.0.0.1', null), undefined)).toBe(true); // HTTP/1.0 without Host
  });
});

describe('sign-in throttle', () => {
  const TOKEN = 'guard-test-token-0123456789';
  let env: TestEnv;
  let daemon: Daemon;
  beforeAll(async () => {
    env = await createTestEnv({ datasets: ITEM_DATASETS });
    await appendFile(env.configFile, `  token: ${TOKEN}\n`);
    daemon = await env.start();
  });
  afterAll(async () => {
    await env?.cleanup();
  });

  it('five wrong tokens from an address, then it waits: the sign-in form, bearer tokens and cookies alike', async () => {
    const form = (token: string) =>
      request(`${daemon.httpUrl}/login`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `token=${encodeURIComponent(token)}` });
    expect((await form(TOKEN)).status).toBe(303);
    for (let i = 0; i < 3; i++) expect((await form('not-the-token-at-all')).status).toBe(401);
    expect((await request(`${daemon.httpUrl}/api/overview`, { headers: { Authorization: 'Bearer wrong-wrong-wrong-wrong' } })).status).toBe(401);
    expect((await request(`${daemon.httpUrl}/api/overview`, { headers: { Cookie: 'loadbay_token=wrong-wrong-wrong' } })).status).toBe(401);
    // The sixth try waits, even with the right token.
    const blocked = await form(TOKEN);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect(blocked.body).toContain('Too many wrong tokens');
    const bearer = await request(`${daemon.httpUrl}/api/overview`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(bearer.status).toBe(429);
    expect(JSON.parse(bearer.body).error).toMatch(/too many wrong tokens from this address: try again in \d+ s/);
    // A request without any token is not a sign-in: it is told to sign in, as always.
    expect((await request(`${daemon.httpUrl}/api/overview`)).status).toBe(401);
  });

  it('the throttle: a window of wrong tokens, blocks that double, the right token clears, a bounded memory', () => {
    const throttle = new SignInThrottle({ maxFailures: 3, windowMs: 1000, maxBlockMs: 3000, maxAddresses: 2 });
    for (let i = 0; i < 2; i++) throttle.fail('a', 0);
    expect(throttle.waitMs('a', 10)).toBe(0);
    throttle.fail('a', 20);
    expect(throttle.waitMs('a', 20)).toBe(1000);
    expect(throttle.waitMs('a', 1020)).toBe(0);
    for (let i = 0; i < 3; i++) throttle.fail('a', 1100);
    expect(throttle.waitMs('a', 1100)).toBe(2000); // the second block lasts twice as long
    for (let i = 0; i < 3; i++) throttle.fail('a', 5000);
    expect(throttle.waitMs('a', 5000)).toBe(3000); // capped
    throttle.succeed('a');
    expect(throttle.waitMs('a', 5000)).toBe(0);
    // Wrong tokens spread out over time never block.
    for (let i = 0; i < 10; i++) throttle.fail('b', i * 2000);
    expect(throttle.waitMs('b', 20_000)).toBe(0);
    for (const address of ['c', 'd', 'e']) for (let i = 0; i < 3; i++) throttle.fail(address, 0);
    expect(throttle.waitMs('c', 1)).toBe(0); // forgotten: at most two addresses remembered
    expect(throttle.waitMs('e', 1)).toBeGreaterThan(0);
  });
});

describe('live stream bounds', () => {
  let server: http.Server;
  let live: LiveEvents;
  let url: string;
  const events = new LoadbayEvents();
  beforeAll(async () => {
    live = new LiveEvents(events, { maxClients: 2, heartbeatMs: 50, maxBufferedBytes: 16 * 1024, retryMs: 500 });
    server = http.createServer((req, res) => sendReply(res, live.stream(req)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    live.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('events and heartbeats reach a reader; a stream over the cap is refused; one that does not read is dropped', async () => {
    const text: string[] = [];
    const first = await new Promise<http.IncomingMessage>((resolve) => http.get(url, resolve));
    expect(first.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    first.setEncoding('utf8');
    first.on('data', (d: string) => text.push(d));
    await waitFor(() => text.join('').includes(': heartbeat'), { message: 'a heartbeat' });
    events.safeEmit('loaded', { file: 'a.csv', file_id: '7', dataset: 'items', rows: 3, duration_ms: 5, parquet: null });
    await waitFor(() => text.join('').includes('event: loaded\ndata: {"event":"loaded"'), { message: 'the event' });
    expect(text.join('')).toContain('"file":"a.csv","file_id":"7","dataset":"items","rows":3');

    // The second stream does not read: its socket's buffers fill, then the server's, and it is dropped.
    const stalled = await new Promise<http.IncomingMessage>((resolve) => http.get(url, resolve));
    stalled.pause();
    stalled.socket.pause();
    const over = await request(url);
    expect(over.status).toBe(503);
    const reason = 'x'.repeat(300);
    for (let i = 0; i < 200_000 && live.clientCount === 2; i++) {
      events.safeEmit('failed', { file: `f-${i}.csv`, file_id: String(i), dataset: 'items', stage: 'validate', reason, problem_count: 1, quarantined_as: `output_failed/items/f-${i}.csv` });
      if (i % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(live.clientCount).toBe(1);
    stalled.destroy();
    first.destroy();
    await waitFor(() => live.clientCount === 0, { message: 'the streams to close' });
  });
});
