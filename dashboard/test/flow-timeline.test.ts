/**
 * A flow as a timeline, pure (model/flow-timeline.ts), from API shapes: a lane per service in the order
 * reached, overlapping spans on rows of their own, deliveries with their wait in Kafka, a hop whose
 * clocks disagree drawn with no wait and flagged, a new trace, retries and duplicate deliveries marked;
 * stuck flows grouped by what they wait for (model/stuck-groups.ts); the catalogue's charts as data
 * (model/stats-charts.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiHop, ApiSpan, ApiWaitExplanation, FlowResponse, FlowSummary } from '../../collector/src/api/types.ts';
import { flowTimeline } from '../src/model/flow-timeline.ts';
import { flowGraph } from '../src/model/flow-graph.ts';
import { offsetLabel } from '../src/model/format.ts';
import { durationBuckets, funnelBars } from '../src/model/stats-charts.ts';
import { groupFigures, stuckGroups } from '../src/model/stuck-groups.ts';

const T0 = Date.UTC(2026, 11, 1, 12);
const traceA = 'a'.repeat(32);
const traceB = 'b'.repeat(32);

function span(id: string, service: string, kind: ApiSpan['kind'], startMs: number, durationMs: number, traceId = traceA, error = false): ApiSpan {
  return {
    traceId, spanId: id.padStart(16, '0'), parentSpanId: null, name: id, kind, startTimeMs: T0 + startMs, endTimeMs: T0 + startMs + durationMs,
    status: { code: error ? 'error' : 'unset', message: '' }, serviceName: service, businessKey: 'order-1', attributes: {}, events: [], links: [],
    resource: {}, scope: { name: 's', version: '1' },
  };
}
const ref = (s: ApiSpan) => ({ traceId: s.traceId, spanId: s.spanId });
function delivery(from: ApiSpan, to: ApiSpan, extra: Partial<ApiHop> = {}): ApiHop {
  return {
    kind: 'delivery', from: ref(from), to: ref(to), joinedBy: 'parent', pending: false, destination: 'orders', eventType: 'OrderCreated',
    fromService: from.serviceName, toService: to.serviceName, consumerGroup: to.serviceName, attempt: 1, waitMs: to.startTimeMs - from.endTimeMs,
    processingMs: to.endTimeMs - to.startTimeMs, clockSkew: false, ...extra,
  };
}

const http = span('1', 'order', 'server', 0, 30);
const send = span('2', 'order', 'producer', 5, 3);
const handled = span('3', 'payment', 'consumer', 20, 40, traceB);
const retried = span('4', 'payment', 'consumer', 40, 10, traceB, true);
const again = span('5', 'payment', 'consumer', 70, 10, traceB);
const skewed = span('6', 'audit', 'consumer', 6, 5); // starts before the producer ended, by its host's clock

const response = {
  flow: {} as FlowSummary,
  spans: [again, skewed, handled, send, http, retried],
  hops: [
    delivery(send, handled, { joinedBy: 'message' }), delivery(send, retried, { attempt: 2 }), delivery(send, again, { attempt: 3 }),
    delivery(send, skewed, { joinedBy: 'link', clockSkew: true, waitMs: 0 }),
  ],
  anomalies: [{
    type: 'duplicate-delivery', severity: 'warning', message: '…', producer: ref(send), eventType: 'OrderCreated', destination: 'orders',
    consumerGroup: 'payment', service: 'payment', deliveries: [ref(handled), ref(again)], repeatedAtMs: again.startTimeMs,
  }],
} satisfies FlowResponse;

test('a lane per service in the order the flow reached it; spans that overlap take rows of their own', () => {
  const timeline = flowTimeline(response);
  assert.deepEqual(timeline.lanes.map((lane) => [lane.service, lane.rows, lane.firstRow]), [['order', 2, 0], ['audit', 1, 2], ['payment', 2, 3]]);
  const row = (s: ApiSpan) => timeline.spans.find((placed) => placed.span === s)!.row;
  assert.deepEqual([row(http), row(send), row(handled), row(retried), row(again)], [0, 1, 0, 1, 0], 'a row is reused once free');
  assert.deepEqual([timeline.startMs, timeline.endMs, timeline.rows], [T0, T0 + 80, 5]);
  assert.deepEqual(timeline.traces, [traceA, traceB]);
});

test('deliveries: the wait in Kafka from the producer\'s end, a new trace, clock skew drawn with no wait, retries and duplicates marked', () => {
  const timeline = flowTimeline(response);
  const hopTo = (s: ApiSpan) => timeline.hops.find((hop) => hop.to.span === s)!;
  assert.deepEqual(hopTo(handled).wait, { fromMs: send.endTimeMs, toMs: handled.startTimeMs });
  assert.equal(hopTo(handled).joinedBy, 'message');
  assert.equal(hopTo(handled).newTrace, true, 'the consumer began a trace of its own');
  assert.equal(hopTo(skewed).wait, null, 'clocks that disagree: no wait drawn');
  assert.equal(hopTo(skewed).clockSkew, true);
  assert.equal(hopTo(skewed).newTrace, false);
  const placed = (s: ApiSpan) => timeline.spans.find((p) => p.span === s)!;
  assert.deepEqual([placed(retried).retryAttempt, placed(retried).error, placed(again).retryAttempt], [2, true, 3]);
  assert.deepEqual([placed(handled).duplicate, placed(again).duplicate], [false, true], 'the repeat, not the first handling');
  assert.deepEqual([placed(send).label, placed(handled).label, placed(http).label], ['sends OrderCreated', 'handles OrderCreated', '1']);
});

test('stuck flows group by what they wait for, the biggest group first, each flow the longest waiting first', () => {
  const flow = (id: string, state: FlowSummary['state'], after: string, sinceMs: number): FlowSummary => ({
    flowId: id, businessKeys: [id], traceIds: [], traceCount: 1, firstEventMs: sinceMs, lastEventMs: sinceMs, durationMs: 0, services: [], eventTypes: [],
    spanCount: 1, errorCount: 0, hopCount: 0, pendingHops: 0, anomalies: [], droppedSpans: 0, state, expectedCompletionMs: null,
    explanation: {
      kind: 'next-event', afterEventType: after, afterService: 'order', awaitedEventTypes: ['Next'], awaitedService: 'svc', consumerGroup: null, sinceMs,
      usual: { count: 30, p50Ms: 1, p90Ms: 2, p99Ms: 3, p999Ms: 4 }, learned: true, declared: false, lateAtMs: sinceMs + 3, overdueMs: 0, handledWithoutSending: null, passedOver: null, message: '…',
    },
  });
  const groups = stuckGroups([flow('a', 'late', 'X', T0 + 5), flow('b', 'stalled', 'Y', T0), flow('c', 'stalled', 'X', T0 + 1), { ...flow('d', 'running', 'X', T0), explanation: null }]);
  assert.deepEqual(groups.map((g) => [g.afterEventType, g.stalled, g.late, g.flows.map((f) => f.flowId), g.oldestSinceMs - T0]), [['X', 1, 1, ['c', 'a'], 1], ['Y', 1, 0, ['b'], 0]]);
  assert.equal(groups[0]!.headline, 'waiting for Next from svc, after X');
  // all the stuck flows read, or only the newest page of more (then the counts are lower bounds)
  const seconds = (ms: number) => `${ms / 1_000} s`;
  assert.deepEqual(groupFigures(groups[0]!, { stalled: false, late: false }, T0 + 5_001, seconds), { count: '2', detail: '1 stalled, 1 late · the longest for 5 s' });
  assert.deepEqual(groupFigures(groups[0]!, { stalled: true, late: false }, T0 + 5_001, seconds),
    { count: '2+', detail: '1+ stalled, 1 late · the longest of the newest read for 5 s' });
  // flows whose handler ended without sending are a group of their own, said so
  const silent = flow('e', 'stalled', 'X', T0);
  silent.explanation = { ...(silent.explanation as ApiWaitExplanation), consumerGroup: 'svc-group', handledWithoutSending: { consumerGroup: 'svc-group', service: 'svc', atMs: T0 + 2, sendShare: 1 } };
  const apart = stuckGroups([flow('a', 'stalled', 'X', T0), silent]);
  assert.deepEqual(apart.map((g) => [g.headline, g.flows.map((f) => f.flowId)]).sort(), [
    ['waiting for Next from svc, after X', ['a']], ['where svc (group svc-group) finished handling X without sending Next', ['e']],
  ]);
});

test('the catalogue\'s charts: the funnel\'s bars split into onward, stuck and failed; durations in every power-of-two bucket between', () => {
  const stats = {
    startMs: 0, endMs: 1, byState: { running: 0, late: 1, stalled: 2, completed: 7, failed: 1, compensated: 0 },
    duration: { count: 7, p50Ms: 40, p90Ms: 100, p99Ms: 120, maxMs: 120, histogram: [{ upToMs: 32, flows: 2 }, { upToMs: 128, flows: 5 }] },
    funnel: [{ eventType: 'OrderCreated', reached: 11, stuck: 3, failed: 0 }, { eventType: 'PaymentAuthorized', reached: 8, stuck: 0, failed: 1 }],
  } satisfies Parameters<typeof funnelBars>[0];
  assert.deepEqual(funnelBars(stats).map((b) => [b.eventType, b.onward, b.stuck, b.failed]), [['OrderCreated', 8, 3, 0], ['PaymentAuthorized', 7, 0, 1]]);
  // in the chain's order, not by volume: what follows comes after what it follows, branches side by side
  const step = (eventType: string, next: string[]) => ({
    eventType, producers: [], occurrences: 1, trusted: true, terminal: null, consumers: [],
    transitions: next.map((n) => ({ eventType: n, count: 1, probability: 1, latency: { count: 1, p50Ms: 1, p90Ms: 1, p99Ms: 1, p999Ms: 1 } })),
  });
  const model = {
    savedAtMs: 0, windowMs: 1, minSamples: 1, expectProbability: 0.5,
    steps: [step('Shipped', []), step('Reserved', ['Shipped']), step('Authorized', ['Reserved', 'Refunded']), step('Created', ['Authorized', 'Declined']), step('Declined', []), step('Refunded', [])],
  } as unknown as Parameters<typeof funnelBars>[1];
  const reached = (eventType: string, n: number) => ({ eventType, reached: n, stuck: 0, failed: 0 });
  const byVolume = { ...stats, funnel: [reached('Created', 50), reached('Shipped', 40), reached('Authorized', 45), reached('Reserved', 41), reached('Declined', 5), reached('Refunded', 4), reached('Unknown', 60)] };
  assert.deepEqual(funnelBars(byVolume, model).map((b) => b.eventType), ['Created', 'Authorized', 'Declined', 'Reserved', 'Refunded', 'Shipped', 'Unknown']);
  assert.deepEqual(durationBuckets(stats), [{ fromMs: 16, toMs: 32, flows: 2 }, { fromMs: 32, toMs: 64, flows: 0 }, { fromMs: 64, toMs: 128, flows: 5 }]);
  assert.deepEqual(durationBuckets({ ...stats, duration: { ...stats.duration, histogram: [] } }), []);
});

test('a flow\'s own graph: the events of its deliveries, who sent them, the groups that handled them', () => {
  const graph = flowGraph(response);
  assert.ok(!('tooMany' in graph));
  assert.deepEqual(flowGraph(response, 3), { tooMany: 4 }, 'too big to draw small: not laid out');
  assert.deepEqual(graph.nodes.map((n) => n.id).sort(), ['event:OrderCreated', 'service:audit|audit', 'service:order|', 'service:payment|payment']);
  assert.deepEqual(graph.edges.map((e) => e.id).sort(), [
    'consume:OrderCreated->service:audit|audit', 'consume:OrderCreated->service:payment|payment', 'produce:service:order|->OrderCreated',
  ]);
});

test('a flow of hours reads in hours, one of milliseconds in milliseconds', () => {
  const hours = { ...response, spans: [http, { ...again, startTimeMs: T0 + 3 * 3_600_000, endTimeMs: T0 + 3 * 3_600_000 + 10 }] };
  const timeline = flowTimeline({ ...hours, hops: [], anomalies: [] });
  assert.equal(timeline.endMs - timeline.startMs, 3 * 3_600_000 + 10);
  assert.deepEqual([offsetLabel(0), offsetLabel(250), offsetLabel(1_500), offsetLabel(120_000), offsetLabel(3 * 3_600_000)], ['+0', '+250 ms', '+1.5 s', '+2.0 min', '+3.0 h']);
});
