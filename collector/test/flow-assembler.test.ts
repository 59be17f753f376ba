/**
 * The assembler's bookkeeping and its behaviour on hostile input: merges report the absorbed id and the
 * absorbed anchor still finds the surviving flow; eviction forgets only what the store holds; loops,
 * self-references, oversized and over-shared keys and oversized flows are reported and bounded.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowAssembler } from '../src/core/assemble.ts';
import { describeFlow } from '../src/core/describe-flow.ts';
import { flowIdOf, type FlowId } from '../src/core/flow.ts';
import type { FlowSpan } from '../src/core/flow-span.ts';
import { inCausalOrder } from '../src/core/causal-order.ts';
import { spanIdOf, traceIdOf } from './flow-fixtures.ts';

const T0 = Date.UTC(2026, 10, 30);

/** A span's flow facts, by labels; a producer of topic `orders` unless told otherwise. */
function span(label: string, trace: string, fields: Partial<Omit<FlowSpan, 'parentKey' | 'links'>> & { parent?: string; links?: string[] } = {}): FlowSpan {
  const { parent, links, ...rest } = fields;
  const traceId = traceIdOf(trace);
  const spanId = spanIdOf(label);
  return {
    key: `${traceId}/${spanId}`,
    traceId,
    spanId,
    parentKey: parent === undefined ? null : `${traceId}/${spanIdOf(parent)}`,
    role: 'producer',
    serviceName: 'svc',
    host: 'host',
    startMs: T0,
    endMs: T0 + 1,
    error: false,
    destination: 'orders',
    message: null,
    consumerGroup: null,
    eventType: 'OrderCreated',
    businessKey: null,
    attempt: null,
    contextStatus: null,
    links: (links ?? []).map((l) => { const [t, s] = l.split('/') as [string, string]; return `${traceIdOf(t)}/${spanIdOf(s)}`; }),
    ...rest,
  };
}

const idOf = (s: FlowSpan): FlowId => flowIdOf(s);

describe('merging and naming', () => {
  test('a late span joining two stored flows merges them: the earlier anchor names the result, the other id is reported removed and still finds it', () => {
    const assembler = new FlowAssembler();
    const http = span('order.http', 'o1', { role: 'internal', startMs: T0 });
    const send = span('order.send', 'o1', { parent: 'order.http', startMs: T0 + 5 });
    const paySend = span('payment.send', 'p1', { parent: 'payment.process', startMs: T0 + 12, destination: 'payments' });
    assembler.add([http, send, paySend], T0);
    const first = assembler.takeChanges();
    assert.deepEqual(first.flows.map((f) => f.id).sort(), [idOf(http), idOf(paySend)].sort(), 'two flows: the payment send waits for its parent');
    assert.deepEqual(first.removed, []);
    assert.equal(first.moved.length, 3);

    const process = span('payment.process', 'p1', { role: 'consumer', startMs: T0 + 10, links: ['o1/order.send'] });
    assembler.add([process], T0 + 100);
    const second = assembler.takeChanges();
    assert.deepEqual(second.flows.map((f) => f.id), [idOf(http)]);
    assert.deepEqual(second.removed, [idOf(paySend)], 'the absorbed flow is gone from the store');
    assert.deepEqual(second.moved.map((m) => m.span.key).sort(), [paySend.key, process.key].sort(), 'only spans whose flow changed are written');
    assert.deepEqual(first.moved.map((m) => m.first), [true, true, true]);
    assert.equal(second.moved.find((m) => m.span.key === paySend.key)?.first, false, 'moving to another flow is not a first placing');
    assert.equal(second.moved.find((m) => m.span.key === process.key)?.first, true);
    assert.equal(assembler.flowOf(idOf(paySend))?.id, idOf(http), 'the absorbed id finds the surviving flow');
    assert.equal(assembler.takeChanges().flows.length, 0, 'nothing more to store');
  });

  test('an earlier span renames its flow; a flow merged away and back is not reported removed', () => {
    const assembler = new FlowAssembler();
    const child = span('child', 't', { parent: 'root', startMs: T0 + 5 });
    assembler.add([child], T0);
    assert.deepEqual(assembler.takeChanges().flows.map((f) => f.id), [idOf(child)]);
    const root = span('root', 't', { role: 'internal', startMs: T0 });
    assembler.add([root], T0);
    const changes = assembler.takeChanges();
    assert.deepEqual(changes.flows.map((f) => f.id), [idOf(root)]);
    assert.deepEqual(changes.removed, [idOf(child)]);
  });

  test('a parent span that turns out to be a batch joins none of its children', () => {
    const assembler = new FlowAssembler();
    const a = span('a', 'poll', { role: 'consumer', parent: 'poll', links: ['o1/send1'] });
    const b = span('b', 'poll', { role: 'consumer', parent: 'poll', links: ['o2/send2'] });
    assembler.add([a, b], T0);
    assert.equal(assembler.stats.pendingReferences, 3, 'the poll and both producers are awaited');
    assembler.add([span('poll', 'poll', { role: 'batch' })], T0);
    assert.notEqual(assembler.flowOf(a.key)?.id, assembler.flowOf(b.key)?.id);
    assert.equal(assembler.flowOf(`${traceIdOf('poll')}/${spanIdOf('poll')}`), undefined);
    assert.equal(assembler.stats.batchSpans, 1);
  });
});

