/**
 * OTLP/HTTP's client rules for a failed export, as pure functions: which answers are worth retrying,
 * and how long to wait before the next attempt. Retry on 429, 502, 503 and 504 (and when no answer
 * came: connection refused or reset, timeout), never on any other status; wait what `Retry-After` says
 * when the server says it, else an exponential backoff with jitter.
 */

export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

export interface BackoffOptions {
  /** Wait before the first retry, doubled for each one after it. */
  initialBackoffMs: number;
  /** The doubling stops here. */
  maxBackoffMs: number;
}

/** Each wait is the backoff times a factor drawn from [1 - JITTER, 1 + JITTER), so senders spread out. */
const JITTER = 0.5;

/**
 * How long to wait before retry number `retry` (1 for the first): the server's Retry-After when it
 * gave one, else min(initial · 2^(retry-1), max) with jitter. `random` is a draw from [0, 1).
 */
export function retryDelayMs(retry: number, retryAfterMs: number | null, options: BackoffOptions, random: number): number {
  if (retryAfterMs !== null) return retryAfterMs;
  const backoff = Math.min(options.maxBackoffMs, options.initialBackoffMs * 2 ** (retry - 1));
  return Math.round(backoff * (1 - JITTER + 2 * JITTER * random));
}

/** A Retry-After header (delay-seconds or an HTTP-date) in milliseconds from `nowMs`; null when absent or unreadable. */
export function parseRetryAfterMs(header: string | null, nowMs: number): number | null {
  if (header === null) return null;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = / GMT$/.test(text) ? Date.parse(text) : Number.NaN;
  return Number.isNaN(date) ? null : Math.max(0, date - nowMs);
}
