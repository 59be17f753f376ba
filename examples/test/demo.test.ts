/**
 * The demo end to end, as a newcomer meets it: the broker, the collector and every service as their own
 * processes (launch.ts, as `npm run demo` starts them), orders placed through the order service's HTTP
 * endpoint, each fault injected through the control topic, and what a user would see checked through
 * the API and in Chromium. Screenshots go to test-output/screenshots/demo-*.png.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { AlertsResponse, ApiAlert, FlowResponse, FlowsResponse, FlowSummary } from '@choreoscope/collector/api-types';
import { startBroker } from '@choreoscope/embedded-kafka';
import { Teardown, waitFor } from '@choreoscope/test-support';
import type { Browser } from 'playwright-core';
import { launchChromium, screenshot } from '../../dashboard/test/browser.ts';
import { parseFault } from '../src/faults.ts';
import { launchDemo, type RunningDemo } from '../src/demo/launch.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const teardown = new Teardown();
let demo: RunningDemo;
let browser: Browser;
const progress: string[] = [];

before(async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'choreoscope-demo-'));
  // A Kafka of the test's own, as KAFKA_BROKERS names one: the demo uses it instead of starting its broker
  // (demo-command.test.ts runs the demo with its embedded broker).
  const kafka = await startBroker({ port: 0, defaultPartitions: 1, log: () => {} });
  teardown.defer(() => kafka.stop());
  demo = await launchDemo({
    root, dataDir, kafkaBrokers: [kafka.address], brokerPort: 0, collectorPort: 0, orderPort: 0, ordersPerSecond: 0,
    // Judge flows sooner than the demo's settings (which suit people watching): the model learns a flow
    // 3 s after its last span, unknown steps are late after 8 s, alerts resolve 5 s after the flows move on.
    collectorArgs: ['--settle-after-ms', '3000', '--default-deadline-ms', '8000', '--alert-resolve-after-ms', '5000', '--export-delay-ms', '1500'],
    say: (line) => progress.push(line),
  });
  teardown.defer(() => demo.stop());
  browser = await launchChromium();
  teardown.defer(() => browser.close());
}, { timeout: 240_000 });

after(() => teardown.run());

// --- talking to the demo as a user does -----------------------------------------------------------

async function api<T>(path: string): Promise<T> {
  const response = await fetch(`${demo.collectorUrl}${path}`);
  assert.equal(response.status, 200, `${path} answered ${response.status}: ${await response.clone().text()}`);
  return response.json() as Promise<T>;
}

async function placeOrder(order: { items?: number; amountCents?: number | string } = {}): Promise<string> {
  const response = await fetch(`${demo.orderUrl}/orders`, { method: 'POST', body: JSON.stringify(order), headers: { 'content-type': 'application/json' } });
  assert.equal(response.status, 202, await response.clone().text());
  return ((await response.json()) as { orderId: string }).orderId;
}

async function flowOf(orderId: string): Promise<FlowSummary | undefined> {
  return (await api<FlowsResponse>(`/api/flows?businessKey=${encodeURIComponent(orderId)}`)).flows[0];
}

/** Waits until the order's flow is in one of `states`, and answers it in full. */
async function waitForState(orderId: string, states: string[], timeoutMs: number, also: (flow: FlowSummary) => boolean = () => true): Promise<FlowResponse> {
  let last: FlowSummary | undefined;
  await waitFor(async () => {
    last = await flowOf(orderId);
    return last !== undefined && states.includes(last.state) && also(last);
  }, timeoutMs, () => `${orderId} to be ${states.join(' or ')}; it is ${last ? `${last.state} (${JSON.stringify(last.explanation)})` : 'not a flow yet'}`, 250);
  return api<FlowResponse>(`/api/flows/${encodeURIComponent(last!.flowId)}`);
}

/** Sends a fault and waits until every process it concerns says it applied it (their logs). */
async function fault(words: string, logs: string[]): Promise<void> {
  const before = new Map(logs.map((name) => [name, logOf(name).length]));
  await demo.sendFaults(parseFault(words.split(' ')));
  await waitFor(() => logs.every((name) => logOf(name).slice(before.get(name)!).includes('fault: ')), 30_000, `${logs.join(', ')} to apply ${words}`, 100);
}

