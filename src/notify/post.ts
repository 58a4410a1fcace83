/**
 * One webhook delivery: a JSON POST whose reply is read only as far as a status line needs. The
 * receiver is outside loadbay's control, so neither its reply's size nor where it points may cost
 * memory or carry the payload elsewhere.
 */
import { errorMessage } from '../errors.js';
import type { NotifyEvent } from '../config/types.js';

/** The whole exchange, reply included: a receiver that trickles its answer cannot hold a loop. */
const POST_TIMEOUT_MS = 10_000;
/** Of a reply's body at most this much is read (quoted in the reason when it is not 2xx); the rest is never received. */
export const MAX_REPLY_BYTES = 16 * 1024;
/** What of a refusing reply's body goes into the outbox row and the log line. */
const MAX_REASON_CHARS = 200;

export interface NotificationPayload {
  /** Also the Idempotency-Key header: the same for every attempt to deliver this event. */
  id: string;
  event: NotifyEvent;
  occurred_at: string;
  instance: string;
  file: string | null;
  file_id: string | null;
  dataset: string | null;
  stage?: string;
  reason: string;
  problem_count?: number;
  summary?: string;
  quarantined_as?: string;
  held_for_minutes?: number;
}

export interface PostOutcome {
  ok: boolean;
  /** A failure that another attempt will not cure (a 4xx other than 408/429, a redirect). */
  permanent?: boolean;
  error: string;
}

export async function post(url: string, format: 'json' | 'slack', payload: NotificationPayload): Promise<PostOutcome> {
  const body = format === 'slack' ? { text: slackText(payload) } : payload;
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Idempotency-Key': payload.id, 'User-Agent': 'loadbay' },
      body: JSON.stringify(body),
      // A redirect is not followed: a 302 would carry the Idempotency-Key to another host, a 307 the payload.
      redirect: 'manual',
      signal: AbortSignal.timeout(POST_TIMEOUT_MS),
    });
    const reply = await readPrefix(response, MAX_REPLY_BYTES);
    if (response.ok) return { ok: true, error: '' };
    if (response.status >= 300 && response.status < 400) {
      return { ok: false, permanent: true, error: `HTTP ${response.status} redirect to ${originOf(response.headers.get('location'), url)}, not followed: set the webhook's url to the address that takes the POST` };
    }
    const retry = response.status === 408 || response.status === 429 || response.status >= 500;
    const said = reply.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
    const quoted = said ? `: ${said.length > MAX_REASON_CHARS ? `${said.slice(0, MAX_REASON_CHARS - 1)}…` : said}` : '';
    return { ok: false, permanent: !retry, error: `HTTP ${response.status}${quoted}` };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return { ok: false, error: cause ?? errorMessage(error) };
  }
}

/**
 * Reads at most about `max` bytes of the body, then stops: cancelling the stream closes the
 * connection, so the rest of a huge reply is never received (a short one leaves it reusable).
 */
async function readPrefix(response: Response, max: number): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < max) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } catch {
    // A reply cut off (or the timeout) after the status: the status is what counts.
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return new TextDecoder().decode(Buffer.concat(chunks).subarray(0, max));
}

/** Where a redirect points, as scheme and host only (a path may be another webhook's secret). */
function originOf(location: string | null, base: string): string {
  if (!location) return 'nowhere (no Location header)';
  try {
    const target = new URL(location, base);
    return `${target.protocol}//${target.host}`;
  } catch {
    return 'an invalid Location';
  }
}

/** Slack / Mattermost incoming-webhook text. */
function slackText(p: NotificationPayload): string {
  const icon = p.event === 'loaded' ? ':white_check_mark:' : p.event === 'stalled' ? ':hourglass:' : p.event === 'held' ? ':pause_button:' : ':x:';
  const where = p.file ? ` \`${p.file}\`${p.dataset ? ` → ${p.dataset}` : ''}` : '';
  const stage = p.stage ? ` at ${p.stage}` : '';
  const summary = p.summary ? `\n\`\`\`${p.summary}\`\`\`` : '';
  return `${icon} loadbay *${p.event}*${where}${stage}: ${p.reason}${summary}`;
}
