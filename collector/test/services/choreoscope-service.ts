/**
 * One service of the order choreography, instrumented with Choreoscope as a user instruments theirs:
 * `startTracing` (OTLP/HTTP to the collector) and `instrumentKafka`. Run as a process of its own by
 * e2e-flows.test.ts; the role and where things are come from the environment. A consumer exits once
 * it has handled what it expects, flushing its spans first.
 *
 * order → OrderCreated (orders) → payment (eachMessage, parent mode) → PaymentAuthorized (payments)
 * → inventory (eachBatch with processMessage, link mode) → StockReserved (stock) → shipping
 * → ShipmentScheduled (shipments) → notification, which also handles OrderCreated.
 */
import { trace } from '@opentelemetry/api';
import { instrumentKafka, processMessage, withBusinessKey, type ContextMode, type MessageView } from '@choreoscope/instrumentation';
import { startTracing } from '@choreoscope/instrumentation/setup';
import { Kafka, type Producer } from 'kafkajs';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
const role = process.env.ROLE!;
const orders = Number(process.env.ORDERS);
/** The first order's number (order-<n>): later runs of the choreography send new orders. */
const firstOrder = Number(process.env.FIRST_ORDER ?? 1);
/** Messages a consumer handles before it exits; by default what `orders` orders bring it. */
const expected = (perOrder: number) => Number(process.env.EXPECTED ?? orders * perOrder);
const tracing = startTracing({ serviceName: role, collectorUrl: process.env.COLLECTOR_URL });

interface Event {
  orderId: string;
  type: string;
}
const read = (message: MessageView): Event => JSON.parse(String(message.value)) as Event;
const kafkaFor = (contextMode: ContextMode) => instrumentKafka(new Kafka({ clientId: role, brokers: [process.env.BROKER!], logLevel: 0 }), {
  businessKey: (message) => read(message).orderId,
  eventType: (message) => read(message).type,
  contextMode,
});

async function emit(producer: Producer, topic: string, orderId: string, type: string): Promise<void> {
  await producer.send({ topic, messages: [{ key: orderId, value: JSON.stringify({ orderId, type }) }] });
}

/** Consumes `topics` with `group` until `expected` messages were handled, reacting to each with `react`. */
async function consume(kafka: Kafka, group: string, topics: string[], expected: number, react: (event: Event) => Promise<void>, batch = false): Promise<void> {
  const consumer = kafka.consumer({ groupId: group, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  // told to the test, which sends orders only once every group has its partitions: a group that joins
  // late reads its topics' backlogs in whatever order its fetches return, not in the order they were sent
  let joined = false;
  consumer.on(consumer.events.GROUP_JOIN, () => {
    if (!joined) console.log('ready');
    joined = true;
  });
  let handled = 0;
  await new Promise<void>((resolve, reject) => {
    const count = () => {
      handled += 1;
      if (handled === expected) resolve();
    };
    void consumer.run(batch
      ? { eachBatch: async ({ batch: { messages } }) => {
        for (const message of messages) {
          await processMessage(message, () => react(JSON.parse(String(message.value)) as Event));
          count();
        }
      } }
      : { eachMessage: async ({ message }) => {
        await react(JSON.parse(String(message.value)) as Event);
        count();
      } }).catch(reject);
  });
  await consumer.disconnect();
}

const kafka = kafkaFor(role === 'inventory' ? 'link' : 'parent');
const producer = kafka.producer();
await producer.connect();
switch (role) {
  case 'order': {
    const tracer = trace.getTracer('order-api');
    for (let i = firstOrder; i < firstOrder + orders; i += 1) {
      const orderId = `order-${i}`;
      // each order starts at the API, in a trace of its own
      await withBusinessKey(orderId, () => tracer.startActiveSpan('POST /orders', async (span) => {
        await emit(producer, 'orders', orderId, 'OrderCreated');
        span.end();
      }));
    }
    break;
  }
  case 'payment':
    // SILENT=1: a bug that handles each order and sends nothing
    await consume(kafka, 'payment', ['orders'], expected(1), process.env.SILENT === '1'
      ? async () => {}
      : (event) => emit(producer, 'payments', event.orderId, 'PaymentAuthorized'));
    break;
  case 'inventory':
    await consume(kafka, 'inventory', ['payments'], expected(1), (event) => emit(producer, 'stock', event.orderId, 'StockReserved'), true);
    break;
  case 'shipping':
    await consume(kafka, 'shipping', ['stock'], expected(1), (event) => emit(producer, 'shipments', event.orderId, 'ShipmentScheduled'));
    break;
  case 'notification':
    await consume(kafka, 'notification', ['orders', 'shipments'], expected(2), async () => {});
    break;
  default:
    throw new Error(`unknown role ${role}`);
}
await producer.disconnect();
await tracing.shutdown();
