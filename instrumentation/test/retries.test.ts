// A handler that fails is retried by kafkajs: each delivery is a `process` span of its own, numbered,
// the failed ones marked with the app's error — which kafkajs must receive unchanged, or it would not
// retry as the app expects. A failed send is marked and its error reaches the caller unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanStatusCode } from '@opentelemetry/api';
import { hrTimeToNanoseconds } from '@opentelemetry/core';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Kafka, type LogEntry, type Producer } from 'kafkajs';
import { startBroker, type RunningBroker } from '@choreoscope/embedded-kafka';
import { instrumentKafka, instrumentKafkaProducer, processMessage, semconv } from '../src/index.ts';
import { MAX_WAIT_TIME_MS, Teardown, kafkaConfig, waitFor } from './kafka-fixture.ts';
import { describeSpans, spansNamed, theSpan } from './span-queries.ts';
import { useBrokerAndTracing } from './tracing.ts';

class PaymentDeclined extends Error {
  override name = 'PaymentDeclined';
}

/** Fails the first two deliveries of a message, as a flaky downstream would. */
const FAILING_DELIVERIES = 2;
const CONSUMER_RETRY = { retries: 5, initialRetryTime: 20, maxRetryTime: 100 };

const env = useBrokerAndTracing();

/** An instrumented service whose kafkajs prints nothing but hands us each error a handler gave it. */
function serviceReportingHandlerErrors(clientId: string, errors: unknown[]): Kafka {
  return instrumentKafka(new Kafka(kafkaConfig(env.broker.address, clientId, {
    logLevel: 1, // logLevel.ERROR
    logCreator: () => (entry: LogEntry) => {
      if (/^Error when calling each(Message|Batch)$/.test(entry.log.message)) errors.push(entry.log.error);
    },
  })));
}

/** The process spans of one message, in delivery order. */
const deliveries = (topic: string, key: string) =>
  spansNamed(env.tracing.spans(), `process ${topic}`, { [semconv.ATTR_MESSAGING_KAFKA_MESSAGE_KEY]: key })
    .sort((a, b) => Number(a.attributes[semconv.ATTR_DELIVERY_ATTEMPT]) - Number(b.attributes[semconv.ATTR_DELIVERY_ATTEMPT]));

function assertFailedWith(span: ReadableSpan, error: Error): void {
  assert.equal(span.status.code, SpanStatusCode.ERROR);
  assert.equal(span.status.message, error.message);
  assert.equal(span.attributes[semconv.ATTR_ERROR_TYPE], error.name);
  const exceptions = span.events.filter((event) => event.name === 'exception');
  assert.equal(exceptions.length, 1, 'one exception event');
  assert.equal(exceptions[0]!.attributes?.['exception.type'], error.name);
  assert.equal(exceptions[0]!.attributes?.['exception.message'], error.message);
}

function assertSucceeded(span: ReadableSpan): void {
  // Success leaves the status unset, as instrumentations should; OK is for the app to say.
  assert.equal(span.status.code, SpanStatusCode.UNSET);
  assert.equal(span.attributes[semconv.ATTR_ERROR_TYPE], undefined);
  assert.deepEqual(span.events, []);
}

test('eachMessage: a handler failing twice gives three process spans, attempts 1, 2, 3, the first two failed', async () => {
  env.tracing.reset();
  const teardown = new Teardown();
  const thrown: Error[] = [];
  const seenByKafkajs: unknown[] = [];
  const handled: string[] = [];
  try {
    env.broker.createTopic('charges', 1);
    const payment = serviceReportingHandlerErrors('payment-service', seenByKafkajs);
    const producer = await teardown.connect(payment.producer());
    const consumer = await teardown.connect(payment.consumer({ groupId: 'payment', maxWaitTimeInMs: MAX_WAIT_TIME_MS, retry: CONSUMER_RETRY }));
    await consumer.subscribe({ topics: ['charges'], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const key = String(message.key);
        if (key === 'flaky' && thrown.length < FAILING_DELIVERIES) {
          const error = new PaymentDeclined(`card declined, try ${thrown.length + 1}`);
          thrown.push(error);
          throw error;
        }
        handled.push(key);
      },
    });
    await producer.send({ topic: 'charges', messages: [{ key: 'flaky', value: 'v' }, { key: 'next', value: 'v' }] });
    await waitFor(
      () => handled.includes('next') && spansNamed(env.tracing.spans(), 'process charges').length >= 4,
      15_000,
      () => `both messages handled (${handled.join(', ')}); spans: ${describeSpans(env.tracing.spans())}`,
    );
  } finally {
    await teardown.run();
  }

  assert.deepEqual(handled, ['flaky', 'next']);
  const flaky = deliveries('charges', 'flaky');
  assert.deepEqual(flaky.map((span) => span.attributes[semconv.ATTR_DELIVERY_ATTEMPT]), [1, 2, 3]);
  assertFailedWith(flaky[0]!, thrown[0]!);
  assertFailedWith(flaky[1]!, thrown[1]!);
  assertSucceeded(flaky[2]!);
  // HrTime is a [seconds, nanoseconds] pair: compared as numbers, not as arrays (which compare as text)
  const starts = flaky.map((span) => hrTimeToNanoseconds(span.startTime));
  assert.ok(starts[0]! <= starts[1]! && starts[1]! <= starts[2]!, `numbered in delivery order: ${starts.join(' ≤ ')}`);
  // Each retry of the same message continues from the same producer span.
  assert.equal(new Set(flaky.map((span) => span.parentSpanContext?.spanId)).size, 1);

  const next = deliveries('charges', 'next');
  assert.deepEqual(next.map((span) => span.attributes[semconv.ATTR_DELIVERY_ATTEMPT]), [1], 'the next message is delivered once');
  assertSucceeded(next[0]!);

  // kafkajs got the app's own error objects, unchanged: that is what it logged, and why it retried.
  assert.equal(seenByKafkajs.length, FAILING_DELIVERIES);
  seenByKafkajs.forEach((error, i) => assert.equal(error, thrown[i], `delivery ${i + 1}: the very error the handler threw`));
});