describe('shared keys are counted as chains that can never connect', () => {
  test('the consumers of one event reported before its producer are one chain: the key is not shared', () => {
    for (const producerFirst of [true, false]) {
      const assembler = new FlowAssembler();
      const producer = span('send', 'o', { businessKey: 'order-1', startMs: T0 });
      const consumers = Array.from({ length: 40 }, (_, i) => span(`c${i}`, 'o', { role: 'consumer', parent: 'send', businessKey: 'order-1', startMs: T0 + 1 + i }));
      assembler.add(producerFirst ? [producer, ...consumers] : [...consumers, producer], T0);
      assert.equal(assembler.isShared('order-1'), false, `producer first: ${producerFirst}`);
      assert.equal(assembler.stats.flows, 1);
    }
  });

  test('taking a stored flow back in never finds its key shared: the store says whether it is', () => {
    const first = new FlowAssembler({ maxSegmentsPerKey: 2 });
    const chains = Array.from({ length: 3 }, (_, i) => span(`s${i}`, `t${i}`, { businessKey: 'k', startMs: T0 + i }));
    first.add([chains[0]!, chains[1]!], T0); // two chains: not over the limit of 2
    const stored = first.takeChanges().moved.map(({ span: s, flowId }) => ({ span: s, flowId }));
    const second = new FlowAssembler({ maxSegmentsPerKey: 2 });
    second.load([...stored, ...stored], [], T0);
    assert.equal(second.isShared('k'), false);
    assert.deepEqual(second.takeChanges().sharedKeys, []);
  });
});

describe('loading stored flows', () => {
  test('a stored flow taken back in under another id (its anchor deleted by retention) has the old id removed', () => {
    const assembler = new FlowAssembler();
    const anchorGone = `${traceIdOf('t')}-${spanIdOf('gone')}`;
    const a = span('a', 't', { startMs: T0 + 5 });
    const b = span('b', 't', { parent: 'a', startMs: T0 + 6 });
    assembler.load([{ span: a, flowId: anchorGone }, { span: b, flowId: anchorGone }], [], T0);
    const changes = assembler.takeChanges();
    assert.deepEqual(changes.flows.map((f) => f.id), [idOf(a)]);
    assert.deepEqual(changes.removed, [anchorGone]);
    assert.equal(changes.moved.length, 2);
  });

  test('two stored flows that a load merges: the absorbed one\'s id is removed', () => {
    const assembler = new FlowAssembler();
    const producer = span('p', 'o', { message: 'orders/0/1', startMs: T0 });
    const consumer = span('c', 'x', { role: 'consumer', message: 'orders/0/1', startMs: T0 + 5 });
    assembler.load([{ span: producer, flowId: idOf(producer) }, { span: consumer, flowId: idOf(consumer) }], [], T0);
    const changes = assembler.takeChanges();
    assert.deepEqual(changes.removed, [idOf(consumer)]);
    assert.deepEqual(changes.moved.map((m) => [m.span.key, m.flowId]), [[consumer.key, idOf(producer)]]);
  });
});

describe('eviction', () => {
  test('idle flows are forgotten, flows touched since are kept, and pending references of the forgotten go too', () => {
    const assembler = new FlowAssembler();
    assembler.add([span('old', 'a', { parent: 'missing' })], T0);
    assembler.add([span('new', 'b')], T0 + 10_000);
    assert.equal(assembler.evictIdle(T0 + 5_000), 0, 'changes not yet stored are never evicted');
    assert.equal(assembler.evictIdle(T0 - 1), 0, 'nothing was last touched that early');
    assembler.takeChanges();
    assert.equal(assembler.evictIdle(T0 + 5_000), 1);
    assert.deepEqual(assembler.stats, { flows: 1, spans: 1, batchSpans: 0, pendingReferences: 0, sharedKeys: 0, rows: 1, names: 4 });
    assert.equal(assembler.holds(span('old', 'a').key), false);
    assert.equal(assembler.holds(span('new', 'b').key), true);
  });

  test('past the most flows held, the least recently touched leave first', () => {
    const assembler = new FlowAssembler();
    for (let i = 0; i < 5; i += 1) assembler.add([span(`s${i}`, `t${i}`)], T0 + i);
    assembler.takeChanges();
    assert.equal(assembler.evictIdle(T0 - 1, 2), 3);
    assert.deepEqual([...assembler.flows].map((flow) => flow.spans()[0]!.key).sort(), [span('s3', 't3').key, span('s4', 't4').key].sort());
  });
});