function logOf(name: string): string {
  return readFileSync(join(demo.logDir, `${name}.log`), 'utf8');
}

async function firingAlerts(): Promise<ApiAlert[]> {
  return (await api<AlertsResponse>('/api/alerts?state=firing')).alerts;
}

// --- the tests, in the order of a demo run ----------------------------------------------------------

test('orders complete: shipped, declined, or compensated when out of stock', { timeout: 120_000 }, async () => {
  assert.ok(progress.some((line) => line.includes('✓ payment-2')), `progress shown while starting:\n${progress.join('\n')}`);
  assert.ok(progress.includes(`using the Kafka at ${demo.brokers[0]} (KAFKA_BROKERS)`), progress.join('\n'));
  // Enough orders for the model to trust each step (minSamples 20 in examples/choreoscope.yaml).
  const shipped = await Promise.all(Array.from({ length: 30 }, (_, i) => placeOrder({ items: 1 + (i % 3), amountCents: 1_000 + i })));
  const declined = await placeOrder({ items: 1, amountCents: 25_000 }); // over the card limit
  const outOfStock = await placeOrder({ items: 9, amountCents: 2_000 }); // more than the stock
  for (const orderId of shipped) {
    const flow = await waitForState(orderId, ['completed'], 60_000);
    assert.ok(flow.flow.eventTypes.includes('ShipmentScheduled'), `${orderId} shipped`);
  }
  const declinedFlow = await waitForState(declined, ['completed'], 30_000);
  assert.ok(declinedFlow.flow.eventTypes.includes('PaymentFailed'));
  const compensated = await waitForState(outOfStock, ['compensated'], 30_000);
  assert.deepEqual(['OutOfStock', 'PaymentRefunded', 'OrderCancelled'].filter((e) => compensated.flow.eventTypes.includes(e)), ['OutOfStock', 'PaymentRefunded', 'OrderCancelled']);
  // shipping runs in link mode: its hop is joined by the link, inside the same flow
  const oneFlow = await api<FlowResponse>(`/api/flows/${encodeURIComponent((await flowOf(shipped[0]!))!.flowId)}`);
  assert.ok(oneFlow.hops.some((hop) => hop.toService === 'shipping' && hop.joinedBy === 'link'), 'shipping joined by link');
  assert.ok(oneFlow.flow.traceIds.length >= 2, 'a trace of its own for shipping');
});

test('dropped trace context: shipping starts a new trace, the hop is joined by the message and reported as a gap', { timeout: 90_000 }, async () => {
  await fault('drop-context on', ['inventory']);
  const orderId = await placeOrder({ items: 1, amountCents: 1_500 });
  const flow = await waitForState(orderId, ['completed'], 60_000);
  await fault('drop-context off', ['inventory']);
  const gap = flow.anomalies.find((a) => a.type === 'propagation-gap' && a.service === 'shipping');
  assert.ok(gap && gap.type === 'propagation-gap', JSON.stringify(flow.anomalies.map((a) => a.type)));
  assert.equal(gap.destination, 'stock.reserved');
  assert.equal(gap.joinedBy, 'message', 'healed: the send and the handling name the same Kafka message');
  assert.ok(flow.flow.eventTypes.includes('ShipmentScheduled'), 'the chain goes on in the same flow');
});

