// The whole demo (examples/): broker, collector, every service as its own process, orders placed over
// HTTP at 50, 200 and 1,000 orders/s for a minute each. Per rate: orders/s placed and completed (a
// terminal event published: shipped, declined or cancelled), spans/s the collector stored, the
// collector's CPU (cores) and peak RSS, the services' CPU; and, after each rate, how long a paused
// consumer takes to raise its stall alert. Beside it, in the same run, the same services without the
// instrumentation and with no collector (DEMO_TRACING=off).
//
//   npm run bench:demo -- [--rates 50,200,1000] [--seconds 60] [--only baseline,instrumented]
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { TOPICS } from '../examples/src/events.ts';
import { parseFault } from '../examples/src/faults.ts';
import { launchDemo, type RunningDemo } from '../examples/src/demo/launch.ts';
import { peakRssBytes, processCpu } from './process-stats.ts';

const { values } = parseArgs({
  options: {
    rates: { type: 'string', default: '50,200,1000' },
    seconds: { type: 'string', default: '60' },
    only: { type: 'string', default: 'baseline,instrumented' },
  },
});
const rates = values.rates.split(',').map(Number);
const seconds = Number(values.seconds);
const modes = values.only.split(',') as Array<'baseline' | 'instrumented'>;
const root = fileURLToPath(new URL('..', import.meta.url));
const log = (line: string) => console.log(line);

interface RateResult {
  rate: number;
  placedPerSecond: number;
  completedPerSecond: number;
  /** Orders placed in the phase still not ended when it was over (backlog). */
  behind: number;
  spansPerSecond: number | null;
  collectorCores: number | null;
  collectorPeakRssMiB: number | null;
  servicesCores: number;
  stallAlertAfterS: number | null;
}

/** Counts orders placed and ended, from the topics themselves: the same for both modes. */
async function watchOutcomes(brokers: string[]): Promise<{ placed: () => number; ended: () => number; stop: () => Promise<void> }> {
  const kafka = new Kafka({ clientId: 'bench', brokers, logLevel: logLevel.NOTHING });
  const consumer: Consumer = kafka.consumer({ groupId: `bench-${randomUUID()}` });
  let placed = 0;
  let ended = 0;
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.connect();
  await consumer.subscribe({ topics: [TOPICS.orderCreated, TOPICS.shipmentScheduled, TOPICS.paymentFailed, TOPICS.orderCancelled], fromBeginning: false });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      if (batch.topic === TOPICS.orderCreated) placed += batch.messages.length;
      else ended += batch.messages.length;
    },
  });
  await joined;
  return { placed: () => placed, ended: () => ended, stop: () => consumer.disconnect() };
}

/** Places orders at `rate` per second over HTTP, as the load generator does, for `ms`. */
async function placeOrders(orderUrl: string, rate: number, ms: number): Promise<number> {
  let sent = 0;
  let owed = 0;
  const inFlight = new Set<Promise<void>>();
  const endAt = Date.now() + ms;
  while (Date.now() < endAt) {
    owed += rate / 20;
    for (; owed >= 1; owed--) {
      const items = Math.random() < 0.1 ? 7 : 1 + Math.floor(Math.random() * 4);
      const amountCents = Math.random() < 0.08 ? 25_000 : 500 + Math.floor(Math.random() * 15_000);
      const request = fetch(`${orderUrl}/orders`, { method: 'POST', body: JSON.stringify({ items, amountCents }), headers: { 'content-type': 'application/json' } })
        .then((r) => r.arrayBuffer()).then(() => { sent++; }, () => {});
      inFlight.add(request);
      void request.finally(() => inFlight.delete(request));
    }
    await sleep(50);
  }
  await Promise.all(inFlight);
  return sent;
}

async function metric(collectorUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${collectorUrl}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
}

/** Seconds from pausing payment until its stall alert fires, with orders still coming at a few per second. */
async function stallAlertDelay(demo: RunningDemo): Promise<number | null> {
  const firing = async () => {
    const { alerts } = await (await fetch(`${demo.collectorUrl}/api/alerts?state=firing`)).json() as { alerts: Array<{ key: string }> };
    return alerts.some((a) => a.key.startsWith('stalled|OrderCreated|'));
  };
  if (await firing()) return null; // an earlier phase's alert still firing would answer at once
  const pausedAt = Date.now();
  await demo.sendFaults(parseFault(['pause', 'payment']));
  const load = placeOrders(demo.orderUrl, 5, 90_000);
  let delay: number | null = null;
  while (Date.now() - pausedAt < 90_000) {
    if (await firing()) {
      delay = (Date.now() - pausedAt) / 1000;
      break;
    }
    await sleep(250);
  }
  await demo.sendFaults(parseFault(['resume', 'payment']));
  await load.catch(() => {});
  return delay;
}