describe('hostile input is reported and bounded', () => {
  test('a span that is its own parent, or links to itself', () => {
    const assembler = new FlowAssembler();
    const self = span('self', 't', { parent: 'self' });
    const linked = span('linked', 'u', { links: ['u/linked'], role: 'consumer' });
    const result = assembler.add([self, linked], T0);
    assert.deepEqual(result.problems, [
      { spanKey: self.key, problem: 'the span is its own parent' },
      { spanKey: linked.key, problem: 'the span links to itself' },
    ]);
    assert.equal(assembler.flowOf(self.key)?.size, 1);
    assert.equal(assembler.flowOf(linked.key)?.size, 1);
    assert.equal(assembler.stats.pendingReferences, 0, 'nothing waits for a span that is here');
  });

  test('a parent cycle across spans and link loops between traces: one flow, and describing it ends', () => {
    const assembler = new FlowAssembler();
    const a = span('a', 't', { parent: 'b', startMs: T0 });
    const b = span('b', 't', { parent: 'c', startMs: T0 });
    const c = span('c', 't', { parent: 'a', startMs: T0 });
    const x = span('x', 'u', { links: ['v/y'], role: 'consumer' });
    const y = span('y', 'v', { links: ['u/x'], role: 'consumer' });
    assembler.add([a, b, c, x, y], T0);
    assert.equal(assembler.flowOf(a.key)?.id, assembler.flowOf(c.key)?.id);
    assert.equal(assembler.flowOf(x.key)?.id, assembler.flowOf(y.key)?.id);
    assert.notEqual(assembler.flowOf(a.key)?.id, assembler.flowOf(x.key)?.id);
    const flow = assembler.flowOf(a.key)!;
    const described = describeFlow(flow.id, flow.spans(), T0);
    assert.equal(described.spans.length, 3);
    assert.equal(inCausalOrder([a, b, c]).length, 3);
  });

  test('a business key of 10,000 characters is reported and does not join', () => {
    const assembler = new FlowAssembler();
    const key = 'k'.repeat(10_000);
    const result = assembler.add([span('a', 't1', { businessKey: key }), span('b', 't2', { businessKey: key })], T0);
    assert.equal(result.problems.length, 2);
    assert.match(result.problems[0]!.problem, /10000 characters long/);
    assert.equal(assembler.stats.flows, 2);
  });

  test('one key on 100,000 spans of separate traces: found shared, 100,000 flows of one span', () => {
    const assembler = new FlowAssembler();
    const spans = Array.from({ length: 100_000 }, (_, i) => span(`s${i}`, `t${i}`, { businessKey: 'constant', startMs: T0 + i }));
    for (let at = 0; at < spans.length; at += 1_000) assembler.add(spans.slice(at, at + 1_000), T0);
    const changes = assembler.takeChanges();
    assert.deepEqual(changes.sharedKeys, ['constant']);
    assert.equal(assembler.stats.flows, 100_000);
    assert.ok([...assembler.flows].every((flow) => flow.size === 1));
    assert.ok(assembler.isShared('constant'));
  });

  test('a flow of 200,000 spans described whole: no argument list overflows', () => {
    const spans = Array.from({ length: 200_000 }, (_, i) => span(`w${i}`, 'wide', { parent: i === 0 ? undefined : 'w0', startMs: T0 + i, endMs: T0 + i + 1, role: 'internal' }));
    const described = describeFlow(idOf(spans[0]!), spans, T0, { maxFlowSpans: 200_000 });
    assert.equal(described.facts.spanCount, 200_000);
    assert.equal(described.facts.durationMs, 200_000);
  });

  test('one key on 100,000 spans of one trace: one flow, described up to its limit and told truncated', () => {
    const assembler = new FlowAssembler();
    const spans = Array.from({ length: 100_000 }, (_, i) => span(`s${i}`, 'one', { businessKey: 'order-1', parent: i === 0 ? undefined : `s${i - 1}`, startMs: T0 + i }));
    assembler.add(spans, T0);
    assert.equal(assembler.stats.flows, 1);
    assert.equal(assembler.isShared('order-1'), false, 'one chain is not a shared key');
    const flow = assembler.flowOf(spans[0]!.key)!;
    const described = describeFlow(flow.id, flow.spans(), T0, { maxFlowSpans: 10_000 });
    assert.equal(described.spans.length, 10_000);
    assert.equal(described.facts.spanCount, 100_000);
    assert.equal(described.facts.droppedSpans, 90_000);
    assert.deepEqual(described.anomalies.filter((a) => a.type === 'truncated').map((a) => a.type === 'truncated' && a.droppedSpans), [90_000]);
  });
});
