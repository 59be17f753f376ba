/**
 * One service instrumented with nothing but the official @opentelemetry/instrumentation-kafkajs, as a
 * user of other instrumentation runs theirs: a tracer provider exporting over OTLP/HTTP, W3C context
 * propagation, and the instrumentation's require hook enabled before kafkajs loads. Run as a process
 * of its own by e2e-official-flows.test.ts.
 *
 * order → orders (key = order id) → payment (eachBatch: one `poll` span, a `process` span per message
 * linking its producer, and the sends under the poll, as the official instrumentation makes them)
 * → payments → inventory (eachMessage: a `process` span, child of the send).
 */
import { createRequire } from 'node:module';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { KafkaJsInstrumentation } from '@opentelemetry/instrumentation-kafkajs';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
const role = process.env.ROLE!;
const orders = Number(process.env.ORDERS);

const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({ 'service.name': role }),
  spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${process.env.COLLECTOR_URL}/v1/traces` }))],
});
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));
trace.setGlobalTracerProvider(provider);
const instrumentation = new KafkaJsInstrumentation({ enabled: false });
instrumentation.setTracerProvider(provider);
instrumentation.enable();
// required after enable(), so the hook patches it
const { Kafka } = createRequire(import.meta.url)('kafkajs') as typeof import('kafkajs');

const kafka = new Kafka({ clientId: role, brokers: [process.env.BROKER!], logLevel: 0 });
const producer = kafka.producer();
await producer.connect();

async function consume(group: string, topic: string, run: (done: () => void) => Parameters<ReturnType<typeof kafka.consumer>['run']>[0]): Promise<void> {
  const consumer = kafka.consumer({ groupId: group, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let handled = 0;
  await new Promise<void>((resolve, reject) => {
    void consumer.run(run(() => {
      handled += 1;
      if (handled === orders) resolve();
    })).catch(reject);
  });
  await consumer.disconnect();
}

switch (role) {
  case 'order':
    for (let i = 1; i <= orders; i += 1) {
      await producer.send({ topic: 'orders', messages: [{ key: `order-${i}`, value: JSON.stringify({ type: 'OrderCreated' }) }] });
    }
    break;
  case 'payment':
    // what a service does without Choreoscope's processMessage: publish for each message of the batch
    await consume('payment', 'orders', (done) => ({
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) {
          await producer.send({ topic: 'payments', messages: [{ key: message.key, value: JSON.stringify({ type: 'PaymentAuthorized' }) }] });
          done();
        }
      },
    }));
    break;
  case 'inventory':
    await consume('inventory', 'payments', (done) => ({ eachMessage: async () => done() }));
    break;
  default:
    throw new Error(`unknown role ${role}`);
}
await producer.disconnect();
await provider.shutdown();
instrumentation.disable();