test('an uninstrumented service in the chain: shipping\'s handling joins the order by its key', { timeout: 90_000 }, async () => {
  await fault('legacy-hop on', ['inventory']);
  const orderId = await placeOrder({ items: 2, amountCents: 1_700 });
  const flow = await waitForState(orderId, ['completed'], 60_000);
  await fault('legacy-hop off', ['inventory']);
  const handling = flow.spans.find((s) => s.serviceName === 'shipping' && s.kind === 'consumer');
  assert.ok(handling, 'shipping\'s handling is in the order\'s flow');
  const hop = flow.hops.find((h) => h.kind === 'delivery' && h.to.spanId === handling.spanId);
  assert.ok(hop, 'a delivery to shipping');
  assert.equal(hop.fromService, null, 'nobody known sent what shipping handled: the warehouse has no spans');
  const gap = flow.anomalies.find((a) => a.type === 'propagation-gap' && a.service === 'shipping');
  assert.ok(gap && gap.type === 'propagation-gap', `the hop where context was lost: ${JSON.stringify(flow.anomalies)}`);
  assert.equal(gap.destination, 'stock.reserved');
});

test('redelivered messages: notification handles them twice, flagged as duplicate deliveries with an alert', { timeout: 90_000 }, async () => {
  const orderId = await placeOrder({ items: 1, amountCents: 1_800 });
  await waitForState(orderId, ['completed'], 60_000);
  await fault('redeliver notification 5', ['notification']);
  let duplicated: FlowSummary | undefined;
  await waitFor(async () => {
    duplicated = (await api<FlowsResponse>('/api/flows?anomaly=duplicate-delivery')).flows[0];
    return duplicated !== undefined;
  }, 45_000, 'a flow with a duplicate delivery', 250);
  const flow = await api<FlowResponse>(`/api/flows/${encodeURIComponent(duplicated!.flowId)}`);
  const duplicate = flow.anomalies.find((a) => a.type === 'duplicate-delivery');
  assert.ok(duplicate && duplicate.type === 'duplicate-delivery');
  assert.equal(duplicate.consumerGroup, 'notification');
  await waitFor(async () => (await firingAlerts()).some((a) => a.key.startsWith('duplicate|') && a.title.includes('notification')), 30_000, 'the duplicate-delivery alert', 250);
});

test('a poison message: retried, dead-lettered, and the flow failed at payment', { timeout: 90_000 }, async () => {
  await fault('poison', ['order']);
  const orderId = await placeOrder({ items: 1, amountCents: 1_900 });
  const next = await placeOrder({ items: 1, amountCents: 1_950 }); // only the next order was poison
  let flow = await waitForState(orderId, ['failed'], 60_000);
  const explanation = flow.flow.explanation;
  assert.ok(explanation && explanation.kind === 'failure', JSON.stringify(explanation));
  assert.deepEqual([explanation.service, explanation.eventType], ['payment', 'OrderCreated']);
  const attempts = () => flow.spans.filter((s) => s.serviceName === 'payment' && s.kind === 'consumer' && s.attributes['choreoscope.event.type'] === 'OrderCreated');
  await waitFor(async () => {
    flow = await api<FlowResponse>(`/api/flows/${encodeURIComponent(flow.flow.flowId)}`);
    return attempts().length >= 3 && flow.spans.some((s) => s.attributes['messaging.destination.name'] === 'orders.dlq');
  }, 30_000, () => `three attempts and the dead letter; attempts: ${attempts().map((s) => s.status.code)}`, 250);
  assert.deepEqual(attempts().map((s) => s.status.code), ['error', 'error', 'error'], 'every attempt failed, the last one dead-lettered it');
  assert.equal(flow.flow.state, 'failed');
  await waitForState(next, ['completed'], 60_000);
  const deadLetter = flow.spans.find((s) => s.kind === 'producer' && s.attributes['messaging.destination.name'] === 'orders.dlq');
  assert.ok(deadLetter, 'its dead-letter hop');
  assert.equal(deadLetter.attributes['choreoscope.event.type'], 'OrderDeadLettered');
});

