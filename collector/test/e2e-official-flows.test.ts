/**
 * End to end with only the official @opentelemetry/instrumentation-kafkajs: three services, each a
 * process of its own, over the embedded broker, exporting to a real collector that reads the business
 * key from `messaging.kafka.message.key`. Payment handles the orders in one `eachBatch` (one `poll`
 * span for all, a `process` span per message linking its order, the sends under the poll): the API
 * still answers one flow per order, the batch span in none.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FlowResponse, FlowsResponse, TraceResponse } from '../src/api/types.ts';
import { send, waitFor } from './helpers.ts';
import { useBrokerAndCollector } from './services/end-to-end.ts';
import { runService } from './services/run-service.ts';

const ORDERS = 10;
const e2e = useBrokerAndCollector({ orders: 1, payments: 1 }, { businessKeyAttributes: ['messaging.kafka.message.key'] });
const { services, getJson } = e2e;

test(`${ORDERS} orders, a batch consumer under the official instrumentation: ${ORDERS} flows, not one`, async () => {
  const env = { BROKER: e2e.broker.address, COLLECTOR_URL: e2e.collector.url, ORDERS: String(ORDERS) };
  // every order is sent before payment starts, so its first poll takes them all in one batch
  const order = runService('./official-service.ts', { ...env, ROLE: 'order' });
  services.push(order);
  await order.done;
  for (const role of ['payment', 'inventory']) services.push(runService('./official-service.ts', { ...env, ROLE: role }));
  await Promise.all(services.map((service) => service.done));

  let flows: FlowsResponse['flows'] = [];
  await waitFor(async () => {
    flows = (await getJson<FlowsResponse>('/api/flows?service=order&limit=100')).flows;
    return flows.length === ORDERS && flows.every((flow) => flow.spanCount === 4);
  }, 20_000, () => `${ORDERS} flows of 4 spans; now ${JSON.stringify(flows.map((f) => [f.businessKeys, f.spanCount]))}`);

  assert.deepEqual(flows.map((f) => f.businessKeys).sort(), Array.from({ length: ORDERS }, (_, i) => [`order-${i + 1}`]).sort());
  let pollTrace = '';
  for (const summary of flows) {
    const flow = await getJson<FlowResponse>(`/api/flows/${summary.flowId}`);
    assert.ok(flow.spans.every((span) => span.scope.name === '@opentelemetry/instrumentation-kafkajs'), 'only the official instrumentation\'s spans');
    const names = new Map(flow.spans.map((span) => [span.spanId, `${span.serviceName}:${span.name}`]));
    assert.deepEqual(flow.hops.map((hop) => `${hop.kind} ${names.get(hop.from!.spanId)} -> ${names.get(hop.to.spanId)} by ${hop.joinedBy}`).sort(), [
      'delivery order:send orders -> payment:process orders by link',
      'delivery payment:send payments -> inventory:process payments by parent',
      'step payment:process orders -> payment:send payments by key',
    ]);
    const process = flow.spans.find((span) => span.name === 'process orders')!;
    pollTrace = process.traceId;
    assert.equal(flow.hops.find((hop) => hop.kind === 'delivery' && hop.to.spanId === process.spanId)!.consumerGroup, 'payment',
      'the official spans name no group: the consuming service stands for it');
  }
  // the poll span, parent of every order's process span and of every send, is in the trace but in no flow
  const batchTrace = await getJson<TraceResponse>(`/api/traces/${pollTrace}`);
  const poll = batchTrace.spans.find((span) => span.name === 'poll orders');
  assert.ok(poll, `the batch span: ${batchTrace.spans.map((s) => s.name).join(', ')}`);
  assert.equal(batchTrace.spans.filter((span) => span.name === 'process orders').length, ORDERS, 'one batch held every order');
  assert.equal((await send(`${e2e.collector.url}/api/flows/${poll.traceId}-${poll.spanId}`, {})).status, 404);
  assert.equal((await getJson<FlowsResponse>(`/api/flows?traceId=${pollTrace}&limit=100`)).flows.length, ORDERS);
});
