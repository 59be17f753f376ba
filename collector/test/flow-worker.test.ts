/**
 * The flow worker's rounds against a real store, on both stores: facts held back by describeEveryMs are
 * marked in the store, so a worker that dies before describing them leaves them to the next one; a
 * worker that stops describes them first; a recheck row that names no flow any more is removed rather
 * than due for ever; the backlog (spans committed and not yet assembled) is measured and exposed; flows
 * stalled after an event the model then learns as an end are judged again at the next round.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowWorker } from '../src/flows/flow-worker.ts';
import { emptyFlowWrite } from '../src/store/flow-store.ts';
import { CollectorMetrics } from '../src/ops/metrics.ts';
import type { SpanRecord } from '../src/core/span.ts';
import { fixtureRecords, readFlowFixtures } from './flow-fixtures.ts';
import { forEachStore } from './stores.ts';

const chain = readFlowFixtures().find((fixture) => fixture.name === 'clean-chain-parent')!;

/** The same spans, `byMs` later. */
const later = (records: SpanRecord[], byMs: number): SpanRecord[] => records.map((r) => ({
  ...r, startTimeMs: r.startTimeMs + byMs, endTimeMs: r.endTimeMs + byMs, events: r.events.map((e) => ({ ...e, timeMs: e.timeMs + byMs })),
}));

