// eachBatch hands the handler many orders at once. Whatever the handler publishes for one message inside
// processMessage(message, …) must continue THAT order's chain, not the batch's and not a neighbour's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanKind } from '@opentelemetry/api';
import { Kafka, type KafkaMessage } from 'kafkajs';
import { instrumentKafka, processMessage, semconv, withBusinessKey, type ContextMode } from '../src/index.ts';
import { MAX_WAIT_TIME_MS, Teardown, kafkaConfig, waitFor } from './kafka-fixture.ts';
import { describeSpans, spansNamed, theSpan } from './span-queries.ts';
import { useBrokerAndTracing } from './tracing.ts';

const ORDERS = ['o-1', 'o-2', 'o-3', 'o-4', 'o-5'];

const env = useBrokerAndTracing();

interface Scenario {
  topic: string;
  contextMode: ContextMode;
  /** Which messages the handler passes through processMessage (and publishes an event for). */
  throughProcessMessage: (orderId: string) => boolean;
}

/**
 * The order service publishes one OrderCreated per order, each in its own trace; only then does the
 * payment service start, so its first fetch brings every order in one batch. For each message chosen,
 * the batch handler publishes PaymentAuthorized inside processMessage — all at once, so the messages'
 * contexts are live side by side.
 */
async function consumeOrdersInOneBatch(scenario: Scenario): Promise<{ batchSizes: number[] }> {
  const teardown = new Teardown();
  try {
    env.broker.createTopic(scenario.topic, 1);
    const order = instrumentKafka(new Kafka(kafkaConfig(env.broker.address, 'order-service')));
    const payment = instrumentKafka(new Kafka(kafkaConfig(env.broker.address, 'payment-service')), { contextMode: scenario.contextMode });
    const orderProducer = await teardown.connect(order.producer());
    for (const orderId of ORDERS) {
      await withBusinessKey(orderId, () =>
        orderProducer.send({ topic: scenario.topic, messages: [{ key: orderId, value: 'OrderCreated', headers: { [semconv.HEADER_EVENT_TYPE]: 'OrderCreated' } }] }));
    }

    const paymentProducer = await teardown.connect(payment.producer());
    const consumer = await teardown.connect(payment.consumer({ groupId: `payment-${scenario.topic}`, maxWaitTimeInMs: MAX_WAIT_TIME_MS }));
    await consumer.subscribe({ topics: [scenario.topic], fromBeginning: true });
    const batchSizes: number[] = [];
    const handled = new Set<string>();
    const publish = (message: KafkaMessage) =>
      paymentProducer.send({
        topic: 'payments',
        messages: [{ key: message.key, value: 'PaymentAuthorized', headers: { [semconv.HEADER_EVENT_TYPE]: 'PaymentAuthorized' } }],
      });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        batchSizes.push(batch.messages.length);
        await Promise.all(batch.messages.map(async (message) => {
          const orderId = String(message.key);
          if (scenario.throughProcessMessage(orderId)) await processMessage(message, () => publish(message));
          handled.add(orderId);
        }));
      },
    });

    const processSpans = () => spansNamed(env.tracing.spans(), `process ${scenario.topic}`).length;
    const expectedSends = ORDERS.filter(scenario.throughProcessMessage).length;
    await waitFor(
      () => handled.size === ORDERS.length && processSpans() >= ORDERS.length && spansNamed(env.tracing.spans(), 'send payments').length >= expectedSends,
      15_000,
      () => `every order handled (${handled.size}/${ORDERS.length}); spans so far: ${describeSpans(env.tracing.spans())}`,
    );
    return { batchSizes };
  } finally {
    await teardown.run();
  }
}