test('a paused consumer: orders stall waiting for payment, one alert fires for them all, the dashboard shows it; resumed, the alert resolves', { timeout: 180_000 }, async (t) => {
  await fault('pause payment', ['payment-1', 'payment-2']);
  let resumed = false;
  t.after(async () => { if (!resumed) await fault('resume payment', ['payment-1', 'payment-2']); }); // the next tests need payment
  const stuck = await Promise.all([0, 1, 2].map((i) => placeOrder({ items: 1, amountCents: 2_100 + i })));
  for (const orderId of stuck) {
    const flow = await waitForState(orderId, ['stalled'], 60_000);
    const explanation = flow.flow.explanation;
    assert.ok(explanation && explanation.kind === 'consumer', JSON.stringify(explanation));
    assert.deepEqual([explanation.afterEventType, explanation.consumerGroup], ['OrderCreated', 'payment'], 'payment has not handled OrderCreated');
  }
  let alert: ApiAlert | undefined;
  await waitFor(async () => {
    alert = (await firingAlerts()).find((a) => a.key.startsWith('stalled|OrderCreated|') && a.flowCount >= stuck.length);
    return alert !== undefined;
  }, 30_000, 'one alert for the stalled orders', 250);
  assert.match(alert!.title, /flows waiting for .*payment/);
  assert.equal((await firingAlerts()).filter((a) => a.key.startsWith('stalled|OrderCreated|')).length, 1, 'one alert, not one per order');

  // what a user sees: the map with the stuck flows, the stalled order's timeline, the alert
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  try {
    await page.goto(`${demo.collectorUrl}/#/map`);
    await page.waitForSelector('[data-node="event:OrderCreated"]');
    const stuckNow = page.getByTestId('stuck-now');
    await stuckNow.locator('.stuck-group').first().waitFor();
    const heads = await stuckNow.locator('.stuck-head').allTextContents();
    assert.ok(heads.includes('3 waiting for payment (group payment) to handle OrderCreated'), heads.join(' | '));
    await screenshot(page, 'demo-map-stalled');
    await page.fill('input[name=flow-search]', stuck[0]!);
    await page.click('.flow-search button');
    await page.getByTestId('flow-state').waitFor();
    assert.equal(await page.getByTestId('flow-state').textContent(), 'stalled');
    assert.match(await page.getByTestId('flow-explanation').textContent() ?? '', /waiting for OrderCreated to be handled by payment/);
    await screenshot(page, 'demo-flow-stalled');
    await page.goto(`${demo.collectorUrl}/#/alerts/${encodeURIComponent(alert!.id)}`);
    // the alert names the stuck orders by their order ids
    const named = page.getByTestId('alert-flows').locator('a');
    await named.first().waitFor();
    const orderIds = await named.allTextContents();
    assert.ok(stuck.every((orderId) => orderIds.includes(orderId)), `the stuck orders by id: ${orderIds.join(', ')}`);
    await screenshot(page, 'demo-alert');
    // the catalogue: the funnel in the chain's order, the stuck orders at the step they stopped after
    await page.goto(`${demo.collectorUrl}/#/catalog`);
    const funnel = page.getByTestId('funnel');
    await funnel.locator('svg g[data-event="OrderCreated"]').waitFor();
    const steps = await funnel.locator('svg g[data-event]').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-event')));
    assert.ok(steps.indexOf('OrderCreated') === 0 && steps.indexOf('PaymentAuthorized') < steps.indexOf('StockReserved')
      && steps.indexOf('StockReserved') < steps.indexOf('ShipmentScheduled'), `in the chain's order: ${steps.join(', ')}`);
    await screenshot(page, 'demo-catalog');
  } finally {
    await page.close();
  }

  await fault('resume payment', ['payment-1', 'payment-2']);
  resumed = true;
  for (const orderId of stuck) await waitForState(orderId, ['completed'], 60_000);
  await waitFor(async () => (await api<{ alert: ApiAlert }>(`/api/alerts/${alert!.id}`)).alert.state === 'resolved', 60_000, 'the alert to resolve', 500);
});

test('a slow step: orders go late after PaymentAuthorized, then complete when it speeds up', { timeout: 120_000 }, async (t) => {
  await fault('slow inventory 6000', ['inventory']);
  let fast = false;
  t.after(async () => { if (!fast) await fault('fast inventory', ['inventory']); });
  const orderId = await placeOrder({ items: 1, amountCents: 2_200 });
  const late = (await waitForState(orderId, ['late', 'stalled'], 60_000, (flow) => flow.explanation?.kind === 'consumer' && flow.explanation.consumerGroup === 'inventory')).flow.explanation;
  assert.ok(late && late.kind === 'consumer', JSON.stringify(late));
  assert.deepEqual([late.afterEventType, late.consumerGroup], ['PaymentAuthorized', 'inventory']);
  await fault('fast inventory', ['inventory']);
  fast = true;
  await waitForState(orderId, ['completed'], 60_000);
});

