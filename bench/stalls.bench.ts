// Stall detection: how well the learned model finds stuck flows, beside what users configure today (a
// fixed 30 s per hop), in the same run, on simulated flows with ground truth (choreography-simulator.ts);
// then the cost of judging open flows: one pass over 1,000,000 of them, and memory per open flow.
//
//   npm run bench:stalls -- [--train 10000] [--flows 10000] [--stall-rate 0.03] [--open 1000000] [--seed 1]
//     [--only quality,pass] [--late-factor 1] [--stall-factor 1.5]
import { parseArgs } from 'node:util';
import { ChoreographyModel, type ModelView } from '../collector/src/core/model.ts';
import { judgeFlow } from '../collector/src/core/stalls.ts';
import type { FlowProgress } from '../collector/src/core/flow-progress.ts';
import { TERMINAL_EVENTS, progressAt, random, simulateFlow, type SimulatedFlow } from './choreography-simulator.ts';

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

// learning: flows settle (the simulator's whole flow), stalled ones included, as they do in a collector
const model = new ChoreographyModel();
const train = Number(values.train);
for (let i = 0; i < train; i += 1) {
  const flow = simulateFlow(T0 + i * FLOW_GAP_MS, next, stallRate);
  model.learn(progressAt(flow, Infinity), flow.facts.at(-1)!.atMs + SETTLE_MS);
}
const testStart = T0 + train * FLOW_GAP_MS;

if (parts.has('quality')) quality();
if (parts.has('pass')) pass();

function quality(): void {
  const count = Number(values.flows);
  const flows = Array.from({ length: count }, (_, i) => simulateFlow(testStart + i * FLOW_GAP_MS, next, stallRate));
  const stalled = flows.filter((f) => f.stall !== null).length;
  // learning goes on while flows are judged, as in a collector: a flow is learned once it has settled
  const settledAt = (flow: SimulatedFlow) => flow.facts.at(-1)!.atMs + SETTLE_MS;
  const verdicts = new Map<SimulatedFlow, number | null>();
  let learnedUpTo = 0;
  for (const flow of flows) {
    while (learnedUpTo < flows.length && settledAt(flows[learnedUpTo]!) <= flow.startMs) {
      const settled = flows[learnedUpTo++]!;
      model.learn(progressAt(settled, Infinity), settledAt(settled));
    }
    verdicts.set(flow, learned(flow));
  }
  console.log(`\nquality: learned from ${train.toLocaleString('en')} settled flows, then ${count.toLocaleString('en')} flows judged as their spans arrive, ` +
    `${stalled} of them stalled (${(stallRate * 100).toFixed(1)} %); delay is from the unanswered event to the verdict, in p99s of the awaited step (past due: from the event + that p99)`);
  const rows = [
    { name: 'fixed 30 s per hop (baseline)', detect: (flow: SimulatedFlow) => fixedTimeout(flow, 30_000) },
    { name: 'learned model (Choreoscope)', detect: (flow: SimulatedFlow) => verdicts.get(flow) ?? null },
  ];
  console.log(`${'detector'.padEnd(32)}${'precision'.padStart(10)}${'recall'.padStart(8)}${'TP'.padStart(6)}${'FP'.padStart(6)}${'FN'.padStart(6)}` +
    `${'delay p50'.padStart(11)}${'p90'.padStart(7)}${'max'.padStart(7)}${'past due p50'.padStart(14)}${'delay p50 s'.padStart(13)}`);
  for (const row of rows) {
    let tp = 0, fp = 0, fn = 0;
    const ratios: number[] = [];
    const seconds: number[] = [];
    for (const flow of flows) {
      const detectedAt = row.detect(flow);
      if (flow.stall === null) {
        if (detectedAt !== null) fp += 1;
        continue;
      }
      if (detectedAt === null) {
        fn += 1;
        continue;
      }
      tp += 1;
      const p99 = awaitedP99(flow, model.view(detectedAt));
      ratios.push((detectedAt - flow.stall.sinceMs) / p99);
      seconds.push((detectedAt - flow.stall.sinceMs) / 1_000);
    }
    const q = (list: number[], p: number) => list.sort((a, b) => a - b)[Math.min(list.length - 1, Math.floor(list.length * p))] ?? NaN;
    console.log(`${row.name.padEnd(32)}${(tp / (tp + fp)).toFixed(4).padStart(10)}${(tp / (tp + fn)).toFixed(4).padStart(8)}${String(tp).padStart(6)}` +
      `${String(fp).padStart(6)}${String(fn).padStart(6)}${`${q(ratios, 0.5).toFixed(2)}×`.padStart(11)}${`${q(ratios, 0.9).toFixed(1)}×`.padStart(7)}` +
      `${`${q(ratios, 1).toFixed(0)}×`.padStart(7)}${`${(q(ratios, 0.5) - 1).toFixed(2)}×`.padStart(14)}${q(seconds, 0.5).toFixed(2).padStart(13)}`);
  }
}

