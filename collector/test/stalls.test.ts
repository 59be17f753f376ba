/**
 * The learned choreography and stall detection, pure, on a fake clock: what a flow's spans say it has
 * done (flow-progress.ts, from real fixture spans of each instrumentation), what the model learns from
 * settled flows (branches, compensation, terminal events, latencies), and each flow's verdict as time
 * passes: late then stalled at the learned deadlines with the step it waits for, running again when the
 * awaited event arrives, compensated rather than stalled, failed when a retry never succeeded, the
 * default deadline for a step too young to trust, a changed topology relearned, a long but healthy tail
 * left alone.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '@choreoscope/test-support';
import { FlowAssembler } from '../src/core/assemble.ts';
import { toFlowSpan } from '../src/core/flow-span.ts';
import { flowProgress, type FlowProgress } from '../src/core/flow-progress.ts';
import { ChoreographyModel } from '../src/core/model.ts';
import { judgeFlow } from '../src/core/stalls.ts';
import { fixtureRecords, readFlowFixtures } from './flow-fixtures.ts';

const T0 = Date.UTC(2026, 11, 1, 12, 3, 4);

/** A seeded random stream, so every run draws the same flows. */
const random = (seed: number) => seededRandom(`stalls-${seed}`);

/** One step of a simulated order: an event sent, then handled by a group that may send the next. */
interface Step {
  event: string;
  service: string;
  group?: string;
  consumer?: string;
  /** Sent → handled. */
  waitMs?: number;
  /** Sent → the next step's event sent. */
  nextMs?: number;
  failed?: boolean;
}

/** A flow's progress along `steps`, starting at `startMs`, as the spans of such a flow give it. */
function progressOf(steps: Step[], startMs: number): FlowProgress {
  const p: FlowProgress = { events: [], consumptions: [], transitions: [], failure: null, lastActivityMs: startMs };
  let at = startMs;
  steps.forEach((step, i) => {
    p.events.push({ eventType: step.event, service: step.service, atMs: at });
    if (step.group !== undefined) {
      const handledAt = at + (step.waitMs ?? 5);
      p.consumptions.push({ eventType: step.event, group: step.group, service: step.consumer ?? step.group, atMs: handledAt, succeeded: step.failed !== true });
      if (step.failed === true) p.failure = { service: step.consumer ?? step.group, eventType: step.event, group: step.group, atMs: handledAt };
      p.lastActivityMs = Math.max(p.lastActivityMs, handledAt);
    }
    const next = steps[i + 1];
    if (next !== undefined) {
      const nextAt = at + (step.nextMs ?? 10);
      p.transitions.push({ from: step.event, to: next.event, latencyMs: nextAt - at });
      at = nextAt;
    }
  });
  p.lastActivityMs = Math.max(p.lastActivityMs, at);
  return p;
}

/**
 * The order choreography: OrderCreated → payment → PaymentAuthorized (90 %) → inventory → StockReserved →
 * shipping → OrderShipped, or PaymentFailed (10 %) → order → OrderCancelled, a compensation.
 */
function order(next: () => number, options: { paymentMs?: number; authorized?: boolean } = {}): Step[] {
  const paymentMs = options.paymentMs ?? 600 + next() * 200; // p99 about 800 ms
  const authorized = options.authorized ?? next() >= 0.1;
  const created: Step = { event: 'OrderCreated', service: 'order', group: 'payments', consumer: 'payment', waitMs: 20 + next() * 30, nextMs: paymentMs };
  if (!authorized) {
    return [
      created,
      { event: 'PaymentFailed', service: 'payment', group: 'orders-compensation', consumer: 'order', waitMs: 10, nextMs: 50 },
      { event: 'OrderCancelled', service: 'order' },
    ];
  }
  return [
    created,
    { event: 'PaymentAuthorized', service: 'payment', group: 'inventory', consumer: 'inventory', waitMs: 20 + next() * 30, nextMs: 200 + next() * 100 },
    { event: 'StockReserved', service: 'inventory', group: 'shipping', consumer: 'shipping', waitMs: 20, nextMs: 100 + next() * 50 },
    { event: 'OrderShipped', service: 'shipping' },
  ];
}

function trainedModel(flows = 2_000, seed = 7): ChoreographyModel {
  const model = new ChoreographyModel();
  const next = random(seed);
  for (let i = 0; i < flows; i += 1) model.learn(progressOf(order(next), T0 - 600_000 + i * 100), T0);
  return model;
}

