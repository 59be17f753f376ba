// Stall detection: how well the learned model finds stuck flows, beside what users configure today (a
// fixed 30 s per hop), in the same run, on simulated flows with ground truth (choreography-simulator.ts);
// then a detection pass as the collector makes it over 1,000,000 open flows: the store's recheck index
// selects the flows whose deadline passed, the core judges them.
//
//   npm run bench:stalls -- [--train 10000] [--flows 10000] [--stall-rate 0.03] [--open 1000000] [--seed 1]
//     [--only quality,pass] [--late-factor 1] [--stall-factor 1.75] [--partitions 6] [--no-partition-evidence]
//   SHOW_FALSE_POSITIVES=1 prints what each healthy flow called stalled was said to wait for.
import { parseArgs } from 'node:util';
import TinyQueue from 'tinyqueue';
import { ChoreographyModel, type ModelView } from '../collector/src/core/model.ts';
import type { FlowProgress } from '../collector/src/core/flow-progress.ts';
import { AlertBook, subjectsOf } from '../collector/src/core/alerts.ts';
import { judgeFlow, type FlowVerdict } from '../collector/src/core/stalls.ts';
import { PartitionProgress } from '../collector/src/core/partition-progress.ts';
import { PGlite } from '@electric-sql/pglite';
import { createPgliteStore } from '../collector/src/store/pglite-store.ts';
import { TERMINAL_EVENTS, progressAt, shifted, simulateFlow, simulateTraffic, type SimulatedFlow, type StallKind } from './choreography-simulator.ts';
import { random } from './flow-workload.ts';

const STALL_KINDS: readonly StallKind[] = ['consumer', 'hung', 'silent'];

const { values } = parseArgs({
  options: {
    train: { type: 'string', default: '10000' },
    flows: { type: 'string', default: '10000' },
    'stall-rate': { type: 'string', default: '0.03' },
    open: { type: 'string', default: '1000000' },
    seed: { type: 'string', default: '1' },
    only: { type: 'string', default: 'quality,pass' },
    'late-factor': { type: 'string' },
    'stall-factor': { type: 'string' },
    partitions: { type: 'string', default: '6' },
    'no-partition-evidence': { type: 'boolean', default: false },
  },
});
/** The detector's settings; the collector's defaults unless given. */
const stallOptions = {
  ...(values['late-factor'] === undefined ? {} : { lateFactor: Number(values['late-factor']) }),
  ...(values['stall-factor'] === undefined ? {} : { stallFactor: Number(values['stall-factor']) }),
};
const parts = new Set(values.only.split(','));
const stallRate = Number(values['stall-rate']);
const next = random(Number(values.seed));
/** Flows start 5 a second, inside one learning window (an hour): the model sees all its training. */
const T0 = Date.UTC(2026, 11, 1, 0, 0, 0);
const FLOW_GAP_MS = 200;
const HORIZON_MS = 600_000;
/** A flow quiet this long has settled: it is learned from (the collector's rule). */
const SETTLE_MS = 60_000;

console.log(`stall detection benchmark on node ${process.version}`);

// the traffic: flows that train the model, then flows judged, sharing the topics' partitions
const model = new ChoreographyModel();
const train = Number(values.train);
const testStart = T0 + train * FLOW_GAP_MS;
const partitionCount = Number(values.partitions);

if (parts.has('quality')) quality();
else for (const flow of simulateTraffic({ count: train, startMs: T0, gapMs: FLOW_GAP_MS, next, stallRate, partitions: partitionCount })) learnSettled(flow, settledAt(flow));
if (parts.has('pass')) await pass();