test('a crashed service is restarted and its orders complete', { timeout: 120_000 }, async () => {
  const shipping = demo.processes.find((p) => p.name === 'shipping')!;
  const pid = shipping.pid;
  const runs = () => logOf('shipping').split(' running (brokers').length - 1;
  assert.equal(runs(), 1);
  await demo.sendFaults(parseFault(['crash', 'shipping']));
  await waitFor(() => shipping.pid !== undefined && shipping.pid !== pid && runs() === 2, 60_000, 'shipping to be restarted and running again', 250);
  const orderId = await placeOrder({ items: 1, amountCents: 2_300 });
  await waitForState(orderId, ['completed'], 60_000);
});

test('lost sends: payment handles an order and sends nothing, and the order stalls after OrderCreated', { timeout: 90_000 }, async () => {
  // two instances share payment's group: each takes the one-shot fault, so whichever gets the order loses its send
  await fault('lose-sends payment 1', ['payment-1', 'payment-2']);
  const orderId = await placeOrder({ items: 1, amountCents: 2_400 });
  await waitFor(() => ['payment-1', 'payment-2'].some((name) => logOf(name).includes(`lost PaymentAuthorized for ${orderId}`)), 30_000,
    `a payment instance to lose ${orderId}'s PaymentAuthorized`, 250);
  const flow = await waitForState(orderId, ['stalled'], 60_000);
  const explanation = flow.flow.explanation;
  assert.ok(explanation && explanation.kind === 'next-event', JSON.stringify(explanation));
  assert.equal(explanation.afterEventType, 'OrderCreated');
  assert.ok(flow.spans.some((s) => s.serviceName === 'payment' && s.kind === 'consumer' && s.status.code !== 'error'), 'payment handled it, without an error');
  assert.ok(!flow.spans.some((s) => s.kind === 'producer' && s.attributes['choreoscope.event.type'] === 'PaymentAuthorized'), 'and sent nothing');
});

test('a skipped backlog: payment jumps past the order waiting for it, which stays stalled on payment, while it handles later orders', { timeout: 90_000 }, async () => {
  await fault('pause payment', ['payment-1', 'payment-2']);
  const skipped = await placeOrder({ items: 1, amountCents: 2_500 });
  await waitFor(async () => (await flowOf(skipped)) !== undefined, 30_000, `${skipped}'s OrderCreated to be stored`, 250);
  // each instance jumps to the end of the partitions it was given, as an operator's reset to the latest offset
  const jumps = (name: string) => logOf(name).split('(skip-backlog)').length - 1;
  await fault('skip-backlog payment', ['payment-1', 'payment-2']);
  await waitFor(() => jumps('payment-1') === 1 && jumps('payment-2') === 1, 30_000, 'both payment instances to jump to the end of their partitions', 100);
  await fault('resume payment', ['payment-1', 'payment-2']);
  // payment handles what comes after (whether it sends is not this test's: a lose-sends left over on the
  // instance that did not get the last test's order may take this one's send)
  const next = await placeOrder({ items: 1, amountCents: 2_600 });
  await waitForState(next, ['running', 'late', 'stalled', 'completed', 'compensated'], 60_000, (f) => f.services.includes('payment'));
  const flow = await waitForState(skipped, ['stalled'], 60_000);
  const explanation = flow.flow.explanation;
  assert.ok(explanation && explanation.kind === 'consumer', JSON.stringify(explanation));
  assert.deepEqual([explanation.afterEventType, explanation.consumerGroup], ['OrderCreated', 'payment']);
  assert.ok(!flow.spans.some((s) => s.serviceName === 'payment'), 'payment never handled it');
});
