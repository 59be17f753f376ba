/**
 * The order service: takes orders over HTTP (`POST /orders`), publishes OrderCreated with the order id as
 * the business key (where each flow starts), and cancels orders whose payment was refunded.
 */
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { withBusinessKey } from '@choreoscope/instrumentation';
import { intFromEnv } from '../env.ts';
import { newEvent, TOPICS } from '../events.ts';
import { startService } from '../service-runtime.ts';

const service = await startService('order');
const port = intFromEnv('ORDER_HTTP_PORT', 4401);
const host = process.env.ORDER_HTTP_HOST || '127.0.0.1';

const server = createServer((request, response) => {
  if (request.method !== 'POST' || request.url !== '/orders') {
    response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"POST /orders"}');
    return;
  }
  request.resume();
  const orderId = `ord-${randomUUID().slice(0, 8)}`;
  const poison = service.faults().poison;
  // A poison order's amount is text payment cannot read: the bug a new client release might ship.
  const amountCents = poison ? 'twelve euros' : 500 + Math.floor(Math.random() * 20_000);
  const items = 1 + Math.floor(Math.random() * 4);
  withBusinessKey(orderId, () => service.publish(TOPICS.orders, newEvent('OrderCreated', orderId, { amountCents, items })))
    .then(() => response.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ orderId, poison })))
    .catch((error: Error) => {
      service.log(`OrderCreated for ${orderId} not sent: ${error.message}`);
      response.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ error: error.message }));
    });
});
server.on('error', (error: NodeJS.ErrnoException) => {
  service.log(error.code === 'EADDRINUSE' ? `cannot listen on ${host}:${port}: the port is in use (ORDER_HTTP_PORT)` : `HTTP: ${error.message}`);
  process.exit(1);
});
server.listen(port, host, () => service.log(`taking orders at http://${host}:${port}/orders`));
service.onStop(() => new Promise<void>((resolve) => server.close(() => resolve())));

await service.subscribe({
  groupId: 'order',
  topics: [TOPICS.payments],
  handle: async (event) => {
    if (event.type !== 'PaymentRefunded') return;
    await service.publish(TOPICS.orders, newEvent('OrderCancelled', event.orderId, { reason: event.reason ?? 'refunded' }));
  },
});
service.running();