forEachStore((kind) => {
  /** The chain's spans, by label. */
  function spans(): Map<string, SpanRecord> {
    const records = fixtureRecords(chain, `${kind.name}:worker:${Math.random()}:`);
    return new Map(records.map((record) => [record.name, record]));
  }

  test('facts held back by describeEveryMs are marked in the store: a worker that dies first leaves them to the next', async () => {
    const { store, dispose } = await kind.open();
    try {
      const by = spans();
      const later = { now: () => Date.now() + 120_000 };
      const first = new FlowWorker(store.flows, { describeEveryMs: 60_000 });
      const session = (await store.flows.openAssembly())!;
      await store.writeSpans([by.get('order.http')!, by.get('order.send')!]);
      await first.round(session);
      const flowId = (await store.flows.searchFlows({ service: 'order', limit: 10 })).flows[0]!.flowId;
      await store.writeSpans([by.get('payment.process')!]);
      await first.round(session);
      const held = (await store.flows.searchFlows({ service: 'order', limit: 10 })).flows[0]!;
      assert.equal(held.flowId, flowId);
      assert.equal(held.spanCount, 2, 'the facts are held back');
      assert.equal((await store.flows.flowSpans(flowId, 100)).total, 3, 'the membership is not');
      await session.release(); // as if killed: no last round

      const second = new FlowWorker(store.flows, later);
      const next = (await store.flows.openAssembly())!;
      await second.round(next);
      const facts = (await store.flows.searchFlows({ service: 'payment', limit: 10 })).flows;
      assert.deepEqual(facts.map((f) => [f.flowId, f.spanCount]), [[flowId, 3]], 'described by the next worker');
      await next.release();
    } finally {
      await dispose();
    }
  });

  test('the backlog: spans committed and not yet assembled, and how long the oldest has waited, down to none', async () => {
    const { store, dispose } = await kind.open();
    try {
      const by = spans();
      const session = (await store.flows.openAssembly())!;
      assert.deepEqual(await session.backlog(), { spans: 0, oldestWaitMs: 0 });
      await store.writeSpans([by.get('order.http')!, by.get('order.send')!]);
      await new Promise((resolve) => setTimeout(resolve, 60));
      await store.writeSpans([by.get('payment.process')!]);
      const waiting = await session.backlog();
      assert.equal(waiting.spans, 3);
      assert.ok(waiting.oldestWaitMs >= 50, `the first commit has waited ${waiting.oldestWaitMs} ms`);

      const metrics = new CollectorMetrics();
      const gauges = async () => {
        const { text } = await metrics.render();
        const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
        return { spans: value('choreoscope_flow_backlog_spans'), seconds: value('choreoscope_flow_backlog_oldest_seconds') };
      };
      // a round takes whole committed groups: with room for one span, the first group only
      const worker = new FlowWorker(store.flows, { maxSpansPerRound: 1, metrics });
      assert.equal((await worker.round(session)).spansAdded, 2);
      const behind = await gauges();
      assert.equal(behind.spans, 1, 'the second commit still waits');
      assert.ok(behind.seconds >= 0 && behind.seconds < waiting.oldestWaitMs / 1000 + 5, `${behind.seconds} s`);
      assert.equal((await worker.round(session)).spansAdded, 1);
      await worker.round(session); // finds the inbox empty
      assert.deepEqual(await gauges(), { spans: 0, seconds: 0 });
      assert.deepEqual(await session.backlog(), { spans: 0, oldestWaitMs: 0 });
      await session.release();
    } finally {
      await dispose();
    }
  });

  test('flow states: learned from settled flows, a flow goes late then stalled on time with what it waits for, the model saved for the next worker', async () => {
    const { store, dispose } = await kind.open();
    try {
      const epochMs = Math.min(...fixtureRecords(chain, 'epoch:').map((r) => r.startTimeMs));
      let clock = epochMs + 600_000;
      const options = { now: () => clock, settleAfterMs: 60_000, saveModelEveryMs: 0, model: { minSamples: 20 } };
      const worker = new FlowWorker(store.flows, options);
      const session = (await store.flows.openAssembly())!;
      // 25 whole chains, ten minutes old: settled, learned from as they are assembled
      for (let i = 0; i < 25; i += 1) await store.writeSpans(fixtureRecords(chain, `${kind.name}:learn:${i}:${Math.random()}:`));
      await worker.round(session);
      const learned = await store.flows.searchFlows({ service: 'notification', limit: 100 });
      assert.equal(learned.flows.length, 25);
      // judged as they were learned from: stalled by the default deadline while the model knew too little, completed after
      const early = learned.flows.filter((flow) => flow.state === 'stalled');
      assert.ok(early.length > 0 && early.every((flow) => flow.explanation?.kind === 'next-event' && !flow.explanation.learned), JSON.stringify(early[0]));
      assert.equal(learned.flows.filter((flow) => flow.state === 'completed').length, 25 - early.length);
      const saved = await store.flows.storedModel();
      assert.ok(saved !== null, 'saved with the round');
      // what they wait after is now known as an end: the next round judges them again, not their distant next look
      // (their default-deadline look would be ten minutes on: as long as they had waited)
      clock += 1_000;
      await worker.round(session);
      const rejudged = await store.flows.searchFlows({ service: 'notification', limit: 100 });
      assert.deepEqual(rejudged.flows.map((flow) => flow.state), Array(25).fill('completed'), 'judged again a second later');

      // a new order, later: OrderCreated handled by payment, then nothing
      const stuck = new Map(later(fixtureRecords(chain, `${kind.name}:stuck:${Math.random()}:`), 700_000).map((r) => [r.name, r]));
      const sentMs = stuck.get('order.send')!.endTimeMs;
      clock = sentMs + 1; // just sent
      await store.writeSpans([stuck.get('order.http')!, stuck.get('order.send')!, stuck.get('payment.process')!]);
      await worker.round(session);
      const [running] = (await store.flows.searchFlows({ service: 'payment', state: 'running', limit: 100 })).flows.filter((f) => f.spanCount === 3);
      assert.ok(running !== undefined, 'running while its next step is not due');
      assert.ok(running.expectedCompletionMs !== null && running.expectedCompletionMs > sentMs, 'with an expected completion');

      clock = sentMs + 600_000; // long past the learned p99.9 of a step of milliseconds: described again at its deadline
      await worker.round(session);
      const settled = await store.flows.searchFlows({ service: 'notification', limit: 100 });
      assert.deepEqual(settled.flows.map((flow) => flow.state), Array(25).fill('completed'), 'judged again once the model had learned');
      const stalled = (await store.flows.searchFlows({ state: 'stalled', limit: 100 })).flows;
      assert.deepEqual(stalled.map((f) => f.flowId), [running.flowId]);
      const explanation = stalled[0]!.explanation!;
      assert.equal(explanation.kind, 'next-event');
      assert.match(explanation.message, /^waiting for PaymentAuthorized from payment since /);
      assert.deepEqual(await store.flows.standingOf(running.flowId), {
        state: 'stalled', explanation, expectedCompletionMs: stalled[0]!.expectedCompletionMs,
      });
      assert.equal((await store.flows.searchFlows({ state: 'stalled', service: 'inventory', limit: 10 })).flows.length, 0, 'filters combine');
      await session.release();

      // the next worker goes on from the saved model: the chain's steps are trusted at once
      const next = new FlowWorker(store.flows, options);
      const again = (await store.flows.openAssembly())!;
      const late = new Map(later(fixtureRecords(chain, `${kind.name}:late:${Math.random()}:`), 1_400_000).map((r) => [r.name, r]));
      clock = late.get('order.send')!.endTimeMs + 600_000;
      await store.writeSpans([late.get('order.http')!, late.get('order.send')!, late.get('payment.process')!]);
      await next.round(again);
      const both = (await store.flows.searchFlows({ state: 'stalled', limit: 100 })).flows;
      assert.equal(both.length, 2, 'judged stalled against the learned deadlines, not the default one');
      assert.ok(both.every((f) => f.explanation?.kind === 'next-event' && f.explanation.learned));
      await again.release();

      // /metrics counts them by state, from the store
      const metrics = new CollectorMetrics();
      metrics.countFlowStatesWith(() => store.flows.countByState(epochMs - 1));
      const { text } = await metrics.render();
      const count = (state: string) => Number(new RegExp(`^choreoscope_flows\\{state="${state}"\\} (\\S+)$`, 'm').exec(text)?.[1]);
      assert.deepEqual(['running', 'late', 'stalled', 'completed', 'failed', 'compensated'].map(count), [0, 0, 2, 25, 0, 0]);
      metrics.countFlowStatesWith(() => store.flows.countByState(clock + 3_600_000));
      assert.equal(Number(/^choreoscope_flows\{state="completed"\} (\S+)$/m.exec((await metrics.render()).text)?.[1]), 0, 'none active then');
    } finally {
      await dispose();
    }
  });

  test('what the model learned in a round too soon after its last save is saved by a later round, idle or not', async () => {
    const { store, dispose } = await kind.open();
    try {
      const epochMs = Math.min(...fixtureRecords(chain, 'epoch:').map((r) => r.startTimeMs));
      let clock = epochMs + 600_000;
      const worker = new FlowWorker(store.flows, { now: () => clock, settleAfterMs: 60_000, saveModelEveryMs: 5_000 });
      const session = (await store.flows.openAssembly())!;
      await store.writeSpans(fixtureRecords(chain, `${kind.name}:save:first:${Math.random()}:`));
      await worker.round(session);
      assert.ok((await store.flows.storedModel())?.model.stats.OrderCreated !== undefined, 'the first learning is saved at once');
      const first = JSON.stringify((await store.flows.storedModel())!.model);
      clock += 1_000;
      for (let i = 0; i < 3; i += 1) await store.writeSpans(fixtureRecords(chain, `${kind.name}:save:${i}:${Math.random()}:`));
      await worker.round(session);
      assert.equal(JSON.stringify((await store.flows.storedModel())!.model), first, 'learned a second after the save: not saved yet');
      clock += 5_000;
      assert.deepEqual(await worker.round(session), { inboxRows: 0, spansAdded: 0, flowsWritten: 0, rechecked: 0 }, 'an idle round');
      assert.notEqual(JSON.stringify((await store.flows.storedModel())!.model), first, 'the idle round saved what was learned');
      await session.release();
    } finally {
      await dispose();
    }
  });

  test('a group that reads its partition in order went past a flow\'s message: the flow is woken and stalled once that handling could be reported, not at its deadline', async () => {
    const { store, dispose } = await kind.open();
    try {
      const epochMs = Math.min(...fixtureRecords(chain, 'epoch:').map((r) => r.startTimeMs));
      let clock = epochMs + 600_000;
      // payment is given ten minutes to handle OrderCreated: only evidence can call the flow stalled sooner
      const steps = [{ afterEventType: 'OrderCreated', consumerGroup: 'payment', expect: [], lateAfterMs: 600_000, stalledAfterMs: 1_200_000 }];
      const worker = new FlowWorker(store.flows, {
        now: () => clock, settleAfterMs: 60_000, saveModelEveryMs: 0, exportDelayMs: 1_000, model: { minSamples: 20 },
        partitions: { sequentialMinSamples: 20 }, stalls: { steps },
      });
      const session = (await store.flows.openAssembly())!;
      // order i: a chain 10 s after the last, its OrderCreated offset 1000 + i of one partition all orders share
      const topic = `${kind.name}:${Math.random()}:orders`;
      const order = (i: number) => new Map(later(fixtureRecords(chain, `${kind.name}:passed:${i}:${Math.random()}:`), i * 10_000).map((r) => [r.name,
        r.name === 'order.send' || r.name === 'payment.process'
          ? { ...r, attributes: { ...r.attributes, 'messaging.destination.name': topic, 'messaging.kafka.offset': 1_000 + i } }
          : r]));
      for (let i = 0; i < 25; i += 1) await store.writeSpans([...order(i).values()]);
      await worker.round(session); // learned from, payment seen reading the partition in order

      // order 60: OrderCreated sent, not handled; order 61, ten seconds later, handled by payment
      const stuck = order(60);
      clock = stuck.get('order.send')!.endTimeMs + 1;
      await store.writeSpans([stuck.get('order.http')!, stuck.get('order.send')!]);
      await worker.round(session);
      const [waiting] = (await store.flows.searchFlows({ service: 'order', state: 'running', limit: 100 })).flows.filter((f) => f.spanCount === 2);
      assert.ok(waiting !== undefined, 'running: its deadline is ten minutes away');
      const next = order(61);
      const laterAtMs = next.get('payment.process')!.startTimeMs;
      clock = laterAtMs + 500;
      await store.writeSpans([...next.values()]);
      await worker.round(session);
      assert.equal((await store.flows.standingOf(waiting.flowId))?.state, 'running', 'the handling of its message may still be on its way');
      clock = laterAtMs + 1_500; // the export delay past the later handling
      await worker.round(session);
      const stalled = (await store.flows.searchFlows({ state: 'stalled', limit: 100 })).flows;
      assert.deepEqual(stalled.map((f) => f.flowId), [waiting.flowId]);
      const explanation = stalled[0]!.explanation!;
      assert.equal(explanation.kind, 'consumer');
      if (explanation.kind !== 'consumer') return;
      assert.deepEqual(explanation.passedOver, { consumerGroup: 'payment', topic, partition: '0', offset: '1060', laterOffset: '1061', laterAtMs });
      assert.match(explanation.message, /the group went past it, handling a later message of .*orders partition 0 \(offset 1061, at .*\) but not this one \(offset 1060\)$/);
      await session.release();
    } finally {
      await dispose();
    }
  });

  test('a worker that stops describes what it held back; a due row that names no flow is removed, not due for ever', async () => {
    const { store, dispose } = await kind.open();
    try {
      const by = spans();
      const worker = new FlowWorker(store.flows, { describeEveryMs: 60_000, pollIntervalMs: 20 });
      worker.start();
      await store.writeSpans([by.get('order.http')!, by.get('order.send')!]);
      worker.wake();
      let flowId = '';
      for (let tries = 0; flowId === '' && tries < 200; tries += 1) {
        flowId = (await store.flows.searchFlows({ service: 'order', limit: 10 })).flows[0]?.flowId ?? '';
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await store.writeSpans([by.get('payment.process')!]);
      worker.wake();
      for (let tries = 0; (await store.flows.flowSpans(flowId, 100)).total < 3 && tries < 200; tries += 1) await new Promise((resolve) => setTimeout(resolve, 20));
      await worker.close();
      assert.equal((await store.flows.searchFlows({ service: 'payment', limit: 10 })).flows[0]?.spanCount, 3);

      // a row left behind (its flow merged away, its spans gone) with a recheck time that has passed
      const facts = (await store.flows.searchFlows({ service: 'order', limit: 1 })).flows[0]!;
      const orphanId = `${'e'.repeat(32)}-${'f'.repeat(16)}`;
      const session = (await store.flows.openAssembly())!;
      await session.write({
        ...emptyFlowWrite(Date.now()),
        flows: [{
          facts: { ...facts, flowId: orphanId }, standing: { state: 'running', explanation: null, expectedCompletionMs: null }, gaps: [],
          recheckAtMs: Date.now() - 1,
        }],
      });
      assert.deepEqual(await session.dueRechecks(Date.now(), 10), [{ flowId: orphanId, reload: false }]);
      const again = new FlowWorker(store.flows, {});
      await again.round(session);
      assert.deepEqual(await session.dueRechecks(Date.now(), 10), [], 'no longer due');
      assert.equal((await store.flows.searchFlows({ service: 'order', limit: 10 })).flows.some((f) => f.flowId === orphanId), false, 'and gone from lists');
      await session.release();
    } finally {
      await dispose();
    }
  });
});
