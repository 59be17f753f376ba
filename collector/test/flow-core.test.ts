/**
 * The pure flow core over the fixtures in fixtures/flows/: each one's spans assembled into the flows it
 * expects, with the hops and anomalies it expects; then the same spans in random orders and batchings
 * give the same flows, ids, hops and anomalies (order independence), and the changes reported along
 * the way, applied to a store, leave it holding exactly those flows. Last, the same with the working set
 * emptied after every batch, so each batch is joined only against what the lookups load back.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '@choreoscope/test-support';
import { FlowAssembler, type FlowChanges, type StoredFlowSpan } from '../src/core/assemble.ts';
import { lookupsFor, type FlowLookups } from '../src/core/flow-lookups.ts';
import { describeFlow } from '../src/core/describe-flow.ts';
import type { Anomaly, Hop } from '../src/core/flow.ts';
import { toFlowSpan, type FlowSpan } from '../src/core/flow-span.ts';
import { EPOCH_MS, fixtureRecords, labelsBySpanId, readFlowFixtures, type Fixture } from './flow-fixtures.ts';

interface AssembledFixture {
  /** Each flow: its id (as the anchor's label), members' labels sorted, hops and anomalies in the fixture's words. */
  flows: { anchor: string; members: string[]; hops: string[]; anomalies: unknown[] }[];
  batch: string[];
}

function nowOf(fixture: Fixture): number {
  return EPOCH_MS + (fixture.now ?? Math.max(...fixture.spans.map((s) => s.start + (s.duration ?? 1))) + 1_000);
}

function hopText(hop: Hop, label: (spanId: string) => string): string {
  const from = hop.from === null ? '?' : label(hop.from.spanId);
  const how = hop.joinedBy === null ? '' : ` by ${hop.joinedBy}`;
  return `${hop.kind} ${from} -> ${label(hop.to.spanId)}${how}${hop.pending ? ' pending' : ''}${hop.clockSkew ? ' skew' : ''}`;
}

/** The anomaly with span references replaced by labels, and its message left out. */
function labelled(value: unknown, label: (spanId: string) => string): unknown {
  if (Array.isArray(value)) return value.map((v) => labelled(v, label));
  if (value !== null && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    if (typeof object.spanId === 'string' && typeof object.traceId === 'string' && Object.keys(object).length === 2) return label(object.spanId);
    return Object.fromEntries(Object.entries(object).filter(([k]) => k !== 'message').map(([k, v]) => [k, labelled(v, label)]));
  }
  return value;
}

function assemble(fixture: Fixture, batches: FlowSpan[][]): AssembledFixture & { assembler: FlowAssembler; store: Map<string, string>; storedFlows: Set<string> } {
  const assembler = new FlowAssembler({ maxSegmentsPerKey: fixture.maxSegmentsPerKey });
  const nowMs = nowOf(fixture);
  // what a store would hold if it applied every change reported, batch by batch
  const store = new Map<string, string>();
  const storedFlows = new Set<string>();
  for (const batch of batches) {
    const result = assembler.add(batch, nowMs);
    assert.deepEqual(result.problems, []);
    const changes = assembler.takeChanges();
    for (const id of changes.removed) storedFlows.delete(id);
    for (const flow of changes.flows) storedFlows.add(flow.id);
    for (const { span, flowId } of changes.moved) store.set(span.key, flowId);
  }
  const byId = labelsBySpanId(fixture);
  const label = (spanId: string) => byId.get(spanId) ?? spanId;
  const flows = [...assembler.flows].map((flow) => {
    const described = describeFlow(flow.id, flow.spans(), nowMs, {
      orphanAfterMs: fixture.orphanAfterMs, isSharedKey: (key) => assembler.isShared(key),
    });
    return {
      anchor: label(flow.id.split('-')[1]!),
      members: flow.spans().map((s) => label(s.spanId)).sort(),
      hops: described.hops.map((hop) => hopText(hop, label)).sort(),
      anomalies: described.anomalies.map((a) => labelled(a, label)),
    };
  }).sort((a, b) => (a.anchor < b.anchor ? -1 : 1));
  const members = new Set(flows.flatMap((f) => f.members));
  const batch = fixture.spans.map((s) => s.id).filter((id) => !members.has(id)).sort();
  return { flows, batch, assembler, store, storedFlows };
}

const flowSpansOf = (fixture: Fixture): FlowSpan[] => fixtureRecords(fixture).map(toFlowSpan);

/**
 * What the flow tables would hold after applying the assembler's changes (members, flows, shared keys,
 * waiting references), with the lookups answered over them the way the store answers them
 * (store/flow-tables.ts).
 */
class StoredFlows {
  readonly members = new Map<string, string>();
  readonly spans = new Map<string, FlowSpan>();
  readonly flows = new Set<string>();
  readonly shared = new Set<string>();
  /** target → the spans waiting for it */
  readonly pending = new Map<string, Set<string>>();
  readonly batchSpans = new Map<string, FlowSpan>();

  apply(changes: FlowChanges): void {
    for (const id of changes.removed) this.flows.delete(id);
    for (const flow of changes.flows) this.flows.add(flow.id);
    for (const { span, flowId } of changes.moved) {
      this.members.set(span.key, flowId);
      this.spans.set(span.key, span);
    }
    for (const key of changes.sharedKeys) this.shared.add(key);
    for (const span of changes.batchSpans) this.batchSpans.set(span.key, span);
    for (const target of changes.resolved) this.pending.delete(target);
    for (const { target, referrer } of changes.waiting) this.pending.set(target, new Set([...(this.pending.get(target) ?? []), referrer]));
  }

