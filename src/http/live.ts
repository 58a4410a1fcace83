/**
 * The console's live updates: the daemon's events as server-sent events (`GET /api/events`), so
 * the pages change as files arrive instead of polling. Bounded: at most `maxClients` streams, a
 * comment every `heartbeatMs` (proxies and the browser see the stream alive, a dead peer is found),
 * and a client that does not read — its unsent bytes past `maxBufferedBytes` — is dropped (its
 * browser reconnects and reloads what it shows) instead of buffering without end.
 */
import type http from 'node:http';
import type { LoadbayEventName, LoadbayEvents } from '../events.js';
import type { Reply } from './reply.js';

export interface LiveOptions {
  maxClients: number;
  heartbeatMs: number;
  maxBufferedBytes: number;
  /** What the browser waits before it reconnects. */
  retryMs: number;
}

export const DEFAULT_LIVE: LiveOptions = { maxClients: 32, heartbeatMs: 15_000, maxBufferedBytes: 1024 * 1024, retryMs: 2000 };

/** An event as the pages get it: what changed, and where; reasons cut short. */
export interface LiveEvent {
  event: LoadbayEventName | 'profile' | 'resubmitted';
  at: string;
  file: string | null;
  /** The input the file is in, when it is not the first local folder (its s3:// prefix, say). */
  input?: string;
  file_id: string | null;
  dataset: string | null;
  rows?: number;
  stage?: string;
  reason?: string;
}

/** What the console shows of an event, live and in its recent list: the file, its dataset, rows, stage, reason. */
export function eventSummary(event: LiveEvent['event'], payload: unknown): LiveEvent {
  const fields = payload as Record<string, unknown>; // every event's payload: read what it has
  return {
    event,
    at: new Date().toISOString(),
    file: typeof fields['file'] === 'string' ? fields['file'] : null,
    ...(typeof fields['input'] === 'string' ? { input: fields['input'] } : {}),
    file_id: typeof fields['file_id'] === 'string' ? fields['file_id'] : null,
    dataset: typeof fields['dataset'] === 'string' ? fields['dataset'] : null,
    ...(typeof fields['rows'] === 'number' ? { rows: fields['rows'] } : {}),
    ...(typeof fields['stage'] === 'string' ? { stage: fields['stage'] } : {}),
    ...(typeof fields['reason'] === 'string' ? { reason: fields['reason'].slice(0, 300) } : {}),
  };
}

export class LiveEvents {
  private readonly clients = new Set<http.ServerResponse>();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly off: () => void;
  private sequence = 0;

  constructor(
    events: LoadbayEvents,
    private readonly options: LiveOptions = DEFAULT_LIVE,
  ) {
    this.off = events.onAny((event, payload) => {
      this.publish(eventSummary(event, payload));
    });
    this.heartbeat = setInterval(() => this.write(': heartbeat\n\n'), options.heartbeatMs);
    this.heartbeat.unref();
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** The reply for `GET /api/events`: the stream, or 503 when there are as many as allowed. */
  stream(request: http.IncomingMessage): Reply {
    if (this.clients.size >= this.options.maxClients) {
      return { status: 503, json: { error: `at most ${this.options.maxClients} live streams at once; the page polls instead` }, headers: { 'Retry-After': '30' } };
    }
    return {
      status: 200,
      attach: (response) => {
        response.writeHead(200, {
          'Content-Type': 'text/event-stream; charset=utf-8',
          'Cache-Control': 'no-store',
          'X-Content-Type-Options': 'nosniff',
          Connection: 'keep-alive',
          'X-Accel-Buffering': 'no',
        });
        response.write(`retry: ${this.options.retryMs}\n: connected\n\n`);
        this.clients.add(response);
        const drop = () => this.clients.delete(response);
        request.on('close', drop);
        response.on('close', drop);
        response.on('error', drop);
      },
    };
  }

  publish(event: LiveEvent): void {
    this.sequence++;
    this.write(`id: ${this.sequence}\nevent: ${event.event}\ndata: ${JSON.stringify(event)}\n\n`);
  }

  private write(text: string): void {
    for (const client of this.clients) {
      if (client.writableLength > this.options.maxBufferedBytes) {
        this.clients.delete(client);
        client.destroy();
        continue;
      }
      client.write(text);
    }
  }

  close(): void {
    clearInterval(this.heartbeat);
    this.off();
    for (const client of this.clients) client.end();
    this.clients.clear();
  }
}
