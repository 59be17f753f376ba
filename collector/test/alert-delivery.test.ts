/**
 * Alert delivery against real HTTP receivers on loopback: Choreoscope's webhook JSON, Alertmanager's API
 * v2 body and a Slack message, each delivered once; a receiver answering 500 is retried until it takes it;
 * one that refuses (400) is not retried; one that never answers is given up after its time and delays no
 * other receiver; re-sends to Alertmanager coalesce while a request is under way, and a full queue never
 * gives up that request; hostile names in an alert reach Slack escaped.
 */
import type { ServerResponse } from 'node:http';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '@choreoscope/test-support';
import { AlertSender, type DeliveryOutcome, type Receiver } from '../src/alerting/alert-sender.ts';
import { alertmanagerAlerts, slackEscape, type AlertmanagerAlert, type WebhookBody } from '../src/alerting/formats.ts';
import { AlertBook, anomalySubjects, driftSubject, subjectsOf, type AlertNotification } from '../src/core/alerts.ts';
import type { Explanation } from '../src/core/stalls.ts';
import { loopbackReceiver as receiver } from './receivers.ts';

const T0 = Date.UTC(2026, 11, 1, 12, 3, 4);

function notifications(title = 'PaymentAuthorized', after = 'OrderCreated'): AlertNotification[] {
  const book = new AlertBook({ resolveAfterMs: 0 });
  const explanation: Explanation = {
    kind: 'next-event', afterEventType: after, afterService: 'order', awaitedEventTypes: [title], awaitedService: 'payment',
    consumerGroup: null, sinceMs: T0, usual: { count: 50, p50Ms: 700, p90Ms: 780, p99Ms: 798, p999Ms: 800 }, learned: true, declared: false,
    lateAtMs: T0 + 798, overdueMs: 5_000, handledWithoutSending: null, message: '…',
  };
  for (let i = 0; i < 37; i += 1) book.observe(`${'a'.repeat(31)}${i % 10}-${'b'.repeat(15)}${i % 10}`, subjectsOf('stalled', explanation, [], 0), T0 + i);
  const fired = book.evaluate(T0 + 100).notifications;
  for (let i = 0; i < 37; i += 1) book.observe(`${'a'.repeat(31)}${i % 10}-${'b'.repeat(15)}${i % 10}`, subjectsOf('running', null, [], 0), T0 + 200);
  return [...fired, ...book.evaluate(T0 + 300).notifications];
}