describe('flow progress, from the spans of each instrumentation', () => {
  const fixtures = new Map(readFlowFixtures().map((f) => [f.name, f]));

  test('retry-storm: five deliveries to payment, four failed; the handling time is the success\'s, learned per group with the share that failed', () => {
    const spans = fixtureRecords(fixtures.get('retry-storm')!, 'retry-storm:').map(toFlowSpan);
    const p = flowProgress(spans.reverse());
    assert.deepEqual(p.consumptions.map((c) => [c.group, c.succeeded, c.attempts, c.failedAttempts, c.handlingMs]), [['payment', true, 5, 4, 3]]);
    const model = new ChoreographyModel();
    model.learn(p, p.lastActivityMs, null);
    const [consumer] = model.snapshot(p.lastActivityMs).steps.find((step) => step.eventType === 'OrderCreated')!.consumers;
    assert.deepEqual([consumer!.attempts, consumer!.failedAttempts, consumer!.handling.count], [5, 4, 1]);
    assert.ok(Math.abs(consumer!.handling.p50Ms! - 3) < 0.1, String(consumer!.handling.p50Ms));
    // a model stored before handling was learned reads back with it empty, and learns it from then on
    const stored = model.toJSON();
    for (const entry of Object.values(stored.stats)) for (const h of Object.values(entry.consumers)) {
      delete h.handling;
      delete h.attempts;
      delete h.failed;
    }
    const older = ChoreographyModel.fromJSON(stored);
    const [before] = older.snapshot(p.lastActivityMs).steps.find((step) => step.eventType === 'OrderCreated')!.consumers;
    assert.deepEqual([before!.attempts, before!.failedAttempts, before!.handling.count], [0, 0, 0]);
  });

  for (const name of ['clean-chain-parent', 'clean-chain-link']) {
    test(`${name}: events, the groups that handled them, and which led to which`, () => {
      const spans = fixtureRecords(fixtures.get(name)!, `${name}:`).map(toFlowSpan);
      const p = flowProgress(spans.reverse()); // any order
      const t0 = p.events[0]!.atMs;
      assert.equal(p.failure, null);
      assert.deepEqual(p.events.map((e) => [e.eventType, e.service]), [
        ['OrderCreated', 'order'], ['PaymentAuthorized', 'payment'], ['StockReserved', 'inventory'], ['ShipmentScheduled', 'shipping'],
      ]);
      assert.deepEqual(p.transitions.map((t) => `${t.from} → ${t.to}`), [
        'OrderCreated → PaymentAuthorized', 'PaymentAuthorized → StockReserved', 'StockReserved → ShipmentScheduled',
      ]);
      assert.ok(p.transitions.every((t) => t.latencyMs > 0 && t.latencyMs < 60), JSON.stringify(p.transitions));
      assert.deepEqual(p.consumptions.map((c) => [c.eventType, c.group, c.succeeded]).sort(), [
        ['OrderCreated', 'payment', true], ['PaymentAuthorized', 'inventory', true], ['ShipmentScheduled', 'notification', true], ['StockReserved', 'shipping', true],
      ]);
      assert.ok(p.consumptions.every((c) => c.atMs >= t0));
    });
  }

  test('what each handling sent from inside: a step hop out of its span by parent or link, not an event matched later by key', () => {
    for (const name of ['clean-chain-parent', 'clean-chain-link']) {
      const spans = fixtureRecords(fixtures.get(name)!, `${name}:`).map(toFlowSpan);
      const sends = (p: FlowProgress) => Object.fromEntries(p.consumptions.map((c) => [c.group, c.sentNext]));
      assert.deepEqual(sends(flowProgress(spans)), { payment: true, inventory: true, shipping: true, notification: false }, name);
      const ends = new Map(spans.filter((span) => span.role === 'consumer').map((span) => [span.serviceName, span.endMs]));
      for (const c of flowProgress(spans).consumptions) assert.equal(c.doneAtMs, ends.get(c.service), `${name}: ${c.group} done when its span ended`);
      // payment's send never reported: its handling ended without sending
      const silent = flowProgress(spans.filter((span) => !(span.role === 'producer' && span.serviceName === 'payment')));
      assert.equal(sends(silent).payment, false, name);
    }
    const batch = fixtureRecords(fixtures.get('official-each-batch')!, 'sends:').map(toFlowSpan);
    const assembler = new FlowAssembler();
    assembler.add(batch, 0);
    for (const flow of [...assembler.flows].filter((f) => f.spans().some((span) => span.role === 'consumer'))) {
      assert.deepEqual(flowProgress(flow.spans()).consumptions.map((c) => c.sentNext), [false], 'a batch handler sends under the poll, outside the message\'s span');
    }
  });

  test('older semantic conventions (Java, Go): the topic stands for the event type', () => {
    const spans = fixtureRecords(fixtures.get('legacy-semconv-chain')!, 'legacy:').map(toFlowSpan);
    const p = flowProgress(spans);
    assert.deepEqual(p.events.map((e) => [e.eventType, e.service]), [['legacy:orders', 'order'], ['legacy:payments', 'payment']]);
    assert.deepEqual(p.consumptions.map((c) => [c.eventType, c.group]), [['legacy:orders', 'payment'], ['legacy:payments', 'ledger']]);
    assert.deepEqual(p.transitions.map((t) => `${t.from} → ${t.to}`), ['legacy:orders → legacy:payments']);
  });

  test('the official instrumentation\'s eachBatch: each order its own progress, its send following what its service handled', () => {
    const spans = fixtureRecords(fixtures.get('official-each-batch')!, 'batch:').map(toFlowSpan);
    const assembler = new FlowAssembler();
    assembler.add(spans, 0);
    const flows = [...assembler.flows].filter((flow) => flow.spans().some((span) => span.role === 'consumer'));
    assert.equal(flows.length, 20);
    for (const flow of flows) {
      const p = flowProgress(flow.spans());
      assert.deepEqual(p.events.map((e) => [e.eventType, e.service]), [['batch:orders', 'order'], ['batch:payments', 'payment']], flow.id);
      assert.deepEqual(p.consumptions.map((c) => [c.eventType, c.group]), [['batch:orders', 'payment']]);
      assert.deepEqual(p.transitions.map((t) => `${t.from} → ${t.to}`), ['batch:orders → batch:payments'], 'no step hop: inferred from the service');
    }
  });

  test('retries: four failed attempts and a fifth that succeeded is no failure; without the fifth it is', () => {
    const spans = fixtureRecords(fixtures.get('retry-storm')!, 'retry:').map(toFlowSpan);
    assert.equal(flowProgress(spans).failure, null);
    const failed = flowProgress(spans.filter((span) => span.attempt !== 5));
    assert.equal(failed.failure?.eventType, 'OrderCreated');
    assert.equal(failed.failure?.group, 'payment');
  });
});

