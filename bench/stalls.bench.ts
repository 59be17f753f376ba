// Stall detection: how well the learned model finds stuck flows, beside what users configure today (a
// fixed 30 s per hop), in the same run, on simulated flows with ground truth (choreography-simulator.ts);
// then the cost of judging open flows: one pass over 1,000,000 of them, and memory per open flow.
//
//   npm run bench:stalls -- [--train 10000] [--flows 10000] [--stall-rate 0.03] [--open 1000000] [--seed 1]
//     [--only quality,pass] [--late-factor 1] [--stall-factor 1.75]
//   SHOW_FALSE_POSITIVES=1 prints what each healthy flow called stalled was said to wait for.
import { parseArgs } from 'node:util';
import { ChoreographyModel, type ModelView } from '../collector/src/core/model.ts';
import { StallDetector } from '../collector/src/core/stall-detector.ts';
import { judgeFlow } from '../collector/src/core/stalls.ts';
import { TERMINAL_EVENTS, progressAt, random, shifted, simulateFlow, type SimulatedFlow } from './choreography-simulator.ts';

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
  // open flows, each caught in the middle of its life, held by the detector as the collector holds them
  const now = testStart + HORIZON_MS;
  const flows: SimulatedFlow[] = [];
  const nextFactAt = new Float64Array(open);
  // the baseline's state: each flow's last activity, and whether it sent its terminal event
  const lastActivity = new Float64Array(open);
  const ended = new Uint8Array(open);
  const touch = (i: number, t: number) => {
    lastActivity[i] = lastActivityBefore(flows[i]!, t);
    ended[i] = flows[i]!.facts.some((f) => f.atMs <= t && f.kind === 'event' && TERMINAL_EVENTS.includes(f.eventType)) ? 1 : 0;
  };
  for (let i = 0; i < open; i += 1) {
    const made = simulateFlow(0, next, stallRate);
    const flow = shifted(made, now - next() * made.facts.at(-1)!.atMs);
    flows.push(flow);
    nextFactAt[i] = flow.facts.find((fact) => fact.atMs > now)?.atMs ?? Infinity;
    touch(i, now);
  }
  globalThis.gc?.();
  const before = process.memoryUsage().heapUsed;
  const detector = new StallDetector(stallOptions);
  let tracking = 0;
  const view = model.view(now);
  for (let i = 0; i < open; i += 1) {
    const progress = progressAt(flows[i]!, now);
    const started = process.hrtime.bigint();
    detector.update(String(i), progress, view);
    tracking += Number(process.hrtime.bigint() - started) / 1e9;
  }
  globalThis.gc?.();
  const heldBytes = process.memoryUsage().heapUsed - before;

  console.log(`\npass: ${open.toLocaleString('en')} open flows, each caught in the middle of its life and judged once when tracked (as after a restart); ` +
    `then time goes on in steps of a second: the flows whose spans arrived are judged as they arrive, then a pass judges those whose deadline passed`);
  console.log(`${'step'.padEnd(44)}${'seconds'.padStart(10)}${'flows judged'.padStart(14)}${'changed'.padStart(9)}${'open'.padStart(11)}`);
  console.log(`${'tracking every flow'.padEnd(44)}${tracking.toFixed(3).padStart(10)}${open.toLocaleString('en').padStart(14)}${'—'.padStart(9)}${detector.size.toLocaleString('en').padStart(11)}`);
  for (let second = 1; second <= 3; second += 1) {
    const t = now + second * 1_000;
    const stepView = model.view(t);
    let arrivals = 0;
    const arrivalStarted = process.hrtime.bigint();
    for (let i = 0; i < open; i += 1) {
      if (nextFactAt[i]! > t) continue;
      const flow = flows[i]!;
      detector.update(String(i), progressAt(flow, t), stepView);
      nextFactAt[i] = flow.facts.find((fact) => fact.atMs > t)?.atMs ?? Infinity;
      touch(i, t);
      arrivals += 1;
    }
    const arrivalSeconds = Number(process.hrtime.bigint() - arrivalStarted) / 1e9;
    // the baseline in the same run: the fixed timeout's pass, every open flow's last activity against a cut-off
    const baseStarted = process.hrtime.bigint();
    let overdue = 0;
    for (let i = 0; i < open; i += 1) if (ended[i] === 0 && t - lastActivity[i]! >= 30_000) overdue += 1;
    const baseSeconds = Number(process.hrtime.bigint() - baseStarted) / 1e9;
    const started = process.hrtime.bigint();
    const outcome = detector.pass(stepView);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    console.log(`${`+${second} s: spans arrived (simulated), judged`.padEnd(44)}${arrivalSeconds.toFixed(3).padStart(10)}${arrivals.toLocaleString('en').padStart(14)}${'—'.padStart(9)}${detector.size.toLocaleString('en').padStart(11)}`);
    console.log(`${`+${second} s: fixed 30 s per hop (baseline)`.padEnd(44)}${baseSeconds.toFixed(3).padStart(10)}${open.toLocaleString('en').padStart(14)}${String(overdue).padStart(9)}${'—'.padStart(11)}`);
    console.log(`${`+${second} s: learned model, a pass`.padEnd(44)}${seconds.toFixed(3).padStart(10)}${outcome.judged.toLocaleString('en').padStart(14)}${String(outcome.changed.length).padStart(9)}${detector.size.toLocaleString('en').padStart(11)}`);
  }
  console.log(`memory: ${(heldBytes / open).toFixed(0)} bytes per open flow held by the detector (its progress as objects, the verdicts and the index; heap after GC)`);
}

/** The time of the flow's latest fact up to `t`. */
function lastActivityBefore(flow: SimulatedFlow, t: number): number {
  let last = flow.startMs;
  for (const fact of flow.facts) {
    if (fact.atMs > t) break;
    last = fact.atMs;
  }
  return last;
}
