/**
 * Logging. Two audiences:
 * - ops tail `logs/conversion.log`: one JSON line per file outcome (`loaded`, `failed`, `skipped`,
 *   `retrying`, `held`) and per database wait, written through winston;
 * - a person at the console: the same events as readable one-liners, plus start/stop messages.
 * Every line passes through `redact`, so a connection password never reaches a log.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import winston from 'winston';
import { AuditLog } from './audit-log.js';
import { redactDeep } from './errors.js';
import { LOGGED_EVENTS, LoadbayEvents, type LoadbayEventMap, type LoadbayEventName } from './events.js';
import { jsonText } from './read/json-values.js';

export interface Logger {
  /** The daemon's event stream (src/events.ts); the conversion log and the console subscribe to it. */
  readonly events: LoadbayEvents;
  /** Emits an event: a file outcome becomes a conversion.log line and a console line. */
  event<E extends LoadbayEventName>(event: E, fields: LoadbayEventMap[E]): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** Shown only with LOADBAY_LOG_LEVEL=debug: stack traces and other detail for a bug report. */
  debug(message: string, fields?: Record<string, unknown>): void;
  /** Resolves once every event so far is in conversion.log (unless it cannot be written now). */
  flush(): Promise<void>;
  /** Flushes and closes the log files. */
  close(): Promise<void>;
}

export interface LoggerOptions {
  logsDir: string;
  /** The event stream to write from; a new one by default. */
  events?: LoadbayEvents;
  /** Console output; off in tests that only read the log file. */
  console?: boolean;
}

// An event's line is redacted once, where it is made (below); the other lines here.
const redactFormat = winston.format((info) => {
  if (info['event'] !== undefined) return info;
  for (const key of Object.keys(info)) info[key] = redactDeep(info[key]);
  return info;
});

function consoleLine(info: winston.Logform.TransformableInfo): string {
  const { level, message, timestamp, event, file, dataset, rows, duration_ms, reason, stage, ...rest } = info as Record<
    string,
    unknown
  >;
  const time = String(timestamp ?? '').replace(/\.\d+Z$/, 'Z');
  if (!event) return `${time} ${String(level).padEnd(5)} ${String(message)}${typeof rest['stack'] === 'string' ? `\n${rest['stack']}` : ''}`;
  const parts = [`${time} ${String(event).padEnd(8)} ${file ?? ''}`];
  if (dataset) parts.push(`→ ${dataset}`);
  const details = [
    rows !== undefined ? `${rows} rows` : undefined,
    duration_ms !== undefined ? `${duration_ms} ms` : undefined,
    stage ? `at ${stage}` : undefined,
  ].filter(Boolean);
  if (details.length) parts.push(`(${details.join(', ')})`);
  if (reason) parts.push(`: ${reason}`);
  return parts.join(' ');
}

export function createLogger(options: LoggerOptions): Logger {
  mkdirSync(options.logsDir, { recursive: true });
  const consoleTransport =
    options.console === false
      ? null
      : new winston.transports.Console({
          format: winston.format.combine(winston.format.timestamp(), redactFormat(), winston.format.printf(consoleLine)),
        });
  const operational = winston.createLogger({
    level: process.env['LOADBAY_LOG_LEVEL'] === 'debug' ? 'debug' : 'info',
    transports: consoleTransport ? [consoleTransport] : [],
  });
  // An unhandled transport error would crash the process; report it on stderr instead.
  operational.on('error', (error) => process.stderr.write(`loadbay: log write failed: ${String(error)}\n`));
  if (!consoleTransport) operational.silent = true;
  const trouble = (message: string) => {
    if (consoleTransport) operational.warn(message);
    else process.stderr.write(`loadbay: ${message}\n`);
  };
  const audit = new AuditLog(path.join(options.logsDir, 'conversion.log'), {
    onTrouble: trouble,
    onRecovered: (message) => operational.info(message),
  });

  const events =
    options.events ??
    new LoadbayEvents((event, error) => operational.error(`a listener of "${event}" failed: ${error instanceof Error ? error.message : String(error)}`));
  events.onAny((event, fields) => {
    if (!LOGGED_EVENTS.has(event)) return;
    const level = event === 'loaded' || event === 'skipped' || event === 'exported' ? 'info' : 'warn';
    const line: Record<string, unknown> = { level, message: event, event, ...fields, timestamp: new Date().toISOString() };
    for (const key of Object.keys(line)) line[key] = redactDeep(line[key]);
    audit.write(jsonText(line));
    if (consoleTransport) operational.log({ ...line, level, message: event });
  });

  let closing: Promise<void> | null = null;
  return {
    events,
    event(event, fields) {
      events.safeEmit(event, fields);
    },
    info: (message, fields) => operational.info(message, fields),
    warn: (message, fields) => operational.warn(message, fields),
    error: (message, fields) => operational.error(message, fields),
    debug: (message, fields) => operational.debug(message, fields),
    flush: () => audit.flush(),
    close() {
      closing ??= (async () => {
        await audit.close();
        await new Promise<void>((resolve) => {
          if (!consoleTransport) return resolve();
          operational.once('finish', () => resolve());
          operational.end();
          setTimeout(resolve, 2000).unref();
        });
      })();
      return closing;
    },
  };
}
