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
/** Orders still to be made poison (the `poison` fault). */
let poisonOrders = 0;
service.onCommand((command) => {
  if (command.kind === 'poison') poisonOrders += command.count;
});
const port = intFromEnv('ORDER_HTTP_PORT', 4401);
const MAX_BODY_BYTES = 10_000;
const host = process.env.ORDER_HTTP_HOST || '127.0.0.1';

const server = createServer((request, response) => {
  const answer = (status: number, body: object) => response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  if (request.method !== 'POST' || request.url !== '/orders') {
    answer(404, { error: 'POST /orders with {"items": 2, "amountCents": 4999}' });
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  request.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    else if (!response.headersSent) {
      answer(413, { error: `an order is at most ${MAX_BODY_BYTES} bytes of JSON` });
      request.destroy();
    }
  });
  request.on('end', () => {
    const order = readOrder(Buffer.concat(chunks).toString());
    if (order === undefined) {
      answer(400, { error: 'the body must be JSON: {"items": 1 to 100, "amountCents": 1 to 10000000}, both optional' });
      return;
    }
    const orderId = `ord-${randomUUID().slice(0, 8)}`;
    // A poison order's amount is text payment cannot read: the bug a new client release might ship.
    const poison = poisonOrders > 0;
    if (poison) poisonOrders--;
    const amountCents = poison ? 'twelve euros' : order.amountCents;
    withBusinessKey(orderId, () => service.publish(newEvent('OrderCreated', orderId, { amountCents, items: order.items })))
      .then(() => answer(202, { orderId, poison }))
      .catch((error: Error) => {
        service.log(`OrderCreated for ${orderId} not sent: ${error.message}`);
        answer(503, { error: error.message });
      });
  });
});

/** The order in a request body; what it leaves out is chosen as a customer might. */
function readOrder(body: string): { items: number; amountCents: number } | undefined {
  let parsed: { items?: unknown; amountCents?: unknown };
  try {
    parsed = body.trim() === '' ? {} : JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const items = parsed.items ?? 1 + Math.floor(Math.random() * 3);
  const amountCents = parsed.amountCents ?? 500 + Math.floor(Math.random() * 15_000);
  const whole = (n: unknown, max: number): n is number => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= max;
  return whole(items, 100) && whole(amountCents, 10_000_000) ? { items, amountCents } : undefined;
}

server.on('error', (error: NodeJS.ErrnoException) => {
  service.log(error.code === 'EADDRINUSE' ? `cannot listen on ${host}:${port}: the port is in use (ORDER_HTTP_PORT)` : `HTTP: ${error.message}`);
  process.exit(1);
});
server.listen(port, host, () => service.log(`taking orders at http://${host}:${port}/orders`));
service.onStop(() => new Promise<void>((resolve) => server.close(() => resolve())));

await service.subscribe({
  groupId: 'order',
  topics: [TOPICS.paymentRefunded],
  handle: async (event) => {
    await service.publish(newEvent('OrderCancelled', event.orderId, { reason: event.reason ?? 'refunded' }));
  },
});
service.running();