function quality(): void {
  const count = Number(values.flows);
  const traffic = simulateTraffic({ count: train + count, startMs: T0, gapMs: FLOW_GAP_MS, next, stallRate, partitions: partitionCount });
  const flows = traffic.slice(train);
  const stalled = flows.filter((f) => f.stall !== null).length;
  const verdicts = detect(traffic, new Set(flows), values['no-partition-evidence'] ? null : new PartitionProgress());
  console.log(`\nquality: learned from ${train.toLocaleString('en')} settled flows, then ${count.toLocaleString('en')} flows judged as their spans arrive, ` +
    `${stalled} of them stalled (${(stallRate * 100).toFixed(1)} %), ${partitionCount} partitions a topic` +
    `${values['no-partition-evidence'] ? ', partitions not followed (time alone)' : ''}; delay is from the unanswered event to the verdict, in p99s of the awaited step (past due: from the event + that p99)`);
  const rows = [
    { name: 'fixed 30 s per hop (baseline)', detect: (flow: SimulatedFlow) => fixedTimeout(flow, 30_000) },
    { name: 'learned model (Choreoscope)', detect: (flow: SimulatedFlow) => verdicts.get(flow) ?? null },
  ];
  console.log(`${'detector'.padEnd(32)}${'precision'.padStart(10)}${'recall'.padStart(8)}${'TP'.padStart(6)}${'FP'.padStart(6)}${'FN'.padStart(6)}` +
    `${'delay p50'.padStart(11)}${'p90'.padStart(7)}${'max'.padStart(7)}${'past due p50'.padStart(14)}${'delay p50 s'.padStart(13)}   delay p50 by stall: ${STALL_KINDS.join(' / ')}`);
  for (const row of rows) {
    let tp = 0, fp = 0, fn = 0;
    const ratios: number[] = [];
    const seconds: number[] = [];
    const byKind = new Map<StallKind, number[]>(STALL_KINDS.map((kind) => [kind, []]));
    for (const flow of flows) {
      const detectedAt = row.detect(flow);
      if (flow.stall === null) {
        if (detectedAt !== null) {
          fp += 1;
          if (process.env.SHOW_FALSE_POSITIVES) console.log('false positive', JSON.stringify(judgeFlow(progressAt(flow, detectedAt), model.view(detectedAt), stallOptions).explanation));
        }
        continue;
      }
      if (detectedAt === null) {
        fn += 1;
        continue;
      }
      tp += 1;
      const p99 = awaitedP99(flow, model.view(detectedAt));
      ratios.push((detectedAt - flow.stall.sinceMs) / p99);
      byKind.get(flow.stall.kind)!.push((detectedAt - flow.stall.sinceMs) / p99);
      seconds.push((detectedAt - flow.stall.sinceMs) / 1_000);
    }
    const q = (list: number[], p: number) => list.sort((a, b) => a - b)[Math.min(list.length - 1, Math.floor(list.length * p))] ?? NaN;
    console.log(`${row.name.padEnd(32)}${(tp / (tp + fp)).toFixed(4).padStart(10)}${(tp / (tp + fn)).toFixed(4).padStart(8)}${String(tp).padStart(6)}` +
      `${String(fp).padStart(6)}${String(fn).padStart(6)}${`${q(ratios, 0.5).toFixed(2)}×`.padStart(11)}${`${q(ratios, 0.9).toFixed(1)}×`.padStart(7)}` +
      `${`${q(ratios, 1).toFixed(0)}×`.padStart(7)}${`${(q(ratios, 0.5) - 1).toFixed(2)}×`.padStart(14)}${q(seconds, 0.5).toFixed(2).padStart(13)}   ` +
      STALL_KINDS.map((kind) => `${q(byKind.get(kind)!, 0.5).toFixed(2)}× (${byKind.get(kind)!.length})`).join(' / '));
  }
}

/** Learns from a settled flow as the flow worker does: a step it is stuck on (as judged then) teaches nothing. */
function learnSettled(flow: SimulatedFlow, atMs: number): void {
  const progress = progressAt(flow, Infinity);
  const { state, explanation } = judgeFlow(progress, model.view(atMs), stallOptions);
  const stuck = (state === 'late' || state === 'stalled') && explanation !== null && explanation.kind !== 'failure' && explanation.learned;
  model.learn(progress, atMs, stuck ? explanation.afterEventType : null);
}

/** A flow quiet this long after its last fact has settled: learned from then. */
function settledAt(flow: SimulatedFlow): number {
  return flow.facts.at(-1)!.atMs + SETTLE_MS;
}

/**
 * The learned detector, as the collector runs it, over the whole traffic in time order: every flow is
 * learned from once it settles; a judged flow is judged again when a fact of its own arrives, when a
 * deadline of its passes, and when a group is seen handling a later message of a partition than the one
 * it waits for (`partitions`: where each group has got, as the flow worker follows it; null: not followed).
 * When each judged flow was first called stalled, else null.
 */
