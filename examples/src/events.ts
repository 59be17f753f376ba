/**
 * The order choreography's events and topics: what every service of the demo agrees on. Events travel as
 * JSON; each carries its type and the order id, which is also the message key (so one order's events stay
 * in one partition, in order) and the business key Choreoscope joins a flow by.
 */
import { randomUUID } from 'node:crypto';

/**
 * A topic per event type, as many choreographies do: each service subscribes to exactly the events it
 * reacts to, and a new consumer of an event needs no change anywhere else.
 */
export const TOPICS = {
  orderCreated: 'order.created',
  orderCancelled: 'order.cancelled',
  paymentAuthorized: 'payment.authorized',
  paymentFailed: 'payment.failed',
  paymentRefunded: 'payment.refunded',
  stockReserved: 'stock.reserved',
  outOfStock: 'stock.out',
  shipmentScheduled: 'shipment.scheduled',
  /** Reservations on their way through the uninstrumented warehouse system (the `legacy-hop` fault). */
  warehouse: 'warehouse.requests',
  /** Orders the payment service gave up on after its retries (the `poison` fault). */
  deadLetters: 'orders.dlq',
  /** Fault switches for every demo process (not traced). */
  control: 'demo.control',
} as const;

export type EventType =
  | 'OrderCreated' | 'OrderCancelled'
  | 'PaymentAuthorized' | 'PaymentFailed' | 'PaymentRefunded'
  | 'StockReserved' | 'OutOfStock'
  | 'ShipmentScheduled'
  | 'OrderDeadLettered';

export interface OrderEvent {
  type: EventType;
  /** Unique per event: what an idempotent consumer remembers. */
  eventId: string;
  orderId: string;
  /** When it was published (ms since the epoch). */
  at: number;
  /** The order's total in cents; a poison order carries something else. */
  amountCents?: unknown;
  items?: number;
  reason?: string;
}

/** Where each event type is published. */
export const TOPIC_OF: Record<EventType, string> = {
  OrderCreated: TOPICS.orderCreated,
  OrderCancelled: TOPICS.orderCancelled,
  PaymentAuthorized: TOPICS.paymentAuthorized,
  PaymentFailed: TOPICS.paymentFailed,
  PaymentRefunded: TOPICS.paymentRefunded,
  StockReserved: TOPICS.stockReserved,
  OutOfStock: TOPICS.outOfStock,
  ShipmentScheduled: TOPICS.shipmentScheduled,
  OrderDeadLettered: TOPICS.deadLetters,
};

export function newEvent(type: EventType, orderId: string, fields: Partial<OrderEvent> = {}): OrderEvent {
  return { ...fields, type, orderId, eventId: randomUUID(), at: Date.now() };
}

/** The message for `event`: keyed by the order id. */
export function toMessage(event: OrderEvent): { key: string; value: string } {
  return { key: event.orderId, value: JSON.stringify(event) };
}

/** The event in a message value, or undefined when it is not one (an empty or foreign message). */
export function parseEvent(value: Buffer | string | null | undefined): OrderEvent | undefined {
  if (value === null || value === undefined) return undefined;
  try {
    const parsed = JSON.parse(String(value)) as Partial<OrderEvent>;
    return typeof parsed.type === 'string' && typeof parsed.orderId === 'string' ? parsed as OrderEvent : undefined;
  } catch {
    return undefined;
  }
}
