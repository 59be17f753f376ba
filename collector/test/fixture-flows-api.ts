/**
 * Flow fixtures against a running collector: post a fixture's spans (in exports of a few spans, in a
 * shuffled order), and read its flows back through the API, checked against what the fixture expects.
 * Each fixture goes under a namespace, so many share one store.
 */
import assert from 'node:assert/strict';
import { seededRandom, waitFor } from '@choreoscope/test-support';
import type { FlowResponse, FlowsResponse } from '../src/api/types.ts';
import { DEFAULT_BUSINESS_KEY_ATTRIBUTES } from '../src/core/business-key.ts';
import { fixtureRequest, labelsBySpanId, spanIdOf, traceIdOf, type Fixture, type FixtureSpan } from './flow-fixtures.ts';
import { send } from './helpers.ts';

/** Keys as every fixture's instrumentation carries them: a collector for fixtures reads all these. */
export const FIXTURE_KEY_ATTRIBUTES = [...DEFAULT_BUSINESS_KEY_ATTRIBUTES, 'messaging.kafka.message.key', 'order.id'];

/** The fixture's spans as OTLP/JSON export bodies of at most `perExport` spans, in a shuffled order. */
export function fixtureExports(fixture: Fixture, namespace: string, perExport = 7): string[] {
  const random = seededRandom(namespace);
  const shuffled = [...fixture.spans].sort(() => random() - 0.5);
  const bodies: string[] = [];
  for (let at = 0; at < shuffled.length; at += perExport) bodies.push(JSON.stringify(fixtureRequest(fixture, shuffled.slice(at, at + perExport), namespace)));
  return bodies;
}

export async function postFixtureSpans(url: string, fixture: Fixture, spans: readonly FixtureSpan[], namespace: string): Promise<void> {
  const answer = await send(`${url}/v1/traces`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(fixtureRequest(fixture, spans, namespace)),
  });
  assert.equal(answer.status, 200, answer.text);
}

async function getJson<T>(url: string): Promise<T> {
  const answer = await send(url, {});
  assert.equal(answer.status, 200, `${url}: ${answer.text}`);
  return answer.json as T;
}

/** The flow holding the span, once it holds `size` spans. */
export async function flowWith(url: string, fixture: Fixture, label: string, namespace: string, size: number, timeoutMs = 20_000): Promise<FlowResponse> {
  const span = fixture.spans.find((s) => s.id === label)!;
  let flow: FlowResponse | undefined;
  let seen = '';
  await waitFor(async () => {
    const listed = await getJson<FlowsResponse>(`${url}/api/flows?traceId=${traceIdOf(span.trace, namespace)}&limit=1000`);
    for (const summary of listed.flows) {
      const candidate = await getJson<FlowResponse>(`${url}/api/flows/${summary.flowId}`);
      if (!candidate.spans.some((s) => s.spanId === spanIdOf(label, namespace))) continue;
      seen = `${candidate.spans.length} spans`;
      if (candidate.spans.length === size) flow = candidate;
    }
    return flow !== undefined;
  }, timeoutMs, () => `the flow of ${label} (${namespace}) with ${size} spans; seen ${seen || 'none'}`);
  return flow!;
}

/** One flow in the fixture's words: its id, its members' labels, its hops, its anomaly types. */
export interface FlowInWords {
  flowId: string;
  members: string[];
  hops: string[];
  anomalies: string[];
}

/**
 * Waits for each flow the fixture expects and checks its members, the hops of them all, and (when time
 * does not decide them: every unconsumed event is an orphan by the request's time) the anomaly types.
 */
export async function expectFixtureFlows(url: string, fixture: Fixture, namespace: string): Promise<FlowInWords[]> {
  const labels = labelsBySpanId(fixture, namespace);
  const label = (spanId: string) => labels.get(spanId) ?? spanId;
  const flows: FlowInWords[] = [];
  for (const members of fixture.expect.flows) {
    const flow = await flowWith(url, fixture, members[0]!, namespace, members.length);
    assert.deepEqual(flow.spans.map((s) => label(s.spanId)).sort(), [...members].sort(), `${fixture.name}: a flow's spans`);
    assert.equal(flow.flow.spanCount, members.length);
    flows.push({
      flowId: flow.flow.flowId,
      members: flow.spans.map((s) => label(s.spanId)).sort(),
      hops: flow.hops.map((hop) => {
        const from = hop.from === null ? '?' : label(hop.from.spanId);
        return `${hop.kind} ${from} -> ${label(hop.to.spanId)}${hop.joinedBy ? ` by ${hop.joinedBy}` : ''}${hop.pending ? ' pending' : ''}${hop.clockSkew ? ' skew' : ''}`;
      }).sort(),
      anomalies: flow.anomalies.map((a) => a.type).sort(),
    });
  }
  if (fixture.expect.hops) assert.deepEqual(flows.flatMap((f) => f.hops).sort(), [...fixture.expect.hops].sort(), `${fixture.name}: hops`);
  if (fixture.expect.anomalies && fixture.now === undefined) {
    const notOrphan = (type: string) => type !== 'orphan-event';
    assert.deepEqual(flows.flatMap((f) => f.anomalies).filter(notOrphan).sort(), fixture.expect.anomalies.map((a) => a.type).filter(notOrphan).sort(),
      `${fixture.name}: anomalies`);
  }
  return flows.sort((a, b) => (a.flowId < b.flowId ? -1 : 1));
}