test('parent mode: each event published inside processMessage continues its own order chain', async () => {
  env.tracing.reset();
  const { batchSizes } = await consumeOrdersInOneBatch({ topic: 'orders-parent', contextMode: 'parent', throughProcessMessage: () => true });
  assert.deepEqual(batchSizes, [ORDERS.length], 'all orders arrived in one batch, or this test proves nothing about batches');

  const spans = env.tracing.spans();
  const traceIds = new Set<string>();
  for (const orderId of ORDERS) {
    const key = { [semconv.ATTR_BUSINESS_KEY]: orderId };
    const sendOrder = theSpan(spans, 'send orders-parent', key);
    const processOrder = theSpan(spans, 'process orders-parent', key);
    const sendPayment = theSpan(spans, 'send payments', key);
    const orderTrace = sendOrder.spanContext().traceId;
    traceIds.add(orderTrace);

    assert.equal(processOrder.kind, SpanKind.CONSUMER);
    assert.equal(processOrder.spanContext().traceId, orderTrace, `${orderId}: process span in the order's trace`);
    assert.equal(processOrder.parentSpanContext?.spanId, sendOrder.spanContext().spanId, `${orderId}: process span parented to its send`);
    assert.equal(processOrder.attributes[semconv.ATTR_MESSAGING_BATCH_MESSAGE_COUNT], ORDERS.length);
    assert.equal(processOrder.attributes[semconv.ATTR_EVENT_TYPE], 'OrderCreated');

    assert.equal(sendPayment.spanContext().traceId, orderTrace, `${orderId}: PaymentAuthorized in the order's trace`);
    assert.equal(sendPayment.parentSpanContext?.spanId, processOrder.spanContext().spanId, `${orderId}: PaymentAuthorized parented to that message's process span`);
    assert.equal(sendPayment.attributes[semconv.ATTR_EVENT_TYPE], 'PaymentAuthorized');
  }
  assert.equal(traceIds.size, ORDERS.length, 'every order is a trace of its own');
});

test('link mode: each message\'s process span starts a new trace linked to its order\'s send span', async () => {
  env.tracing.reset();
  await consumeOrdersInOneBatch({ topic: 'orders-link', contextMode: 'link', throughProcessMessage: () => true });

  const spans = env.tracing.spans();
  for (const orderId of ORDERS) {
    const key = { [semconv.ATTR_BUSINESS_KEY]: orderId };
    const sendOrder = theSpan(spans, 'send orders-link', key);
    const processOrder = theSpan(spans, 'process orders-link', key);
    const sendPayment = theSpan(spans, 'send payments', key);

    assert.equal(processOrder.parentSpanContext, undefined, `${orderId}: process span is a root`);
    assert.notEqual(processOrder.spanContext().traceId, sendOrder.spanContext().traceId, `${orderId}: in a new trace`);
    assert.deepEqual(processOrder.links.map((link) => link.context.spanId), [sendOrder.spanContext().spanId], `${orderId}: linked to its order's send span`);
    assert.equal(processOrder.links[0]!.context.traceId, sendOrder.spanContext().traceId);
    assert.equal(processOrder.attributes[semconv.ATTR_CONTEXT_MODE], 'link');
    assert.equal(processOrder.attributes[semconv.ATTR_CONTEXT_STATUS], 'propagated');

    // The event published while handling the message continues the process span's trace, keyed by the order.
    assert.equal(sendPayment.spanContext().traceId, processOrder.spanContext().traceId);
    assert.equal(sendPayment.parentSpanContext?.spanId, processOrder.spanContext().spanId);
  }
});

test('messages the handler does not pass through processMessage still get one process span each', async () => {
  env.tracing.reset();
  const passed = new Set(['o-2', 'o-4']);
  await consumeOrdersInOneBatch({ topic: 'orders-mixed', contextMode: 'parent', throughProcessMessage: (orderId) => passed.has(orderId) });

  const spans = env.tracing.spans();
  for (const orderId of ORDERS) {
    const key = { [semconv.ATTR_BUSINESS_KEY]: orderId };
    const sendOrder = theSpan(spans, 'send orders-mixed', key);
    const processOrder = theSpan(spans, 'process orders-mixed', key);
    assert.equal(processOrder.parentSpanContext?.spanId, sendOrder.spanContext().spanId, `${orderId}: process span parented to its send`);
    assert.equal(processOrder.attributes[semconv.ATTR_MESSAGING_BATCH_MESSAGE_COUNT], ORDERS.length);
    assert.equal(spansNamed(spans, 'send payments', key).length, passed.has(orderId) ? 1 : 0);
  }
});