test('eachBatch: every message of a failing batch is retried with its attempt counted, through processMessage or not', async () => {
  env.tracing.reset();
  const teardown = new Teardown();
  const thrown: Error[] = [];
  const seenByKafkajs: unknown[] = [];
  const batchSizes: number[] = [];
  let succeeded = false;
  try {
    env.broker.createTopic('refunds', 1);
    const payment = serviceReportingHandlerErrors('refund-service', seenByKafkajs);
    const producer = await teardown.connect(payment.producer());
    await producer.send({ topic: 'refunds', messages: [{ key: 'via-process-message', value: 'v' }, { key: 'untouched', value: 'v' }] });
    const consumer = await teardown.connect(payment.consumer({ groupId: 'refunds', maxWaitTimeInMs: MAX_WAIT_TIME_MS, retry: CONSUMER_RETRY }));
    await consumer.subscribe({ topics: ['refunds'], fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        batchSizes.push(batch.messages.length);
        await processMessage(batch.messages[0]!, () => {
          if (thrown.length < FAILING_DELIVERIES) {
            const error = new PaymentDeclined(`refund refused, try ${thrown.length + 1}`);
            thrown.push(error);
            throw error;
          }
        });
        succeeded = true;
      },
    });
    await waitFor(
      () => succeeded && spansNamed(env.tracing.spans(), 'process refunds').length >= 6,
      15_000,
      () => `the batch handled; spans: ${describeSpans(env.tracing.spans())}`,
    );
  } finally {
    await teardown.run();
  }

  assert.deepEqual(batchSizes, [2, 2, 2], 'both messages in each delivered batch');
  for (const key of ['via-process-message', 'untouched']) {
    const spans = deliveries('refunds', key);
    assert.deepEqual(spans.map((span) => span.attributes[semconv.ATTR_DELIVERY_ATTEMPT]), [1, 2, 3], key);
    assertFailedWith(spans[0]!, thrown[0]!);
    assertFailedWith(spans[1]!, thrown[1]!);
    assertSucceeded(spans[2]!);
  }
  assert.equal(seenByKafkajs.length, FAILING_DELIVERIES);
  seenByKafkajs.forEach((error, i) => assert.equal(error, thrown[i]));
});

/** Keeps what kafkajs's own send rejected with, underneath the instrumentation. */
function recordSendErrors(producer: Producer): unknown[] {
  const errors: unknown[] = [];
  const send = producer.send.bind(producer);
  producer.send = (record) => send(record).catch((error: unknown) => {
    errors.push(error);
    throw error;
  });
  return errors;
}

const failingSends: { what: string; topic: string; brokerFor: (teardown: Teardown) => Promise<RunningBroker> }[] = [
  { what: 'a topic name Kafka refuses', topic: 'bad topic!', brokerFor: async () => env.broker },
  {
    what: 'a env.broker that has stopped',
    topic: 'orders',
    brokerFor: async (teardown) => {
      const doomed = await startBroker({ log: () => {} });
      teardown.defer(() => doomed.stop());
      return doomed;
    },
  },
];

for (const { what, topic, brokerFor } of failingSends) {
  test(`a send to ${what} marks the send span failed and rethrows kafkajs's own error`, async () => {
    env.tracing.reset();
    const teardown = new Teardown();
    try {
      const target = await brokerFor(teardown);
      const plain = new Kafka(kafkaConfig(target.address, 'order-service', { retry: { retries: 0 }, connectionTimeout: 500 }));
      const producer = plain.producer({ retry: { retries: 0 } });
      const kafkajsErrors = recordSendErrors(producer);
      instrumentKafkaProducer(producer);
      await teardown.connect(producer);
      if (target !== env.broker) await target.stop();

      const failure = await producer.send({ topic, messages: [{ key: 'o-1', value: 'OrderCreated' }] }).then(
        () => assert.fail('the send should fail'),
        (error: unknown) => error,
      );
      assert.equal(kafkajsErrors.length, 1);
      assert.equal(failure, kafkajsErrors[0], 'the caller gets the very error kafkajs threw');
      assert.ok(failure instanceof Error);
      const span = theSpan(env.tracing.spans(), `send ${topic}`);
      assertFailedWith(span, failure);
      assert.equal(span.attributes[semconv.ATTR_MESSAGING_DESTINATION_NAME], topic);
    } finally {
      await teardown.run();
    }
  });
}
