/**
 * The web console, served by the HTTP listener: an overview for ops, the quarantine for analysts
 * (report, offending lines, retry, downloads) and the datasets (table, loads, a chart, the latest
 * rows). The pages are static files (`console/`, no build step); they fetch JSON from the routes
 * below and put every value from a file into the page as text (textContent), never as markup.
 * Files are addressed by their ledger id, never by a path from the request. Actions are POSTs that
 * need the bearer token, also on loopback; without a configured token the console is read-only.
 */
import { createReadStream } from 'node:fs';
import { createRequire } from 'node:module';
import { lstat, readFile } from 'node:fs/promises';
import type http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { listQuarantined, offendingLines, retryOne, type QuarantinedFile } from '../commands/failed.js';
import type { Config } from '../config/types.js';
import { quoteIdent } from '../db/database.js';
import { loadsByDataset, loadsPerMinute, recentLoads } from '../db/files.js';
import type { LoadbayEventName, LoadbayEvents } from '../events.js';
import type { Logger } from '../log.js';
import type { Health } from './health.js';

const CONSOLE_DIR = fileURLToPath(new URL('../../console/', import.meta.url));
const UPLOT_DIR = path.dirname(createRequire(import.meta.url).resolve('uplot'));
const PAGES = /^\/(?:quarantine(?:\/\d+)?|datasets(?:\/[a-z0-9_-]+)?)?$/;
const ASSETS: Record<string, { file: string; type: string }> = {
  '/assets/app.js': { file: path.join(CONSOLE_DIR, 'app.js'), type: 'text/javascript; charset=utf-8' },
  '/assets/style.css': { file: path.join(CONSOLE_DIR, 'style.css'), type: 'text/css; charset=utf-8' },
  '/assets/uplot.js': { file: path.join(UPLOT_DIR, 'uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  '/assets/uplot.css': { file: path.join(UPLOT_DIR, 'uPlot.min.css'), type: 'text/css; charset=utf-8' },
};
const RECENT = 30;

export interface ConsoleContext {
  config: () => Config;
  pool: pg.Pool;
  log: Logger;
  events: LoadbayEvents;
  health: Health;
  backlog: () => { files: number; bytes: number; oldestMtimeMs: number | null; oldestFile: string | null; inProgress: number };
}

export interface Reply {
  status: number;
  json?: unknown;
  body?: string | Buffer;
  stream?: NodeJS.ReadableStream;
  headers?: Record<string, string>;
}

export class WebConsole {
  private readonly recent: Array<{ event: LoadbayEventName; at: string; file: string | null; dataset: string | null; rows?: number; reason?: string; stage?: string }> = [];

  constructor(private readonly ctx: ConsoleContext) {
    for (const event of ['loaded', 'failed', 'skipped', 'held', 'vanished', 'ignored'] as const) {
      ctx.events.on(event, (fields) => {
        this.recent.unshift({
          event,
          at: new Date().toISOString(),
          file: typeof fields.file === 'string' ? fields.file : null,
          dataset: fields.dataset ?? null,
          ...(typeof fields['rows'] === 'number' ? { rows: fields['rows'] } : {}),
          ...(typeof fields.reason === 'string' ? { reason: fields.reason } : {}),
          ...(typeof fields['stage'] === 'string' ? { stage: fields['stage'] } : {}),
        });
        this.recent.length = Math.min(this.recent.length, RECENT);
      });
    }
  }

  /** A console route's reply, or null when the route is not the console's. */
  async route(method: string, route: string, actionsAllowed: boolean): Promise<Reply | null> {
    if (method === 'GET' && PAGES.test(route)) {
      return { status: 200, body: await readFile(path.join(CONSOLE_DIR, 'index.html')), headers: { 'Content-Type': 'text/html; charset=utf-8' } };
    }
    const asset = ASSETS[route];
    if (method === 'GET' && asset) return { status: 200, body: await readFile(asset.file), headers: { 'Content-Type': asset.type } };
    if (method === 'GET' && route === '/api/overview') return { status: 200, json: await this.overview() };
    if (method === 'GET' && route === '/api/quarantine') return { status: 200, json: await this.quarantine() };
    if (method === 'GET' && route === '/api/datasets') return { status: 200, json: await this.datasets() };
    const dataset = /^\/api\/datasets\/([a-z0-9_-]+)$/.exec(route);
    if (method === 'GET' && dataset) return this.dataset(dataset[1]!);
    const quarantined = /^\/api\/quarantine\/(\d+)(?:\/(file|report|retry))?$/.exec(route);
    if (!quarantined) return null;
    const [, id, action] = quarantined;
    if (action === 'retry') {
      if (method !== 'POST') return { status: 405, json: { error: 'retry is a POST' }, headers: { Allow: 'POST' } };
      if (!actionsAllowed) return { status: 403, json: { error: 'actions need the token: set http.token (or LOADBAY_HTTP_TOKEN) and send it as a bearer token' } };
    } else if (method !== 'GET') {
      return { status: 405, json: { error: 'method not allowed' }, headers: { Allow: 'GET' } };
    }
    const file = await this.findQuarantined(id!);
    if (!file) return { status: 404, json: { error: `no quarantined file with id ${id}` } };
    if (action === 'retry') return { status: 200, json: { retried: true, input: await retryOne(this.ctx.config(), this.ctx.log, file) } };
    if (action === 'report') return download(file.reportPath, `${path.basename(file.path)}.error.json`);
    if (action === 'file') return this.downloadFile(file);
    return { status: 200, json: { id, path: file.path, report: file.report, offending: await offendingLines(this.ctx.config(), file) } };
  }

  private async overview() {
    const { health } = this.ctx;
    const backlog = this.ctx.backlog();
    const rows = await loadsPerMinute(this.ctx.pool).catch(() => []);
    return {
      ready: health.ready,
      checks: health.checks,
      backlog: {
        files: backlog.files,
        bytes: backlog.bytes,
        oldest_waiting_since: backlog.oldestMtimeMs ? new Date(backlog.oldestMtimeMs).toISOString() : null,
        oldest_waiting_file: backlog.oldestFile ? path.relative(this.ctx.config().folders.input, backlog.oldestFile).split(path.sep).join('/') : null,
      },
      in_progress: backlog.inProgress,
      throughput: rows.map((r) => ({ minute: r.minute.toISOString(), files: r.files, rows: r.rows })),
      recent: this.recent,
    };
  }

  private async quarantine() {
    const files = await listQuarantined(this.ctx.config());
    return files
      .filter((f) => f.report.file_id !== null)
      .reverse()
      .map((f) => ({ id: f.report.file_id, file: f.report.file, dataset: f.report.dataset, stage: f.report.stage, reason: f.report.reason, failed_at: f.report.failed_at, problem_count: f.report.problem_count }));
  }

  private async findQuarantined(id: string): Promise<QuarantinedFile | null> {
    const files = await listQuarantined(this.ctx.config());
    return files.find((f) => f.report.file_id === id) ?? null;
  }

  private async downloadFile(file: QuarantinedFile): Promise<Reply> {
    const failed = this.ctx.config().folders.failed;
    const full = path.resolve(failed, file.path);
    if (!full.startsWith(failed + path.sep)) return { status: 404, json: { error: 'not found' } };
    return download(full, path.basename(file.path));
  }

  private async datasets() {
    const config = this.ctx.config();
    const byName = await loadsByDataset(this.ctx.pool).catch(() => new Map<string, { loads: number; rows: number; last: Date | null }>());
    return config.datasets.map((d) => ({
      name: d.name,
      table: `${d.table.schema}.${d.table.name}`,
      mode: d.table.mode,
      format: d.format,
      match: d.match,
      loads: byName.get(d.name)?.loads ?? 0,
      rows_loaded: byName.get(d.name)?.rows ?? 0,
      last_load: byName.get(d.name)?.last?.toISOString() ?? null,
    }));
  }

  private async dataset(name: string): Promise<Reply> {
    const dataset = this.ctx.config().datasets.find((d) => d.name === name);
    if (!dataset) return { status: 404, json: { error: `no dataset ${name}` } };
    const table = `${quoteIdent(dataset.table.schema)}.${quoteIdent(dataset.table.name)}`;
    const loads = await recentLoads(this.ctx.pool, name);
    const client = await this.ctx.pool.connect();
    let count: number | null = null;
    let preview: { columns: string[]; rows: unknown[][] } = { columns: [], rows: [] };
    try {
      await client.query('BEGIN READ ONLY');
      await client.query(`SET LOCAL statement_timeout = '3s'`);
      count = Number((await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`)).rows[0]?.n ?? 0);
      const latest = await client.query({ text: `SELECT * FROM ${table} ORDER BY _loaded_at DESC, _source_record DESC LIMIT 10`, rowMode: 'array' });
      preview = {
        columns: latest.fields.map((f) => f.name),
        rows: latest.rows.map((row: unknown[]) => row.map((v) => (v instanceof Date ? v.toISOString() : v !== null && typeof v === 'object' ? JSON.stringify(v) : v))),
      };
      await client.query('COMMIT');
    } catch {
      await client.query('ROLLBACK').catch(() => undefined);
    } finally {
      client.release();
    }
    return {
      status: 200,
      json: {
        name,
        table: `${dataset.table.schema}.${dataset.table.name}`,
        row_count: count,
        loads: loads.map((l) => ({ id: l.id, file: l.file, rows: l.rows, at: l.at.toISOString(), seconds: Math.round(l.seconds * 1000) / 1000 })),
        preview,
      },
    };
  }
}

/** A file as an attachment with a text type: the browser saves it, never renders it. */
async function download(file: string, name: string): Promise<Reply> {
  const stat = await lstat(file).catch(() => null);
  if (!stat || !stat.isFile()) return { status: 404, json: { error: 'not found' } };
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return {
    status: 200,
    stream: createReadStream(file),
    headers: {
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Disposition': `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`,
      'Content-Length': String(stat.size),
    },
  };
}

/** Replies in the listener's way. */
export function sendReply(response: http.ServerResponse, reply: Reply): void {
  const headers = { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', ...reply.headers };
  if (reply.json !== undefined) {
    response.writeHead(reply.status, { ...headers, 'Content-Type': 'application/json; charset=utf-8' });
    response.end(JSON.stringify(reply.json) + '\n');
  } else if (reply.stream) {
    response.writeHead(reply.status, headers);
    reply.stream.on('error', () => response.destroy());
    reply.stream.pipe(response);
  } else {
    response.writeHead(reply.status, {
      ...headers,
      'Content-Security-Policy': "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'",
    });
    response.end(reply.body);
  }
}