describe('the learned model', () => {
  test('branches with their probability, the awaited consumer groups, latencies, and terminal events of each kind', () => {
    const model = trainedModel();
    const created = model.expectationsAfter('OrderCreated', T0);
    assert.equal(created.trusted, true);
    assert.equal(created.occurrences, 2_000);
    assert.deepEqual(created.consumers.map((c) => [c.group, c.service]), [['payments', 'payment']]);
    assert.equal(created.terminal, null);
    const [authorized, failed] = created.next!.candidates;
    assert.equal(authorized!.eventType, 'PaymentAuthorized');
    assert.equal(authorized!.service, 'payment');
    assert.ok(Math.abs(authorized!.probability - 0.9) < 0.03, `${authorized!.probability}`);
    assert.equal(failed!.eventType, 'PaymentFailed');
    assert.ok(Math.abs(failed!.probability - 0.1) < 0.03, `${failed!.probability}`);
    // payment takes 600–800 ms, uniformly: the sketch's p99 within its 1 % of 798
    const p99 = created.next!.latency.p99Ms!;
    assert.ok(p99 > 780 && p99 < 810, `${p99}`);
    assert.ok(Math.abs(created.next!.latency.p50Ms! - 700) < 15, `${created.next!.latency.p50Ms}`);

    assert.equal(model.expectationsAfter('OrderShipped', T0).terminal, 'completed');
    assert.equal(model.expectationsAfter('OrderCancelled', T0).terminal, 'compensated');
    assert.equal(model.expectationsAfter('StockReserved', T0).terminal, null);
    assert.equal(model.expectationsAfter('NeverSeen', T0).trusted, false);
  });

  test('stored and read back (as the collector saves it), the model answers the same and goes on learning', () => {
    const model = trainedModel(500);
    const copy = ChoreographyModel.fromJSON(JSON.parse(JSON.stringify(model)));
    // DDSketch's protobuf form keeps its buckets exactly; quantiles read back agree to many digits, not all
    const rounded = (value: unknown) => JSON.parse(JSON.stringify(value, (_, v) => (typeof v === 'number' ? Number(v.toPrecision(9)) : v)));
    assert.deepEqual(rounded(copy.snapshot(T0)), rounded(model.snapshot(T0)));
    const created = copy.snapshot(T0).steps.find((step) => step.eventType === 'OrderCreated')!;
    assert.deepEqual(created.consumers.map((c) => [c.group, c.awaited]), [['payments', true]]);
    assert.deepEqual(created.transitions.map((t) => t.eventType), ['PaymentAuthorized', 'PaymentFailed']);
    const next = random(2);
    for (const m of [model, copy]) m.learn(progressOf(order(next, { authorized: true }), T0), T0);
    assert.equal(copy.expectationsAfter('OrderCreated', T0).occurrences, 501);
    assert.deepEqual(rounded(copy.expectationsAfter('OrderCreated', T0)), rounded(model.expectationsAfter('OrderCreated', T0)));
    assert.equal(ChoreographyModel.fromJSON({ version: 2 } as never).eventTypes(T0).length, 0, 'a format it does not know: learned afresh');
  });

  test('a changed topology is relearned: what stopped happening is forgotten within two windows', () => {
    const model = new ChoreographyModel({ windowMs: 60_000 });
    const next = random(3);
    for (let i = 0; i < 200; i += 1) model.learn(progressOf(order(next, { authorized: true }), T0 + i * 100), T0 + i * 100);
    assert.deepEqual(model.expectationsAfter('PaymentAuthorized', T0 + 30_000).consumers.map((c) => c.group), ['inventory']);
    // inventory now listens to a new event: PaymentAuthorized goes to a fraud check first
    const fraud = (): Step[] => [
      { event: 'OrderCreated', service: 'order', group: 'payments', consumer: 'payment', nextMs: 700 },
      { event: 'PaymentAuthorized', service: 'payment', group: 'fraud', consumer: 'fraud', nextMs: 300 },
      { event: 'PaymentCleared', service: 'fraud', group: 'inventory', consumer: 'inventory', nextMs: 200 },
      { event: 'StockReserved', service: 'inventory' },
    ];
    for (let i = 0; i < 200; i += 1) model.learn(progressOf(fraud(), T0 + 60_000 + i * 100), T0 + 60_000 + i * 100);
    const mixed = model.expectationsAfter('PaymentAuthorized', T0 + 90_000);
    assert.deepEqual(mixed.consumers, [], 'half the occurrences each: neither group is awaited while both are remembered');
    for (let i = 0; i < 200; i += 1) model.learn(progressOf(fraud(), T0 + 120_000 + i * 100), T0 + 120_000 + i * 100);
    const relearned = model.expectationsAfter('PaymentAuthorized', T0 + 150_000);
    assert.deepEqual(relearned.consumers.map((c) => c.group), ['fraud']);
    assert.deepEqual(relearned.next!.candidates.map((c) => c.eventType), ['PaymentCleared']);
  });
});

