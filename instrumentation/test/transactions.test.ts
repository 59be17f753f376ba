import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanStatusCode } from '@opentelemetry/api';
import { Kafka, logLevel } from 'kafkajs';
import { instrumentKafka, semconv, withBusinessKey } from '../src/index.ts';
import { useBrokerAndTracing } from './tracing.ts';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
const env = useBrokerAndTracing();

test('messages sent in a committed transaction carry their context; an aborted one leaves error-free send spans and no process spans', async () => {
  const kafka = instrumentKafka(new Kafka({ brokers: [env.broker.address], clientId: 'billing', logLevel: logLevel.NOTHING }));
  const producer = kafka.producer({ transactionalId: 'billing-tx', idempotent: true, maxInFlightRequests: 1 });
  const consumer = kafka.consumer({ groupId: 'ledger', maxWaitTimeInMs: 100 });
  await Promise.all([producer.connect(), consumer.connect()]);
  await consumer.subscribe({ topic: 'invoices', fromBeginning: true });
  const handled: string[] = [];
  await consumer.run({ eachMessage: async ({ message }) => void handled.push(String(message.value)) });

  await withBusinessKey('order-9', async () => {
    const aborted = await producer.transaction();
    await aborted.send({ topic: 'invoices', messages: [{ value: 'draft' }] });
    await aborted.abort();
    const txn = await producer.transaction();
    await txn.send({ topic: 'invoices', messages: [{ value: 'invoice-1' }] });
    await txn.sendBatch({ topicMessages: [{ topic: 'invoices', messages: [{ value: 'invoice-2' }] }] });
    await txn.commit();
  });
  const deadline = Date.now() + 10_000;
  while (handled.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  await Promise.all([producer.disconnect(), consumer.disconnect()]);

  assert.deepEqual(handled, ['invoice-1', 'invoice-2'], 'read_committed sees the committed transaction only');
  const spans = env.tracing.spans();
  const sends = spans.filter((s) => s.name === 'send invoices');
  assert.equal(sends.length, 3, 'one send span per message, in both transactions');
  for (const send of sends) {
    assert.equal(send.attributes[semconv.ATTR_BUSINESS_KEY], 'order-9');
    assert.notEqual(send.status.code, SpanStatusCode.ERROR);
  }
  const processes = spans.filter((s) => s.name === 'process invoices');
  assert.equal(processes.length, 2);
  for (const process of processes) {
    const parent = sends.find((s) => s.spanContext().spanId === process.parentSpanContext?.spanId);
    assert.ok(parent, 'each processed message is parented to the send span of its transaction');
    assert.equal(process.attributes[semconv.ATTR_BUSINESS_KEY], 'order-9');
  }
});
