/**
 * The flow worker's rounds against a real store, on both stores: facts held back by describeEveryMs are
 * marked in the store, so a worker that dies before describing them leaves them to the next one; a
 * worker that stops describes them first; a recheck row that names no flow any more is removed rather
 * than due for ever; the backlog (spans committed and not yet assembled) is measured and exposed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowWorker } from '../src/flows/flow-worker.ts';
import { CollectorMetrics } from '../src/ops/metrics.ts';
import type { SpanRecord } from '../src/core/span.ts';
import { fixtureRecords, readFlowFixtures } from './flow-fixtures.ts';
import { forEachStore } from './stores.ts';

const chain = readFlowFixtures().find((fixture) => fixture.name === 'clean-chain-parent')!;

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
        inboxIds: [], removed: [], members: [], points: [], sharedKeys: [], waiting: [], resolved: [], batchSpans: [],
        flows: [{ facts: { ...facts, flowId: orphanId }, gaps: [], recheckAtMs: Date.now() - 1 }],
        catalog: { entries: [], minutes: [] }, deferred: { flowIds: [], describeAtMs: 0 }, pruneRatesBeforeMs: null,
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
