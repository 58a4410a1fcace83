/**
 * The HTTP listener: `/metrics` (Prometheus), `/livez`, `/readyz`, `/api/status` (what `loadbay
 * status` shows, same code). Loopback by default; on any other address a bearer token is required
 * (config refuses to start without one), and when a token is set every request must carry it.
 * GET only; nothing from a request names a file or a path.
 */
import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type pg from 'pg';
import type { Registry } from 'prom-client';
import { readStatus } from '../commands/status.js';
import type { Config } from '../config/types.js';
import { errorMessage } from '../errors.js';
import type { Check, Health } from './health.js';

export interface HttpServer {
  /** e.g. http://127.0.0.1:9477 */
  url: string;
  close(): Promise<void>;
}

export async function startHttp(
  config: Config,
  pool: pg.Pool,
  registry: Registry,
  health: Health,
  onError: (message: string) => void,
): Promise<HttpServer> {
  const settings = config.http!;
  const expected = settings.token ? Buffer.from(`Bearer ${settings.token}`) : null;
  const server = http.createServer((request, response) => {
    void handle(request, response).catch((error: unknown) => {
      onError(`http ${request.method} ${request.url}: ${errorMessage(error)}`);
      if (!response.headersSent) send(response, 500, { error: 'internal error' });
      else response.destroy();
    });
  });
  server.on('clientError', (_error, socket) => socket.destroy());

  async function handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    if (expected) {
      const given = Buffer.from(request.headers.authorization ?? '');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        response.setHeader('WWW-Authenticate', 'Bearer');
        return send(response, 401, { error: 'a bearer token is required' });
      }
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD');
      return send(response, 405, { error: 'method not allowed' });
    }
    const route = new URL(request.url ?? '/', 'http://loadbay').pathname;
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
        return send(response, 200, { ready: health.ready, checks: health.checks, ...(await readStatus(config, pool)) });
      default:
        return send(response, 404, { error: 'not found', routes: ['/metrics', '/livez', '/readyz', '/api/status'] });
    }
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

function probe(response: http.ServerResponse, checks: Check[]): void {
  const ok = checks.every((c) => c.ok);
  send(response, ok ? 200 : 503, { status: ok ? 'ok' : 'failing', checks });
}

function send(response: http.ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
  response.end(JSON.stringify(body) + '\n');
}
