/**
 * The web console, served by the HTTP listener: an overview for ops, the quarantine for analysts
 * (report, offending lines, retry, fix in the page, downloads) and the datasets (loads over time,
 * column profiles, model views as charts, the latest rows), kept current by server-sent events.
 * The pages are static files (`console/`, no build step); they fetch JSON from the routes below and
 * put every value from a file into the page as text (textContent), never as markup. Files are
 * addressed by their ledger id, never by a path from the request. Actions are POSTs that need the
 * bearer token, also on loopback; without a configured token the console is read-only.
 *
 * Reads of datasets' tables (counts, rows, profiles, views) go through a small pool of its own:
 * read-only sessions with statement and lock timeouts, so a page can neither change a table nor
 * make a load wait long.
 */
import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import type http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Config } from '../config/types.js';
import { loadHistory, loadsByDataset, loadsPerMinute, recentLoads, tablePreview } from '../db/console.js';
import { qualifiedTable } from '../write/postgres.js';
import type { LoadbayEvents } from '../events.js';
import { statNow } from '../lib/fs-now.js';
import type { Logger } from '../log.js';
import type { Places } from '../source/places.js';
import type { Health } from './health.js';
import { eventSummary, LiveEvents, type LiveEvent } from './live.js';
import { Profiles } from './profile.js';
import { actionsHelp, QuarantineRoutes } from './quarantine.js';
import { download, json, notFound, type Reply } from './reply.js';
import { runView } from './views.js';

export { sendReply, type Reply } from './reply.js';

