/**
 * The console's quarantine routes: the list (filter by dataset and state, search by name or
 * reason), one file (its report from the ledger, its offending lines, what may be fixed here),
 * downloads, and the two actions — retry as it is, or fix in the page — both POSTs with the token.
 */
import type http from 'node:http';
import path from 'node:path';
import { Ajv } from 'ajv';
import type pg from 'pg';
import { offendingLines, retryOne } from '../commands/failed.js';
import type { Config } from '../config/types.js';
import { AlreadyResubmitted, type QuarantineState } from '../db/quarantine.js';
import type { Logger } from '../log.js';
import { ledgerQuarantine, ledgerQuarantined, type QuarantinedFile } from '../quarantine/quarantined.js';
import { UNMATCHED } from '../outcome/settle.js';
import { isObjectWhere, readWhere, statWhere, type Places } from '../source/places.js';
import { applyFix, FixRefused, LINE_MAX_BYTES, DOCUMENT_MAX_BYTES, planFix, type FixRequest } from './fix.js';
import type { LiveEvents } from './live.js';
import { attachment, BodyError, download, json, notFound, readJsonBody, type Reply } from './reply.js';

export interface QuarantineContext {
  config: () => Config;
  pool: pg.Pool;
  log: Logger;
  live: LiveEvents;
  /** Where the quarantine and the inputs are (buckets included); default: local folders. */
  places?: Places;
}

const fixRequestSchema = {
  oneOf: [
    {
      type: 'object',
      required: ['edits'],
      additionalProperties: false,
      properties: {
        edits: {
          type: 'array',
          minItems: 1,
          maxItems: 100,
          items: {
            type: 'object',
            required: ['line', 'before', 'after'],
            additionalProperties: false,
            properties: { line: { type: 'integer', minimum: 1 }, before: { type: 'string', maxLength: LINE_MAX_BYTES }, after: { type: 'string', maxLength: LINE_MAX_BYTES } },
          },
        },
      },
    },
    { type: 'object', required: ['document'], additionalProperties: false, properties: { document: { type: 'string', maxLength: DOCUMENT_MAX_BYTES } } },
  ],
};
const validateFixRequest = new Ajv({ strict: false }).compile<FixRequest>(fixRequestSchema);

const STATES: QuarantineState[] = ['open', 'resubmitted', 'all'];

function summary(f: QuarantinedFile) {
  return {
    id: f.id,
    file: f.report.file,
    path: f.path,
    dataset: f.report.dataset,
    stage: f.report.stage,
    reason: f.report.reason,
    failed_at: f.report.failed_at,
    problem_count: f.report.problem_count,
    present: f.present,
    resubmission: f.resubmission ? { ...f.resubmission, at: f.resubmission.at.toISOString() } : null,
    resubmission_of: f.resubmissionOf,
  };
}

export class QuarantineRoutes {
  constructor(private readonly ctx: QuarantineContext) {}

  async list(query: URLSearchParams): Promise<Reply> {
    const config = this.ctx.config();
    const state = (STATES as string[]).includes(query.get('state') ?? '') ? (query.get('state') as QuarantineState) : 'open';
    const dataset = query.get('dataset') || undefined;
    const search = (query.get('q') ?? '').slice(0, 200) || undefined;
    const found = await ledgerQuarantine(config, this.ctx.pool, { state, dataset, search, limit: 500 }, this.ctx.places);
    return json(200, {
      state,
      dataset: dataset ?? null,
      q: search ?? null,
      datasets: [...config.datasets.map((d) => d.name), UNMATCHED],
      files: found.files.map(summary),
      skipped: found.skipped.length,
    });
  }