  load(lookups: FlowLookups): { stored: StoredFlowSpan[]; shared: string[] } {
    const flowIds = new Set<string>();
    const flowOf = (key: string) => {
      const flowId = this.members.get(key);
      if (flowId !== undefined) flowIds.add(flowId);
    };
    for (const key of lookups.spans) flowOf(key);
    for (const target of lookups.referrersOf) for (const referrer of this.pending.get(target) ?? []) flowOf(referrer);
    for (const [key, flowId] of this.members) {
      const span = this.spans.get(key)!;
      if ((span.message !== null && lookups.messages.includes(span.message))
        || (span.businessKey !== null && lookups.keys.includes(span.businessKey) && !this.shared.has(span.businessKey))) flowIds.add(flowId);
    }
    const stored: StoredFlowSpan[] = [...this.members].filter(([, flowId]) => flowIds.has(flowId)).map(([key, flowId]) => ({ span: this.spans.get(key)!, flowId }));
    for (const key of lookups.spans) {
      const batch = this.batchSpans.get(key);
      if (batch) stored.push({ span: batch, flowId: null });
    }
    const keys = new Set([...stored.map((s) => s.span.businessKey), ...lookups.keys]);
    return { stored, shared: [...this.shared].filter((key) => keys.has(key)) };
  }
}

for (const fixture of readFlowFixtures()) {
  describe(fixture.name, () => {
    test(fixture.description, () => {
      const spans = flowSpansOf(fixture);
      const result = assemble(fixture, spans.map((s) => [s]));
      const { expect } = fixture;
      assert.deepEqual(result.flows.map((f) => f.members).sort(), expect.flows.map((f) => [...f].sort()).sort(), 'the flows');
      assert.deepEqual(result.batch, [...(expect.batch ?? [])].sort(), 'the spans in no flow');
      if (expect.hops) assert.deepEqual(result.flows.flatMap((f) => f.hops).sort(), [...expect.hops].sort(), 'the hops');
      if (expect.anomalies) {
        const actual = result.flows.flatMap((f) => f.anomalies) as (Anomaly & Record<string, unknown>)[];
        assert.deepEqual(actual.map((a) => a.type).sort(), expect.anomalies.map((a) => a.type).sort(), `the anomalies: ${JSON.stringify(actual)}`);
        for (const wanted of expect.anomalies) {
          const match = actual.some((a) => a.type === wanted.type && Object.entries(wanted).every(([k, v]) => {
            try {
              assert.deepEqual(a[k], v);
              return true;
            } catch {
              return false;
            }
          }));
          assert.ok(match, `an anomaly like ${JSON.stringify(wanted)} among ${JSON.stringify(actual)}`);
        }
      }
    });

    test('the same flows, ids, hops and anomalies whatever the order and batching of arrival; the reported changes add up', () => {
      const spans = flowSpansOf(fixture);
      const expected = assemble(fixture, [spans]);
      const random = seededRandom(`flow-order-${fixture.name}`);
      for (let round = 0; round < 25; round += 1) {
        const shuffled = [...spans];
        for (let i = shuffled.length - 1; i > 0; i -= 1) {
          const j = Math.floor(random() * (i + 1));
          [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
        }
        const batches: FlowSpan[][] = [];
        for (let at = 0; at < shuffled.length;) {
          const size = 1 + Math.floor(random() * 6);
          batches.push(shuffled.slice(at, at + size));
          at += size;
        }
        const result = assemble(fixture, batches);
        assert.deepEqual({ flows: result.flows, batch: result.batch }, { flows: expected.flows, batch: expected.batch }, `round ${round}`);
        // the store, fed only the changes, holds every flow's spans under its id and no other flow
        const live = new Map<string, string>();
        for (const flow of result.assembler.flows) for (const span of flow.spans()) live.set(span.key, flow.id);
        assert.deepEqual(new Map([...result.store].sort()), new Map([...live].sort()), `round ${round}: stored members`);
        assert.deepEqual([...result.storedFlows].sort(), [...new Set(live.values())].sort(), `round ${round}: stored flow ids`);
      }
    });

    test('the same flows when the working set is emptied after every batch and the lookups load back what each batch touches', () => {
      const spans = flowSpansOf(fixture);
      const expected = assemble(fixture, [spans]);
      const expectedMembers = new Map<string, string>();
      for (const flow of expected.assembler.flows) for (const span of flow.spans()) expectedMembers.set(span.key, flow.id);
      const random = seededRandom(`flow-reload-${fixture.name}`);
      for (let round = 0; round < 10; round += 1) {
        const shuffled = [...spans].sort(() => random() - 0.5);
        const store = new StoredFlows();
        const assembler = new FlowAssembler({ maxSegmentsPerKey: fixture.maxSegmentsPerKey });
        for (let at = 0; at < shuffled.length;) {
          const batch = shuffled.slice(at, at + 1 + Math.floor(random() * 4));
          at += batch.length;
          const loaded = store.load(lookupsFor(batch, assembler));
          assembler.load(loaded.stored, loaded.shared, EPOCH_MS);
          assembler.add(batch, EPOCH_MS);
          store.apply(assembler.takeChanges());
          assembler.evictIdle(Number.POSITIVE_INFINITY);
          assert.equal(assembler.stats.flows, 0, 'evicted');
        }
        assert.deepEqual(new Map([...store.members].sort()), new Map([...expectedMembers].sort()), `round ${round}: stored members`);
        assert.deepEqual([...store.flows].sort(), [...new Set(expectedMembers.values())].sort(), `round ${round}: stored flow ids`);
        // what still waits is what never arrived
        const arrived = new Set(spans.map((s) => s.key));
        assert.ok([...store.pending.keys()].every((target) => !arrived.has(target)), `round ${round}: no reference waits for a span that arrived`);
      }
    });
  });
}
