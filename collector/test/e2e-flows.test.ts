/**
 * End to end with Choreoscope's instrumentation: five services, each a process of its own with kafkajs
 * over the embedded broker, exporting over OTLP/HTTP to a real collector. Ten orders go through order →
 * payment (parent mode) → inventory (eachBatch, link mode) → shipping → notification (which also
 * handles OrderCreated), and the API answers ten flows, each the whole chain with its hops joined as
 * the instrumentation tied them. Then payment handles two more orders and sends nothing: having always
 * sent, it has stalled them, and the flows and their alert say so. Last, payment's offset is reset past
 * an order while it is away: the order's flow is stalled as soon as payment handles a later order of the
 * same partition, long before its deadline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka } from 'kafkajs';
import type { AlertsResponse, CatalogResponse, FlowResponse, FlowsResponse, ModelResponse } from '../src/api/types.ts';
import { waitFor } from './helpers.ts';
import { useBrokerAndCollector } from './services/end-to-end.ts';
import { runService } from './services/run-service.ts';

const ORDERS = 10;
// learned from the first test's orders: settled a second after they go quiet, payment's sends trusted after
// ten, its reading in order after five; what follows OrderCreated, and payment's handling of it, are
// declared due within a minute, so only the evidence can stall them sooner
const e2e = useBrokerAndCollector({ orders: 2, payments: 2, stock: 2, shipments: 2 }, {
  flows: {
    settleAfterMs: 1_000, exportDelayMs: 1_000, saveModelEveryMs: 200, model: { minSamples: ORDERS, sendEvidenceMinSamples: ORDERS },
    partitions: { sequentialMinSamples: 5 },
    stalls: {
      steps: [
        { afterEventType: 'OrderCreated', consumerGroup: null, expect: [], lateAfterMs: 60_000, stalledAfterMs: 120_000 },
        { afterEventType: 'OrderCreated', consumerGroup: 'payment', expect: [], lateAfterMs: 60_000, stalledAfterMs: 120_000 },
      ],
    },
  },
});
const { services, getJson } = e2e;

test(`${ORDERS} orders through five instrumented services: ${ORDERS} flows, each the whole chain, hops joined by parent and link`, async () => {
  const env = { BROKER: e2e.broker.address, COLLECTOR_URL: e2e.collector.url, ORDERS: String(ORDERS) };
  for (const role of ['payment', 'inventory', 'shipping', 'notification']) services.push(runService('./choreoscope-service.ts', { ...env, ROLE: role }));
  // notification handles two topics: had it joined after the chain ran, it could handle an order's
  // ShipmentScheduled before its OrderCreated, which the flow would rightly call out of order
  await Promise.all(services.map((service) => service.ready));
  services.push(runService('./choreoscope-service.ts', { ...env, ROLE: 'order' }));
  await Promise.all(services.map((service) => service.done));

  let flows: FlowsResponse['flows'] = [];
  await waitFor(async () => {
    flows = (await getJson<FlowsResponse>('/api/flows?service=order&limit=100')).flows;
    return flows.length === ORDERS && flows.every((flow) => flow.spanCount === 10);
  }, 20_000, () => `${ORDERS} complete flows; now ${JSON.stringify(flows.map((f) => [f.businessKeys, f.spanCount]))}`).catch(async (error) => {
    const flow = flows[0] && await getJson<FlowResponse>(`/api/flows/${flows[0].flowId}`);
    throw new Error(`${(error as Error).message}\nthe first: ${JSON.stringify(flow?.spans.map((s) => `${s.serviceName}:${s.name}`))}`);
  });

  assert.deepEqual(flows.map((f) => f.businessKeys[0]).sort(), Array.from({ length: ORDERS }, (_, i) => `order-${i + 1}`).sort());
  for (const summary of flows) {
    assert.deepEqual(summary.businessKeys.length, 1, 'one order per flow');
    assert.deepEqual([...summary.services].sort(), ['inventory', 'notification', 'order', 'payment', 'shipping']);
    assert.deepEqual([...summary.eventTypes].sort(), ['OrderCreated', 'PaymentAuthorized', 'ShipmentScheduled', 'StockReserved']);
    assert.equal(summary.traceCount, 2, 'the order\'s trace, and the one inventory started in link mode');
    assert.deepEqual(summary.anomalies, ['fan-out', 'fan-in'], 'OrderCreated goes to two groups; notification handles two event types');
    assert.equal(summary.pendingHops, 0);

    const flow = await getJson<FlowResponse>(`/api/flows/${summary.flowId}`);
    const names = new Map(flow.spans.map((span) => [span.spanId, `${span.serviceName}:${span.name}`]));
    const hops = flow.hops.map((hop) => `${hop.kind} ${names.get(hop.from!.spanId)} -> ${names.get(hop.to.spanId)} by ${hop.joinedBy}`).sort();
    assert.deepEqual(hops, [
      'delivery inventory:send stock -> shipping:process stock by parent',
      'delivery order:send orders -> notification:process orders by parent',
      'delivery order:send orders -> payment:process orders by parent',
      'delivery payment:send payments -> inventory:process payments by link',
      'delivery shipping:send shipments -> notification:process shipments by parent',
      'step inventory:process payments -> inventory:send stock by parent',
      'step payment:process orders -> payment:send payments by parent',
      'step shipping:process stock -> shipping:send shipments by parent',
    ]);
    assert.ok(flow.hops.filter((hop) => hop.kind === 'delivery').every((hop) => hop.waitMs !== null && hop.waitMs >= 0 && !hop.clockSkew));
    assert.equal(flow.spans[0]!.name, 'POST /orders', 'causal order: the API call first');
  }

  // the catalogue counted each event once, with who produced and consumed it
  const catalog = await getJson<CatalogResponse>('/api/catalog');
  assert.deepEqual(catalog.events.map((e) => [e.eventType, e.topics, e.produced, e.consumed]), [
    ['OrderCreated', ['orders'], ORDERS, 2 * ORDERS],
    ['PaymentAuthorized', ['payments'], ORDERS, ORDERS],
    ['ShipmentScheduled', ['shipments'], ORDERS, ORDERS],
    ['StockReserved', ['stock'], ORDERS, ORDERS],
  ]);
  const created = catalog.events[0]!;
  assert.deepEqual(created.producers.map((p) => [p.service, p.spans]), [['order', ORDERS]]);
  assert.deepEqual(created.consumers.map((c) => [c.service, c.consumerGroup, c.spans]).sort(), [['notification', 'notification', ORDERS], ['payment', 'payment', ORDERS]]);
  for (const key of ['choreoscope.business_key', 'choreoscope.event.type', 'messaging.destination.name', 'messaging.kafka.offset']) {
    assert.ok(created.attributeKeys.includes(key), key);
  }
  assert.equal(created.ratePerSecond, ORDERS / (catalog.rateWindowMs / 1000), 'all sent within the rate window');
});

test('payment handles two more orders and sends nothing: stalled as soon as its handlings end, saying so', async () => {
  const env = { BROKER: e2e.broker.address, COLLECTOR_URL: e2e.collector.url };
  let model: ModelResponse | undefined;
  await waitFor(async () => {
    model = await getJson<ModelResponse>('/api/model');
    return model.steps.find((step) => step.eventType === 'OrderCreated')?.consumers.find((c) => c.group === 'payment')?.awaitsSend === true;
  }, 20_000, () => `payment learned to always send; now ${JSON.stringify(model?.steps.find((step) => step.eventType === 'OrderCreated')?.consumers)}`);
  const created = model!.steps.find((step) => step.eventType === 'OrderCreated')!;
  assert.deepEqual(created.consumers.map((c) => [c.group, c.handled, c.sentNext, c.awaitsSend]).sort(), [['notification', ORDERS, 0, false], ['payment', ORDERS, ORDERS, true]]);
  const handler = created.consumers.find((c) => c.group === 'payment')!;
  assert.ok(handler.untilHandled.count === ORDERS && handler.untilHandled.p50Ms! >= handler.wait.p50Ms!, 'until handled: the wait and the handling');

  // notification handles OrderCreated too: it runs, so payment's step is the only one left waiting
  const consumers = [
    runService('./choreoscope-service.ts', { ...env, ROLE: 'payment', SILENT: '1', ORDERS: '2', FIRST_ORDER: '11' }),
    runService('./choreoscope-service.ts', { ...env, ROLE: 'notification', ORDERS: '2', EXPECTED: '2' }),
  ];
  services.push(...consumers);
  await Promise.all(consumers.map((service) => service.ready));
  const order = runService('./choreoscope-service.ts', { ...env, ROLE: 'order', ORDERS: '2', FIRST_ORDER: '11' });
  services.push(order);
  await Promise.all([...consumers, order].map((service) => service.done));

  let flows: FlowsResponse['flows'] = [];
  await waitFor(async () => {
    flows = (await getJson<FlowsResponse>('/api/flows?state=stalled&limit=10')).flows;
    return flows.length === 2;
  }, 20_000, () => `two stalled flows; now ${JSON.stringify(flows.map((f) => [f.businessKeys, f.explanation?.message]))}`);
  assert.deepEqual(flows.map((f) => f.businessKeys[0]).sort(), ['order-11', 'order-12']);
  for (const flow of flows) {
    const explanation = flow.explanation!;
    assert.equal(explanation.kind, 'next-event');
    if (explanation.kind !== 'next-event') continue;
    assert.equal(explanation.handledWithoutSending?.consumerGroup, 'payment');
    assert.equal(explanation.handledWithoutSending?.sendShare, 1);
    // when payment's handling ended (a handler doing nothing may end before the send's span does: the broker
    // hands the message on before the producer hears its acknowledgement)
    const silentAt = explanation.handledWithoutSending!.atMs;
    const handling = (await getJson<FlowResponse>(`/api/flows/${flow.flowId}`)).spans.find((s) => s.serviceName === 'payment' && s.kind === 'consumer');
    assert.equal(silentAt, handling?.endTimeMs);
    // stalled once the handling's span had the export delay (and the assembly backlog's wait) to arrive, not at the minute declared
    assert.ok(explanation.lateAtMs - silentAt >= 1_000 && explanation.lateAtMs - silentAt < 10_000, `late ${explanation.lateAtMs - silentAt} ms after the silent end`);
    assert.match(explanation.message, /^waiting for PaymentAuthorized from payment since \S+: payment \(group payment\) finished handling OrderCreated \d+ ms later without sending it, though it sent one after all of its handlings until now$/);
  }
  let titles: string[] = [];
  await waitFor(async () => {
    titles = (await getJson<AlertsResponse>('/api/alerts?state=firing')).alerts.map((alert) => alert.title);
    return titles.includes('2 flows where payment (group payment) finished handling OrderCreated without sending PaymentAuthorized');
  }, 10_000, () => `one alert for both, saying what happened; now ${JSON.stringify(titles)}`);
});

test('payment\'s offset reset past an order while it is away: the order is stalled once payment handles a later order of its partition, saying so', async () => {
  const env = { BROKER: e2e.broker.address, COLLECTOR_URL: e2e.collector.url };
  // orders 13–18 sent while no payment runs (13, 17 and 18 go to partition 1 by their keys, the others to 0)
  const order = runService('./choreoscope-service.ts', { ...env, ROLE: 'order', ORDERS: '6', FIRST_ORDER: '13' });
  services.push(order);
  await order.done;
  let sent: FlowResponse['spans'][number] | undefined;
  await waitFor(async () => {
    const [flow] = (await getJson<FlowsResponse>('/api/flows?businessKey=order-13&limit=1')).flows;
    sent = flow && (await getJson<FlowResponse>(`/api/flows/${flow.flowId}`)).spans.find((span) => span.kind === 'producer');
    return sent !== undefined;
  }, 20_000, () => 'order-13\'s OrderCreated stored');
  const partition = Number(sent!.attributes['messaging.destination.partition.id']);
  const offset = Number(sent!.attributes['messaging.kafka.offset']);
  assert.equal(partition, 1);
  // as an operator resetting the group to a later offset would: payment will never see order 13 (a member
  // of the group that handles nothing commits the offset after it, then leaves)
  const operator = new Kafka({ clientId: 'operator', brokers: [e2e.broker.address], logLevel: 0 }).consumer({ groupId: 'payment' });
  await operator.connect();
  await operator.subscribe({ topic: 'orders' });
  const joined = new Promise<void>((resolve) => operator.on(operator.events.GROUP_JOIN, () => resolve()));
  await operator.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async () => {} });
  await joined;
  await operator.commitOffsets([{ topic: 'orders', partition, offset: String(offset + 1) }]);
  await operator.disconnect();
  // notification handles the six first, so payment is the only group order-13 can wait for
  const notification = runService('./choreoscope-service.ts', { ...env, ROLE: 'notification', ORDERS: '6', EXPECTED: '6' });
  services.push(notification);
  await notification.done;
  const payment = runService('./choreoscope-service.ts', { ...env, ROLE: 'payment', ORDERS: '5', EXPECTED: '5' });
  services.push(payment);
  await payment.done;

  let flow: FlowsResponse['flows'][number] | undefined;
  await waitFor(async () => {
    [flow] = (await getJson<FlowsResponse>('/api/flows?businessKey=order-13&state=stalled&limit=1')).flows;
    return flow !== undefined;
  }, 20_000, () => 'order-13 stalled').catch(async (error) => {
    const [now] = (await getJson<FlowsResponse>('/api/flows?businessKey=order-13&limit=1')).flows;
    const spans = now && (await getJson<FlowResponse>(`/api/flows/${now.flowId}`)).spans.map((s) => `${s.serviceName}:${s.name}`);
    throw new Error(`${(error as Error).message}: ${JSON.stringify([now?.state, now?.explanation?.message, spans])}`);
  });
  const explanation = flow!.explanation!;
  assert.equal(explanation.kind, 'consumer');
  if (explanation.kind !== 'consumer') return;
  const passed = explanation.passedOver!;
  assert.deepEqual([passed.consumerGroup, passed.topic, passed.partition, passed.offset], ['payment', 'orders', '1', String(offset)]);
  assert.ok(Number(passed.laterOffset) > offset && passed.laterAtMs > explanation.sinceMs, JSON.stringify(passed));
  // stalled once the later handling's span had the export delay (and the backlog's wait) to arrive, not at the minute declared
  assert.ok(explanation.lateAtMs - passed.laterAtMs >= 1_000 && explanation.lateAtMs - passed.laterAtMs < 10_000, `late ${explanation.lateAtMs - passed.laterAtMs} ms after the later handling`);
  assert.match(explanation.message, new RegExp(`^waiting for OrderCreated to be handled by payment \\(group payment\\) since \\S+: the group went past it, handling a later message of orders partition 1 \\(offset ${passed.laterOffset}, at \\S+\\) but not this one \\(offset ${offset}\\)$`));
});
