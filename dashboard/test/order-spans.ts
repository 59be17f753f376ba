/**
 * Spans of an order choreography for the dashboard's tests, timed from a given moment, as OTLP/JSON in
 * the collector's fixture format (collector/test/flow-fixtures.ts): order → OrderCreated → payment
 * (and analytics, which only listens) → PaymentAuthorized → inventory → StockReserved → shipping →
 * OrderShipped → notification; or PaymentFailed → order's compensation → OrderCancelled → notification.
 * A chain may stop after payment handled OrderCreated (a stalled flow). Every name can be replaced, so a
 * test can put hostile text wherever span data reaches the page.
 */
import { EPOCH_MS, fixtureRequest, type Dialect, type Fixture, type FixtureSpan } from '../../collector/test/flow-fixtures.ts';

export interface Names {
  order: string;
  payment: string;
  inventory: string;
  shipping: string;
  notification: string;
  analytics: string;
  orderCreated: string;
  paymentAuthorized: string;
  paymentFailed: string;
  stockReserved: string;
  orderShipped: string;
  orderCancelled: string;
  paymentGroup: string;
  compensationGroup: string;
  keyAttribute: string;
}

export const PLAIN_NAMES: Names = {
  order: 'order', payment: 'payment', inventory: 'inventory', shipping: 'shipping', notification: 'notification', analytics: 'analytics',
  orderCreated: 'OrderCreated', paymentAuthorized: 'PaymentAuthorized', paymentFailed: 'PaymentFailed', stockReserved: 'StockReserved',
  orderShipped: 'OrderShipped', orderCancelled: 'OrderCancelled', paymentGroup: 'payment', compensationGroup: 'order-compensation',
  keyAttribute: 'plain',
};

export type Ending = 'shipped' | 'cancelled' | 'stalled-at-payment';

let offsets = 0;

/**
 * One order's spans, its first at `startMs`, the messaging ones as `dialect`'s instrumentation names them:
 * Choreoscope's own, the official kafkajs instrumentation's (no consumer group, no event type: the topic
 * stands for it, the message key for the business key), or the older semantic conventions of Java and Go.
 */
export function orderSpans(orderId: string, startMs: number, ending: Ending, names: Names = PLAIN_NAMES, dialect: Dialect = 'choreoscope'): FixtureSpan[] {
  const t = startMs - EPOCH_MS;
  const trace = `t-${orderId}`;
  const message = (topic: string) => ({ topic, partition: 0, offset: (offsets += 1), key: orderId });
  const spans: FixtureSpan[] = [
    { id: `${orderId}.http`, trace, service: names.order, kind: 'server', start: t, duration: 25 },
    { id: `${orderId}.created`, trace, parent: `${orderId}.http`, service: names.order, kind: 'producer', start: t + 5, duration: 3, ...message('orders'), eventType: names.orderCreated, attributes: { 'order.id': orderId, 'order.channel': names.keyAttribute } },
  ];
  const created = spans[1]!;
  const consume = (id: string, parent: FixtureSpan, service: string, group: string, at: number, duration: number): FixtureSpan => ({
    id, trace, parent: parent.id, service, kind: 'consumer', start: t + at, duration, topic: parent.topic, partition: parent.partition,
    offset: parent.offset, group, key: orderId, eventType: parent.eventType, attempt: 1, contextStatus: 'propagated',
  });
  const send = (id: string, parent: FixtureSpan, service: string, at: number, topic: string, eventType: string): FixtureSpan => ({
    id, trace, parent: parent.id, service, kind: 'producer', start: t + at, duration: 2, ...message(topic), eventType,
  });
  const analytics = consume(`${orderId}.analytics`, created, names.analytics, names.analytics, 40, 5);
  const payment = consume(`${orderId}.payment`, created, names.payment, names.paymentGroup, 30, 40);
  spans.push(analytics, payment);
  if (ending === 'stalled-at-payment') return withDialect(spans, dialect);
  if (ending === 'cancelled') {
    const failed = send(`${orderId}.failed`, payment, names.payment, 55, 'payments', names.paymentFailed);
    const compensation = consume(`${orderId}.compensation`, failed, names.order, names.compensationGroup, 90, 20);
    const cancelled = send(`${orderId}.cancelled`, compensation, names.order, 100, 'orders-cancelled', names.orderCancelled);
    spans.push(failed, compensation, cancelled, consume(`${orderId}.notified`, cancelled, names.notification, names.notification, 130, 8));
    return withDialect(spans, dialect);
  }
  const authorized = send(`${orderId}.authorized`, payment, names.payment, 55, 'payments', names.paymentAuthorized);
  const inventory = consume(`${orderId}.inventory`, authorized, names.inventory, names.inventory, 85, 30);
  const reserved = send(`${orderId}.reserved`, inventory, names.inventory, 100, 'stock', names.stockReserved);
  const shipping = consume(`${orderId}.shipping`, reserved, names.shipping, names.shipping, 135, 60);
  const shipped = send(`${orderId}.shipped`, shipping, names.shipping, 170, 'shipments', names.orderShipped);
  spans.push(authorized, inventory, reserved, shipping, shipped, consume(`${orderId}.notified`, shipped, names.notification, names.notification, 210, 8));
  return withDialect(spans, dialect);
}

function withDialect(spans: FixtureSpan[], dialect: Dialect): FixtureSpan[] {
  if (dialect === 'choreoscope') return spans;
  // the other instrumentations say nothing of Choreoscope's own: the channel attribute stays, as any service's would
  return spans.map((span) => (span.kind === 'producer' || span.kind === 'consumer' ? { ...span, dialect } : span));
}

/** The spans as one OTLP/JSON export body. */
export function exportBody(spans: FixtureSpan[], namespace: string): string {
  const fixture: Fixture = { name: 'dashboard', description: '', spans, expect: { flows: [] } };
  return JSON.stringify(fixtureRequest(fixture, spans, namespace));
}
