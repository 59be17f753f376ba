/**
 * The payment service, run as a consumer group of two instances: authorizes each new order's payment (or
 * declines it, above the card limit), refunds orders inventory could not fill, and dead-letters an order it cannot read after three
 * attempts. Idempotent within an instance: an order it already charged is not charged again when its event
 * comes again (a real service keeps that record in its database, shared by every instance).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { newEvent, TOPICS } from '../events.ts';
import { startService } from '../service-runtime.ts';

const ATTEMPTS_BEFORE_DEAD_LETTER = 3;
/** The card limit: larger orders are declined. */
const DECLINE_ABOVE_CENTS = 19_000;
const service = await startService('payment');
/** Orders already charged (or declined): the idempotency record a real service keeps in its database. */
const decided = new Map<string, 'authorized' | 'failed'>();

await service.subscribe({
  groupId: 'payment',
  topics: [TOPICS.orderCreated, TOPICS.outOfStock],
  handle: async (event, delivery) => {
    if (event.type === 'OrderCreated') {
      if (typeof event.amountCents !== 'number' || !Number.isFinite(event.amountCents)) {
        const problem = `amount ${JSON.stringify(event.amountCents)} is not a number of cents`;
        if (delivery.attempt < ATTEMPTS_BEFORE_DEAD_LETTER) throw new Error(problem); // kafkajs delivers it again
        // The last attempt fails too, and the order goes to the dead-letter topic for a person to look at.
        const span = trace.getActiveSpan();
        span?.recordException(new Error(problem));
        span?.setStatus({ code: SpanStatusCode.ERROR, message: problem });
        await service.publish(newEvent('OrderDeadLettered', event.orderId, { reason: problem }));
        service.log(`${event.orderId}: ${problem}; dead-lettered after ${delivery.attempt} attempts`);
        return;
      }
      if (decided.has(event.orderId)) return; // already charged: do not charge again
      await sleep(20 + Math.random() * 60); // the payment provider's answer
      const authorized = event.amountCents <= DECLINE_ABOVE_CENTS;
      await service.publish(authorized
        ? newEvent('PaymentAuthorized', event.orderId, { amountCents: event.amountCents, items: event.items })
        : newEvent('PaymentFailed', event.orderId, { reason: 'card declined' }));
      // remembered once published: a send that failed is tried again when kafkajs delivers the order again
      decided.set(event.orderId, authorized ? 'authorized' : 'failed');
    } else if (event.type === 'OutOfStock') {
      await sleep(10 + Math.random() * 30);
      await service.publish(newEvent('PaymentRefunded', event.orderId, { reason: 'out of stock' }));
    }
    if (decided.size > 100_000) decided.delete(decided.keys().next().value!);
  },
});
service.running();
