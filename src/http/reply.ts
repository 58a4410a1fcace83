/**
 * What a console route answers (JSON, a page, a file to save, or an event stream that takes the
 * response over) and how the listener sends it; a request body read with a bound.
 */
import { readAtMost } from '../lib/bytes.js';
import { createReadStream } from 'node:fs';
import { lstat } from 'node:fs/promises';
import type http from 'node:http';

export interface Reply {
  status: number;
  json?: unknown;
  body?: string | Buffer;
  stream?: NodeJS.ReadableStream;
  headers?: Record<string, string>;
  /** Takes the response over (server-sent events). */
  attach?: (response: http.ServerResponse) => void;
}

export const json = (status: number, body: unknown, headers?: Record<string, string>): Reply => ({ status, json: body, ...(headers ? { headers } : {}) });

export const notFound = (what = 'not found'): Reply => json(404, { error: what });

/** A file as an attachment with a text type: the browser saves it, never renders it. Links are not followed. */
export async function download(file: string, name: string, type = 'text/plain; charset=utf-8'): Promise<Reply> {
  const stat = await lstat(file).catch(() => null);
  if (!stat || !stat.isFile()) return notFound();
  return {
    status: 200,
    stream: createReadStream(file),
    headers: { 'Content-Type': type, 'Content-Disposition': attachment(name), 'Content-Length': String(stat.size) },
  };
}

export function attachment(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

export class BodyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A JSON request body of at most `maxBytes`. */
export async function readJsonBody(request: http.IncomingMessage, maxBytes: number): Promise<unknown> {
  if (!(request.headers['content-type'] ?? '').toLowerCase().startsWith('application/json')) throw new BodyError(415, 'send the body as application/json');
  const body = await readAtMost(request as AsyncIterable<Buffer>, maxBytes);
  if (body === null) throw new BodyError(413, `the body is larger than ${maxBytes} bytes`);
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new BodyError(400, 'the body is not JSON');
  }
}

const PAGE_POLICY = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/** Replies in the listener's way. */
export function sendReply(response: http.ServerResponse, reply: Reply): void {
  const headers = { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', ...reply.headers };
  if (reply.attach) {
    reply.attach(response);
  } else if (reply.json !== undefined) {
    response.writeHead(reply.status, { ...headers, 'Content-Type': 'application/json; charset=utf-8' });
    response.end(JSON.stringify(reply.json) + '\n');
  } else if (reply.stream) {
    response.writeHead(reply.status, headers);
    reply.stream.on('error', () => response.destroy());
    reply.stream.pipe(response);
  } else {
    response.writeHead(reply.status, { ...headers, 'Content-Security-Policy': PAGE_POLICY, 'X-Frame-Options': 'DENY' });
    response.end(reply.body);
  }
}
