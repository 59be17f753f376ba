// Flow assembly, three ways, each beside a baseline measured in the same run: grouping the same spans by
// trace id only, which is what a tracing backend does.
//
// 1. core: the pure assembler (collector/src/core) over order choreographies arriving as services export
//    them, in rounds of 1,000 spans as the flow worker takes them: CPU per span to assemble, and to
//    assemble and describe every flow a round changed (the worker's whole CPU work), against grouping by
//    trace id. Spans/s per core.
// 2. memory: 100,000 open orders (each 1 to 3 hops into its chain) held by the assembler, heap bytes per
//    open flow, against holding the same spans grouped by trace id.
// 3. visible: the collector from its CLI (PGlite, then PostgreSQL) fed a steady 5,000 spans/s of the same
//    choreography over OTLP/JSON; for a sample of exports, the time from the export's acknowledgement to
//    one of its spans answering in its flow (GET /api/flows/:flowId, by the span's own id), p50/p99/max,
//    against the same span answering in its trace (GET /api/traces/:traceId).
//
//   npm run bench:flows -- [--only core,memory,visible] [--orders 20000] [--runs 3] [--seconds 20] [--rate 5000] [--stores pglite,postgres]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startPostgresCluster } from '../scripts/postgres.mjs';
import { FlowAssembler } from '../collector/src/core/assemble.ts';
import { describeFlow } from '../collector/src/core/describe-flow.ts';
import { toFlowSpan, type FlowSpan } from '../collector/src/core/flow-span.ts';
import type { SpanRecord } from '../collector/src/core/span.ts';
import { SPANS_PER_ORDER, orderWorkload } from './flow-workload.ts';
import { toOtlpJson } from './otlp-json.ts';
import { startServerProcess } from './server-process.ts';

const { values } = parseArgs({
  options: {
    only: { type: 'string', default: 'core,memory,visible' },
    orders: { type: 'string', default: '20000' },
    runs: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '20' },
    rate: { type: 'string', default: '5000' },
    stores: { type: 'string', default: 'pglite,postgres' },
  },
});
const parts = new Set(values.only.split(','));
const gc = (globalThis as { gc?: () => void }).gc;
const count = (n: number) => Math.round(n).toLocaleString('en');
const cpuMs = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
};
const median = (list: number[]) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]!;
const range = (list: number[]) => `${count(Math.min(...list))} – ${count(Math.max(...list))}`;

// ---- 1. core ----------------------------------------------------------------------------------------

const ROUND_SPANS = 1_000;
const ORDERS_PER_SECOND = 500;
const SPANS_PER_SECOND = ORDERS_PER_SECOND * SPANS_PER_ORDER;

function groupByTrace(records: SpanRecord[]): number {
  const traces = new Map<string, SpanRecord[]>();
  for (let at = 0; at < records.length; at += ROUND_SPANS) {
    for (const record of records.slice(at, at + ROUND_SPANS)) {
      const list = traces.get(record.traceId);
      if (list) list.push(record);
      else traces.set(record.traceId, [record]);
    }
  }
  return traces.size;
}

/** As the flow worker does: rounds of spans, each stored, the changed flows described at most every 250 ms. */
function assemble(records: SpanRecord[], describe: boolean): number {
  const assembler = new FlowAssembler();
  const roundMs = (ROUND_SPANS / SPANS_PER_SECOND) * 1000; // the time a round's spans take to arrive
  let described = 0;
  for (let at = 0, round = 0; at < records.length; at += ROUND_SPANS, round += 1) {
    const nowMs = round * roundMs;
    assembler.add(records.slice(at, at + ROUND_SPANS).map(toFlowSpan), nowMs);
    const changes = assembler.takeChanges(nowMs, 250);
    if (describe) {
      for (const flow of changes.flows) described += describeFlow(flow.id, flow.spans(), nowMs, { isSharedKey: (key) => assembler.isShared(key) }).hops.length;
    }
    if (round % 5 === 0) assembler.evictIdle(nowMs - 600_000); // about a second apart, as the worker does
  }
  return assembler.stats.flows + described;
}