describe('flow states', () => {
  const model = trainedModel();
  const next = random(11);

  test('late past the learned p99, stalled past the p99.9 × 1.75, saying what it waits for; running again when it arrives', () => {
    const steps = order(next, { authorized: true });
    const waiting = progressOf(steps.slice(0, 1), T0); // OrderCreated sent at T0, handled, nothing since
    const { p99Ms: p99, p999Ms: p999 } = model.expectationsAfter('OrderCreated', T0).next!.latency as { p99Ms: number; p999Ms: number };
    const stalledAfter = Math.max(p99, 1.75 * p999);

    const early = judgeFlow(waiting, model.view(T0 + 500));
    assert.equal(early.state, 'running');
    assert.equal(early.nextCheckMs, T0 + p99, 'looked at again when it would become late');
    assert.ok(early.expectedCompletionMs! > T0 + 900 && early.expectedCompletionMs! < T0 + 1_300, `${early.expectedCompletionMs! - T0}`);

    const late = judgeFlow(waiting, model.view(T0 + p99 + 1));
    assert.equal(late.state, 'late');
    const explanation = late.explanation!;
    assert.equal(explanation.kind, 'next-event');
    if (explanation.kind !== 'next-event') return;
    assert.deepEqual(explanation.awaitedEventTypes, ['PaymentAuthorized', 'PaymentFailed']);
    assert.equal(explanation.awaitedService, 'payment');
    assert.equal(explanation.afterEventType, 'OrderCreated');
    assert.equal(explanation.sinceMs, T0);
    assert.equal(explanation.learned, true);
    assert.equal(late.nextCheckMs, T0 + stalledAfter);
    assert.match(explanation.message, /^waiting for PaymentAuthorized or PaymentFailed from payment since 2026-12-01T12:03:04\.000Z, usually within (79|80)\d ms$/);

    assert.equal(judgeFlow(waiting, model.view(T0 + stalledAfter - 1)).state, 'late');
    const stalled = judgeFlow(waiting, model.view(T0 + stalledAfter));
    assert.equal(stalled.state, 'stalled');
    assert.equal(stalled.explanation?.kind, 'next-event');
    assert.equal(stalled.nextCheckMs, null, 'only a span can change it now');

    // PaymentAuthorized arrives, late; it is handled at once: the flow runs again
    const moved = progressOf([steps[0]!, { ...steps[1]!, nextMs: 250 }, steps[2]!].slice(0, 2), T0);
    moved.events[1]!.atMs = T0 + stalledAfter + 10;
    moved.transitions[0]!.latencyMs = stalledAfter + 10;
    moved.consumptions[1]!.atMs = T0 + stalledAfter + 30;
    assert.equal(judgeFlow(moved, model.view(T0 + stalledAfter + 40)).state, 'running');
  });

  test('a consumer group that never handled the event: stalled at its own learned wait, naming the group', () => {
    const p = progressOf(order(next, { authorized: true }).slice(0, 1), T0);
    p.consumptions = []; // payment never picked OrderCreated up
    const wait = model.expectationsAfter('OrderCreated', T0).consumers[0]!.wait;
    assert.equal(judgeFlow(p, model.view(T0 + wait.p99Ms! + 1)).state, 'late');
    const verdict = judgeFlow(p, model.view(T0 + Math.max(wait.p99Ms!, wait.p999Ms! * 1.75)));
    assert.equal(verdict.state, 'stalled');
    assert.equal(verdict.explanation?.kind, 'consumer');
    if (verdict.explanation?.kind !== 'consumer') return;
    assert.equal(verdict.explanation.consumerGroup, 'payments');
    assert.equal(verdict.explanation.awaitedService, 'payment');
    assert.match(verdict.explanation.message, /^waiting for OrderCreated to be handled by payment \(group payments\) since /);
  });

  test('completed at its terminal event; a compensation path ends compensated, not stalled', () => {
    const shipped = progressOf(order(next, { authorized: true }), T0);
    assert.deepEqual(judgeFlow(shipped, model.view(T0 + 3_600_000)), { state: 'completed', explanation: null, expectedCompletionMs: null, nextCheckMs: null });
    const cancelled = progressOf(order(next, { authorized: false }), T0);
    assert.equal(judgeFlow(cancelled, model.view(T0 + 3_600_000)).state, 'compensated');
  });

  test('failed: a step whose every attempt failed, explained', () => {
    const steps = order(next, { authorized: true }).slice(0, 2);
    steps[1] = { ...steps[1]!, failed: true };
    const verdict = judgeFlow(progressOf(steps, T0), model.view(T0 + 5_000));
    assert.equal(verdict.state, 'failed');
    assert.match(verdict.explanation!.message, /^inventory \(group inventory\) failed handling PaymentAuthorized at .* with no successful retry$/);
  });

  describe('a handler that always sends, ending without sending', () => {
    /** The flow's progress with what each handling sent from inside: the first group of a step sends the next event. */
    const withSends = (p: FlowProgress, handlingMs = 20): FlowProgress => {
      const senders = new Set<string>();
      for (const c of p.consumptions) {
        const first = !senders.has(c.eventType);
        senders.add(c.eventType);
        c.endedAtMs = c.atMs + handlingMs;
        c.doneAtMs = c.succeeded ? c.atMs + handlingMs : null;
        c.sentNext = first && p.transitions.some((t) => t.from === c.eventType);
      }
      return p;
    };
    const learnedFrom = (flows: number, seed: number, silentShare = 0, handlingMs = 20, sendsEarly = false): ChoreographyModel => {
      const m = new ChoreographyModel();
      const draw = random(seed);
      for (let i = 0; i < flows; i += 1) {
        // payment sends as its handling ends (or, sendsEarly, 600–800 ms into it, then goes on)
        const steps = order(draw, handlingMs > 600 && !sendsEarly ? { paymentMs: handlingMs + 20 + draw() * 30 } : {});
        const p = withSends(progressOf(steps, T0 - 600_000 + i * 100), handlingMs);
        // a handler whose send sometimes leaves its span (sent afterwards): followed all the same
        if (i < flows * silentShare) p.consumptions[0]!.sentNext = false;
        m.learn(p, T0);
      }
      return m;
    };
    const always = learnedFrom(2_000, 21);
    // OrderCreated sent at T0, payment handled it from T0 + 30 ms to T0 + 130 ms and sent nothing
    const silentPayment = () => {
      const p = withSends(progressOf(order(random(22), { authorized: true }).slice(0, 1), T0), 100);
      assert.deepEqual(p.consumptions.map((c) => [c.group, c.sentNext]), [['payments', false]]);
      return p;
    };

    test('learned per group: payment sends after every handling of OrderCreated, stored and read back', () => {
      const created = always.snapshot(T0).steps.find((step) => step.eventType === 'OrderCreated')!.consumers[0]!;
      assert.deepEqual([created.group, created.handled, created.sentNext, created.awaitsSend], ['payments', 2_000, 2_000, true]);
      assert.deepEqual(always.expectationsAfter('OrderCreated', T0).consumers.map((c) => [c.group, c.sendShare, c.awaitsSend]), [['payments', 1, true]]);
      // what is stored reads back; a model stored before sends were learned starts them at nothing
      const again = ChoreographyModel.fromJSON(always.toJSON());
      assert.deepEqual(again.expectationsAfter('OrderCreated', T0).consumers.map((c) => c.awaitsSend), [true]);
      const stored = always.toJSON();
      for (const entry of Object.values(stored.stats)) for (const h of Object.values(entry.consumers)) [delete h.handled, delete h.sentNext];
      assert.deepEqual(ChoreographyModel.fromJSON(stored).expectationsAfter('OrderCreated', T0).consumers.map((c) => [c.sendShare, c.awaitsSend]), [[null, false]]);
    });

    test('stalled once the silent handling has ended and had time to report, long before the step\'s deadline, naming the group', () => {
      const p = silentPayment();
      const doneAt = p.consumptions[0]!.doneAtMs!;
      const { p99Ms } = always.expectationsAfter('OrderCreated', T0).next!.latency;
      assert.ok(doneAt - T0 < p99Ms! / 4, 'the handling ended well within the step\'s usual time');
      const delay = { observationDelayMs: 2_000 };
      assert.equal(judgeFlow(p, always.view(doneAt + 1_999), delay).state, 'running', 'the sends may still be on their way');
      assert.equal(judgeFlow(p, always.view(doneAt + 1_999), delay).nextCheckMs, doneAt + 2_000);
      const verdict = judgeFlow(p, always.view(doneAt + 2_000), delay);
      assert.equal(verdict.state, 'stalled');
      const explanation = verdict.explanation!;
      assert.equal(explanation.kind, 'next-event');
      if (explanation.kind !== 'next-event') return;
      assert.deepEqual(explanation.handledWithoutSending, { consumerGroup: 'payments', service: 'payment', atMs: doneAt, sendShare: 1 });
      assert.deepEqual([explanation.awaitedService, explanation.consumerGroup, explanation.sinceMs], ['payment', 'payments', T0]);
      assert.deepEqual(explanation.awaitedEventTypes, ['PaymentAuthorized', 'PaymentFailed']);
      assert.match(explanation.message, /^waiting for PaymentAuthorized or PaymentFailed from payment since 2026-12-01T12:03:04\.000Z: payment \(group payments\) finished handling OrderCreated \d+ ms later without sending it, though it sent one after all of its handlings until now$/);
      // the event it owed arrives after all (sent late from elsewhere): running again
      const moved = silentPayment();
      moved.events.push({ eventType: 'PaymentAuthorized', service: 'payment', atMs: doneAt + 2_500 });
      assert.equal(judgeFlow(moved, always.view(doneAt + 2_600), delay).state, 'running');
    });

    test('a slow handler is not a missing one: its group is awaited until its handlings usually end, when its span can be known', () => {
      const slow = learnedFrom(500, 25, 0, 2_000); // payment takes 2 s a handling
      const [payments] = slow.expectationsAfter('OrderCreated', T0).consumers;
      assert.ok(payments!.wait.p99Ms! < 60, `Kafka's wait alone: ${payments!.wait.p99Ms}`);
      assert.ok(payments!.due!.p99Ms! > 2_000 && payments!.due!.p99Ms! < 2_100, `until handled: ${payments!.due!.p99Ms}`);
      const p = progressOf(order(random(26), { authorized: true }).slice(0, 1), T0);
      p.consumptions = []; // payment's span has not ended yet
      // half a second in (ten times Kafka's usual wait), payment is still handling it
      assert.equal(judgeFlow(p, slow.view(T0 + 500)).state, 'running');
      const late = judgeFlow(p, slow.view(T0 + payments!.due!.p99Ms! + 1));
      assert.equal(late.state, 'late');
      assert.equal(late.explanation?.kind, 'consumer');
      assert.deepEqual(late.explanation?.kind === 'consumer' && late.explanation.usual, payments!.due);
      // a model stored before it learned this waits the Kafka wait alone, until it has learned enough
      const stored = slow.toJSON();
      for (const entry of Object.values(stored.stats)) for (const h of Object.values(entry.consumers)) delete h.untilHandled;
      const older = ChoreographyModel.fromJSON(stored);
      const [before] = older.expectationsAfter('OrderCreated', T0).consumers;
      assert.deepEqual(before!.due, before!.wait);
      assert.equal(before!.wait.count, 500);
      // payment sends 600–800 ms in and handles on to 2 s: its next event's deadline passes first, but while
      // payment has not reported handling OrderCreated, payment is what the flow waits for
      const early = learnedFrom(500, 27, 0, 2_000, true);
      const nextP99 = early.expectationsAfter('OrderCreated', T0).next!.latency.p99Ms!;
      const dueP99 = early.expectationsAfter('OrderCreated', T0).consumers[0]!.due!.p99Ms!;
      assert.ok(nextP99 < 900 && dueP99 > 2_000, `${nextP99} ${dueP99}`);
      assert.equal(judgeFlow(p, early.view(T0 + 1_500)).state, 'running');
      const waiting = judgeFlow(p, early.view(T0 + dueP99 + 1));
      assert.deepEqual([waiting.state, waiting.explanation?.kind], ['late', 'consumer']);
    });

    test('fan-out: another group\'s event followed, yet payment ended silently: stalled, waiting for what payment sends', () => {
      // OrderCreated goes to payment and to fraud, and each always sends its own event
      const fanOut = new ChoreographyModel();
      const flow = (at: number, paymentSends: boolean): FlowProgress => ({
        events: [
          { eventType: 'OrderCreated', service: 'order', atMs: at },
          { eventType: 'FraudChecked', service: 'fraud', atMs: at + 40 },
          ...(paymentSends ? [{ eventType: 'PaymentAuthorized', service: 'payment', atMs: at + 100 }] : []),
        ],
        consumptions: [
          { eventType: 'OrderCreated', group: 'fraud', service: 'fraud', atMs: at + 10, succeeded: true, endedAtMs: at + 41, doneAtMs: at + 41, sentNext: true },
          { eventType: 'OrderCreated', group: 'payments', service: 'payment', atMs: at + 20, succeeded: true, endedAtMs: at + 101, doneAtMs: at + 101, sentNext: paymentSends },
        ],
        transitions: [
          { from: 'OrderCreated', to: 'FraudChecked', latencyMs: 40 },
          ...(paymentSends ? [{ from: 'OrderCreated', to: 'PaymentAuthorized', latencyMs: 100 }] : []),
        ],
        failure: null,
        lastActivityMs: at + 101,
      });
      for (let i = 0; i < 1_200; i += 1) fanOut.learn(flow(T0 - 600_000 + i * 100, true), T0);
      assert.deepEqual(fanOut.expectationsAfter('OrderCreated', T0).consumers.map((c) => [c.group, c.awaitsSend]).sort(), [['fraud', true], ['payments', true]]);
      const silent = flow(T0, false);
      const delay = { observationDelayMs: 1_000 };
      assert.notEqual(judgeFlow(silent, fanOut.view(T0 + 1_100), delay).state, 'stalled', 'its sends may still be on their way');
      const verdict = judgeFlow(silent, fanOut.view(T0 + 1_101), delay);
      assert.equal(verdict.state, 'stalled');
      assert.ok(verdict.explanation?.kind === 'next-event');
      assert.deepEqual([verdict.explanation.awaitedEventTypes, verdict.explanation.awaitedService, verdict.explanation.handledWithoutSending?.consumerGroup],
        [['PaymentAuthorized'], 'payment', 'payments'], 'what payment sends, not what fraud sent');
      // payment's event sent after all, from outside its handling's span this once: not stuck
      silent.events.push({ eventType: 'PaymentAuthorized', service: 'payment', atMs: T0 + 300 });
      assert.notEqual(judgeFlow(silent, fanOut.view(T0 + 5_000), delay).state, 'stalled');
    });

    test('not evidence: too few handlings seen, a group whose sends sometimes leave its span, a failed handling (said as a failure), sends not known', () => {
      const young = learnedFrom(999, 23);
      const p = silentPayment();
      const doneAt = p.consumptions[0]!.doneAtMs!;
      assert.equal(young.expectationsAfter('OrderCreated', T0).consumers[0]!.awaitsSend, false, '999 handlings');
      assert.equal(judgeFlow(p, young.view(doneAt + 1)).state, 'running');
      const loose = learnedFrom(2_000, 24, 0.01); // one handling in a hundred sent from outside its span
      assert.equal(loose.expectationsAfter('OrderCreated', T0).consumers[0]!.sendShare, 0.99);
      assert.equal(judgeFlow(p, loose.view(doneAt + 1)).state, 'running');
      const failedOnce = silentPayment();
      failedOnce.consumptions[0]!.succeeded = false;
      failedOnce.consumptions[0]!.doneAtMs = null;
      failedOnce.failure = { service: 'payment', eventType: 'OrderCreated', group: 'payments', atMs: T0 + 30 };
      assert.equal(judgeFlow(failedOnce, always.view(doneAt + 1)).state, 'failed', 'a failure, said as one');
      const unknown = silentPayment();
      delete unknown.consumptions[0]!.sentNext; // what it sent is not known (e.g. a progress built before it was)
      assert.equal(judgeFlow(unknown, always.view(doneAt + 1)).state, 'running');
      // and the deadline still applies to a flow the evidence does not settle
      const { p99Ms, p999Ms } = young.expectationsAfter('OrderCreated', T0).next!.latency;
      assert.equal(judgeFlow(p, young.view(T0 + Math.max(p99Ms!, 1.75 * p999Ms!))).state, 'stalled');
    });
  });

  test('a step too young to trust uses the default deadline', () => {
    const young = new ChoreographyModel({ minSamples: 20 });
    for (let i = 0; i < 5; i += 1) young.learn(progressOf(order(next, { authorized: true }), T0 - 60_000 + i), T0);
    const waiting = progressOf(order(next, { authorized: true }).slice(0, 2), T0);
    const options = { defaultDeadlineMs: 30_000 };
    assert.equal(judgeFlow(waiting, young.view(T0 + 29_999), options).state, 'running');
    const late = judgeFlow(waiting, young.view(T0 + 30_000 + 1_000), options);
    assert.equal(late.state, 'late', 'past the default, not the 250 ms these few took');
    assert.equal(late.explanation?.kind === 'next-event' && late.explanation.learned, false);
    assert.match(late.explanation!.message, /not learned yet, default deadline/);
    assert.equal(judgeFlow(waiting, young.view(T0 + 60_000 + 1_000), options).state, 'stalled');
  });

  test('a slow but healthy step with a long tail: its slow flows stay running', () => {
    // payment latency log-normal: a median of 700 ms and a tail past 10 s
    const tailModel = new ChoreographyModel();
    const r = random(5);
    const normal = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
    const latencies: number[] = [];
    for (let i = 0; i < 5_000; i += 1) {
      const paymentMs = 700 * Math.exp(1.0 * normal());
      latencies.push(paymentMs);
      tailModel.learn(progressOf(order(r, { paymentMs, authorized: true }), T0 - 3_000_000 + i * 100), T0);
    }
    latencies.sort((a, b) => a - b);
    const slowHealthy = latencies[Math.floor(latencies.length * 0.999)]!; // slower than 99.9 % of flows, and healthy
    const p99 = tailModel.expectationsAfter('OrderCreated', T0).next!.latency.p99Ms!;
    assert.ok(slowHealthy > 1.75 * p99, `${Math.round(slowHealthy)} ms: a fixed 1.75 × p99 (${Math.round(p99)} ms) would call it stalled`);
    const p = progressOf(order(r, { paymentMs: slowHealthy, authorized: true }).slice(0, 1), T0);
    const verdict = judgeFlow(p, tailModel.view(T0 + slowHealthy - 1));
    assert.equal(verdict.state, 'late', `${Math.round(slowHealthy)} ms is late, within the learned tail, not stalled`);
  });

  test('where some flows end without it being terminal, nothing is owed: such a flow is not called stalled', () => {
    const model = new ChoreographyModel();
    const r = random(9);
    // 30 % of orders stop after PaymentAuthorized (paid by invoice, say): not terminal, not an outage
    for (let i = 0; i < 500; i += 1) {
      const steps = order(r, { authorized: true });
      model.learn(progressOf(i % 10 < 3 ? steps.slice(0, 2) : steps, T0 - 600_000 + i * 100), T0);
    }
    assert.equal(model.expectationsAfter('PaymentAuthorized', T0).terminal, null);
    const stopped = progressOf(order(r, { authorized: true }).slice(0, 2), T0);
    assert.equal(judgeFlow(stopped, model.view(T0 + 3_600_000)).state, 'running');
  });

  test('stuck flows learned from do not teach that the outage is normal', () => {
    const r = random(13);
    const outage = (model: ChoreographyModel, stuckAfter: string | null) => {
      for (let i = 0; i < 150; i += 1) {
        const stuck = progressOf(order(r, { authorized: true }).slice(0, 1), T0 - 300_000 + i * 100);
        stuck.consumptions = []; // payment down: OrderCreated never handled
        model.learn(stuck, T0, stuckAfter);
      }
    };
    const told = trainedModel(100, 21);
    outage(told, 'OrderCreated');
    const naive = trainedModel(100, 21);
    outage(naive, null);
    const waiting = progressOf(order(r, { authorized: true }).slice(0, 1), T0);
    waiting.consumptions = [];
    assert.equal(judgeFlow(waiting, told.view(T0 + 60_000)).state, 'stalled', 'still waited for');
    assert.deepEqual(told.expectationsAfter('OrderCreated', T0).consumers.map((c) => c.group), ['payments']);
    assert.deepEqual(naive.expectationsAfter('OrderCreated', T0).consumers, [], 'learned as it came, the outage would have taught itself normal');
  });
});

