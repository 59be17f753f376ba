import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RETRYABLE_STATUSES, parseRetryAfterMs, retryDelayMs } from '../src/forwarding/retry-policy.ts';

const backoff = { initialBackoffMs: 1_000, maxBackoffMs: 30_000 };

test('only 429, 502, 503 and 504 are retried, as OTLP/HTTP says', () => {
  assert.deepEqual([...RETRYABLE_STATUSES].sort(), [429, 502, 503, 504]);
});

test('the backoff doubles per retry up to its maximum, each wait within ±50% jitter', () => {
  assert.equal(retryDelayMs(1, null, backoff, 0.5), 1_000);
  assert.equal(retryDelayMs(2, null, backoff, 0.5), 2_000);
  assert.equal(retryDelayMs(5, null, backoff, 0.5), 16_000);
  assert.equal(retryDelayMs(9, null, backoff, 0.5), 30_000);
  assert.equal(retryDelayMs(3, null, backoff, 0), 2_000);
  assert.equal(retryDelayMs(3, null, backoff, 0.999_999), 6_000);
});

test("the server's Retry-After wins over the backoff, however long", () => {
  assert.equal(retryDelayMs(1, 120_000, backoff, 0.5), 120_000);
  assert.equal(retryDelayMs(7, 0, backoff, 0.5), 0);
});

test('Retry-After is read as seconds or as an HTTP date; anything else is ignored', () => {
  const now = Date.parse('2025-03-01T12:00:00Z');
  assert.equal(parseRetryAfterMs('3', now), 3_000);
  assert.equal(parseRetryAfterMs(' 0 ', now), 0);
  assert.equal(parseRetryAfterMs('Sat, 01 Mar 2025 12:00:10 GMT', now), 10_000);
  assert.equal(parseRetryAfterMs('Sat, 01 Mar 2025 11:00:00 GMT', now), 0, 'a date in the past means now');
  assert.equal(parseRetryAfterMs(null, now), null);
  assert.equal(parseRetryAfterMs('soon', now), null);
  assert.equal(parseRetryAfterMs('-5', now), null);
});
