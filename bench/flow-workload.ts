// Order choreographies as span records, for the flow benchmarks: each order an HTTP request at the order
// service, then OrderCreated → payment → PaymentAuthorized → inventory → StockReserved → shipping →
// ShipmentScheduled → notification, each span with the attributes Choreoscope's instrumentation writes.
// Most consumers continue the producer's trace (parent mode); some start their own and link it (link
// mode); some lose the context at inventory and are joined by their Kafka message. Spans arrive as
// services export them: when they end, each service's batches a little late, so not in causal order.
import { createHash } from 'node:crypto';
import type { SpanRecord } from '../collector/src/core/span.ts';

const HOPS = [
  { service: 'payment', topic: 'orders', event: 'OrderCreated', next: { topic: 'payments', event: 'PaymentAuthorized' } },
  { service: 'inventory', topic: 'payments', event: 'PaymentAuthorized', next: { topic: 'stock', event: 'StockReserved' } },
  { service: 'shipping', topic: 'stock', event: 'StockReserved', next: { topic: 'shipments', event: 'ShipmentScheduled' } },
  { service: 'notification', topic: 'shipments', event: 'ShipmentScheduled', next: null },
] as const;

/** Spans of a whole order: 2 at the order service, 2 per hop but the last consumer's 1. */
export const SPANS_PER_ORDER = 9;

const hex = (text: string, digits: number) => createHash('sha1').update(text).digest('hex').slice(0, digits);

/** A cheap deterministic random stream. */
export function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

interface Made {
  record: SpanRecord;
  /** When its service exports it. */
  arrivalMs: number;
}

function span(fields: Partial<SpanRecord> & Pick<SpanRecord, 'traceId' | 'spanId' | 'name' | 'kind' | 'startTimeMs' | 'endTimeMs' | 'serviceName'>): SpanRecord {
  return {
    parentSpanId: null, status: { code: 'unset', message: '' }, attributes: {}, events: [], links: [],
    resource: { 'service.name': fields.serviceName, 'host.name': `${fields.serviceName}-1` },
    scope: { name: '@choreoscope/instrumentation', version: '0.1.0' }, businessKey: null, ...fields,
  };
}

const messaging = (topic: string, partition: number, offset: number, key: string, event: string, operation: 'send' | 'process') => ({
  'messaging.system': 'kafka', 'messaging.operation.type': operation, 'messaging.operation.name': operation,
  'messaging.destination.name': topic, 'messaging.destination.partition.id': String(partition), 'messaging.kafka.offset': offset,
  'messaging.kafka.message.key': key, 'messaging.message.body.size': 512, 'choreoscope.business_key': key,
  'messaging.message.conversation_id': key, 'choreoscope.event.type': event,
});

/**
 * Order `n`'s spans, `hops` hops into its chain (4: complete), starting at `startMs`, with when each
 * arrives. Offsets are the order number, so every message is its own.
 */
export function orderSpans(n: number, hops: number, startMs: number, next: () => number): Made[] {
  const key = `order-${n}`;
  const mode = next();
  const linkMode = mode < 0.3;
  const lostAtInventory = mode >= 0.3 && mode < 0.4;
  let traceId = hex(`t${n}`, 32);
  const made: Made[] = [];
  const exportDelay = () => 50 + next() * 950; // a batch span processor's schedule
  const http = span({ traceId, spanId: hex(`h${n}`, 16), name: 'POST /orders', kind: 'server', startTimeMs: startMs, endTimeMs: startMs + 4, serviceName: 'order',
    attributes: { 'http.request.method': 'POST', 'http.route': '/orders', 'http.response.status_code': 201 } });
  let producer = span({ traceId, spanId: hex(`p${n}-0`, 16), parentSpanId: http.spanId, name: 'send orders', kind: 'producer',
    startTimeMs: startMs + 1, endTimeMs: startMs + 3, serviceName: 'order', businessKey: key,
    attributes: { ...messaging('orders', n % 6, n, key, 'OrderCreated', 'send'), 'messaging.client.id': 'order' } });
  made.push({ record: http, arrivalMs: http.endTimeMs + exportDelay() }, { record: producer, arrivalMs: producer.endTimeMs + exportDelay() });
  let at = producer.endTimeMs;
  for (let h = 0; h < hops; h += 1) {
    const hop = HOPS[h]!;
    const consumerStart = at + 2 + next() * 40;
    const lost = lostAtInventory && hop.service === 'inventory';
    if (linkMode || lost) traceId = hex(`t${n}-${h}`, 32);
    const consumer = span({
      traceId, spanId: hex(`c${n}-${h}`, 16), parentSpanId: linkMode || lost ? null : producer.spanId, name: `process ${hop.topic}`, kind: 'consumer',
      startTimeMs: consumerStart, endTimeMs: consumerStart + 5 + next() * 20, serviceName: hop.service, businessKey: lost ? null : key,
      links: linkMode ? [{ traceId: producer.traceId, spanId: producer.spanId, attributes: {} }] : [],
      attributes: {
        ...messaging(hop.topic, n % 6, n, key, hop.event, 'process'), 'messaging.consumer.group.name': hop.service,
        'choreoscope.delivery.attempt': 1, 'choreoscope.context.status': lost ? 'missing' : 'propagated',
        'choreoscope.context.mode': linkMode ? 'link' : 'parent',
      },
    });
    if (lost) {
      for (const name of ['choreoscope.business_key', 'messaging.message.conversation_id', 'choreoscope.event.type']) delete consumer.attributes[name];
    }
    made.push({ record: consumer, arrivalMs: consumer.endTimeMs + exportDelay() });
    at = consumer.endTimeMs;
    if (hop.next === null) break;
    const sendStart = consumerStart + 2 + next() * 3;
    producer = span({
      traceId, spanId: hex(`p${n}-${h + 1}`, 16), parentSpanId: consumer.spanId, name: `send ${hop.next.topic}`, kind: 'producer',
      startTimeMs: sendStart, endTimeMs: sendStart + 2, serviceName: hop.service, businessKey: lost ? null : key,
      attributes: { ...messaging(hop.next.topic, n % 6, n, key, hop.next.event, 'send'), 'messaging.client.id': hop.service },
    });
    if (lost) delete producer.attributes['choreoscope.business_key'];
    made.push({ record: producer, arrivalMs: producer.endTimeMs + exportDelay() });
  }
  return made;
}

/**
 * `orders` orders at `perSecond`, in arrival order. `openHops`: each order only that far into its chain
 * (a random 1 to 3 hops when 'random'), as open flows are; default complete.
 */
export function orderWorkload(orders: number, perSecond: number, options: { seed?: number; openHops?: 'random' } = {}): SpanRecord[] {
  const next = random(options.seed ?? 42);
  const made: Made[] = [];
  for (let n = 0; n < orders; n += 1) {
    const hops = options.openHops === 'random' ? 1 + Math.floor(next() * 3) : HOPS.length;
    made.push(...orderSpans(n, hops, Date.UTC(2026, 10, 30) + (n * 1000) / perSecond, next));
  }
  return made.sort((a, b) => a.arrivalMs - b.arrivalMs).map((m) => m.record);
}
