/**
 * The HTTP listener: `/metrics` (Prometheus), `/livez`, `/readyz`, `/api/status` (what `loadbay
 * status` shows, same code) and the web console (console.ts). Loopback by default; on any other
 * address a bearer token is required (config refuses to start without one), and when a token is set
 * every request must carry it (pages may carry it as the cookie /login sets; an action, a POST,
 * only as the bearer header). Nothing from a request names a file or a path. A request must name a
 * host the listener answers to (guard.ts: DNS rebinding), and wrong tokens are throttled per address.
 */
import { readAtMost } from '../lib/bytes.js';
import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type pg from 'pg';
import type { Registry } from 'prom-client';
import { readStatus } from '../commands/status.js';
import type { Config } from '../config/types.js';
import { errorMessage } from '../errors.js';
import type { Check, Health } from './health.js';
import type { WebConsole } from './console.js';
import { answeredHosts, hostAllowed, SignInThrottle } from './guard.js';
import { sendReply } from './reply.js';

export interface HttpServer {
  /** e.g. http://127.0.0.1:9477 */
  url: string;
  close(): Promise<void>;
}

export interface HttpExtras {
  /** `POST /hooks/s3`: S3 event notifications (source/sources.ts). */
  hooks?: (request: http.IncomingMessage, response: http.ServerResponse) => Promise<void>;
  /** What `/api/status` adds to the status: the sources and their backlogs. */
  status?: () => Record<string, unknown>;
}

