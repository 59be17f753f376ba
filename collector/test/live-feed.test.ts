/**
 * The live feed's subscriptions around a store's LISTEN (store/live-feed.ts): subscribers waiting on a
 * LISTEN that fails all leave with its error, and hear nothing of the next one; the feed listens while
 * anyone subscribes and stops when the last one leaves. The LISTEN itself is the store's, tested on both
 * stores in live-api.test.ts; here it is scripted, to fail when the test says.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LiveFeed, type ListenOn, type LiveMessage } from '../src/store/live-feed.ts';

/** A LISTEN that fails its first attempt (after a moment, so several subscribers wait on it) and then works. */
function scriptedListen() {
  const attempts: { onPayload: (payload: string) => void; stopped: boolean }[] = [];
  const listen: ListenOn = async (_channel, onPayload) => {
    const attempt = { onPayload, stopped: false };
    attempts.push(attempt);
    await new Promise((resolve) => setTimeout(resolve, 20));
    if (attempts.length === 1) throw new Error('connection refused');
    return async () => {
      attempt.stopped = true;
    };
  };
  return { listen, attempts };
}

const change = (atMs: number) => JSON.stringify({ atMs, flows: [], removed: [], alerts: [], traffic: [] });

test('subscribers waiting on a LISTEN that fails all leave with its error, and hear nothing of the next one', async () => {
  const { listen, attempts } = scriptedListen();
  const feed = new LiveFeed(listen);
  const heard: Record<string, LiveMessage[]> = { a: [], b: [], c: [] };
  const results = await Promise.allSettled([feed.subscribe((m) => heard.a!.push(m)), feed.subscribe((m) => heard.b!.push(m))]);
  assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
  assert.equal(attempts.length, 1, 'both waited on the one attempt');

  const leave = await feed.subscribe((m) => heard.c!.push(m));
  assert.equal(attempts.length, 2, 'the next subscriber tries again');
  attempts[1]!.onPayload(change(7));
  attempts[1]!.onPayload('not ours');
  assert.deepEqual(heard.c!.map((m) => (m.kind === 'change' ? m.change.atMs : m.kind)), [7]);
  assert.deepEqual([heard.a!.length, heard.b!.length], [0, 0], 'the ones that left hear nothing');

  leave();
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(attempts[1]!.stopped, true, 'the last one to leave stops the LISTEN');
});
