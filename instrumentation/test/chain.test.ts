import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanKind } from '@opentelemetry/api';
import { Kafka, logLevel } from 'kafkajs';
import { instrumentKafka, withBusinessKey } from '../src/index.ts';
import { semconv } from '../src/index.ts';
import { useBrokerAndTracing } from './tracing.ts';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
const env = useBrokerAndTracing({ defaultPartitions: 2 });

const service = (clientId: string) =>
  instrumentKafka(new Kafka({ brokers: [env.broker.address], clientId, logLevel: logLevel.NOTHING }), {
    eventType: (m) => (m.value ? JSON.parse(String(m.value)).type : undefined),
  });

test('order → payment → shipping: every hop is parented to the previous one, keyed by the order, in one trace', async () => {
  const order = service('order-service');
  const payment = service('payment-service');
  const shipping = service('shipping-service');
  const orderProducer = order.producer();
  const paymentProducer = payment.producer();
  const paymentConsumer = payment.consumer({ groupId: 'payment', maxWaitTimeInMs: 100 });
  const shippingConsumer = shipping.consumer({ groupId: 'shipping', maxWaitTimeInMs: 100 });
  await Promise.all([orderProducer.connect(), paymentProducer.connect(), paymentConsumer.connect(), shippingConsumer.connect()]);
  await paymentConsumer.subscribe({ topics: ['orders'], fromBeginning: true });
  await shippingConsumer.subscribe({ topics: ['payments'], fromBeginning: true });

  const shipped: string[] = [];
  const done = new Promise<void>((resolve) => {
    void shippingConsumer.run({
      eachMessage: async ({ message }) => {
        shipped.push(String(message.key));
        if (shipped.length === 3) resolve();
      },
    });
  });
  await paymentConsumer.run({
    eachMessage: async ({ message }) => {
      const orderId = String(message.key);
      // No business key given here: it rides along from the consumed message's context.
      await paymentProducer.send({ topic: 'payments', messages: [{ key: orderId, value: JSON.stringify({ type: 'PaymentAuthorized' }) }] });
    },
  });
  for (const orderId of ['o-1', 'o-2', 'o-3']) {
    await withBusinessKey(orderId, () =>
      orderProducer.send({ topic: 'orders', messages: [{ key: orderId, value: JSON.stringify({ type: 'OrderCreated' }) }] }));
  }
  await done;
  await Promise.all([orderProducer.disconnect(), paymentProducer.disconnect(), paymentConsumer.disconnect(), shippingConsumer.disconnect()]);

  const spans = env.tracing.spans();
  for (const orderId of ['o-1', 'o-2', 'o-3']) {
    const chain = spans.filter((s) => s.attributes[semconv.ATTR_BUSINESS_KEY] === orderId);
    const byName = (name: string) => {
      const found = chain.filter((s) => s.name === name);
      assert.equal(found.length, 1, `${orderId}: one ${name} span, got ${found.length}`);
      return found[0]!;
    };
    const sendOrder = byName('send orders');
    const processOrder = byName('process orders');
    const sendPayment = byName('send payments');
    const processPayment = byName('process payments');
    assert.equal(sendOrder.kind, SpanKind.PRODUCER);
    assert.equal(processOrder.kind, SpanKind.CONSUMER);
    const traceId = sendOrder.spanContext().traceId;
    for (const span of [processOrder, sendPayment, processPayment]) assert.equal(span.spanContext().traceId, traceId);
    assert.equal(processOrder.parentSpanContext?.spanId, sendOrder.spanContext().spanId);
    assert.equal(sendPayment.parentSpanContext?.spanId, processOrder.spanContext().spanId);
    assert.equal(processPayment.parentSpanContext?.spanId, sendPayment.spanContext().spanId);
    assert.equal(sendOrder.attributes[semconv.ATTR_EVENT_TYPE], 'OrderCreated');
    assert.equal(processOrder.attributes[semconv.ATTR_EVENT_TYPE], 'OrderCreated');
    assert.equal(processPayment.attributes[semconv.ATTR_EVENT_TYPE], 'PaymentAuthorized');
    assert.equal(processOrder.attributes[semconv.ATTR_MESSAGING_CONSUMER_GROUP_NAME], 'payment');
    assert.equal(processOrder.attributes[semconv.ATTR_MESSAGING_CLIENT_ID], 'payment-service');
    assert.equal(sendOrder.attributes[semconv.ATTR_MESSAGING_CLIENT_ID], 'order-service');
    assert.equal(processOrder.attributes[semconv.ATTR_CONTEXT_STATUS], 'propagated');
    assert.equal(processOrder.attributes[semconv.ATTR_DELIVERY_ATTEMPT], 1);
    assert.equal(processOrder.attributes[semconv.ATTR_MESSAGING_MESSAGE_CONVERSATION_ID], orderId);
    // The producer knows where its message landed, so the collector can join even without headers.
    assert.equal(sendOrder.attributes[semconv.ATTR_MESSAGING_KAFKA_OFFSET], processOrder.attributes[semconv.ATTR_MESSAGING_KAFKA_OFFSET]);
    assert.equal(sendOrder.attributes[semconv.ATTR_MESSAGING_DESTINATION_PARTITION_ID], processOrder.attributes[semconv.ATTR_MESSAGING_DESTINATION_PARTITION_ID]);
  }
});