function coreBench(): void {
  const orders = Number(values.orders);
  const records = orderWorkload(orders, ORDERS_PER_SECOND);
  console.log(`\ncore: ${count(records.length)} spans of ${count(orders)} orders (${ORDERS_PER_SECOND} a second, ${SPANS_PER_ORDER} spans each), rounds of ${ROUND_SPANS}; `
    + `${values.runs} runs after one to warm up`);
  const variants: [string, () => number][] = [
    ['group by trace id (baseline)', () => groupByTrace(records)],
    ['assemble flows', () => assemble(records, false)],
    ['assemble and describe changed flows', () => assemble(records, true)],
  ];
  const perSecond = new Map<string, number[]>(variants.map(([name]) => [name, []]));
  for (let run = 0; run <= Number(values.runs); run += 1) {
    for (const [name, work] of variants) {
      gc?.();
      const start = cpuMs();
      work();
      const spent = cpuMs() - start;
      if (run > 0) perSecond.get(name)!.push(records.length / (spent / 1000));
    }
  }
  const base = median(perSecond.get(variants[0]![0])!);
  console.log(`${'variant'.padEnd(38)}${'spans/s per core (median)'.padStart(27)}${'range'.padStart(26)}${'× baseline'.padStart(12)}${'µs/span'.padStart(10)}`);
  for (const [name] of variants) {
    const list = perSecond.get(name)!;
    console.log(`${name.padEnd(38)}${count(median(list)).padStart(27)}${range(list).padStart(26)}${(median(list) / base).toFixed(3).padStart(12)}${(1e6 / median(list)).toFixed(2).padStart(10)}`);
  }
}

// ---- 2. memory ----------------------------------------------------------------------------------------

