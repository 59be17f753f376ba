/**
 * GET /api/catalog/asyncapi: the choreography as observed, as an AsyncAPI 3.0 document, checked against
 * the official AsyncAPI 3.0.0 JSON schema (@asyncapi/specs): built from catalogue entries with names no
 * component key may hold (spaces, slashes, markup), and through a real collector fed a fixture chain.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { Ajv } from 'ajv';
import { asyncApiDocument } from '../src/api/asyncapi.ts';
import type { AsyncApiDocument } from '../src/api/types.ts';
import type { CatalogEntry } from '../src/core/catalog.ts';
import { FIXTURE_KEY_ATTRIBUTES, flowWith, postFixtureSpans } from './fixture-flows-api.ts';
import { readFlowFixtures } from './flow-fixtures.ts';
import { send, startCollector, type RunningCollector } from './helpers.ts';
import { pgliteStores } from './stores.ts';

const specs = createRequire(import.meta.url)('@asyncapi/specs') as { schemasWithoutId: Record<string, object> };
const validate = new Ajv({ strict: false, allErrors: true, validateFormats: false }).compile(specs.schemasWithoutId['3.0.0']!);

assert.equal(validate({ asyncapi: '3.0.0', channels: {} }), false, 'the schema refuses a document without info: it checks');

function valid(document: unknown): void {
  assert.ok(validate(document), JSON.stringify(validate.errors?.slice(0, 5), null, 1));
}

const T0 = Date.UTC(2026, 11, 1, 12);
const entry = (fields: Partial<CatalogEntry> & Pick<CatalogEntry, 'eventType' | 'role' | 'service'>): CatalogEntry => ({
  destination: 'orders', consumerGroup: '', spans: 10, firstSeenMs: T0, lastSeenMs: T0 + 1_000, attributeKeys: ['messaging.system'], ...fields,
});

test('catalogue entries become channels, messages and operations, valid AsyncAPI 3.0 whatever the names', () => {
  const document = asyncApiDocument([
    entry({ eventType: 'OrderCreated', role: 'producer', service: 'order', attributeKeys: ['choreoscope.business_key', 'messaging.system'] }),
    entry({ eventType: 'OrderCreated', role: 'consumer', service: 'payment', consumerGroup: 'payments', attributeKeys: ['messaging.kafka.offset'] }),
    entry({ eventType: 'Order Cancelled/v2 <script>', role: 'producer', service: 'order svc', destination: 'orders.dlq/x' }),
    entry({ eventType: 'Order Cancelled/v2 <b>', role: 'producer', service: 'order svc', destination: '' }),
  ], T0, '0.1.0');
  valid(document);
  assert.deepEqual(Object.keys(document.channels).sort(), ['_no_topic_named_', 'orders', 'orders.dlq_x']);
  assert.deepEqual(document.channels.orders, { address: 'orders', messages: { OrderCreated: { $ref: '#/components/messages/OrderCreated' } } });
  assert.equal(document.channels._no_topic_named_!.address, null, 'no topic named: an unknown address');
  assert.deepEqual(document.components.messages.OrderCreated!['x-choreoscope-span-attribute-keys'],
    ['choreoscope.business_key', 'messaging.kafka.offset', 'messaging.system'], 'the keys of its producers and consumers');
  const names = Object.values(document.components.messages).map((m) => m.name).sort();
  assert.deepEqual(names, ['Order Cancelled/v2 <b>', 'Order Cancelled/v2 <script>', 'OrderCreated'], 'names as written');
  assert.equal(new Set(Object.keys(document.components.messages)).size, 3, 'two names that clean up alike keep keys of their own');
  const receive = Object.values(document.operations).find((o) => o.action === 'receive')!;
  assert.deepEqual([receive.summary, receive.bindings?.kafka.groupId.enum, receive.channel.$ref],
    ['payment (group payments) receives OrderCreated from orders', ['payments'], '#/channels/orders']);
  assert.equal(Object.values(document.operations).filter((o) => o.action === 'send').length, 3);
});

let collector: RunningCollector;
before(async () => {
  collector = await startCollector(pgliteStores, { server: { businessKeyAttributes: FIXTURE_KEY_ATTRIBUTES, flows: { pollIntervalMs: 50 } } });
});
after(() => collector.close());

test('through a collector: the chain it saw, as a valid AsyncAPI document', async () => {
  const chain = readFlowFixtures().find((fixture) => fixture.name === 'clean-chain-parent')!;
  await postFixtureSpans(collector.url, chain, chain.spans, 'asyncapi:');
  await flowWith(collector.url, chain, 'order.send', 'asyncapi:', chain.spans.length);
  const answer = await send(`${collector.url}/api/catalog/asyncapi`, {});
  assert.equal(answer.status, 200, answer.text);
  const document = answer.json as AsyncApiDocument;
  valid(document);
  const summaries = Object.values(document.operations).map((o) => o.summary).sort();
  // the fixture's topics are namespaced (asyncapi:orders): a name no component key may hold, kept as written
  assert.ok(summaries.includes('order sends OrderCreated to asyncapi:orders'), summaries.join('; '));
  assert.ok(summaries.includes('payment (group payment) receives OrderCreated from asyncapi:orders'), summaries.join('; '));
  assert.equal(document.channels.asyncapi_orders?.address, 'asyncapi:orders');
  assert.deepEqual(Object.values(document.components.messages).map((m) => m.name).sort(),
    ['OrderCreated', 'PaymentAuthorized', 'ShipmentScheduled', 'StockReserved']);
});
