/**
 * GET /api/stats/flows through a real collector, on both stores, over flows stored as the assembler
 * stores them: flows by state in the window, the end-to-end durations of the ended ones (quantiles and a
 * log-scale histogram), the step funnel with where flows are stuck or failed, and bad windows refused.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiErrorBody, FlowStatsResponse } from '../src/api/types.ts';
import type { FlowFacts } from '../src/core/flow.ts';
import type { Explanation, FlowState } from '../src/core/stalls.ts';
import { emptyFlowWrite, type FlowRow } from '../src/store/flow-store.ts';
import { send, startCollector, type RunningCollector } from './helpers.ts';
import { forEachStore } from './stores.ts';

const T0 = Date.UTC(2026, 11, 1, 12);
const CHAIN = ['OrderCreated', 'PaymentAuthorized', 'StockReserved', 'ShipmentScheduled'];

let sequence = 0;
function flow(options: { steps: number; durationMs: number; state: FlowState; startMs?: number; explanation?: Explanation }): FlowRow {
  sequence += 1;
  const firstEventMs = options.startMs ?? T0 + sequence * 1_000;
  const facts: FlowFacts = {
    flowId: `${sequence.toString(16).padStart(32, '0')}-${'1'.repeat(16)}`, businessKeys: [`order-${sequence}`], traceIds: [], traceCount: 1,
    firstEventMs, lastEventMs: firstEventMs + options.durationMs, durationMs: options.durationMs, services: ['order'],
    eventTypes: CHAIN.slice(0, options.steps), spanCount: options.steps * 2, errorCount: 0, hopCount: 0, pendingHops: 0, anomalies: [], droppedSpans: 0,
  };
  return { facts, standing: { state: options.state, explanation: options.explanation ?? null, expectedCompletionMs: null }, gaps: [], recheckAtMs: null };
}

const stalledAfter = (eventType: string): Explanation => ({
  kind: 'next-event', afterEventType: eventType, afterService: 'payment', awaitedEventTypes: ['StockReserved'], awaitedService: 'inventory',
  consumerGroup: null, sinceMs: T0, usual: { count: 50, p50Ms: 1, p90Ms: 2, p99Ms: 3, p999Ms: 4 }, learned: true, declared: false,
  lateAtMs: T0 + 3, overdueMs: 0, handledWithoutSending: null, message: '…',
});
const failedAt = (eventType: string): Explanation => ({ kind: 'failure', service: 'shipping', eventType, consumerGroup: 'shipping', sinceMs: T0, message: '…' });

forEachStore((kind) => {
  let collector: RunningCollector;
  before(async () => {
    collector = await startCollector(kind, { server: { flows: { assemble: false } } });
    const session = (await collector.store.flows.openAssembly())!;
    await session.write({
      ...emptyFlowWrite(T0),
      flows: [
        ...[100, 200, 400, 3_000].map((durationMs) => flow({ steps: 4, durationMs, state: 'completed' })),
        flow({ steps: 2, durationMs: 50, state: 'stalled', explanation: stalledAfter('PaymentAuthorized') }),
        flow({ steps: 2, durationMs: 60, state: 'late', explanation: stalledAfter('PaymentAuthorized') }),
        flow({ steps: 3, durationMs: 70, state: 'failed', explanation: failedAt('StockReserved') }),
        flow({ steps: 1, durationMs: 5, state: 'running' }),
        flow({ steps: 4, durationMs: 10, state: 'completed', startMs: T0 - 7_200_000 }), // two hours earlier: outside the window
      ],
      nowMs: T0,
    });
    await session.release();
  });
  after(() => collector.close());

  const get = (query: string) => send(`${collector.url}/api/stats/flows${query}`, {});

  test('states, durations and the funnel of the flows active in the window', async () => {
    const answer = await get(`?start=${T0 - 60_000}&end=${T0 + 3_600_000}`);
    assert.equal(answer.status, 200, answer.text);
    const stats = answer.json as FlowStatsResponse;
    assert.deepEqual([stats.startMs, stats.endMs], [T0 - 60_000, T0 + 3_600_000]);
    assert.deepEqual(stats.byState, { running: 1, late: 1, stalled: 1, completed: 4, failed: 1, compensated: 0 });
    const { p90Ms, p99Ms, ...duration } = stats.duration;
    assert.ok(Math.abs(p90Ms! - 2_220) < 1e-6 && Math.abs(p99Ms! - 2_922) < 1e-6, `${p90Ms} ${p99Ms}`);
    assert.deepEqual(duration, {
      count: 4, p50Ms: 300, maxMs: 3_000,
      histogram: [{ upToMs: 128, flows: 1 }, { upToMs: 256, flows: 1 }, { upToMs: 512, flows: 1 }, { upToMs: 4_096, flows: 1 }],
    }, 'quantiles interpolated between the ended flows; each in the power of two above it');
    assert.deepEqual(stats.funnel, [
      { eventType: 'OrderCreated', reached: 8, stuck: 0, failed: 0 },
      { eventType: 'PaymentAuthorized', reached: 7, stuck: 2, failed: 0 },
      { eventType: 'StockReserved', reached: 5, stuck: 0, failed: 1 },
      { eventType: 'ShipmentScheduled', reached: 4, stuck: 0, failed: 0 },
    ]);
    const later = (await get(`?start=${T0 + 7_200_000}&end=${T0 + 10_800_000}`)).json as FlowStatsResponse;
    assert.deepEqual([later.duration.count, later.duration.p50Ms, later.funnel], [0, null, []], 'an empty window');
  });

  test('a bad window is refused with its code', async () => {
    const code = async (query: string) => ((await get(query)).json as ApiErrorBody).error.code;
    assert.equal(await code(`?start=${T0}&end=${T0}`), 'CHS_ERR_QUERY_TIME_INVALID');
    assert.equal(await code('?start=yesterday'), 'CHS_ERR_QUERY_TIME_INVALID');
    assert.equal(await code(`?start=${T0 - 32 * 86_400_000}&end=${T0}`), 'CHS_ERR_QUERY_TIME_INVALID', 'over 31 days');
    assert.equal((await get(`?start=${T0 - 31 * 86_400_000}&end=${T0}`)).status, 200, '31 days is taken');
    assert.equal(await code('?since=1'), 'CHS_ERR_QUERY_PARAMETER_UNKNOWN');
    const defaults = (await get('')).json as FlowStatsResponse;
    assert.equal(defaults.endMs - defaults.startMs, 3_600_000, 'the last hour by default');
  });
});