/** The JavaScript heap and the typed arrays' buffers outside it (where the assembler keeps its columns). */
function heapAfterGc(): number {
  gc!();
  gc!();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

// Each structure is built in a function of its own, and passed on only through `holder`: a value that
// passes through the measuring frame can stay in one of its registers, and what it holds with it.
interface Held {
  spans: FlowSpan[];
  traces?: Map<string, FlowSpan[]>;
  assembler?: FlowAssembler;
}

function holdSpans(holder: Held, orders: number): void {
  holder.spans = orderWorkload(orders, 500, { openHops: 'random', seed: 7 }).map(toFlowSpan);
}

function groupByTraceId(holder: Held): void {
  const traces = new Map<string, FlowSpan[]>();
  for (const span of holder.spans) {
    const list = traces.get(span.traceId);
    if (list) list.push(span);
    else traces.set(span.traceId, [span]);
  }
  holder.traces = traces;
}

/** Assembles the held spans, as the worker does (rounds, then the changes taken), then lets the spans go. */
function assembleHeld(holder: Held): void {
  const assembler = new FlowAssembler();
  const spans = holder.spans;
  for (let at = 0; at < spans.length; at += ROUND_SPANS) assembler.add(spans.slice(at, at + ROUND_SPANS), 0);
  assembler.takeChanges();
  holder.assembler = assembler;
  holder.spans = []; // from here only the assembler holds the spans' facts
}

function memoryBench(): void {
  if (gc === undefined) throw new Error('the memory part needs node --expose-gc (npm run bench:flows passes it)');
  const orders = 100_000;
  console.log(`\nmemory: ${count(orders)} open orders, each 1 to 3 hops into its chain`);
  const holder: Held = { spans: [] };
  const empty = heapAfterGc();
  holdSpans(holder, orders);
  const withSpans = heapAfterGc();
  groupByTraceId(holder);
  const grouped = heapAfterGc() - withSpans;
  holder.traces = undefined;
  assembleHeld(holder);
  const everything = heapAfterGc() - empty;
  const columns = process.memoryUsage().arrayBuffers;
  const held = holder.assembler!.stats;
  console.log(`${'held'.padEnd(58)}${'bytes per open flow'.padStart(21)}${'bytes per span'.padStart(16)}`);
  const row = (name: string, bytes: number) => console.log(`${name.padEnd(58)}${count(bytes / held.flows).padStart(21)}${count(bytes / held.spans).padStart(16)}`);
  row('the spans\' facts as objects (FlowSpan), in an array', withSpans - empty);
  row('grouped by trace id: the index alone (baseline)', grouped);
  row('the assembler: everything (index and the spans\' facts)', everything);
  row('  of which typed columns', columns);
  console.log(`(${count(held.flows)} flows of ${count(held.spans)} spans, ${(held.spans / held.flows).toFixed(1)} a flow; ${count(held.pendingReferences)} references waiting)`);
}

// ---- 3. visible ------------------------------------------------------------------------------------------

const COLLECTOR_CLI = fileURLToPath(new URL('../collector/bin/choreoscope.mjs', import.meta.url));
const EXPORT_SPANS = 100;
const SAMPLE_EVERY = 5;
const POLL_MS = 20;

async function visibleBench(store: 'PGlite' | 'PostgreSQL', databaseUrl: string | undefined): Promise<void> {
  const rate = Number(values.rate);
  const seconds = Number(values.seconds);
  const records = orderWorkload(Math.ceil((rate * (seconds + 2)) / SPANS_PER_ORDER), rate / SPANS_PER_ORDER, { seed: 11 });
  const dataDir = databaseUrl === undefined ? mkdtempSync(join(tmpdir(), 'choreoscope-bench-flows-')) : undefined;
  const server = await startServerProcess([COLLECTOR_CLI, '--port', '0', '--log-level', 'warn',
    ...(dataDir !== undefined ? ['--data-dir', dataDir] : ['--database-url', databaseUrl!])], `collector on ${store}`);
  const flowMs: number[] = [];
  const traceMs: number[] = [];
  let late = 0;
  const pending: Promise<void>[] = [];
  try {
    const intervalMs = (EXPORT_SPANS / rate) * 1000;
    const exports = Math.floor((rate * seconds) / EXPORT_SPANS);
    console.log(`\nvisible on ${store}: ${exports} exports of ${EXPORT_SPANS} spans every ${intervalMs} ms (${count(rate)} spans/s) for ${seconds} s; every ${SAMPLE_EVERY}th export's last span polled every ${POLL_MS} ms`);
    const started = performance.now();
    for (let n = 0; n < exports; n += 1) {
      const due = started + n * intervalMs;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      else if (wait < -intervalMs) late += 1;
      const batch = records.slice(n * EXPORT_SPANS, (n + 1) * EXPORT_SPANS);
      const sending = fetch(`${server.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(toOtlpJson(batch)) })
        .then(async (answer) => {
          await answer.arrayBuffer();
          if (answer.status !== 200) throw new Error(`export answered ${answer.status}`);
          if (n % SAMPLE_EVERY !== 0) return;
          const acked = performance.now();
          const last = batch.at(-1)!;
          const [inFlow, inTrace] = await Promise.all([
            visibleAfter(`${server.url}/api/flows/${last.traceId}-${last.spanId}`, acked, last.spanId),
            visibleAfter(`${server.url}/api/traces/${last.traceId}`, acked, last.spanId),
          ]);
          flowMs.push(inFlow);
          traceMs.push(inTrace);
        });
      pending.push(sending);
    }
    await Promise.all(pending);
    const percentile = (list: number[], p: number) => [...list].sort((a, b) => a - b)[Math.min(list.length - 1, Math.floor(list.length * p))]!;
    console.log(`${'acknowledged → span answers'.padEnd(40)}${'samples'.padStart(8)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'max ms'.padStart(9)}`);
    for (const [name, list] of [['in its trace, /api/traces (baseline)', traceMs], ['in its flow, /api/flows', flowMs]] as const) {
      console.log(`${name.padEnd(40)}${String(list.length).padStart(8)}${percentile(list, 0.5).toFixed(0).padStart(9)}${percentile(list, 0.99).toFixed(0).padStart(9)}${Math.max(...list).toFixed(0).padStart(9)}`);
    }
    if (late > 0) console.log(`(${late} exports left more than an interval late: the load generator could not keep the rate)`);
  } finally {
    await server.stop();
    if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Polls `url` until it answers 200 with the span in it; milliseconds from `since`. */
async function visibleAfter(url: string, since: number, spanId: string): Promise<number> {
  for (;;) {
    const answer = await fetch(url);
    const text = await answer.text();
    if (answer.status === 200 && text.includes(spanId)) return performance.now() - since;
    if (performance.now() - since > 30_000) throw new Error(`${url} not visible after 30 s (${answer.status})`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

console.log(`flow benchmarks on node ${process.version}`);
if (parts.has('core')) coreBench();
if (parts.has('memory')) memoryBench();
const stores = new Set(values.stores.split(','));
if (parts.has('visible') && stores.has('pglite')) await visibleBench('PGlite', undefined);
if (parts.has('visible') && stores.has('postgres')) {
  const cluster = await startPostgresCluster({ database: 'bench_flows', log: () => {} });
  try {
    await visibleBench('PostgreSQL', cluster.url);
  } finally {
    cluster.remove();
  }
}