async function runMode(mode: 'baseline' | 'instrumented'): Promise<RateResult[]> {
  const dataDir = mkdtempSync(join(tmpdir(), `choreoscope-demo-bench-${mode}-`));
  log(`\n${mode}: starting the demo${mode === 'baseline' ? ' without instrumentation or collector' : ''}`);
  const demo = await launchDemo({
    root, dataDir, brokerPort: 0, collectorPort: 0, orderPort: 0, ordersPerSecond: 0,
    instrumented: mode === 'instrumented', say: (line) => log(`  ${line.trim()}`),
  });
  const results: RateResult[] = [];
  try {
    const outcomes = await watchOutcomes(demo.brokers);
    const services = demo.processes.filter((p) => p.name !== 'collector');
    const collector = demo.processes.find((p) => p.name === 'collector');
    // a warm-up the model learns from: 30 s at 20 orders/s
    log('  warm-up: 30 s at 20 orders/s');
    await placeOrders(demo.orderUrl, 20, 30_000);
    for (const rate of rates) {
      const cpuOf = (pids: number[]) => Promise.all(pids.map((pid) => processCpu(pid)()));
      const servicePids = services.map((p) => p.pid!).filter((pid) => pid !== undefined);
      const beforeServices = await cpuOf(servicePids);
      const beforeCollector = collector ? await processCpu(collector.pid!)() : 0;
      const beforeSpans = collector ? await metric(demo.collectorUrl, 'choreoscope_spans_stored_total') : 0;
      const [placed0, ended0] = [outcomes.placed(), outcomes.ended()];
      const started = Date.now();
      process.stdout.write(`  ${rate} orders/s for ${seconds} s…`);
      const ticker = setInterval(() => process.stdout.write('.'), 5_000);
      await placeOrders(demo.orderUrl, rate, seconds * 1000);
      clearInterval(ticker);
      const wall = (Date.now() - started) / 1000;
      const placed = outcomes.placed() - placed0;
      const ended = outcomes.ended() - ended0;
      const servicesCpu = (await cpuOf(servicePids)).reduce((sum, cpu, i) => sum + (cpu - beforeServices[i]!), 0);
      const result: RateResult = {
        rate,
        placedPerSecond: placed / wall,
        completedPerSecond: ended / wall,
        behind: placed - ended,
        spansPerSecond: collector ? ((await metric(demo.collectorUrl, 'choreoscope_spans_stored_total')) - beforeSpans) / wall : null,
        collectorCores: collector ? ((await processCpu(collector.pid!)()) - beforeCollector) / wall : null,
        collectorPeakRssMiB: collector ? peakRssBytes(collector.pid!) / 2 ** 20 : null,
        servicesCores: servicesCpu / wall,
        stallAlertAfterS: null,
      };
      process.stdout.write(` done\n`);
      // let the backlog drain before the next rate (at most a minute)
      const drainUntil = Date.now() + 60_000;
      while (outcomes.ended() < outcomes.placed() * 0.99 && Date.now() < drainUntil) await sleep(500);
      if (mode === 'instrumented') {
        result.stallAlertAfterS = await stallAlertDelay(demo);
        await sleep(5_000);
      }
      results.push(result);
    }
    await outcomes.stop();
  } finally {
    await demo.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  return results;
}

const byMode = new Map<string, RateResult[]>();
for (const mode of modes) byMode.set(mode, await runMode(mode));

const fmt = (n: number | null, digits = 0) => (n === null || Number.isNaN(n) ? '—' : n.toFixed(digits));
log(`\nThe demo, ${seconds} s per rate (${new Date().toISOString()}, ${process.version})`);
log('| mode | offered/s | placed/s | completed/s | behind at end | spans/s stored | collector cores | collector peak RSS MiB | services cores | stall alert after |');
log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const [mode, results] of byMode) {
  for (const r of results) {
    log(`| ${mode} | ${r.rate} | ${fmt(r.placedPerSecond)} | ${fmt(r.completedPerSecond)} | ${r.behind} | ${fmt(r.spansPerSecond)} | ${fmt(r.collectorCores, 2)} | ${fmt(r.collectorPeakRssMiB)} | ${fmt(r.servicesCores, 2)} | ${r.stallAlertAfterS === null ? '—' : `${r.stallAlertAfterS.toFixed(1)} s`} |`);
  }
}
const baseline = byMode.get('baseline');
const instrumented = byMode.get('instrumented');
if (baseline && instrumented) {
  log('\nInstrumented ÷ baseline, per rate: completed/s and services CPU');
  for (const r of instrumented) {
    const b = baseline.find((x) => x.rate === r.rate);
    if (b) log(`  ${r.rate}/s: completed ${fmt(r.completedPerSecond / b.completedPerSecond, 2)}×, services CPU ${fmt(r.servicesCores / b.servicesCores, 2)}×`);
  }
}
process.exit(0);
