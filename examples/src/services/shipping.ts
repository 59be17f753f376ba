/**
 * The shipping service: schedules a shipment for each reservation. Runs its consumer in link mode: each
 * handling starts a trace of its own, linked to the reservation's send span, as the messaging conventions
 * suggest for work that outlives its trigger. Choreoscope joins the hop by the link.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { newEvent, TOPICS } from '../events.ts';
import { startService } from '../service-runtime.ts';

const service = await startService('shipping', { contextMode: 'link' });

await service.subscribe({
  groupId: 'shipping',
  topics: [TOPICS.stockReserved],
  handle: async (event) => {
    await sleep(15 + Math.random() * 50); // the carrier's booking
    await service.publish(newEvent('ShipmentScheduled', event.orderId, { items: event.items }));
  },
});
service.running();
