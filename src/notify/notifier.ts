/**
 * Webhook notifications (`notify:` in loadbay.yaml). An event a webhook wants becomes a row of the
 * outbox `loadbay.notifications`, and one delivery loop per webhook posts the rows in order until
 * each is accepted: at least once (across restarts too), with an `Idempotency-Key` per event and
 * backoff while the receiver is down. Nothing here is awaited by loading: a dead receiver never slows
 * or blocks a file. Payloads hold no secret and no file content beyond the report's summary.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';
import type { Config, NotifyEvent } from '../config/types.js';
import { LEDGER_SCHEMA } from '../db/ledger.js';
import { errorMessage, redact } from '../errors.js';
import type { FileEventFields, LoadbayEvents } from '../events.js';
import { abortableSleep, backoffDelay } from '../lib/sleep.js';
import type { Logger } from '../log.js';
import { checkout } from '../db/database.js';
import { post, type NotificationPayload } from './post.js';

export type { NotificationPayload };

const MAX_SUMMARY_CHARS = 2000;
const IDLE_POLL_MS = 1000;

/** Where a webhook is, for a log line: scheme and host only (a Slack URL's path is its secret). */
export function webhookName(url: string, index: number): string {
  try {
    const parsed = new URL(url);
    return `webhook ${index + 1} (${parsed.protocol}//${parsed.host})`;
  } catch {
    return `webhook ${index + 1}`;
  }
}

export class Notifier {
  private readonly stopping = new AbortController();
  private readonly loops: Promise<void>[] = [];
  private readonly wake: Array<() => void> = [];
  private readonly heldSince = new Map<string, number>();
  private readonly heldTold = new Set<string>();
  private readonly unsubscribe: Array<() => void> = [];

  constructor(
    private readonly pool: pg.Pool,
    private readonly config: Config,
    private readonly events: LoadbayEvents,
    private readonly log: Logger,
    private readonly instanceId: string,
  ) {}

  start(): void {
    const { webhooks } = this.config.notify;
    if (webhooks.length === 0) return;
    const wanted = new Set(webhooks.flatMap((w) => w.events));
    for (const event of ['failed', 'stalled', 'loaded', 'export_failed', 'vanished'] as const) {
      if (wanted.has(event)) this.unsubscribe.push(this.events.on(event, (fields) => void this.record(event, fields)));
    }
    if (wanted.has('held')) this.unsubscribe.push(this.events.on('held', (fields) => this.onHeld(fields)));
    for (const event of ['loaded', 'failed', 'skipped', 'vanished'] as const) {
      this.unsubscribe.push(this.events.on(event, (fields) => this.settled(String(fields.file))));
    }
    webhooks.forEach((_, index) => {
      this.wake.push(() => undefined);
      this.loops.push(this.deliverLoop(index));
    });
  }

  async close(): Promise<void> {
    for (const off of this.unsubscribe) off();
    this.stopping.abort();
    for (const wake of this.wake) wake();
    await Promise.all(this.loops);
  }

  /** A file held for longer than `held_after_minutes` is told once (again only after it settled). */
  private onHeld(fields: FileEventFields): void {
    const file = String(fields.file);
    const since = this.heldSince.get(file) ?? Date.now();
    this.heldSince.set(file, since);
    if (this.heldTold.has(file) || Date.now() - since < this.config.notify.heldAfterMs) return;
    this.heldTold.add(file);
    void this.record('held', { ...fields, held_for_minutes: Math.round((Date.now() - since) / 6000) / 10 });
  }

  private settled(file: string): void {
    this.heldSince.delete(file);
    this.heldTold.delete(file);
  }

  /** Into the outbox, one row per webhook that wants the event. */
  private async record(event: NotifyEvent, fields: FileEventFields): Promise<void> {
    const payload = await this.payload(event, fields);
    const targets = this.config.notify.webhooks.map((w, i) => (w.events.includes(event) ? i : -1)).filter((i) => i >= 0);
    for (let attempt = 1; !this.stopping.signal.aborted; attempt++) {
      try {
        await this.pool.query(
          `INSERT INTO ${LEDGER_SCHEMA}.notifications (webhook, event, payload) SELECT unnest($1::int[]), $2, $3::jsonb`,
          [targets, event, JSON.stringify(payload)],
        );
        for (const index of targets) this.wake[index]?.();
        return;
      } catch (error) {
        // The database is away: keep the event and try again (it is not lost while loadbay runs).
        if (attempt === 1) this.log.warn(`notification of ${event} ${payload.file ?? ''} waits for the database: ${errorMessage(error)}`);
        await abortableSleep(backoffDelay(attempt, this.config.processing.retryInitialMs, this.config.processing.retryMaxMs), this.stopping.signal);
      }
    }
  }

