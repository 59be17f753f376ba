import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AlertBook, subjectsOf } from '../src/core/alerts.ts';
import type { Explanation } from '../src/core/stalls.ts';
import { emptyFlowWrite } from '../src/store/flow-store.ts';
import { RetentionSweeper } from '../src/store/retention.ts';
import { spawnCollector, startCollector, waitFor } from './helpers.ts';
import { postSeeds } from './seed-spans.ts';
import { forEachStore } from './stores.ts';

const HOUR_MS = 3_600_000;

forEachStore((kind) => {
  test('a sweep deletes spans older than the retention in bounded rounds, and keeps the rest and their links; then flows that ended before it, and flows that lost spans are loaded afresh', async () => {
    const collector = await startCollector(kind);
    try {
      const now = Date.UTC(2026, 10, 25, 12);
      const producer = { service: 'orders', name: 'send orders', startMs: now - 30 * HOUR_MS, durationMs: 5 };
      const [oldProducer] = await postSeeds(collector.url, [producer]);
      const old = await postSeeds(collector.url, Array.from({ length: 25 }, (_, i) => ({
        service: 'payment', name: 'process orders', startMs: now - 25 * HOUR_MS + i, durationMs: 3,
        links: [{ traceId: oldProducer!.traceId, spanId: oldProducer!.spanId }],
      })));
      const recent = await postSeeds(collector.url, Array.from({ length: 5 }, (_, i) => ({
        service: 'payment', name: 'process orders', startMs: now - 23 * HOUR_MS + i, durationMs: 3,
        links: [{ traceId: oldProducer!.traceId, spanId: oldProducer!.spanId }],
      })));

      // one flow entirely past the retention, one that ends after it (the linked consumers above)
      const [gone] = await postSeeds(collector.url, [{ service: 'audit', name: 'send audits', kind: 4, startMs: now - 40 * HOUR_MS, durationMs: 1, businessKey: 'old-order' }]);
      await waitFor(async () => (await collector.store.flows.flowOfSpan(gone!.traceId, gone!.spanId)) !== null
        && (await collector.store.flows.flowOfSpan(recent[0]!.traceId, recent[0]!.spanId)) !== null, 10_000);

      const sweeps: ({ deleted: number; flowsDeleted: number } | { error: Error })[] = [];
      const rounds: number[] = [];
      const store = collector.store;
      const counting = { ...store, deleteSpansStartedBefore: async (cutoff: number, limit: number) => {
        const n = await store.deleteSpansStartedBefore(cutoff, limit);
        rounds.push(n);
        return n;
      } };
      const sweeper = new RetentionSweeper(counting, { retentionMs: 24 * HOUR_MS, deleteBatchSpans: 10, now: () => now, onSweep: (o) => sweeps.push(o) });
      assert.equal(await sweeper.sweep(), 27);
      assert.deepEqual(rounds, [10, 10, 7], 'rounds of at most 10 until one comes back short');
      assert.deepEqual(sweeps, [{ deleted: 27, flowsDeleted: 1 }]);
      assert.equal(await store.flows.flowOfSpan(gone!.traceId, gone!.spanId), null, 'the old flow is gone');
      const before = `${oldProducer!.traceId}-${oldProducer!.spanId}`;
      // the flow whose last event is recent stayed, and lost its old spans: its anchor too. The recent
      // consumers were joined only through the producer span now deleted, so the flow worker, loading it
      // afresh, finds five flows of one span each, named after themselves; the old id goes
      const ids = recent.map((span) => `${span.traceId}-${span.spanId}`);
      await waitFor(async () => {
        const listed = (await store.flows.searchFlows({ limit: 100 })).flows;
        return !listed.some((flow) => flow.flowId === before) && ids.every((id) => listed.find((flow) => flow.flowId === id)?.spanCount === 1);
      }, 10_000, () => 'the flow loaded afresh');
      for (const span of recent) assert.equal(await store.flows.flowOfSpan(span.traceId, span.spanId), `${span.traceId}-${span.spanId}`);

      for (const span of [oldProducer!, ...old]) assert.deepEqual(await store.spansOfTrace(span.traceId), [], 'old span gone');
      for (const span of recent) assert.equal((await store.spansOfTrace(span.traceId)).length, 1, 'recent span kept');
      // The recent consumers still link to the deleted producer: link rows belong to the linking span and
      // are deleted with it, never because the span they point at is gone.
      assert.equal((await store.spansLinkingTo(oldProducer!.traceId, oldProducer!.spanId)).length, 5);
      assert.equal(await sweeper.sweep(), 0, 'a second sweep finds nothing');
      await sweeper.stop();
    } finally {
      await collector.close();
    }
  });

  test('a sweep deletes resolved alerts that ended before the retention, with their notifications; a firing one stays, whatever its age', async () => {
    const { store, dispose } = await kind.open();
    try {
      const now = Date.UTC(2026, 10, 25, 12);
      const stuck = (service: string, sinceMs: number): Explanation => ({
        // a step of its own per service: alerts are keyed by the step
        kind: 'next-event', afterEventType: `${service}Requested`, afterService: 'order', awaitedEventTypes: ['PaymentAuthorized'], awaitedService: service,
        consumerGroup: null, sinceMs, usual: { count: 50, p50Ms: 1, p90Ms: 2, p99Ms: 3, p999Ms: 4 }, learned: true, declared: false, lateAtMs: sinceMs + 3, overdueMs: 0, handledWithoutSending: null, message: '…',
      });
      // one episode ended 30 hours ago, one 2 hours ago; one has fired for 30 hours
      const book = new AlertBook({ resolveAfterMs: 0, maxStuckMs: 100 * HOUR_MS });
      const at = (hoursAgo: number) => now - hoursAgo * HOUR_MS;
      book.observe('old', subjectsOf('stalled', stuck('payment', at(31)), [], 0), at(31));
      book.observe('still', subjectsOf('stalled', stuck('billing', at(30)), [], 0), at(30));
      const first = book.evaluate(at(30));
      book.observe('old', subjectsOf('completed', null, [], 0), at(30));
      const resolvedLong = book.evaluate(at(30));
      book.observe('recent', subjectsOf('stalled', stuck('payment', at(3)), [], 0), at(3));
      const second = book.evaluate(at(3));
      book.observe('recent', subjectsOf('completed', null, [], 0), at(2));
      const resolvedLately = book.evaluate(at(2));
      const session = (await store.flows.openAssembly())!;
      await session.write({
        ...emptyFlowWrite(now),
        alerts: [...first.alerts, ...resolvedLong.alerts, ...second.alerts, ...resolvedLately.alerts],
        notifications: [...first.notifications, ...resolvedLong.notifications].map((notification) => ({ notification, receivers: ['webhook:0123456789abcdef'] })),
      });
      await session.release();
      assert.equal((await store.alerts.owedNotifications(10)).length, 3);

      await new RetentionSweeper(store, { retentionMs: 24 * HOUR_MS, now: () => now }).sweep();
      assert.deepEqual((await store.alerts.listAlerts('resolved', 10)).map((a) => a.endsAtMs), [at(2)], 'the one that ended 30 hours ago is gone');
      assert.deepEqual((await store.alerts.listAlerts('firing', 10)).map((a) => a.startsAtMs), [at(30)], 'firing for 30 hours: kept');
      assert.deepEqual((await store.alerts.owedNotifications(10)).map((row) => row.notification.alert.startsAtMs), [at(30)], 'the gone alert\'s notifications went with it');
    } finally {
      await dispose();
    }
  });

  test('a sweep against a closed store reports the failure instead of throwing', async () => {
    const collector = await startCollector(kind);
    await collector.close();
    const outcomes: unknown[] = [];
    const sweeper = new RetentionSweeper(collector.store, { retentionMs: HOUR_MS, onSweep: (o) => outcomes.push(o) });
    assert.equal(await sweeper.sweep(), 0);
    assert.equal(outcomes.length, 1);
    assert.ok('error' in (outcomes[0] as object));
  });
});

test('the CLI refuses a bad retention and names the setting', async () => {
  await assert.rejects(spawnCollector(['--retention-hours=-3']), /--retention-hours \(CHOREOSCOPE_RETENTION_HOURS\) must be an integer from 0 to 87600, not -3/);
});