const CONSOLE_DIR = fileURLToPath(new URL('../../console/', import.meta.url));
const UPLOT_DIR = path.dirname(createRequire(import.meta.url).resolve('uplot'));
const PAGES = /^\/(?:quarantine(?:\/\d+)?|datasets(?:\/[a-z0-9_-]+)?)?$/;
const ASSETS: Record<string, { file: string; type: string }> = {
  '/assets/app.js': { file: path.join(CONSOLE_DIR, 'app.js'), type: 'text/javascript; charset=utf-8' },
  '/assets/charts.js': { file: path.join(CONSOLE_DIR, 'charts.js'), type: 'text/javascript; charset=utf-8' },
  '/assets/dom.js': { file: path.join(CONSOLE_DIR, 'dom.js'), type: 'text/javascript; charset=utf-8' },
  '/assets/dataset.js': { file: path.join(CONSOLE_DIR, 'dataset.js'), type: 'text/javascript; charset=utf-8' },
  '/assets/quarantine.js': { file: path.join(CONSOLE_DIR, 'quarantine.js'), type: 'text/javascript; charset=utf-8' },
  '/assets/style.css': { file: path.join(CONSOLE_DIR, 'style.css'), type: 'text/css; charset=utf-8' },
  '/assets/uplot.js': { file: path.join(UPLOT_DIR, 'uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  '/assets/uplot.css': { file: path.join(UPLOT_DIR, 'uPlot.min.css'), type: 'text/css; charset=utf-8' },
};
const RECENT = 30;
/** The console's reads of tables: no statement longer than this, no lock waited for longer. */
const STATEMENT_TIMEOUT_MS = 5000;
const LOCK_TIMEOUT_MS = 200;

/** What waits in one input (a folder, or a bucket prefix), from the work queue. */
export interface SourceBacklog {
  source: string;
  files: number;
  bytes: number;
  oldestMtimeMs: number | null;
  oldestFile: string | null;
  inProgress: number;
}

/** A backlog as /api/overview and /api/status show it. */
export function sourceJson(s: SourceBacklog) {
  return {
    source: s.source,
    waiting: s.files,
    bytes: s.bytes,
    oldest_waiting_since: s.oldestMtimeMs ? new Date(s.oldestMtimeMs).toISOString() : null,
    oldest_waiting_file: s.oldestFile,
    in_hand: s.inProgress,
  };
}

export interface ConsoleContext {
  config: () => Config;
  pool: pg.Pool;
  log: Logger;
  events: LoadbayEvents;
  health: Health;
  backlog: () => { files: number; bytes: number; oldestMtimeMs: number | null; oldestFile: string | null; inProgress: number };
  /** Each input's backlog (a folder or an s3:// prefix); one entry per input. */
  sources?: () => SourceBacklog[];
  /** Where the quarantine and the inputs are (buckets included). */
  places?: Places;
}

export class WebConsole {
  private readonly recent: LiveEvent[] = [];
  private readonly reader: pg.Pool;
  readonly live: LiveEvents;
  private readonly profiles: Profiles;
  private readonly quarantine: QuarantineRoutes;
  private readonly offs: Array<() => void> = [];

  constructor(private readonly ctx: ConsoleContext) {
    this.reader = new pg.Pool({
      ...ctx.pool.options,
      max: 2,
      application_name: 'loadbay-console',
      statement_timeout: STATEMENT_TIMEOUT_MS,
      lock_timeout: LOCK_TIMEOUT_MS,
      options: '-c default_transaction_read_only=on',
      idleTimeoutMillis: 10_000,
    });
    this.reader.on('error', () => undefined); // an idle connection lost: the next read opens another
    this.live = new LiveEvents(ctx.events);
    this.profiles = new Profiles(this.reader, ctx.config, ctx.events, this.live);
    this.quarantine = new QuarantineRoutes({ config: ctx.config, pool: ctx.pool, log: ctx.log, live: this.live, ...(ctx.places ? { places: ctx.places } : {}) });
    for (const event of ['loaded', 'failed', 'skipped', 'held', 'vanished', 'retried', 'ignored'] as const) {
      this.offs.push(
        ctx.events.on(event, (payload) => {
          this.recent.unshift(eventSummary(event, payload));
          this.recent.length = Math.min(this.recent.length, RECENT);
        }),
      );
    }
  }

  /** A console route's reply, or null when the route is not the console's. */
  async route(method: string, url: URL, actionsAllowed: boolean, request: http.IncomingMessage): Promise<Reply | null> {
    const route = url.pathname;
    if (method === 'GET' && PAGES.test(route)) {
      return { status: 200, body: await readFile(path.join(CONSOLE_DIR, 'index.html')), headers: { 'Content-Type': 'text/html; charset=utf-8' } };
    }
    const asset = ASSETS[route];
    if (method === 'GET' && asset) return { status: 200, body: await readFile(asset.file), headers: { 'Content-Type': asset.type } };
    if (request.method === 'GET' && route === '/api/events') return this.live.stream(request);
    if (method === 'GET' && route === '/api/overview') return json(200, await this.overview());
    if (method === 'GET' && route === '/api/quarantine') return this.quarantine.list(url.searchParams);
    if (method === 'GET' && route === '/api/datasets') return json(200, await this.datasets());
    const dataset = /^\/api\/datasets\/([a-z0-9_-]+)(?:\/(profile|views\/(\d{1,3})|exports\/(\d{1,3})))?$/.exec(route);
    if (method === 'GET' && dataset) {
      const [, name, part, view, exported] = dataset;
      if (part === undefined) return this.dataset(name!);
      if (part === 'profile') return this.profile(name!);
      if (view !== undefined) return this.view(name!, Number(view));
      return this.exportFile(name!, Number(exported));
    }
    const quarantined = /^\/api\/quarantine\/(\d{1,18})(?:\/(file|report|retry|fix))?$/.exec(route);
    if (quarantined) return this.quarantine.route(method, quarantined[1]!, quarantined[2], actionsAllowed, request);
    return null;
  }

  private actions() {
    const config = this.ctx.config();
    return { enabled: Boolean(config.http?.token), help: actionsHelp(config) };
  }

  private async overview() {
    const { health } = this.ctx;
    const backlog = this.ctx.backlog();
    const rows = await loadsPerMinute(this.ctx.pool).catch(() => []);
    return {
      ready: health.ready,
      checks: health.checks,
      actions: this.actions(),
      backlog: {
        files: backlog.files,
        bytes: backlog.bytes,
        oldest_waiting_since: backlog.oldestMtimeMs ? new Date(backlog.oldestMtimeMs).toISOString() : null,
        oldest_waiting_file: backlog.oldestFile,
      },
      in_progress: backlog.inProgress,
      sources: (this.ctx.sources?.() ?? []).map(sourceJson),
      throughput: rows.map((r) => ({ minute: r.minute.toISOString(), files: r.files, rows: r.rows })),
      recent: this.recent,
    };
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
      views: d.views.length,
      loads: byName.get(d.name)?.loads ?? 0,
      rows_loaded: byName.get(d.name)?.rows ?? 0,
      last_load: byName.get(d.name)?.last?.toISOString() ?? null,
    }));
  }

  /** The exports a dataset's loads write (its own `export:`, or another's triggered by it). */
  private exportsOf(name: string) {
    const config = this.ctx.config();
    const own = config.datasets.find((d) => d.name === name)?.file;
    return config.exports.filter((e) => e.after.includes(name) || e.declaredIn === own);
  }

  private async dataset(name: string): Promise<Reply> {
    const dataset = this.ctx.config().datasets.find((d) => d.name === name);
    if (!dataset) return notFound(`no dataset ${name}`);
    const table = qualifiedTable(dataset);
    const [loads, history, preview] = await Promise.all([
      recentLoads(this.ctx.pool, name),
      loadHistory(this.ctx.pool, name),
      tablePreview(this.reader, table).catch(() => null),
    ]);
    return json(200, {
      name,
      table: `${dataset.table.schema}.${dataset.table.name}`,
      row_count: preview?.count ?? null,
      row_count_estimated: preview?.estimated ?? false,
      loads: loads.map((l) => ({ id: l.id, file: l.file, rows: l.rows, at: l.at.toISOString(), seconds: Math.round(l.seconds * 1000) / 1000 })),
      load_history: history,
      views: dataset.views.map((v, i) => ({ index: i, title: v.title, chart: v.chart })),
      exports: this.exportsOf(name).map((e, i) => {
        const stat = statNow(e.to);
        return { index: i, file: path.basename(e.to), path: path.relative(this.ctx.config().root, e.to), bytes: stat?.size ?? null, updated_at: stat ? stat.mtime.toISOString() : null };
      }),
      preview: preview ? { latest: preview.latest, columns: preview.columns, rows: preview.rows } : { latest: true, columns: [], rows: [] },
    });
  }

  private async profile(name: string): Promise<Reply> {
    const reply = await this.profiles.get(name);
    return reply ? json(200, reply) : notFound(`no dataset ${name}`);
  }

  private async view(name: string, index: number): Promise<Reply> {
    const view = this.ctx.config().datasets.find((d) => d.name === name)?.views[index];
    if (!view) return notFound(`no view ${index} in dataset ${name}`);
    return json(200, await runView(this.reader, view));
  }

  private async exportFile(name: string, index: number): Promise<Reply> {
    const spec = this.exportsOf(name)[index];
    if (!spec) return notFound(`no export ${index} for dataset ${name}`);
    return download(spec.to, path.basename(spec.to), 'text/csv; charset=utf-8');
  }

  async close(): Promise<void> {
    for (const off of this.offs) off();
    this.live.close();
    await this.profiles.close();
    await this.reader.end().catch(() => undefined);
  }
}
