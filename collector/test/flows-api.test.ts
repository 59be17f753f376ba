/**
 * Flows through a real collector, on both stores: every fixture's spans posted over OTLP/JSON in a
 * shuffled order and split over several exports come back from GET /api/flows and /api/flows/:flowId
 * as the fixture expects (members, hops, anomaly types); the list's filters and pages; an absorbed
 * flow's id answering the survivor; the consumers of a producer; the propagation diagnostics; causal
 * order on tied start times; and every bad input answered with its catalogue code. The assembler keeps
 * no flow between rounds here, so every join goes through the store.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiErrorBody, FlowResponse, FlowsResponse, PropagationDiagnosticsResponse, SpanConsumersResponse } from '../src/api/types.ts';
import {
  FIXTURE_KEY_ATTRIBUTES, expectFixtureFlows, fixtureExports, flowWith as fixtureFlowWith, postFixtureSpans,
} from './fixture-flows-api.ts';
import { readFlowFixtures, spanIdOf, traceIdOf, type Fixture, type FixtureSpan } from './flow-fixtures.ts';
import { postTraces, send, startCollector, waitFor, type RunningCollector } from './helpers.ts';
import { forEachStore } from './stores.ts';

const fixtures = new Map(readFlowFixtures().map((fixture) => [fixture.name, fixture]));
const fixture = (name: string): Fixture => fixtures.get(name)!;

forEachStore((kind) => {
  let collector: RunningCollector;
  before(async () => {
    // the assembler forgets every flow after each round: each batch joins only what the store's lookups load back
    collector = await startCollector(kind, { server: { businessKeyAttributes: FIXTURE_KEY_ATTRIBUTES, flows: { pollIntervalMs: 50, residentIdleMs: 0 } } });
  });
  after(() => collector.close());

  const get = (path: string) => send(`${collector.url}${path}`, {});
  const getJson = async <T>(path: string): Promise<T> => {
    const answer = await get(path);
    assert.equal(answer.status, 200, `${path}: ${answer.text}`);
    return answer.json as T;
  };
  const errorCode = (body: unknown) => (body as ApiErrorBody).error.code;

  const post = (spec: Fixture, spans: readonly FixtureSpan[], namespace: string) => postFixtureSpans(collector.url, spec, spans, namespace);
  const flowWith = (spec: Fixture, label: string, namespace: string, size: number) => fixtureFlowWith(collector.url, spec, label, namespace, size);

  describe('every fixture, posted shuffled over several exports', () => {
    for (const spec of fixtures.values()) {
      test(spec.name, async () => {
        const namespace = `${kind.name}:${spec.name}:`;
        for (const body of fixtureExports(spec, namespace)) assert.equal((await postTraces(collector.url, body)).status, 200);
        await expectFixtureFlows(collector.url, spec, namespace);
      });
    }
  });

  test('the list: newest activity first, each filter, pages that neither repeat nor skip', async () => {
    const spec = fixture('official-each-batch');
    const namespace = `${kind.name}:list:`;
    await post(spec, spec.spans, namespace);
    const key = (i: number) => `${namespace}order-${i}`;
    await waitFor(async () => (await getJson<FlowsResponse>(`/api/flows?businessKey=${encodeURIComponent(key(20))}`)).flows[0]?.spanCount === 3, 20_000);

    const byKey = await getJson<FlowsResponse>(`/api/flows?businessKey=${encodeURIComponent(key(7))}`);
    assert.equal(byKey.flows.length, 1);
    assert.deepEqual(byKey.flows[0]!.businessKeys, [key(7)]);
    assert.deepEqual(byKey.flows[0]!.services, ['order', 'payment']);

    const service = `service=payment&eventType=${encodeURIComponent(`${namespace}orders`)}`;
    const pages: string[][] = [];
    let cursor: string | null = null;
    do {
      const page: FlowsResponse = await getJson<FlowsResponse>(`/api/flows?${service}&limit=6${cursor ? `&cursor=${cursor}` : ''}`);
      pages.push(page.flows.map((f) => f.flowId));
      const last: number[] = page.flows.map((f) => f.lastEventMs);
      assert.deepEqual(last, [...last].sort((a, b) => b - a), 'newest activity first');
      cursor = page.nextCursor;
    } while (cursor !== null);
    assert.deepEqual(pages.map((p) => p.length), [6, 6, 6, 2]);
    assert.equal(new Set(pages.flat()).size, 20);

    const pollTrace = traceIdOf('poll', namespace);
    assert.equal((await getJson<FlowsResponse>(`/api/flows?traceId=${pollTrace.toUpperCase()}&limit=100`)).flows.length, 20, 'the batch trace touches all 20');
    // the orders are sent 2 to 42 ms after the fixture's epoch and handled until 141 ms
    const epoch = Date.parse('2026-11-30T12:00:00Z');
    assert.equal((await getJson<FlowsResponse>(`/api/flows?${service}&start=${epoch + 142}&end=${epoch + 200}`)).flows.length, 0, 'none active after');
    assert.equal((await getJson<FlowsResponse>(`/api/flows?${service}&start=${epoch - 100}&end=${epoch + 2}`)).flows.length, 0, 'none before');
    assert.equal((await getJson<FlowsResponse>(`/api/flows?${service}&start=2026-11-30T12:00:00.100Z&end=${epoch + 120}&limit=100`)).flows.length, 20);
    assert.equal((await getJson<FlowsResponse>(`/api/flows?${service}&anomaly=duplicate-delivery`)).flows.length, 0);
  });

  test('an absorbed flow\'s id answers the flow that absorbed it; the consumers of a producer, each with how it was joined', async () => {
    const spec = fixture('merge-by-late-span');
    const namespace = `${kind.name}:merge:`;
    await post(spec, spec.spans.filter((s) => s.id !== 'payment.process'), namespace);
    const absorbedId = `${traceIdOf('p1', namespace)}-${spanIdOf('payment.send', namespace)}`;
    const survivorId = `${traceIdOf('o1', namespace)}-${spanIdOf('order.http', namespace)}`;
    await waitFor(async () => (await get(`/api/flows/${absorbedId}`)).status === 200, 20_000, () => 'the payment send\'s own flow');
    assert.equal((await getJson<FlowResponse>(`/api/flows/${absorbedId}`)).flow.spanCount, 1);

    await post(spec, spec.spans.filter((s) => s.id === 'payment.process'), namespace);
    await waitFor(async () => (await getJson<FlowResponse>(`/api/flows/${absorbedId}`)).flow.flowId === survivorId, 20_000);
    const merged = await getJson<FlowResponse>(`/api/flows/${absorbedId.toUpperCase()}`);
    assert.equal(merged.flow.spanCount, 4);
    assert.equal((await getJson<FlowsResponse>(`/api/flows?traceId=${traceIdOf('p1', namespace)}`)).flows.length, 1, 'the absorbed flow is gone from lists');

    const fan = fixture('fan-out-three-groups');
    const fanNamespace = `${kind.name}:fan:`;
    await post(fan, fan.spans, fanNamespace);
    await flowWith(fan, 'order.send', fanNamespace, 4);
    const consumers = await getJson<SpanConsumersResponse>(`/api/spans/${traceIdOf('o1', fanNamespace)}/${spanIdOf('order.send', fanNamespace)}/consumers`);
    assert.equal(consumers.producer.name, 'order.send');
    assert.deepEqual(consumers.consumers.map((c) => [c.consumerGroup, c.joinedBy, c.span.name]).sort(),
      [['inventory', 'parent', 'inventory.process'], ['notification', 'parent', 'notification.process'], ['payment', 'parent', 'payment.process']]);
    const none = await getJson<SpanConsumersResponse>(`/api/spans/${traceIdOf('o1', fanNamespace)}/${spanIdOf('payment.process', fanNamespace)}/consumers`);
    assert.deepEqual(none.consumers, [], 'a consumer span has no consumers');
  });

  test('the propagation diagnostics: where context is lost, per service and topic, with how each was matched and an example', async () => {
    const topics = new Map<string, string>();
    for (const name of ['gap-healed-by-message', 'gap-healed-by-key']) {
      const namespace = `${kind.name}:gaps:${name}:`;
      topics.set(name, `${namespace}orders`);
      await post(fixture(name), fixture(name).spans, namespace);
    }
    let gaps: PropagationDiagnosticsResponse['gaps'] = [];
    await waitFor(async () => {
      gaps = (await getJson<PropagationDiagnosticsResponse>('/api/diagnostics/propagation?start=2026-11-30T00:00:00Z')).gaps
        .filter((g) => [...topics.values()].includes(g.destination ?? ''));
      return gaps.length === 2;
    }, 20_000, () => `two gaps: ${JSON.stringify(gaps)}`);
    const inventory = gaps.find((g) => g.service === 'inventory')!;
    const topic = topics.get('gap-healed-by-message')!;
    assert.equal(inventory.destination, topic);
    assert.deepEqual({ ...inventory.matchedBy, lostHops: inventory.lostHops, flows: inventory.flows }, { message: 1, key: 0, none: 0, lostHops: 1, flows: 1 });
    assert.equal(inventory.message, `context lost at inventory on topic ${topic}`);
    const example = await getJson<FlowResponse>(`/api/flows/${inventory.exampleFlowId}`);
    assert.ok(example.anomalies.some((a) => a.type === 'propagation-gap' && a.service === 'inventory'));
    assert.deepEqual(gaps.find((g) => g.service === 'payment')!.matchedBy, { message: 0, key: 1, none: 0 });
  });

  test('a flow\'s spans answer in causal order: a parent before its child when their start times tie', async () => {
    const namespace = `${kind.name}:ties:`;
    // the child's id sorts before its parent's: only causality puts the parent first
    const spec: Fixture = {
      name: 'ties', description: '', expect: { flows: [] },
      spans: [
        { id: 'root', trace: 't', service: 'order', kind: 'server', start: 0, duration: 10 },
        { id: 'child-a', trace: 't', parent: 'root', service: 'order', kind: 'internal', start: 0, duration: 5 },
        { id: 'grandchild', trace: 't', parent: 'child-a', service: 'order', kind: 'internal', start: 0, duration: 1 },
      ],
    };
    assert.ok(spanIdOf('grandchild', namespace) < spanIdOf('root', namespace) || spanIdOf('child-a', namespace) < spanIdOf('root', namespace));
    await post(spec, [...spec.spans].reverse(), namespace);
    const flow = await flowWith(spec, 'root', namespace, 3);
    assert.deepEqual(flow.spans.map((s) => s.name), ['root', 'child-a', 'grandchild']);
  });

  test('bad input: each answered with its catalogue code', async () => {
    const cases: [path: string, status: number, code: string][] = [
      ['/api/flows/not-a-flow', 400, 'CHS_ERR_FLOW_ID_INVALID'],
      [`/api/flows/${'a'.repeat(32)}-${'b'.repeat(15)}`, 400, 'CHS_ERR_FLOW_ID_INVALID'],
      [`/api/flows/${'a'.repeat(32)}-${'b'.repeat(16)}`, 404, 'CHS_ERR_FLOW_NOT_FOUND'],
      ['/api/flows?anomaly=weird', 400, 'CHS_ERR_PARAMETER_INVALID'],
      ['/api/flows?traceId=xyz', 400, 'CHS_ERR_TRACE_ID_INVALID'],
      [`/api/flows?businessKey=${'k'.repeat(513)}`, 400, 'CHS_ERR_BUSINESS_KEY_INVALID'],
      [`/api/flows?eventType=${'e'.repeat(513)}`, 400, 'CHS_ERR_PARAMETER_INVALID'],
      ['/api/flows?start=2026-11-30T12:00:00Z&end=2026-11-30T11:00:00Z', 400, 'CHS_ERR_QUERY_TIME_INVALID'],
      ['/api/flows?limit=1001', 400, 'CHS_ERR_QUERY_LIMIT_INVALID'],
      ['/api/flows?cursor=bm9wZQ', 400, 'CHS_ERR_QUERY_CURSOR_INVALID'],
      ['/api/flows?page=2', 400, 'CHS_ERR_QUERY_PARAMETER_UNKNOWN'],
      [`/api/spans/${'a'.repeat(32)}/${'b'.repeat(16)}/consumers`, 404, 'CHS_ERR_SPAN_NOT_FOUND'],
      [`/api/spans/${'a'.repeat(32)}/nope/consumers`, 400, 'CHS_ERR_SPAN_ID_INVALID'],
      [`/api/spans/${'0'.repeat(32)}/${'b'.repeat(16)}/consumers`, 400, 'CHS_ERR_TRACE_ID_INVALID'],
      ['/api/diagnostics/propagation?start=soon', 400, 'CHS_ERR_QUERY_TIME_INVALID'],
      ['/api/diagnostics/propagation?since=1', 400, 'CHS_ERR_QUERY_PARAMETER_UNKNOWN'],
    ];
    for (const [path, status, code] of cases) {
      const answer = await get(path);
      assert.equal(answer.status, status, `${path}: ${answer.text}`);
      assert.equal(errorCode(answer.json), code, path);
    }
  });
});