function detect(traffic: readonly SimulatedFlow[], judged: ReadonlySet<SimulatedFlow>, partitions: PartitionProgress | null): Map<SimulatedFlow, number | null> {
  type Item = { atMs: number; order: number; flow: SimulatedFlow; what: 'settle' | 'fact' | 'deadline'; fact?: SimulatedFlow['facts'][number] };
  const items: Item[] = [];
  for (const flow of traffic) {
    items.push({ atMs: settledAt(flow), order: 0, flow, what: 'settle' });
    for (const fact of flow.facts) items.push({ atMs: fact.atMs, order: 1, flow, what: 'fact', fact });
  }
  items.sort((a, b) => a.atMs - b.atMs || a.order - b.order);
  const byId = new Map(traffic.map((flow) => [flow.id, flow]));
  const detected = new Map<SimulatedFlow, number | null>([...judged].map((flow) => [flow, null]));
  const deadlines = new TinyQueue<Item>([], (a, b) => a.atMs - b.atMs);
  const scheduled = new Map<SimulatedFlow, number>(); // each flow's next deadline: an older one queued is stale
  const judge = (flow: SimulatedFlow, now: number) => {
    if (!judged.has(flow) || detected.get(flow) !== null || now > flow.startMs + HORIZON_MS) return;
    const verdict = judgeFlow(progressAt(flow, now), model.view(now, partitions ?? undefined), stallOptions);
    if (verdict.state === 'stalled') {
      detected.set(flow, now);
      return;
    }
    for (const { group, message, sentAtMs } of verdict.awaiting ?? []) partitions!.await(flow.id, group, message, sentAtMs);
    if (verdict.nextCheckMs !== null && verdict.nextCheckMs !== scheduled.get(flow)) {
      scheduled.set(flow, verdict.nextCheckMs);
      deadlines.push({ atMs: verdict.nextCheckMs, order: 2, flow, what: 'deadline' });
    }
  };
  let i = 0;
  for (;;) {
    const item = deadlines.peek() !== undefined && (i >= items.length || deadlines.peek()!.atMs < items[i]!.atMs) ? deadlines.pop()! : items[i++];
    if (item === undefined) break;
    const now = item.atMs;
    if (item.what === 'settle') {
      learnSettled(item.flow, now);
    } else if (item.what === 'deadline') {
      if (scheduled.get(item.flow) === now) judge(item.flow, now);
    } else {
      const fact = item.fact!;
      if (partitions !== null && fact.kind === 'consumption') partitions.observe(fact.group, fact.message, fact.startMs, fact.atMs);
      judge(item.flow, now);
      for (const id of partitions?.takeWoken() ?? []) judge(byId.get(id)!, now);
    }
  }
  return detected;
}

/** The baseline: stuck when nothing happened for `timeoutMs` and its terminal event was not sent. */
function fixedTimeout(flow: SimulatedFlow, timeoutMs: number): number | null {
  let last = flow.startMs;
  for (const fact of flow.facts) {
    if (fact.atMs - last >= timeoutMs) return last + timeoutMs;
    if (fact.kind === 'event' && TERMINAL_EVENTS.includes(fact.eventType)) return null;
    last = fact.atMs;
  }
  return last + timeoutMs;
}

/**
 * The learned p99 of the step the stalled flow waits for: a group never seen handling the event (never
 * handled, or its handling hung), until handled; a handling that ended silently, the next event.
 */
function awaitedP99(flow: SimulatedFlow, view: ModelView): number {
  const stall = flow.stall!;
  const expected = view.expectationsAfter(stall.eventType);
  const p99 = stall.kind === 'silent'
    ? expected.next?.latency.p99Ms
    : expected.consumers.find((c) => c.group === stall.group)?.due?.p99Ms;
  return p99 ?? NaN;
}

/**
 * The alert book over a pass's verdicts, as the flow worker observes them: the time to observe a verdict
 * of a flow stuck on nothing (most of them); then a consumer paused under load, 100,000 flows stuck the few ways the pass's stalled flows
 * are, observed and evaluated: how many alerts they make (the baseline in the same run: one alert a
 * flow, what a per-flow rule gives), the time, and the memory the book holds per stuck flow.
 */