  private async payload(event: NotifyEvent, fields: FileEventFields): Promise<NotificationPayload> {
    const payload: NotificationPayload = {
      id: randomUUID(),
      event,
      occurred_at: new Date().toISOString(),
      instance: this.instanceId,
      file: typeof fields.file === 'string' ? fields.file : null,
      file_id: fields.file_id ?? null,
      dataset: fields.dataset ?? null,
      reason: redact(String(fields.reason ?? (event === 'loaded' ? `${String(fields['rows'] ?? 0)} rows loaded` : event))),
    };
    if (typeof fields['stage'] === 'string') payload.stage = fields['stage'];
    if (typeof fields['problem_count'] === 'number') payload.problem_count = fields['problem_count'];
    if (typeof fields['held_for_minutes'] === 'number') payload.held_for_minutes = fields['held_for_minutes'];
    if (event === 'failed' && typeof fields['quarantined_as'] === 'string') {
      payload.quarantined_as = fields['quarantined_as'];
      // The report's summary, and nothing else of the file (no records, no rows).
      const report = await readFile(path.join(this.config.root, `${fields['quarantined_as']}.error.json`), 'utf8').catch(() => null);
      const summary = report ? (JSON.parse(report) as { summary?: unknown }).summary : undefined;
      if (typeof summary === 'string') payload.summary = summary.length > MAX_SUMMARY_CHARS ? `${summary.slice(0, MAX_SUMMARY_CHARS - 1)}…` : summary;
    }
    return payload;
  }

  /** Posts this webhook's outbox rows in order; a failing receiver is retried with backoff. */
  private async deliverLoop(index: number): Promise<void> {
    const webhook = this.config.notify.webhooks[index]!;
    const name = webhookName(webhook.url, index);
    let failures = 0;
    while (!this.stopping.signal.aborted) {
      let delivered = false;
      let delay = IDLE_POLL_MS;
      // checkout() adds its `error` listener for as long as the client is out, and takes it off again.
      const checkedOut = await checkout(this.pool).catch(() => null);
      if (checkedOut) {
        const { client } = checkedOut;
        let healthy = true;
        try {
          await client.query('BEGIN');
          const { rows } = await client.query<{ id: string; payload: NotificationPayload; attempts: number }>(
            `SELECT id, payload, attempts FROM ${LEDGER_SCHEMA}.notifications
              WHERE webhook = $1 AND delivered_at IS NULL AND next_at <= now()
              ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED`,
            [index],
          );
          const row = rows[0];
          if (row) {
            const outcome = await post(webhook.url, webhook.format, row.payload);
            if (outcome.ok || outcome.permanent) {
              await client.query(`UPDATE ${LEDGER_SCHEMA}.notifications SET delivered_at = now(), attempts = attempts + 1, last_error = $2 WHERE id = $1`, [
                row.id,
                outcome.ok ? null : outcome.error,
              ]);
              if (!outcome.ok) this.log.warn(`${name} refused the ${row.payload.event} notification for good: ${outcome.error}`);
              if (failures > 0) this.log.info(`${name} accepts notifications again`);
              failures = 0;
              delivered = true;
            } else {
              failures++;
              delay = backoffDelay(failures, this.config.processing.retryInitialMs, Math.max(this.config.processing.retryMaxMs, 1000));
              await client.query(
                `UPDATE ${LEDGER_SCHEMA}.notifications SET attempts = attempts + 1, last_error = $2, next_at = now() + $3 * interval '1 millisecond' WHERE id = $1`,
                [row.id, outcome.error, delay],
              );
              if (failures === 1 || failures % 10 === 0) this.log.warn(`${name}: ${outcome.error}; notification ${row.payload.event} retried (attempt ${row.attempts + 1})`);
            }
          }
          await client.query('COMMIT');
        } catch (error) {
          healthy = false;
          this.log.debug(`${name}: outbox unavailable: ${errorMessage(error)}`);
          delay = this.config.processing.retryMaxMs;
        } finally {
          checkedOut.done(!healthy);
        }
      }
      // A stop that came during the POST above must not wait out a retry delay (up to retry_max_ms).
      if (delivered || this.stopping.signal.aborted) continue;
      // Until the delay ends, or a new outbox row (or close()) wakes the loop.
      const wake = new AbortController();
      this.wake[index] = () => wake.abort();
      await abortableSleep(delay, wake.signal);
    }
  }
}