  /** `/api/quarantine/<id>[/<action>]`. */
  async route(method: string, id: string, action: string | undefined, actionsAllowed: boolean, request: http.IncomingMessage): Promise<Reply> {
    const isAction = action === 'retry' || action === 'fix';
    if (isAction && method !== 'POST') return json(405, { error: `${action} is a POST` }, { Allow: 'POST' });
    if (!isAction && method !== 'GET') return json(405, { error: 'method not allowed' }, { Allow: 'GET' });
    if (isAction && !actionsAllowed) return json(403, { error: actionsHelp(this.ctx.config()) });
    const config = this.ctx.config();
    const file = await ledgerQuarantined(config, this.ctx.pool, id, this.ctx.places);
    if (!file) return notFound(`no quarantined file with id ${id}`);
    switch (action) {
      case 'retry':
        return this.retry(file);
      case 'fix':
        return this.fix(file, request);
      case 'report':
        return {
          status: 200,
          body: JSON.stringify({ ...file.report, file_id: file.id }, null, 2) + '\n',
          headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Disposition': attachment(`${path.basename(file.path)}.error.json`) },
        };
      case 'file':
        if (!file.present) return notFound('the file is no longer in output_failed/');
        return isObjectWhere(file.file) ? downloadObject(file, path.basename(file.path)) : download(file.file, path.basename(file.path));
      case undefined:
        return json(200, {
          ...summary(file),
          report: { ...file.report, file_id: file.id },
          offending: file.present ? await offendingLines(file) : [],
          fix: await planFix(config, file),
        });
      default:
        return notFound();
    }
  }

  private async retry(file: QuarantinedFile): Promise<Reply> {
    if (file.resubmission) return json(409, { error: `it was ${file.resubmission.kind === 'fix' ? 'fixed' : 'retried'} already` });
    if (!file.present) return json(409, { error: 'the file is no longer in output_failed/' });
    try {
      const input = await retryOne(this.ctx.config(), this.ctx.log, file, this.ctx.pool);
      this.published(file, input);
      return json(200, { retried: true, input });
    } catch (error) {
      if (error instanceof AlreadyResubmitted) return json(409, { error: error.message });
      throw error;
    }
  }

  private async fix(file: QuarantinedFile, request: http.IncomingMessage): Promise<Reply> {
    let body: unknown;
    try {
      body = await readJsonBody(request, 2 * DOCUMENT_MAX_BYTES + 64 * 1024);
    } catch (error) {
      if (error instanceof BodyError) return json(error.status, { error: error.message });
      throw error;
    }
    if (!validateFixRequest(body)) return json(400, { error: 'send { "edits": [{ "line", "before", "after" }] } or { "document" }' });
    try {
      const input = await applyFix(this.ctx.config(), this.ctx.pool, file, body);
      this.ctx.log.info(`console: fixed ${file.path} (file ${file.id}) → input/${input}`, { dataset: file.report.dataset, file_id: file.id });
      this.published(file, input);
      return json(200, { fixed: true, input });
    } catch (error) {
      if (error instanceof FixRefused) return json(error.status, { error: error.message });
      if (error instanceof AlreadyResubmitted) return json(409, { error: error.message });
      throw error;
    }
  }

  private published(file: QuarantinedFile, input: string): void {
    this.ctx.live.publish({ event: 'resubmitted', at: new Date().toISOString(), file: input, file_id: file.id, dataset: file.report.dataset });
  }
}

/** A quarantined object as an attachment, streamed from the bucket (one version of it, never half of two). */
async function downloadObject(file: QuarantinedFile, name: string): Promise<Reply> {
  const seen = await statWhere(file.places, file.file);
  const stream = seen ? await readWhere(file.places, file.file) : null;
  if (!seen || !stream) return notFound('the file is no longer in output_failed/');
  return { status: 200, stream, headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Disposition': attachment(name), 'Content-Length': String(seen.size) } };
}

/** What a page says when actions are off, and the 403 of an action without the token. */
export function actionsHelp(config: Config): string {
  return config.http?.token
    ? 'Actions need the token: send it as a bearer token (the page asks for it)'
    : 'Read-only: to retry or fix files here, set http.token (16 characters or more) in loadbay.yaml, or LOADBAY_HTTP_TOKEN, and restart loadbay; the page then asks for it. From a shell, `loadbay failed retry <file>` works without it';
}