function alertBook(stuck: readonly FlowVerdict[], open: number, now: number): void {
  // most verdicts a worker observes are of flows stuck on nothing: each leaves the book as it was
  let book = new AlertBook();
  let started = process.hrtime.bigint();
  for (let i = 0; i < open; i += 1) book.observe(`flow-${i}`, subjectsOf('running', null, [], now), now);
  const observeAllSeconds = Number(process.hrtime.bigint() - started) / 1e9;

  const flows = 100_000;
  const ids = Array.from({ length: flows }, (_, i) => `${i.toString(16).padStart(32, '0')}-${'0'.repeat(16)}`); // flow ids as they are
  globalThis.gc?.();
  const before = process.memoryUsage().heapUsed;
  book = new AlertBook();
  started = process.hrtime.bigint();
  for (let i = 0; i < flows; i += 1) {
    const verdict = stuck[i % stuck.length]!;
    book.observe(ids[i]!, subjectsOf(verdict.state, verdict.explanation, [], now), now);
  }
  const observeSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  started = process.hrtime.bigint();
  const { notifications } = book.evaluate(now);
  const evaluateSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  globalThis.gc?.();
  const bytes = (process.memoryUsage().heapUsed - before) / flows;
  console.log(`\nalerts: observing ${open.toLocaleString('en')} verdicts of flows stuck on nothing: ${observeAllSeconds.toFixed(3)} s ` +
    `(${((observeAllSeconds * 1e6) / open).toFixed(2)} µs a verdict)`);
  console.log(`alerts: ${flows.toLocaleString('en')} flows stuck as the pass's ${stuck.length} stalled flows are make ${notifications.length} alerts ` +
    `(baseline, one alert a flow: ${flows.toLocaleString('en')}); observed in ${observeSeconds.toFixed(3)} s, evaluated in ${evaluateSeconds.toFixed(3)} s; ` +
    `the book holds ${bytes.toFixed(0)} bytes a stuck flow`);
  book.observe('keep', [], now); // the book lives until measured
  for (const n of notifications.slice(0, 5)) console.log(`  ${n.alert.severity.padEnd(9)}${n.alert.title}`);
}

/**
 * A detection pass as the collector makes it: the store's recheck index gives the flows whose deadline
 * passed (here on PGlite, over 1,000,000 open flows), and each is judged by the core; the baseline, a fixed
 * timeout over the same flows' last activity.
 */
async function pass(): Promise<void> {
  const open = Number(values.open);
  const now = testStart + HORIZON_MS;
  const view = model.view(now);
  // open flows, each caught in the middle of its life
  globalThis.gc?.();
  const before = process.memoryUsage().heapUsed;
  const held: FlowProgress[] = [];
  for (let i = 0; i < open; i += 1) {
    const made = simulateFlow(0, next, stallRate);
    held.push(progressAt(shifted(made, now - next() * made.facts.at(-1)!.atMs), now));
  }
  globalThis.gc?.();
  const progressBytes = (process.memoryUsage().heapUsed - before) / open;

  let started = process.hrtime.bigint();
  const states: Record<string, number> = {};
  const deadlines = new Float64Array(open);
  const stuckVerdicts: FlowVerdict[] = [];
  for (let i = 0; i < open; i += 1) {
    const verdict = judgeFlow(held[i]!, view, stallOptions);
    states[verdict.state] = (states[verdict.state] ?? 0) + 1;
    deadlines[i] = verdict.nextCheckMs ?? Infinity;
    if (verdict.state === 'stalled' || verdict.state === 'failed') stuckVerdicts.push(verdict);
  }
  const judgeSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  alertBook(stuckVerdicts, open, now);

  started = process.hrtime.bigint();
  let overdue = 0;
  for (const progress of held) {
    if (now - progress.lastActivityMs >= 30_000 && !progress.events.some((e) => TERMINAL_EVENTS.includes(e.eventType))) overdue += 1;
  }
  const baselineSeconds = Number(process.hrtime.bigint() - started) / 1e9;

  // the store's side: a flows row per open flow with its next deadline, as the flow worker writes them
  const db = await PGlite.create();
  const store = await createPgliteStore(db);
  try {
    const session = (await store.flows.openAssembly())!;
    await db.exec('BEGIN');
    for (let at = 0; at < open; at += 50_000) {
      const rows = [];
      for (let i = at; i < Math.min(open, at + 50_000); i += 1) rows.push(Number.isFinite(deadlines[i]!) ? deadlines[i]! : null);
      await db.query(`INSERT INTO flows (flow_id, first_event_ms, last_event_ms, facts, recheck_at_ms)
        SELECT 'flow-' || (${at} + n), $2, $2, '{}'::jsonb, r::float8 FROM jsonb_array_elements_text($1::text::jsonb) WITH ORDINALITY AS t(r, n)`,
      [JSON.stringify(rows), now]);
    }
    await db.exec('COMMIT');
    const rows: [label: string, atMs: number][] = [['now', now], ['1 s on', now + 1_000], ['5 s on', now + 5_000], ['30 s on', now + 30_000]];
    console.log(`\npass: ${open.toLocaleString('en')} open flows, each caught in the middle of its life (${JSON.stringify(states)}); ` +
      'a pass selects the flows whose deadline passed from the store\'s recheck index (PGlite, 1,000 at most a round) and judges each');
    console.log(`${'step'.padEnd(52)}${'seconds'.padStart(10)}${'flows'.padStart(12)}`);
    console.log(`${'judging every open flow once (the core)'.padEnd(52)}${judgeSeconds.toFixed(3).padStart(10)}${open.toLocaleString('en').padStart(12)}` +
      `   ${((judgeSeconds * 1e6) / open).toFixed(2)} µs a flow`);
    console.log(`${'fixed 30 s per hop over every flow (baseline)'.padEnd(52)}${baselineSeconds.toFixed(3).padStart(10)}${open.toLocaleString('en').padStart(12)}   ${overdue} overdue`);
    for (const [label, atMs] of rows) {
      const due = deadlines.filter((d) => d <= atMs).length;
      const selectStarted = process.hrtime.bigint();
      const selected = await session.dueRechecks(atMs, 1_000);
      const selectSeconds = Number(process.hrtime.bigint() - selectStarted) / 1e9;
      const judged = Math.min(due, 1_000);
      const perFlow = judgeSeconds / open;
      console.log(`${`a round's pass, ${label}: select the due (${due.toLocaleString('en')} due)`.padEnd(52)}${selectSeconds.toFixed(3).padStart(10)}` +
        `${selected.length.toLocaleString('en').padStart(12)}   + judging them: ${(judged * perFlow).toFixed(3)} s`);
    }
    await session.release();
  } finally {
    await store.close();
  }
  console.log(`memory: none per open flow beyond the assembler's working set (docs/benchmarks.md, "Flow assembly"): a flow's progress is ` +
    `rebuilt from its spans when it is judged; held as objects it would take ${progressBytes.toFixed(0)} bytes`);
  partitionMemory(open);
}

