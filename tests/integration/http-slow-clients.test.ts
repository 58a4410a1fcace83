/**
 * Slow HTTP clients against a running daemon (slowloris): a few hundred connections that drip their
 * headers. Those over the cap are closed at once, the others once their headers are overdue; files
 * load all the while, and the listener serves a normal client afterwards.
 */
import net from 'node:net';
import { HEADERS_TIMEOUT_MS, MAX_CONNECTIONS } from '../../src/http/server.js';
import { createTestEnv, waitFor, type TestEnv } from '../helpers/env.js';

const DATASET = { 'rows.yaml': 'name: rows\nmatch: "*.csv"\nformat: csv\ntable: slow.rows\nschema:\n  type: object\n  properties:\n    id: { type: integer }\n' };

let env: TestEnv | null = null;
const sockets: net.Socket[] = [];
let drip: NodeJS.Timeout | undefined;
afterEach(async () => {
  clearInterval(drip);
  for (const socket of sockets.splice(0)) socket.destroy();
  await env?.cleanup();
  env = null;
});

it('a few hundred clients dripping their headers: capped, timed out, and loading goes on', async () => {
  env = await createTestEnv({ datasets: DATASET });
  const daemon = await env.start();
  const port = Number(new URL(daemon.httpUrl!).port);
  const N = MAX_CONNECTIONS + 200;
  let closed = 0;
  for (let i = 0; i < N; i++) {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.on('close', () => closed++);
    socket.write('GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    sockets.push(socket);
  }
  // One more header line a second, never the blank line that ends them.
  drip = setInterval(() => {
    for (const socket of sockets) if (!socket.destroyed) socket.write(`X-Slow-${Math.random().toString(36).slice(2)}: 1\r\n`);
  }, 1000);
  await waitFor(() => closed >= N - MAX_CONNECTIONS, { message: `the ${N - MAX_CONNECTIONS} connections over the cap to be closed`, timeoutMs: 5000 });
  await env.drop('during.csv', 'id\n1\n2\n');
  expect(await env.outcome('during.csv')).toMatchObject({ event: 'loaded', rows: 2 });
  await waitFor(() => closed === N, { message: 'the server to close the slow connections', timeoutMs: HEADERS_TIMEOUT_MS + 20_000 });
  const response = await fetch(`${daemon.httpUrl}/livez`);
  expect(response.status).toBe(200);
});
