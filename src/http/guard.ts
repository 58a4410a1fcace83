/**
 * Two checks before a request is served. The `Host:` it names must be one the listener answers to:
 * a page on evil.example that rebinds its name to 127.0.0.1 reaches a loopback console with
 * `Host: evil.example`, and must not read it. And sign-ins are throttled: after a few wrong tokens
 * from one address, every try from it waits, longer each time it goes on.
 */

import { isLoopback } from '../lib/hosts.js';

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'];

/**
 * The host names the listener answers to, or null for any (a non-loopback address without
 * `allowed_hosts`: the token guards it, and the names it is reached by are not known here).
 */
export function answeredHosts(host: string, allowed: string[] | null): Set<string> | null {
  if (!isLoopback(host) && !allowed) return null;
  return new Set([...LOOPBACK_NAMES, host, ...(allowed ?? [])].map((name) => name.toLowerCase().replace(/^\[|\]$/g, '')));
}

/** The name in a Host header: without port, brackets or a trailing dot, lower case. */
export function hostName(header: string): string {
  const value = header.trim().toLowerCase();
  const name = value.startsWith('[') ? value.slice(1, value.indexOf(']') === -1 ? undefined : value.indexOf(']')) : value.replace(/:\d*$/, '');
  return name.replace(/\.$/, '');
}

/** True when the request may be served: no Host header (HTTP/1.0), or one the listener answers to. */
export function hostAllowed(answered: Set<string> | null, header: string | undefined): boolean {
  if (answered === null || header === undefined) return true;
  return answered.has(hostName(header));
}

interface Attempts {
  failures: number;
  /** When the first of `failures` happened. */
  since: number;
  blockedUntil: number;
  /** Blocks so far: each one lasts twice the one before. */
  strikes: number;
}

export interface ThrottleOptions {
  /** Wrong tokens allowed from one address within `windowMs`. */
  maxFailures: number;
  windowMs: number;
  maxBlockMs: number;
  /** Addresses remembered at most (the oldest are forgotten). */
  maxAddresses: number;
}

export const DEFAULT_THROTTLE: ThrottleOptions = { maxFailures: 5, windowMs: 60_000, maxBlockMs: 15 * 60_000, maxAddresses: 10_000 };

export class SignInThrottle {
  private readonly attempts = new Map<string, Attempts>();

  constructor(private readonly options: ThrottleOptions = DEFAULT_THROTTLE) {}

  /** Milliseconds the address must still wait before it may try a token again (0: it may). */
  waitMs(address: string, now = Date.now()): number {
    const entry = this.attempts.get(address);
    return entry ? Math.max(0, entry.blockedUntil - now) : 0;
  }

  /** A wrong token from the address. */
  fail(address: string, now = Date.now()): void {
    let entry = this.attempts.get(address);
    if (!entry || (now - entry.since > this.options.windowMs && now >= entry.blockedUntil && entry.failures < this.options.maxFailures)) {
      entry = { failures: 0, since: now, blockedUntil: 0, strikes: entry?.strikes ?? 0 };
    }
    entry.failures++;
    if (entry.failures >= this.options.maxFailures) {
      entry.blockedUntil = now + Math.min(this.options.maxBlockMs, this.options.windowMs * 2 ** entry.strikes);
      entry.strikes++;
      entry.failures = 0;
      entry.since = now;
    }
    this.attempts.delete(address); // re-inserted: the map's order is the order of last use
    this.attempts.set(address, entry);
    while (this.attempts.size > this.options.maxAddresses) this.attempts.delete(this.attempts.keys().next().value!);
  }

  /** The right token: the address starts afresh. */
  succeed(address: string): void {
    this.attempts.delete(address);
  }
}
