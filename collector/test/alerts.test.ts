/**
 * The alert lifecycle (core/alerts.ts), pure, on a fake clock: flows stuck the same way make one alert,
 * which fires once, grows without notifying again, and resolves by itself once they have all moved on
 * for a while; a new episode is a new alert; silenced alerts do not notify; acknowledging is recorded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AlertBook, stuckOn } from '../src/core/alerts.ts';
import type { Explanation, WaitExplanation } from '../src/core/stalls.ts';

const T0 = Date.UTC(2026, 11, 1, 12, 3, 4);

function waiting(overrides: Partial<WaitExplanation> = {}): Explanation {
  return {
    kind: 'next-event', afterEventType: 'OrderCreated', afterService: 'order', awaitedEventTypes: ['PaymentAuthorized', 'PaymentFailed'],
    awaitedService: 'payment', consumerGroup: null, sinceMs: T0, usual: { count: 100, p50Ms: 700, p90Ms: 780, p99Ms: 798, p999Ms: 800 },
    learned: true, lateAtMs: T0 + 798, overdueMs: 1_000, message: 'waiting for …', ...overrides,
  };
}

const failure: Explanation = {
  kind: 'failure', service: 'inventory', eventType: 'PaymentAuthorized', consumerGroup: 'inventory', sinceMs: T0, message: 'inventory failed …',
};

test('what a flow is stuck on: the awaited step for a stalled flow, the failed step for a failed one, nothing otherwise', () => {
  assert.deepEqual(stuckOn('stalled', waiting()), {
    key: 'stalled|PaymentAuthorized,PaymentFailed|payment|', severity: 'critical', what: 'waiting for PaymentAuthorized or PaymentFailed from payment',
  });
  assert.equal(stuckOn('stalled', waiting({ kind: 'consumer', awaitedEventTypes: ['OrderCreated'], consumerGroup: 'payments' }))!.what,
    'waiting for payment (group payments) to handle OrderCreated');
  assert.deepEqual(stuckOn('failed', failure), {
    key: 'failed|inventory|PaymentAuthorized|inventory', severity: 'warning', what: 'inventory (group inventory) failed handling PaymentAuthorized',
  });
  assert.equal(stuckOn('late', waiting()), null, 'late is not stuck yet');
  assert.equal(stuckOn('running', null), null);
});

test('37 stuck flows make one alert that fires once, grows quietly, and resolves once they have all moved on', () => {
  const book = new AlertBook({ resolveAfterMs: 60_000 });
  for (let i = 0; i < 37; i += 1) book.observe(`flow-${i}`, 'stalled', waiting(), T0 + i);
  book.observe('other', 'failed', failure, T0);
  const fired = book.evaluate(T0 + 100);
  assert.deepEqual(fired.map((n) => [n.kind, n.alert.title, n.alert.severity]), [
    ['firing', '37 flows waiting for PaymentAuthorized or PaymentFailed from payment', 'critical'],
    ['firing', '1 flow inventory (group inventory) failed handling PaymentAuthorized', 'warning'],
  ]);
  const alert = fired[0]!.alert;
  assert.equal(alert.flowIds.length, 20, 'a sample of the flows');
  assert.deepEqual(alert.flowIds.slice(0, 3), ['flow-0', 'flow-1', 'flow-2'], 'the longest stuck first');
  assert.equal(alert.startsAtMs, T0);
  assert.match(alert.id, /^[0-9a-f]{8}-[0-9a-z]+$/);

  assert.deepEqual(book.evaluate(T0 + 200), [], 'no second notification');
  for (let i = 37; i < 40; i += 1) book.observe(`flow-${i}`, 'stalled', waiting(), T0 + 300);
  book.observe('flow-0', 'stalled', waiting(), T0 + 300); // judged again, still stuck the same way: no change
  assert.deepEqual(book.evaluate(T0 + 400), [], 'growing does not notify again');
  const [growing] = book.alerts('firing');
  assert.equal(growing!.flowCount, 40);
  assert.deepEqual(growing!.history.map((h) => h.event), ['grew', 'fired']);

  // all move on; one comes back within the quiet time: the same episode goes on
  for (let i = 0; i < 40; i += 1) book.observe(`flow-${i}`, 'running', null, T0 + 1_000);
  assert.deepEqual(book.evaluate(T0 + 30_000), []);
  book.observe('flow-7', 'stalled', waiting(), T0 + 40_000);
  assert.deepEqual(book.evaluate(T0 + 100_000), [], 'back within the quiet time: not resolved, not fired again');
  book.observe('flow-7', 'completed', null, T0 + 110_000);
  assert.deepEqual(book.evaluate(T0 + 169_999), []);
  const resolved = book.evaluate(T0 + 170_000);
  assert.deepEqual(resolved.map((n) => [n.kind, n.alertId, n.alert.endsAtMs, n.alert.peakFlows]), [['resolved', alert.id, T0 + 110_000, 40]]);
  assert.equal(resolved[0]!.alert.title, '1 flow waiting for PaymentAuthorized or PaymentFailed from payment', 'its last count');
  assert.deepEqual(book.alerts('resolved').map((a) => a.id), [alert.id]);
  assert.deepEqual(book.alerts('firing').map((a) => a.key), ['failed|inventory|PaymentAuthorized|inventory']);

  // the next time it happens is a new episode
  book.observe('flow-99', 'stalled', waiting(), T0 + 200_000);
  const again = book.evaluate(T0 + 200_001);
  assert.equal(again.length, 1);
  assert.notEqual(again[0]!.alertId, alert.id);
});

test('an alert needing several flows waits for them; a merged-away flow leaves its alert', () => {
  const book = new AlertBook({ minFlows: 3, resolveAfterMs: 0 });
  book.observe('a', 'stalled', waiting(), T0);
  book.observe('b', 'stalled', waiting(), T0 + 1);
  assert.deepEqual(book.evaluate(T0 + 2), [], 'two flows: pending');
  assert.deepEqual(book.alerts('firing'), []);
  book.forget('b', T0 + 3);
  book.observe('c', 'stalled', waiting(), T0 + 4);
  assert.deepEqual(book.evaluate(T0 + 5), []);
  book.observe('d', 'stalled', waiting(), T0 + 6);
  assert.deepEqual(book.evaluate(T0 + 7).map((n) => [n.kind, n.alert.flowCount]), [['firing', 3]]);
  for (const flow of ['a', 'c', 'd']) book.forget(flow, T0 + 8);
  assert.deepEqual(book.evaluate(T0 + 8).map((n) => n.kind), ['resolved']);
  // a pending alert whose flows moved on goes without a word
  book.observe('e', 'stalled', waiting(), T0 + 9);
  book.observe('e', 'running', null, T0 + 10);
  assert.deepEqual(book.evaluate(T0 + 11), []);
  assert.equal(book.alerts('resolved').length, 1);
});

test('silenced: no notification until the silence ends; acknowledged: recorded with who', () => {
  const book = new AlertBook({ resolveAfterMs: 0 });
  book.observe('a', 'stalled', waiting(), T0);
  const [fired] = book.evaluate(T0);
  assert.equal(book.acknowledge(fired!.alertId, 'dana', T0 + 10), true);
  assert.equal(book.silence(fired!.alertId, T0 + 3_600_000, 'dana', T0 + 20), true);
  assert.equal(book.acknowledge('no-such-alert', 'dana', T0), false);
  const [firing] = book.alerts('firing');
  assert.deepEqual(firing!.acknowledged, { atMs: T0 + 10, by: 'dana' });
  assert.deepEqual(firing!.history.map((h) => [h.event, h.by]), [['silenced', 'dana'], ['acknowledged', 'dana'], ['fired', undefined]]);
  book.observe('a', 'running', null, T0 + 30);
  assert.deepEqual(book.evaluate(T0 + 40), [], 'resolved while silenced: not notified');
  assert.equal(book.alerts('resolved')[0]!.state, 'resolved');
});