export async function startHttp(
  config: Config,
  pool: pg.Pool,
  registry: Registry,
  health: Health,
  web: WebConsole,
  onError: (message: string) => void,
  extras: HttpExtras = {},
): Promise<HttpServer> {
  const settings = config.http!;
  const token = settings.token;
  const answered = answeredHosts(settings.host, settings.allowedHosts);
  const throttle = new SignInThrottle();
  const server = http.createServer({ connectionsCheckingInterval: CONNECTIONS_CHECK_MS }, (request, response) => {
    void handle(request, response).catch((error: unknown) => {
      onError(`http ${request.method} ${request.url}: ${errorMessage(error)}`);
      if (!response.headersSent) send(response, 500, { error: 'internal error' });
      else response.destroy();
    });
  });
  server.on('clientError', (_error, socket) => socket.destroy());
  // Slow or idle clients must not hold connections (each a file descriptor the loads need).
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.maxConnections = MAX_CONNECTIONS;

  /** The bearer token in the Authorization header (every request, and the only way for an action). */
  const bearer = (request: http.IncomingMessage) => token !== null && sameSecret(request.headers.authorization ?? '', `Bearer ${token}`);
  /** Or, for pages a browser loads, the cookie /login sets. */
  const cookie = (request: http.IncomingMessage) =>
    token !== null && (request.headers.cookie ?? '').split(/;\s*/).some((c) => sameSecret(c, `${COOKIE}=${encodeURIComponent(token)}`));

  /** A wrong token from this address (bearer or cookie) counts towards its throttle; the right one clears it. */
  const signIn = (request: http.IncomingMessage): 'blocked' | 'ok' | 'wrong' | 'none' => {
    const address = request.socket.remoteAddress ?? '';
    const given = request.headers.authorization !== undefined || (request.headers.cookie ?? '').includes(`${COOKIE}=`);
    if (token === null || !given) return 'none';
    if (throttle.waitMs(address) > 0) return 'blocked';
    if (bearer(request) || cookie(request)) {
      throttle.succeed(address);
      return 'ok';
    }
    throttle.fail(address);
    return 'wrong';
  };
  const tooMany = (request: http.IncomingMessage, response: http.ServerResponse) => {
    const seconds = Math.ceil(throttle.waitMs(request.socket.remoteAddress ?? '') / 1000);
    response.setHeader('Retry-After', String(seconds));
    send(response, 429, { error: `too many wrong tokens from this address: try again in ${seconds} s` });
  };

  async function handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const method = request.method ?? 'GET';
    const url = new URL(request.url ?? '/', 'http://loadbay');
    const route = url.pathname;
    if (!hostAllowed(answered, request.headers.host)) {
      return send(response, 421, { error: `this listener does not answer to the host ${JSON.stringify(request.headers.host)}: use its address, or add the name to http.allowed_hosts` });
    }
    if (route === '/login') return login(request, response);
    if (signIn(request) === 'blocked') return tooMany(request, response);
    if (token !== null && !bearer(request) && !(method === 'GET' && cookie(request))) {
      if (method === 'GET' && request.headers.accept?.includes('text/html')) {
        response.writeHead(303, { Location: '/login', 'Cache-Control': 'no-store' });
        return void response.end();
      }
      response.setHeader('WWW-Authenticate', 'Bearer');
      return send(response, 401, { error: 'a bearer token is required' });
    }
    if (route === '/hooks/s3' && extras.hooks) return extras.hooks(request, response);
    if (method !== 'GET' && method !== 'HEAD' && method !== 'POST') {
      response.setHeader('Allow', 'GET, HEAD, POST');
      return send(response, 405, { error: 'method not allowed' });
    }
    if (method === 'GET' || method === 'HEAD') {
      switch (route) {
        case '/metrics': {
          const text = await registry.metrics();
          response.writeHead(200, { 'Content-Type': registry.contentType, 'Cache-Control': 'no-store' });
          return void response.end(text);
        }
        case '/livez':
          return probe(response, health.liveness());
        case '/readyz':
          return probe(response, await health.readiness());
        case '/api/status':
          return send(response, 200, { ready: health.ready, checks: health.checks, ...(await readStatus(config, pool)), ...extras.status?.() });
      }
    }
    const reply = await web.route(method === 'HEAD' ? 'GET' : method, url, bearer(request), request);
    if (reply) return sendReply(response, reply);
    if (method === 'POST') {
      response.setHeader('Allow', 'GET, HEAD');
      return send(response, 405, { error: 'method not allowed' });
    }
    return send(response, 404, { error: 'not found', routes: ['/', '/metrics', '/livez', '/readyz', '/api/status'] });
  }

  /** GET: a form for the token; POST: the token, checked, as an HttpOnly cookie for the pages. */
  async function login(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    if (token === null) {
      response.writeHead(303, { Location: '/', 'Cache-Control': 'no-store' });
      return void response.end();
    }
    if (request.method === 'POST') {
      const address = request.socket.remoteAddress ?? '';
      const wait = throttle.waitMs(address);
      if (wait > 0) {
        response.setHeader('Retry-After', String(Math.ceil(wait / 1000)));
        return sendReply(response, { status: 429, body: loginPage(`Too many wrong tokens: try again in ${Math.ceil(wait / 1000)} s.`), headers: { 'Content-Type': 'text/html; charset=utf-8' } });
      }
      const body = await readAtMost(request as AsyncIterable<Buffer>, 4096);
      if (body === null) return send(response, 413, { error: 'too long' });
      const given = new URLSearchParams(body.toString('utf8')).get('token') ?? '';
      if (!sameSecret(given, token)) {
        throttle.fail(address);
        return sendReply(response, { status: 401, body: loginPage('That token is not right.'), headers: { 'Content-Type': 'text/html; charset=utf-8' } });
      }
      throttle.succeed(address);
      response.writeHead(303, {
        Location: '/',
        'Set-Cookie': `${COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`,
        'Cache-Control': 'no-store',
      });
      return void response.end();
    }
    return sendReply(response, { status: 200, body: loginPage(''), headers: { 'Content-Type': 'text/html; charset=utf-8' } });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new Error(
          error.code === 'EADDRINUSE'
            ? `http: ${settings.host}:${settings.port} is in use (set http.port, 0 for any free port, or http: false)`
            : `http: cannot listen on ${settings.host}:${settings.port}: ${error.message}`,
        ),
      ),
    );
    server.listen(settings.port, settings.host, () => resolve());
  });
  server.on('error', (error) => onError(`http: ${errorMessage(error)}`));
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const COOKIE = 'loadbay_token';

/**
 * Connections at once: the console, a scraper and the probes need a handful. Every connection holds
 * a file descriptor, and a few hundred slow clients left the loads without any (EMFILE); beyond the
 * cap a connection is closed at once, loading goes on.
 */
export const MAX_CONNECTIONS = 64;
/** A client on a LAN sends its headers in well under a second; a slowloris drips them for minutes. */
export const HEADERS_TIMEOUT_MS = 10_000;
/** The whole request (the login form's body is the only one read). */
const REQUEST_TIMEOUT_MS = 30_000;
/** How often the two timeouts above are checked (Node's default, 30 s, would let them run that much longer). */
const CONNECTIONS_CHECK_MS = 1000;

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function loginPage(message: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>loadbay: sign in</title><link rel="stylesheet" href="/assets/style.css"></head>
<body><main class="login"><h1>loadbay</h1><form method="post" action="/login"><label>Token <input type="password" name="token" autocomplete="current-password" required></label>
<button type="submit">Sign in</button></form><p class="error">${message}</p></main></body></html>`;
}

function probe(response: http.ServerResponse, checks: Check[]): void {
  const ok = checks.every((c) => c.ok);
  send(response, ok ? 200 : 503, { status: ok ? 'ok' : 'failing', checks });
}

function send(response: http.ServerResponse, status: number, body: unknown): void {
  sendReply(response, { status, json: body });
}
