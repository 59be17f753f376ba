/**
 * The inventory service: reserves stock for each authorized payment, or says it is out of stock (more
 * than STOCK_PER_ARTICLE items).
 * Consumes with `eachBatch` (each message handled through `processMessage`, so what it publishes stays in
 * that order's chain) and is idempotent: a payment it already reserved for is skipped when delivered again.
 * Two faults act here: `drop-context` (its reservations reach shipping without trace headers, as through a
 * bridge that drops them) and `legacy-hop` (reservations pass through the uninstrumented warehouse system).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Producer, ProducerRecord } from 'kafkajs';
import { newEvent, toMessage, TOPICS } from '../events.ts';
import { startService } from '../service-runtime.ts';

/** The stock of each article: an order for more is out of stock. */
const STOCK_PER_ARTICLE = 5;
const service = await startService('inventory');
const handled = new Set<string>();

// A producer whose messages lose their headers after the instrumentation wrote them: its send spans are
// there, the consumer's side starts a new trace. Only the order id in the value can join them again.
const headerless = service.plainKafka.producer();
const send = headerless.send.bind(headerless);
headerless.send = (record: ProducerRecord) => send({ ...record, messages: record.messages.map(({ headers: _dropped, ...message }) => message) });
const droppingProducer: Producer = service.instrumentProducer(headerless);
await droppingProducer.connect();
service.onStop(() => droppingProducer.disconnect());

await service.subscribe({
  groupId: 'inventory',
  topics: [TOPICS.paymentAuthorized],
  mode: 'each-batch',
  handle: async (event) => {
    if (handled.has(event.eventId)) {
      service.log(`${event.orderId}: payment ${event.eventId} already handled; skipped`);
      return;
    }
    await sleep(10 + Math.random() * 40);
    if ((event.items ?? 1) > STOCK_PER_ARTICLE) {
      await service.publish(newEvent('OutOfStock', event.orderId, { items: event.items }));
    } else {
      const reserved = newEvent('StockReserved', event.orderId, { items: event.items });
      const faults = service.faults();
      const topic = faults.legacyHop ? TOPICS.warehouse : TOPICS.stockReserved;
      await (faults.dropContext ? droppingProducer : service.producer).send({ topic, messages: [toMessage(reserved)] });
    }
    // remembered once published: a send that failed is tried again when the payment is delivered again
    handled.add(event.eventId);
    if (handled.size > 100_000) handled.delete(handled.values().next().value!);
  },
});
service.running();
