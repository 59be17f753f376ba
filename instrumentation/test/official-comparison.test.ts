// The eachBatch scenario of each-batch.test.ts under the official @opentelemetry/instrumentation-kafkajs
// instead of Choreoscope's: the batch handler runs inside one `poll` span of a fresh trace, so the events
// it publishes belong to no order's chain. Own file: the official instrumentation patches kafkajs for
// the whole process, and node --test runs each file in a process of its own.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type RunningBroker } from '@choreoscope/embedded-kafka';
import * as semconv from '../src/semconv.ts';
import { OFFICIAL_SCOPE, loadKafkajsWithOfficialInstrumentation, type OfficiallyInstrumented } from './official-instrumentation.ts';
import { MAX_WAIT_TIME_MS, Teardown, kafkaConfig, waitFor } from './kafka-fixture.ts';
import { describeSpans, spansNamed, theSpan } from './span-queries.ts';
import { startTestTracing, type TestTracing } from './tracing.ts';

const ORDERS = ['o-1', 'o-2', 'o-3', 'o-4', 'o-5'];

let broker: RunningBroker;
let tracing: TestTracing;
let instrumentation: OfficiallyInstrumented['instrumentation'];
let kafkajs: typeof import('kafkajs');

before(async () => {
  tracing = startTestTracing();
  ({ kafkajs, instrumentation } = loadKafkajsWithOfficialInstrumentation(tracing.provider));
  broker = await startBroker({ log: () => {} });
});
after(async () => {
  instrumentation.disable();
  await broker.stop();
  await tracing.shutdown();
});

test('the official instrumentation patched kafkajs (or this comparison would prove nothing)', () => {
  const kafka = new kafkajs.Kafka(kafkaConfig(broker.address, 'probe'));
  const producer = kafka.producer() as ReturnType<typeof kafka.producer> & { send: { __wrapped?: boolean } };
  assert.equal(producer.send.__wrapped, true);
});

test('official instrumentation: events published while handling a batch are not in their order\'s chain', async () => {
  const teardown = new Teardown();
  const batchSizes: number[] = [];
  try {
    broker.createTopic('orders', 1);
    const order = new kafkajs.Kafka(kafkaConfig(broker.address, 'order-service'));
    const payment = new kafkajs.Kafka(kafkaConfig(broker.address, 'payment-service'));
    const orderProducer = await teardown.connect(order.producer());
    for (const orderId of ORDERS) await orderProducer.send({ topic: 'orders', messages: [{ key: orderId, value: 'OrderCreated' }] });

    const paymentProducer = await teardown.connect(payment.producer());
    const consumer = await teardown.connect(payment.consumer({ groupId: 'payment', maxWaitTimeInMs: MAX_WAIT_TIME_MS }));
    await consumer.subscribe({ topics: ['orders'], fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        batchSizes.push(batch.messages.length);
        // What a service does without processMessage: publish for each message of the batch.
        await Promise.all(batch.messages.map((message) =>
          paymentProducer.send({ topic: 'payments', messages: [{ key: message.key, value: 'PaymentAuthorized' }] })));
      },
    });
    await waitFor(
      () => spansNamed(tracing.spans(), 'send payments').length >= ORDERS.length && spansNamed(tracing.spans(), 'poll orders').length >= 1,
      15_000,
      () => `every order handled; spans so far: ${describeSpans(tracing.spans())}`,
    );
  } finally {
    await teardown.run();
  }
  assert.deepEqual(batchSizes, [ORDERS.length], 'all orders arrived in one batch');

  const spans = tracing.spans();
  assert.ok(spans.every((span) => span.instrumentationScope.name === OFFICIAL_SCOPE), 'only the official instrumentation made spans');
  const poll = theSpan(spans, 'poll orders');
  assert.equal(poll.parentSpanContext, undefined, 'the batch span starts a fresh trace');
  assert.deepEqual(poll.links, [], 'and is linked to no order');

  for (const orderId of ORDERS) {
    const key = { [semconv.ATTR_MESSAGING_KAFKA_MESSAGE_KEY]: orderId };
    const sendOrder = theSpan(spans, 'send orders', key);
    const processOrder = theSpan(spans, 'process orders', key);
    const sendPayment = theSpan(spans, 'send payments', key);
    const orderSpan = sendOrder.spanContext();

    // The official per-message span does know its order (by link)…
    assert.deepEqual(processOrder.links.map((link) => link.context.spanId), [orderSpan.spanId]);
    // …but the handler never runs in it: the event is published under the batch's poll span.
    assert.notEqual(sendPayment.spanContext().traceId, orderSpan.traceId, `${orderId}: PaymentAuthorized is not in the order's trace`);
    assert.equal(sendPayment.spanContext().traceId, poll.spanContext().traceId);
    assert.equal(sendPayment.parentSpanContext?.spanId, poll.spanContext().spanId, `${orderId}: PaymentAuthorized is a child of the batch, not of its message`);
    assert.ok(!sendPayment.links.some((link) => link.context.spanId === orderSpan.spanId), `${orderId}: nor linked to the order`);
    assert.equal(sendPayment.attributes[semconv.ATTR_BUSINESS_KEY], undefined, 'and carries no business key');
  }
});