describe('declared steps', () => {
  const steps = [
    { afterEventType: 'OrderCreated', consumerGroup: null, expect: ['PaymentAuthorized', 'PaymentFailed'], lateAfterMs: 30_000, stalledAfterMs: 120_000 },
    { afterEventType: 'OrderCreated', consumerGroup: 'audit', expect: [], lateAfterMs: 5_000, stalledAfterMs: 10_000 },
  ];
  const created = (): FlowProgress => ({
    events: [{ eventType: 'OrderCreated', service: 'order', atMs: T0 }],
    consumptions: [{ eventType: 'OrderCreated', group: 'payments', service: 'payment', atMs: T0 + 20, succeeded: true }],
    transitions: [], failure: null, lastActivityMs: T0 + 20,
  });
  const judge = (progress: FlowProgress, model: ChoreographyModel, atMs: number) => judgeFlow(progress, model.view(atMs), { steps });

  test('before anything is learned, a declared step is awaited at its deadlines, named as configured', () => {
    const empty = new ChoreographyModel();
    const audited = created();
    audited.consumptions.push({ eventType: 'OrderCreated', group: 'audit', service: 'audit', atMs: T0 + 30, succeeded: true });
    assert.deepEqual([judge(audited, empty, T0 + 29_999).state, judge(audited, empty, T0 + 30_000).state, judge(audited, empty, T0 + 120_000).state],
      ['running', 'late', 'stalled'], 'at the declared deadlines, not the default 60 s and 120 s');
    const verdict = judge(audited, empty, T0 + 120_000);
    assert.equal(verdict.explanation?.kind, 'next-event');
    if (verdict.explanation?.kind !== 'next-event') return;
    assert.deepEqual([verdict.explanation.awaitedEventTypes, verdict.explanation.learned, verdict.explanation.declared],
      [['PaymentAuthorized', 'PaymentFailed'], false, true]);
    assert.match(verdict.explanation.message, /^waiting for PaymentAuthorized or PaymentFailed since .*, due within 30\.0 s as configured$/);
    assert.equal(verdict.nextCheckMs, null, 'nothing more changes by time alone');

    // a declared group never seen handling it is awaited too
    const unaudited = judge(created(), empty, T0 + 10_000);
    assert.equal(unaudited.state, 'stalled');
    assert.deepEqual(unaudited.explanation?.kind === 'consumer' && [unaudited.explanation.consumerGroup, unaudited.explanation.awaitedService], ['audit', null]);
    // one of the declared followers arrives: the next event is owed no more
    const followed = created();
    followed.consumptions.push({ eventType: 'OrderCreated', group: 'audit', service: 'audit', atMs: T0 + 30, succeeded: true });
    followed.events.push({ eventType: 'PaymentFailed', service: 'payment', atMs: T0 + 900 });
    assert.equal(judge(followed, empty, T0 + 40_000).state, 'running', 'past the declared step\'s deadline, within the default one of what followed');
  });

  test('a declared deadline replaces the learned one', () => {
    const model = trainedModel(); // OrderCreated → PaymentAuthorized within about 800 ms
    const audited = created();
    audited.consumptions.push({ eventType: 'OrderCreated', group: 'audit', service: 'audit', atMs: T0 + 30, succeeded: true });
    assert.equal(judgeFlow(audited, model.view(T0 + 5_000)).state, 'stalled', 'learned: stalled within seconds');
    assert.equal(judge(audited, model, T0 + 5_000).state, 'running', 'declared: late only after 30 s');
    const late = judge(audited, model, T0 + 30_000);
    assert.equal(late.state, 'late');
    assert.match(late.explanation!.message, /due within 30\.0 s as configured, usually within \d+ ms$/);
  });
});
