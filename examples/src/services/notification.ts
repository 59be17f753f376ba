/**
 * The notification service: emails the customer when an order is received, shipped, declined or
 * cancelled. Not idempotent: an event delivered twice sends the email twice, which is why Choreoscope
 * flags duplicate deliveries.
 */
import type { EventType } from '../events.ts';
import { TOPICS } from '../events.ts';
import { startService } from '../service-runtime.ts';

const SUBJECTS: Partial<Record<EventType, string>> = {
  OrderCreated: 'we received your order',
  ShipmentScheduled: 'your order is on its way',
  PaymentFailed: 'your payment was declined',
  OrderCancelled: 'your order was cancelled',
};
const service = await startService('notification');
let sent = 0;
const report = setInterval(() => service.log(`${sent} emails sent`), 30_000);
service.onStop(() => clearInterval(report));

await service.subscribe({
  groupId: 'notification',
  topics: [TOPICS.orderCreated, TOPICS.paymentFailed, TOPICS.orderCancelled, TOPICS.shipmentScheduled],
  handle: async (event) => {
    const subject = SUBJECTS[event.type];
    if (subject === undefined) return;
    sent++; // the email goes out, again if this event came twice
  },
});
service.running();
