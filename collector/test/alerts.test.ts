/**
 * The alert lifecycle (core/alerts.ts), pure, on a fake clock: flows stuck the same way make one alert,
 * which fires once, grows without notifying again, and resolves by itself once they have all moved on
 * for a while; a new episode is a new alert; failures count for a window; a restart goes on from the stored alerts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AlertBook, anomalySubjects, driftSubject, driftSubjects, stuckOn, subjectsOf } from '../src/core/alerts.ts';
import type { Anomaly } from '../src/core/flow.ts';
import type { Explanation, WaitExplanation } from '../src/core/stalls.ts';

const T0 = Date.UTC(2026, 11, 1, 12, 3, 4);

function waiting(overrides: Partial<WaitExplanation> = {}): Explanation {
  return {
    kind: 'next-event', afterEventType: 'OrderCreated', afterService: 'order', awaitedEventTypes: ['PaymentAuthorized', 'PaymentFailed'],
    awaitedService: 'payment', consumerGroup: null, sinceMs: T0, usual: { count: 100, p50Ms: 700, p90Ms: 780, p99Ms: 798, p999Ms: 800 },
    learned: true, declared: false, lateAtMs: T0 + 798, overdueMs: 1_000, handledWithoutSending: null, message: 'waiting for …', ...overrides,
  };
}

const failure: Explanation = {
  kind: 'failure', service: 'inventory', eventType: 'PaymentAuthorized', consumerGroup: 'inventory', sinceMs: T0, message: 'inventory failed …',
};

test('what a flow is stuck on: the awaited step for a stalled flow, the failed step for a failed one, nothing otherwise', () => {
  assert.deepEqual(stuckOn('stalled', waiting()), {
    key: 'stalled|OrderCreated|order|next-event|', kind: 'stalled', severity: 'critical', what: 'waiting for PaymentAuthorized or PaymentFailed from payment',
    sinceMs: T0,
  });
  assert.equal(stuckOn('stalled', waiting({ kind: 'consumer', awaitedEventTypes: ['OrderCreated'], consumerGroup: 'payments' }))!.what,
    'waiting for payment (group payments) to handle OrderCreated');
  assert.deepEqual(stuckOn('failed', failure), {
    key: 'failed|inventory|PaymentAuthorized|inventory', kind: 'failed', severity: 'warning', what: 'inventory (group inventory) failed handling PaymentAuthorized',
    sinceMs: T0,
  });
  // a handling that ended without sending: an alert of its own, saying so
  const silent = stuckOn('stalled', waiting({
    consumerGroup: 'payments', handledWithoutSending: { consumerGroup: 'payments', service: 'payment', atMs: T0 + 130, sendShare: 1 },
  }))!;
  assert.equal(silent.what, 'where payment (group payments) finished handling OrderCreated without sending PaymentAuthorized or PaymentFailed');
  assert.equal(silent.key, 'stalled|OrderCreated|order|next-event|payments');
  assert.notEqual(silent.key, stuckOn('stalled', waiting())!.key, 'not the alert of flows merely slow at that step');
  assert.equal(stuckOn('late', waiting()), null, 'late is not stuck yet');
  assert.equal(stuckOn('stalled', waiting({ learned: false }))!.key, 'stalled|OrderCreated|order|next-event|', 'a step seen too few times still alerts');
  assert.equal(stuckOn('stalled', waiting({ awaitedEventTypes: ['PaymentFailed', 'PaymentAuthorized'], awaitedService: 'billing' }))!.key,
    stuckOn('stalled', waiting())!.key, 'one step, one key, whatever the model now says likeliest after it');
  assert.equal(stuckOn('stalled', waiting({ kind: 'consumer', consumerGroup: 'pay|ments' }))!.key, 'stalled|OrderCreated|order|consumer|pay%7Cments',
    'a name holding the separator is escaped');
  assert.notEqual(stuckOn('stalled', waiting({ afterService: 'a|b', consumerGroup: 'c' }))!.key, stuckOn('stalled', waiting({ afterService: 'a', consumerGroup: 'b|c' }))!.key,
    'so two names cannot run into each other');
  assert.equal(stuckOn('stalled', waiting({ learned: false, awaitedEventTypes: [], awaitedService: null })), null,
    'after an event never seen followed, the flow may have ended: no alert');
  assert.notEqual(stuckOn('stalled', waiting({ learned: false, declared: true, awaitedEventTypes: [], awaitedService: null })), null,
    'unless its deadline was declared');
  assert.equal(stuckOn('running', null), null);
});

test('37 stuck flows make one alert that fires once, grows quietly, and resolves once they have all moved on', () => {
  const book = new AlertBook({ resolveAfterMs: 60_000 });
  for (let i = 0; i < 37; i += 1) book.observe(`flow-${i}`, subjectsOf('stalled', waiting({ sinceMs: T0 + i }), [], 0), T0 + 50);
  book.observe('other', subjectsOf('failed', failure, [], 0), T0);
  const fired = book.evaluate(T0 + 100);
  assert.deepEqual(fired.notifications.map((n) => [n.kind, n.alert.title, n.alert.severity]), [
    ['firing', '37 flows waiting for PaymentAuthorized or PaymentFailed from payment', 'critical'],
    ['firing', '1 flow inventory (group inventory) failed handling PaymentAuthorized', 'warning'],
  ]);
  assert.deepEqual(fired.alerts.map((a) => a.state), ['firing', 'firing'], 'what fired is stored');
  const alert = fired.notifications[0]!.alert;
  assert.equal(alert.flowIds.length, 20, 'a sample of the flows');
  assert.deepEqual(alert.flowIds.slice(0, 3), ['flow-0', 'flow-1', 'flow-2'], 'the longest stuck first');
  assert.equal(alert.startsAtMs, T0 + 100);
  assert.equal(alert.subject, 'waiting for PaymentAuthorized or PaymentFailed from payment');
  assert.match(alert.id, /^[0-9a-f]{8}-[0-9a-z]+$/);
  assert.equal(fired.notifications[0]!.id, `${alert.id}:firing`);

  assert.deepEqual(book.evaluate(T0 + 200), { alerts: [], notifications: [] }, 'nothing changed: nothing to store or send');
  for (let i = 37; i < 40; i += 1) book.observe(`flow-${i}`, subjectsOf('stalled', waiting(), [], 0), T0 + 300);
  book.observe('flow-0', subjectsOf('stalled', waiting(), [], 0), T0 + 300); // judged again, still stuck the same way: no change
  const grown = book.evaluate(T0 + 400);
  assert.deepEqual(grown.notifications, [], 'growing does not notify again');
  assert.deepEqual(grown.alerts.map((a) => a.flowCount), [40], 'the new count is stored');
  for (let i = 40; i < 80; i += 1) book.observe(`flow-${i}`, subjectsOf('stalled', waiting(), [], 0), T0 + 500);
  book.evaluate(T0 + 600);
  const [growing] = book.firing();
  assert.equal(growing!.flowCount, 80);
  assert.deepEqual(growing!.history.map((h) => [h.event, h.flows]), [['grew', 80], ['fired', 37]], 'recorded when it doubled, not for every flow');

  // all move on; one comes back within the quiet time: the same episode goes on
  for (let i = 0; i < 80; i += 1) book.observe(`flow-${i}`, subjectsOf('running', null, [], 0), T0 + 1_000);
  assert.equal(book.evaluate(T0 + 30_000).notifications.length, 0);
  book.observe('flow-7', subjectsOf('stalled', waiting(), [], 0), T0 + 40_000);
  assert.deepEqual(book.evaluate(T0 + 100_000).notifications, [], 'back within the quiet time: not resolved, not fired again');
  book.observe('flow-7', subjectsOf('completed', null, [], 0), T0 + 110_000);
  assert.deepEqual(book.evaluate(T0 + 169_999).notifications, []);
  const resolved = book.evaluate(T0 + 170_000);
  assert.deepEqual(resolved.notifications.map((n) => [n.kind, n.alertId, n.alert.endsAtMs, n.alert.peakFlows]), [['resolved', alert.id, T0 + 110_000, 80]]);
  assert.equal(resolved.notifications[0]!.alert.title, '1 flow waiting for PaymentAuthorized or PaymentFailed from payment', 'its last count');
  assert.deepEqual(resolved.alerts.map((a) => [a.id, a.state]), [[alert.id, 'resolved']]);
  assert.deepEqual(book.firing().map((a) => a.key), ['failed|inventory|PaymentAuthorized|inventory']);

  // the next time it happens is a new episode
  book.observe('flow-99', subjectsOf('stalled', waiting({ sinceMs: T0 + 199_000 }), [], 0), T0 + 200_000);
  const again = book.evaluate(T0 + 200_001).notifications;
  assert.equal(again.length, 1);
  assert.notEqual(again[0]!.alertId, alert.id);
});

test('an alert needing several flows waits for them; a merged-away flow leaves its alert', () => {
  const book = new AlertBook({ minFlows: 3, resolveAfterMs: 0 });
  book.observe('a', subjectsOf('stalled', waiting(), [], 0), T0);
  book.observe('b', subjectsOf('stalled', waiting(), [], 0), T0 + 1);
  assert.deepEqual(book.evaluate(T0 + 2), { alerts: [], notifications: [] }, 'two flows: pending, neither stored nor sent');
  assert.deepEqual(book.firing(), []);
  book.forget('b', T0 + 3);
  book.observe('c', subjectsOf('stalled', waiting(), [], 0), T0 + 4);
  assert.deepEqual(book.evaluate(T0 + 5).notifications, []);
  book.observe('d', subjectsOf('stalled', waiting(), [], 0), T0 + 6);
  assert.deepEqual(book.evaluate(T0 + 7).notifications.map((n) => [n.kind, n.alert.flowCount]), [['firing', 3]]);
  for (const flow of ['a', 'c', 'd']) book.forget(flow, T0 + 8);
  assert.deepEqual(book.evaluate(T0 + 8).notifications.map((n) => n.kind), ['resolved']);
  // a pending alert whose flows moved on goes without a word
  book.observe('e', subjectsOf('stalled', waiting(), [], 0), T0 + 9);
  book.observe('e', subjectsOf('running', null, [], 0), T0 + 10);
  assert.deepEqual(book.evaluate(T0 + 11), { alerts: [], notifications: [] });
});

test('failures count toward their alert for a window, so it resolves once they stop; a flow stalled past a day is given up on', () => {
  const book = new AlertBook({ resolveAfterMs: 0, failedWindowMs: 900_000, maxStuckMs: 86_400_000 });
  book.observe('f1', subjectsOf('failed', failure, [], 0), T0);
  book.observe('f2', subjectsOf('failed', { ...failure, sinceMs: T0 + 600_000 }, [], 0), T0 + 600_000);
  book.observe('s1', subjectsOf('stalled', waiting(), [], 0), T0 + 60_000);
  assert.equal(book.evaluate(T0 + 600_000).notifications.length, 2);
  const afterFirst = book.evaluate(T0 + 900_000);
  assert.deepEqual(afterFirst.alerts.map((a) => [a.key.split('|')[0], a.flowCount]), [['failed', 1]], 'the first failure left its window');
  assert.deepEqual(book.evaluate(T0 + 1_500_000).notifications.map((n) => [n.kind, n.alert.severity]), [['resolved', 'warning']],
    'failures stopped: resolved although the flows stay failed');
  book.observe('f3', subjectsOf('failed', failure, [], 0), T0 + 1_600_000);
  assert.deepEqual(book.evaluate(T0 + 1_600_000).notifications, [], 'a failure long past is not news');
  assert.equal(book.firing()[0]!.flowCount, 1, 'the stalled flow is still waited for');
  assert.deepEqual(book.evaluate(T0 + 86_400_000).notifications.map((n) => n.kind), ['resolved'], 'stalled a day: given up on');
});

test('after a restart the stored firing alerts go on: no second firing, and they resolve when their flows are gone', () => {
  const first = new AlertBook({ resolveAfterMs: 60_000 });
  for (const flow of ['a', 'b']) first.observe(flow, subjectsOf('stalled', waiting(), [], 0), T0);
  first.observe('x', subjectsOf('failed', failure, [], 0), T0);
  const stored = first.evaluate(T0 + 10).alerts;
  assert.equal(stored.length, 2);

  const restarted = new AlertBook({ resolveAfterMs: 60_000 });
  restarted.restore(stored, T0 + 5_000);
  for (const flow of ['a', 'b']) restarted.observe(flow, subjectsOf('stalled', waiting(), [], 0), T0 + 5_000); // the stored verdicts
  const resumed = restarted.evaluate(T0 + 5_000);
  assert.deepEqual(resumed.notifications, [], 'not fired again');
  assert.deepEqual(restarted.firing().map((a) => [a.id, a.flowCount, a.startsAtMs]), stored.map((a) => [a.id, a.key.startsWith('stalled') ? 2 : 0, a.startsAtMs]),
    'the same episodes, their flows found again');
  // the failed flow was not found stuck after the restart: its alert resolves after the quiet time
  const later = restarted.evaluate(T0 + 65_000).notifications;
  assert.deepEqual(later.map((n) => [n.kind, n.alertId]), [['resolved', stored.find((a) => a.key.startsWith('failed'))!.id]]);
  assert.equal(later[0]!.alert.endsAtMs, T0 + 5_000, 'quiet since the restart found none');
});

test('anomalies make alerts of their own, at lower severity, beside the flow\'s stuck step; a flow leaves each as it loses it', () => {
  const ref = { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16) };
  const duplicate: Anomaly = {
    type: 'duplicate-delivery', severity: 'warning', message: '…', producer: ref, eventType: 'StockReserved', destination: 'stock', consumerGroup: 'shipping',
    service: 'shipping', deliveries: [ref, ref], repeatedAtMs: T0 + 300,
  };
  const orphan: Anomaly = {
    type: 'orphan-event', severity: 'warning', message: '…', producer: ref, eventType: 'PaymentRefunded', destination: 'refunds', service: 'payment', producedAtMs: T0,
  };
  const gap: Anomaly = {
    type: 'propagation-gap', severity: 'warning', message: '…', service: 'inventory', destination: 'payments', consumerGroup: 'inventory', consumer: ref,
    producer: ref, joinedBy: 'key', contextStatus: null, lostAtMs: T0 + 200,
  };
  const fanOut: Anomaly = { type: 'fan-out', severity: 'info', message: '…', producer: ref, eventType: 'OrderCreated', destination: 'orders', groups: ['a', 'b'] };
  assert.deepEqual(anomalySubjects([duplicate, duplicate, orphan, gap, fanOut], T0 + 500).map((s) => [s.key, s.severity, s.sinceMs]), [
    ['duplicate|shipping|shipping|StockReserved', 'warning', T0 + 300],
    ['orphan|PaymentRefunded|refunds', 'warning', T0],
    ['gap|inventory|payments', 'info', T0 + 200],
  ], 'one subject per kind and place, each dated by its own spans; a fan-out is a shape, not a problem');
  assert.deepEqual(anomalySubjects([duplicate, gap], T0 + 3_600_000).map((s) => s.sinceMs), [T0 + 300, T0 + 200],
    'a later event of the flow does not make its anomalies new');

  const book = new AlertBook({ resolveAfterMs: 0, anomalyWindowMs: 900_000 });
  for (let i = 0; i < 3; i += 1) book.observe(`f${i}`, subjectsOf('stalled', waiting(), [duplicate], T0 + 500), T0 + 1_000);
  const fired = book.evaluate(T0 + 1_000).notifications.map((n) => n.alert);
  assert.deepEqual(fired.map((a) => [a.severity, a.title]), [
    ['critical', '3 flows waiting for PaymentAuthorized or PaymentFailed from payment'],
    ['warning', '3 flows with StockReserved processed more than once by shipping (group shipping): its handler must be idempotent'],
  ], 'a flow can be in several alerts');
  book.observe('f0', subjectsOf('running', null, [duplicate], T0 + 500), T0 + 2_000); // moved on, still had its duplicate
  book.evaluate(T0 + 2_000);
  assert.deepEqual(book.firing().map((a) => a.flowCount), [3, 2], 'it left the stalled alert only');
  assert.deepEqual(book.evaluate(T0 + 500 + 900_000).notifications.map((n) => [n.kind, n.alert.severity]), [['resolved', 'warning']],
    'the anomaly counted for its window');
});

test('a condition about the choreography (a consumer group gone) fires while it holds, with no flows, and resolves once it stops', () => {
  const book = new AlertBook({ resolveAfterMs: 60_000 });
  const gone = driftSubject('OrderCreated', 'audit', 'audit', T0);
  book.condition(gone, true, T0);
  const [fired] = book.evaluate(T0).notifications;
  assert.deepEqual([fired?.kind, fired?.alert.title, fired?.alert.flowCount, fired?.alert.severity],
    ['firing', 'audit (group audit) stopped handling OrderCreated', 0, 'warning']);
  book.condition(gone, true, T0 + 1_000);
  assert.deepEqual(book.evaluate(T0 + 1_000), { alerts: [], notifications: [] }, 'holding still: nothing new');
  assert.deepEqual(book.conditions().map((c) => c.key), ['drift|OrderCreated|audit']);
  book.condition(gone, false, T0 + 5_000);
  assert.deepEqual(book.evaluate(T0 + 64_999).notifications, []);
  assert.deepEqual(book.evaluate(T0 + 65_000).notifications.map((n) => [n.kind, n.alert.endsAtMs]), [['resolved', T0 + 5_000]]);

  // gone means quiet while its event goes on being sent; quiet because nothing was sent is not gone
  const quiet = [
    { eventType: 'OrderCreated', service: 'audit', consumerGroup: 'audit', lastSeenMs: T0, producedSince: 40 },
    { eventType: 'OrderCancelled', service: 'audit', consumerGroup: 'audit', lastSeenMs: T0, producedSince: 3 },
    { eventType: 'OrderCreated', service: 'legacy', consumerGroup: '', lastSeenMs: T0, producedSince: 40 },
  ];
  assert.deepEqual(driftSubjects(quiet, 20).map((s) => s.key), ['drift|OrderCreated|audit']);
});
