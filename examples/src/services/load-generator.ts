/**
 * The shop's front end: places orders with the order service at ORDERS_PER_SECOND (default 5), as
 * customers would, and says every 10 s how many it placed.
 */
import { intFromEnv } from '../env.ts';

const rate = intFromEnv('ORDERS_PER_SECOND', 5);
const url = `${(process.env.ORDER_SERVICE_URL || 'http://127.0.0.1:4401').replace(/\/+$/, '')}/orders`;
const log = (line: string) => console.log(`${new Date().toISOString()} load-generator ${line}`);
let placed = 0;
let refused = 0;
let lastError = '';

async function placeOrder(): Promise<void> {
  try {
    // Mostly small baskets a card can pay; one in ten too many items (out of stock), a few over the card limit.
    const items = Math.random() < 0.1 ? 6 + Math.floor(Math.random() * 3) : 1 + Math.floor(Math.random() * 4);
    const amountCents = Math.random() < 0.08 ? 20_000 + Math.floor(Math.random() * 30_000) : 500 + Math.floor(Math.random() * 15_000);
    const body = JSON.stringify({ items, amountCents });
    const response = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(5_000) });
    await response.arrayBuffer();
    if (response.status === 202) placed++;
    else { refused++; lastError = `HTTP ${response.status}`; }
  } catch (error) {
    refused++;
    lastError = (error as Error).message;
  }
}

// Ticks of 100 ms, each placing its share; a fractional share carries over, so 0.5/s places one every 2 s.
let owed = 0;
const tick = setInterval(() => {
  owed += rate / 10;
  for (; owed >= 1; owed--) void placeOrder();
}, 100);
const report = setInterval(() => {
  log(`${placed} orders placed${refused > 0 ? `, ${refused} refused (last: ${lastError})` : ''}`);
}, 10_000);
log(`placing ${rate} orders/s at ${url}`);

const stop = () => {
  clearInterval(tick);
  clearInterval(report);
  log(`stopped after ${placed} orders`);
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