test('each kind of receiver gets each notification once, in its own format, with links to the dashboard', async () => {
  const [webhook, alertmanager, slack] = [await receiver(), await receiver(), await receiver()];
  const settled: DeliveryOutcome[] = [];
  const receivers: Receiver[] = [{ kind: 'webhook', url: webhook.url }, { kind: 'alertmanager', url: alertmanager.url }, { kind: 'slack', url: slack.url }];
  const sender = new AlertSender({ receivers, publicUrl: 'https://choreoscope.example/', onSettled: (o) => settled.push(o) });
  try {
    const [firing, resolved] = notifications();
    sender.send(firing!);
    sender.send(resolved!);
    await waitFor(() => settled.length === 6, 10_000, () => `${settled.length} settled`);
    assert.ok(settled.every((o) => o.delivered && o.attempts === 1));

    const [first, second] = webhook.bodies as WebhookBody[];
    assert.deepEqual([first!.version, first!.kind, second!.kind], ['choreoscope.alert/v1', 'firing', 'resolved']);
    assert.deepEqual([first!.id, second!.id], [`${firing!.alertId}:firing`, `${firing!.alertId}:resolved`], 'ids a receiver can deduplicate by');
    assert.equal(first!.alert.title, '10 flows waiting for PaymentAuthorized from payment');
    assert.equal(first!.links!.alert, `https://choreoscope.example/#/alerts/${encodeURIComponent(firing!.alertId)}`);
    assert.equal(first!.links!.flows.length, 10);

    const [fired, ended] = (alertmanager.bodies as AlertmanagerAlert[][]).map((body) => {
      assert.equal(body.length, 1, 'one alert a post');
      return body[0]!;
    });
    assert.deepEqual(fired!.labels, {
      alertname: 'ChoreoscopeFlowsStalled', severity: 'critical', after_event_type: 'OrderCreated', after_service: 'order', wait: 'next-event',
    }, 'the step, named as the alert key has it');
    assert.equal(fired!.annotations.summary, '10 flows waiting for PaymentAuthorized from payment');
    assert.equal(fired!.startsAt, new Date(T0 + 100).toISOString());
    assert.equal(fired!.endsAt, undefined, 'a firing alert has no end');
    assert.equal(ended!.endsAt, new Date(T0 + 200).toISOString(), 'the resolved one ends when its flows moved on');
    assert.deepEqual(ended!.labels, fired!.labels, 'Alertmanager matches the two by their labels');
    assert.match(fired!.generatorURL!, /^https:\/\/choreoscope\.example\/#\/alerts\//);

    const [slackFiring, slackResolved] = slack.bodies as { text: string }[];
    assert.match(slackFiring!.text, /^:rotating_light: 10 flows waiting for PaymentAuthorized from payment <https:\/\/choreoscope\.example\/#\/alerts\/[^|]+\|open in Choreoscope>$/);
    assert.match(slackResolved!.text, /^:white_check_mark: resolved: /);
  } finally {
    await sender.close();
    await Promise.all([webhook.close(), alertmanager.close(), slack.close()]);
  }
});

test('a receiver that answers 500 is retried until it takes the notification; one that refuses (400) is not retried', async () => {
  const flaky = await receiver((attempt, response) => {
    response.statusCode = attempt <= 2 ? 500 : 200;
    response.end();
  });
  const refusing = await receiver((_, response) => {
    response.statusCode = 400;
    response.end('bad format');
  });
  const settled: DeliveryOutcome[] = [];
  const sender = new AlertSender({
    receivers: [{ kind: 'webhook', url: flaky.url }, { kind: 'webhook', url: refusing.url }],
    initialBackoffMs: 20, maxBackoffMs: 50, onSettled: (o) => settled.push(o),
  });
  try {
    sender.send(notifications()[0]!);
    await waitFor(() => settled.length === 2, 10_000, () => `${settled.length} settled`);
    const byUrl = new Map(settled.map((o) => [o.receiver.url, o]));
    assert.deepEqual([byUrl.get(flaky.url)!.delivered, byUrl.get(flaky.url)!.attempts], [true, 3]);
    assert.equal(flaky.attempts(), 3);
    assert.equal(new Set(flaky.keys).size, 1, 'every attempt carries the same idempotency key');
    assert.match(flaky.keys[0]!, /^[0-9a-f]{8}-[0-9a-z]+:firing$/);
    assert.deepEqual([byUrl.get(refusing.url)!.delivered, byUrl.get(refusing.url)!.attempts, byUrl.get(refusing.url)!.problem],
      [false, 1, 'the receiver answered 400']);
  } finally {
    await sender.close();
    await Promise.all([flaky.close(), refusing.close()]);
  }
});

test('a receiver that never answers is given up after its time, and delays no other receiver', async () => {
  const hanging = await receiver(() => {}); // takes the request, never answers
  const healthy = await receiver();
  const settled: DeliveryOutcome[] = [];
  const sender = new AlertSender({
    receivers: [{ kind: 'webhook', url: hanging.url }, { kind: 'slack', url: healthy.url }],
    requestTimeoutMs: 200, initialBackoffMs: 20, maxBackoffMs: 20, maxRetryElapsedMs: 700, onSettled: (o) => settled.push(o),
  });
  try {
    const started = Date.now();
    const [firing, resolved] = notifications();
    sender.send(firing!);
    sender.send(resolved!);
    await waitFor(() => healthy.bodies.length === 2, 5_000, () => 'the healthy receiver got both');
    assert.ok(Date.now() - started < 1_000, 'not held up by the one that hangs');
    await waitFor(() => settled.filter((o) => o.receiver.url === hanging.url).length === 1, 5_000, () => 'the hanging receiver given up');
    const gaveUp = settled.find((o) => o.receiver.url === hanging.url)!;
    assert.equal(gaveUp.delivered, false);
    assert.ok(gaveUp.attempts >= 2, `${gaveUp.attempts} attempts`);
    assert.match(gaveUp.problem!, /^no answer: /);
  } finally {
    const closing = Date.now();
    await sender.close();
    assert.ok(Date.now() - closing < 1_000, 'closing cuts what is under way');
    await Promise.all([hanging.close(), healthy.close()]);
  }
});

test('re-sends to Alertmanager waiting behind a slow request become one; a full queue gives up the oldest waiting, never the one under way', async () => {
  let holdFirst!: ServerResponse;
  const slow = await receiver((attempt, response) => {
    if (attempt === 1) holdFirst = response; // answered when the test says
    else response.end('ok');
  });
  const settled: DeliveryOutcome[] = [];
  const alertmanager: Receiver = { kind: 'alertmanager', url: slow.url };
  const sender = new AlertSender({ receivers: [alertmanager], maxQueued: 3, onSettled: (o) => settled.push(o) });
  try {
    const [firing, resolved] = notifications();
    const other = notifications('StockReserved', 'PaymentAuthorized')[0]!;
    const id = sender.receivers[0]!.id;
    sender.send(firing!, { receiverId: id, outboxId: '1' });
    await waitFor(() => slow.attempts() === 1, 5_000, () => 'the first is under way');
    for (let minute = 0; minute < 5; minute += 1) sender.resend(id, [firing!]);
    sender.resend(id, [firing!, other]);
    sender.send(resolved!, { receiverId: id, outboxId: '2' });
    sender.send(resolved!, { receiverId: id, outboxId: '3' }); // the queue holds 3: the oldest waiting goes
    assert.deepEqual(settled.map((o) => [o.outboxId, o.delivered, o.problem]), [[null, false, 'the queue was full']], 'the coalesced re-send went, not the head');
    holdFirst.end('ok');
    await waitFor(() => settled.length === 4, 5_000, () => `${settled.length} settled`);
    assert.deepEqual(settled.slice(1).map((o) => [o.outboxId, o.delivered]), [['1', true], ['2', true], ['3', true]]);
    assert.equal(slow.attempts(), 3, 'one request each: the six re-sends were one, and it was given up');

    // without the queue filling, the re-sends waiting are one request carrying the latest list
    sender.send(firing!, { receiverId: id, outboxId: '4' });
    for (let minute = 0; minute < 5; minute += 1) sender.resend(id, minute < 4 ? [firing!] : [firing!, other]);
    await waitFor(() => settled.length === 6, 5_000, () => `${settled.length} settled`);
    assert.equal(slow.attempts(), 5);
    const resent = slow.bodies[4] as AlertmanagerAlert[];
    assert.deepEqual(resent.map((alert) => alert.annotations.summary), ['10 flows waiting for PaymentAuthorized from payment', '10 flows waiting for StockReserved from payment'],
      'one post, both alerts');
    assert.equal(slow.keys[4], undefined, 'a re-send is meant to be taken again: no idempotency key');
  } finally {
    await sender.close();
    await slow.close();
  }
});

test('names from spans reach Slack as text, never as markup', async () => {
  const slack = await receiver();
  const sender = new AlertSender({ receivers: [{ kind: 'slack', url: slack.url }] });
  try {
    sender.send(notifications('<!channel> <https://evil.example|click> & more')[0]!);
    await waitFor(() => slack.bodies.length === 1, 5_000, () => 'delivered');
    const { text } = slack.bodies[0] as { text: string };
    assert.ok(!text.includes('<!channel>') && !text.includes('<https://evil'), text);
    assert.ok(text.includes(slackEscape('<!channel> <https://evil.example|click> & more')), text);
  } finally {
    await sender.close();
    await slack.close();
  }
});

test('each kind of alert has its Alertmanager alertname, its key\'s parts as labels', () => {
  const book = new AlertBook({ resolveAfterMs: 0 });
  const ref = { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16) };
  book.observe('f', anomalySubjects([{
    type: 'duplicate-delivery', severity: 'warning', message: '…', producer: ref, eventType: 'StockReserved', destination: 'stock', consumerGroup: 'shipping',
    service: 'shipping', deliveries: [ref, ref], repeatedAtMs: T0,
  }], T0), T0);
  book.condition(driftSubject('OrderCreated', 'audit', 'audit', T0), true, T0);
  const sent = book.evaluate(T0).notifications.map((n) => alertmanagerAlerts(n, null)[0]!.labels);
  assert.deepEqual(sent, [
    { alertname: 'ChoreoscopeDuplicateDeliveries', severity: 'warning', service: 'shipping', consumer_group: 'shipping', event_type: 'StockReserved' },
    { alertname: 'ChoreoscopeConsumerGroupGone', severity: 'warning', event_type: 'OrderCreated', consumer_group: 'audit' },
  ]);
});
