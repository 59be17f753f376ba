import { Kafka } from 'kafkajs';
import { startTracing } from '@choreoscope/instrumentation/setup';
import { instrumentKafka, withBusinessKey } from '@choreoscope/instrumentation';

// Spans go over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT, by default the collector at http://localhost:4318.
const tracing = startTracing({ serviceName: 'order-service' });

const brokers = (process.env.KAFKA_BROKERS ?? 'localhost:9092').split(',');
const kafka = instrumentKafka(new Kafka({ clientId: 'order-service', brokers }), {
  eventType: (message) => JSON.parse(String(message.value)).type,
});
const producer = kafka.producer();

// On the way out, send the spans still queued; this finishes even when the collector is down.
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, async () => {
    await producer.disconnect();
    await tracing.shutdown();
    process.exit(0);
  });
}

await producer.connect();
// The rest of the service is unchanged. Set the business key once, where the flow starts:
const order = { id: 'order-1234', type: 'OrderCreated' };
await withBusinessKey(order.id, () =>
  producer.send({ topic: 'orders', messages: [{ key: order.id, value: JSON.stringify(order) }] }));