/** The learned detector, as the collector runs it: judged again when a span arrives or a deadline passes. */
function learned(flow: SimulatedFlow): number | null {
  let now = flow.startMs;
  for (let turns = 0; turns < 1_000 && now <= flow.startMs + HORIZON_MS; turns += 1) {
    const verdict = judgeFlow(progressAt(flow, now), model.view(now), stallOptions);
    if (verdict.state === 'stalled') return now;
    const nextFact = flow.facts.find((fact) => fact.atMs > now)?.atMs ?? Infinity;
    const upcoming = Math.min(nextFact, verdict.nextCheckMs ?? Infinity);
    if (!Number.isFinite(upcoming)) return null;
    now = upcoming;
  }
  return null;
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

/** The learned p99 of the step the stalled flow waits for. */
function awaitedP99(flow: SimulatedFlow, view: ModelView): number {
  const stall = flow.stall!;
  const expected = view.expectationsAfter(stall.eventType);
  const p99 = stall.kind === 'consumer'
    ? expected.consumers.find((c) => c.group === stall.group)?.wait.p99Ms
    : expected.next?.latency.p99Ms;
  return p99 ?? NaN;
}

function pass(): void {
  const open = Number(values.open);
  // open flows caught at a random moment of their life; their progress held as the detector holds it
  const held = holdOpenFlows(open);
  const now = testStart + open * 2 + HORIZON_MS;
  const view = model.view(now);
  judgeAll(held.slice(0, 10_000), view); // warm up
  const started = process.hrtime.bigint();
  const states = judgeAll(held, view);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  // the baseline in the same run: the fixed timeout over the same flows (last activity against a cut-off)
  const baseStarted = process.hrtime.bigint();
  let overdue = 0;
  for (const progress of held) if (now - progress.lastActivityMs >= 30_000 && !progress.events.some((e) => TERMINAL_EVENTS.includes(e.eventType))) overdue += 1;
  const baseSeconds = Number(process.hrtime.bigint() - baseStarted) / 1e9;
  console.log(`\npass: ${open.toLocaleString('en')} open flows judged once, one model view`);
  console.log(`${'detector'.padEnd(32)}${'seconds'.padStart(10)}${'µs a flow'.padStart(11)}`);
  console.log(`${'fixed 30 s per hop (baseline)'.padEnd(32)}${baseSeconds.toFixed(3).padStart(10)}${((baseSeconds * 1e6) / open).toFixed(2).padStart(11)}   (${overdue} overdue)`);
  console.log(`${'learned model (Choreoscope)'.padEnd(32)}${seconds.toFixed(3).padStart(10)}${((seconds * 1e6) / open).toFixed(2).padStart(11)}   (${JSON.stringify(states)})`);
  console.log(`memory: ${held.bytesPerFlow.toFixed(0)} bytes per open flow (its progress as objects, heap after GC)`);
}

function holdOpenFlows(open: number): FlowProgress[] & { bytesPerFlow: number } {
  globalThis.gc?.();
  const before = process.memoryUsage().heapUsed;
  const held: FlowProgress[] = [];
  for (let i = 0; i < open; i += 1) {
    const flow = simulateFlow(testStart + i * 2, next, stallRate);
    const end = flow.facts.at(-1)!.atMs;
    held.push(progressAt(flow, flow.startMs + next() * (end - flow.startMs)));
  }
  globalThis.gc?.();
  const bytesPerFlow = (process.memoryUsage().heapUsed - before) / open;
  return Object.assign(held, { bytesPerFlow });
}

function judgeAll(flows: FlowProgress[], view: ModelView): Record<string, number> {
  const states: Record<string, number> = {};
  for (const progress of flows) {
    const { state } = judgeFlow(progress, view, stallOptions);
    states[state] = (states[state] ?? 0) + 1;
  }
  return states;
}