/**
 * What following the partitions holds (core/partition-progress.ts): a flow waiting on a group that reads in
 * order, registered so a later handling wakes it; and a group's partition, with the handlings it keeps.
 */
function partitionMemory(flows: number): void {
  const ids = Array.from({ length: flows }, (_, i) => `${i.toString(16).padStart(32, '0')}-${'0'.repeat(16)}`);
  const messages = Array.from({ length: flows }, (_, i) => `order.created/${i % 100}/${1_000_000 + i}`);
  const measure = (fill: (progress: PartitionProgress) => void): number => {
    for (let i = 0; i < 3; i += 1) globalThis.gc?.();
    const before = process.memoryUsage().heapUsed;
    const progress = new PartitionProgress({ maxWaitingPerPartition: flows, maxPartitions: 10_000 });
    fill(progress);
    for (let i = 0; i < 3; i += 1) globalThis.gc?.();
    const bytes = process.memoryUsage().heapUsed - before;
    progress.takeWoken(); // alive until measured
    return bytes;
  };
  const waiting = measure((progress) => {
    for (let p = 0; p < 100; p += 1) progress.observe('payments', `order.created/${p}/0`, 0, 1); // partitions it reads
    messages.forEach((message, i) => progress.await(ids[i]!, 'payments', message, 0));
  });
  // 10,000 group partitions (the bound), each with the 16 handlings it keeps
  const partitions = measure((progress) => {
    for (let p = 0; p < 10_000; p += 1) for (let o = 0; o < 16; o += 1) progress.observe(`group-${p % 50}`, `topic-${Math.floor(p / 50)}/${p % 50}/${o}`, o * 10, o * 10 + 5);
  });
  console.log(`memory, following the partitions: ${(waiting / flows).toFixed(0)} bytes a flow waiting on a group that reads in order ` +
    `(${flows.toLocaleString('en')} waiting); ${(partitions / 10_000).toFixed(0)} bytes a group partition with its 16 handlings kept, ` +
    `${(partitions / 1024 / 1024).toFixed(1)} MiB at the bound of 10,000 (ids and messages held apart: ${ids.length + messages.length} strings)`);
}
