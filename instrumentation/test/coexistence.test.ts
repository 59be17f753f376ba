// A service that already runs @opentelemetry/instrumentation-kafkajs adds Choreoscope: on the same Kafka
// instance Choreoscope's wrappers call the unwrapped kafkajs methods, so every message still gets exactly
// one send and one process span — Choreoscope's. Own file: the official instrumentation patches kafkajs
// for the whole process.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DiagLogLevel, diag } from '@opentelemetry/api';
import { startBroker, type RunningBroker } from '@choreoscope/embedded-kafka';
import { instrumentKafka, processMessage, semconv, withBusinessKey } from '../src/index.ts';
import { INSTRUMENTATION_NAME } from '../src/spans.ts';
import { OFFICIAL_SCOPE, loadKafkajsWithOfficialInstrumentation, type OfficiallyInstrumented } from './official-instrumentation.ts';
import { MAX_WAIT_TIME_MS, Teardown, kafkaConfig, waitFor } from './kafka-fixture.ts';
import { describeSpans, spansNamed, theSpan } from './span-queries.ts';
import { startTestTracing, type TestTracing } from './tracing.ts';

const ORDERS = ['o-1', 'o-2', 'o-3'];

let broker: RunningBroker;
let tracing: TestTracing;
let instrumentation: OfficiallyInstrumented['instrumentation'];
let kafkajs: typeof import('kafkajs');
const warnings: string[] = [];

before(async () => {
  tracing = startTestTracing();
  diag.setLogger({ error: () => {}, warn: (message) => void warnings.push(message), info: () => {}, debug: () => {}, verbose: () => {} }, DiagLogLevel.WARN);
  ({ kafkajs, instrumentation } = loadKafkajsWithOfficialInstrumentation(tracing.provider));
  broker = await startBroker({ log: () => {} });
});
after(async () => {
  instrumentation.disable();
  diag.disable();
  await broker.stop();
  await tracing.shutdown();
});

const service = (clientId: string) => instrumentKafka(new kafkajs.Kafka(kafkaConfig(broker.address, clientId)));

test('a client Choreoscope does not wrap keeps the official instrumentation\'s spans (so it is active here)', async () => {
  tracing.reset();
  const teardown = new Teardown();
  try {
    const producer = await teardown.connect(new kafkajs.Kafka(kafkaConfig(broker.address, 'legacy-service')).producer());
    await producer.send({ topic: 'legacy', messages: [{ key: 'l-1', value: 'v' }] });
  } finally {
    await teardown.run();
  }
  assert.deepEqual(tracing.spans().map((span) => `${span.instrumentationScope.name}: ${span.name}`), [`${OFFICIAL_SCOPE}: send legacy`]);
});

test('with the official instrumentation enabled, every message gets one send and one process span, both Choreoscope\'s', async () => {
  tracing.reset();
  const teardown = new Teardown();
  try {
    const order = service('order-service');
    const payment = service('payment-service');
    const shipping = service('shipping-service');
    const orderProducer = await teardown.connect(order.producer());
    const paymentProducer = await teardown.connect(payment.producer());
    const paymentConsumer = await teardown.connect(payment.consumer({ groupId: 'payment', maxWaitTimeInMs: MAX_WAIT_TIME_MS }));
    const shippingConsumer = await teardown.connect(shipping.consumer({ groupId: 'shipping', maxWaitTimeInMs: MAX_WAIT_TIME_MS }));
    await paymentConsumer.subscribe({ topics: ['orders'], fromBeginning: true });
    await shippingConsumer.subscribe({ topics: ['payments'], fromBeginning: true });

    // Both consumer styles the official instrumentation wraps: eachMessage and eachBatch.
    await paymentConsumer.run({
      eachMessage: async ({ message }) => {
        await paymentProducer.send({ topic: 'payments', messages: [{ key: message.key, value: 'PaymentAuthorized' }] });
      },
    });
    const shipped = new Set<string>();
    await shippingConsumer.run({
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) await processMessage(message, () => void shipped.add(String(message.key)));
      },
    });
    // Both producer calls the official instrumentation wraps: send and sendBatch.
    await withBusinessKey('o-1', () => orderProducer.send({ topic: 'orders', messages: [{ key: 'o-1', value: 'OrderCreated' }] }));
    await withBusinessKey('o-2', () => orderProducer.send({ topic: 'orders', messages: [{ key: 'o-2', value: 'OrderCreated' }] }));
    await withBusinessKey('o-3', () => orderProducer.sendBatch({ topicMessages: [{ topic: 'orders', messages: [{ key: 'o-3', value: 'OrderCreated' }] }] }));

    await waitFor(
      () => shipped.size === ORDERS.length && spansNamed(tracing.spans(), 'process payments').length >= ORDERS.length,
      15_000,
      () => `every order shipped (${shipped.size}/${ORDERS.length}); spans so far: ${describeSpans(tracing.spans())}`,
    );
  } finally {
    await teardown.run();
  }

  const spans = tracing.spans();
  const others = spans.filter((span) => span.instrumentationScope.name !== INSTRUMENTATION_NAME);
  assert.deepEqual(others.map((span) => `${span.instrumentationScope.name}: ${span.name}`), [], 'no span from the official (or any other) instrumentation');
  assert.equal(spans.length, ORDERS.length * 4, `four spans per order, got ${describeSpans(spans)}`);
  for (const orderId of ORDERS) {
    const key = { [semconv.ATTR_BUSINESS_KEY]: orderId };
    const sendOrder = theSpan(spans, 'send orders', key);
    const processOrder = theSpan(spans, 'process orders', key);
    const sendPayment = theSpan(spans, 'send payments', key);
    const processPayment = theSpan(spans, 'process payments', key);
    const traceId = sendOrder.spanContext().traceId;
    for (const span of [processOrder, sendPayment, processPayment]) assert.equal(span.spanContext().traceId, traceId, `${orderId}: ${span.name} in the order's trace`);
    assert.equal(processOrder.parentSpanContext?.spanId, sendOrder.spanContext().spanId);
    assert.equal(sendPayment.parentSpanContext?.spanId, processOrder.spanContext().spanId);
    assert.equal(processPayment.parentSpanContext?.spanId, sendPayment.spanContext().spanId);
  }
  assert.equal(warnings.filter((warning) => warning.includes('already wrapped')).length, 1, 'Choreoscope says once that it took over');
});
