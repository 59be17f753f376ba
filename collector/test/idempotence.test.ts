import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ExportTraceServiceRequest } from '../src/ingest/otlp-schema.ts';
import type { TraceResponse } from '../src/api/types.ts';
import { jsonRequest, jsonSpan, postTraces, send, spanId, startCollector, traceId, type RunningCollector } from './helpers.ts';
import { forEachStore } from './stores.ts';

/** A batch of `count` spans in one trace, each linking to the same producer span. */
function batch(count: number) {
  const trace = traceId();
  const producer = { traceId: traceId(), spanId: spanId() };
  const spans = Array.from({ length: count }, (_, i) => jsonSpan({
    traceId: trace,
    name: `hop ${i}`,
    links: [{ ...producer, attributes: [] }],
    attributes: [{ key: 'choreoscope.business_key', value: { stringValue: `order-${trace}` } }],
  }));
  return { trace, producer, spans };
}

forEachStore((kind) => {
  let collector: RunningCollector;
  before(async () => {
    collector = await startCollector(kind);
  });
  after(() => collector.close());

  async function storedNames(trace: string): Promise<string[]> {
    const answer = await send(`${collector.url}/api/traces/${trace}`, {});
    assert.equal(answer.status, 200);
    return (answer.json as TraceResponse).spans.map((s) => s.name).sort();
  }

  test('the same batch posted twice stores each span once, and its links once', async () => {
    const { trace, producer, spans } = batch(20);
    const body = JSON.stringify(jsonRequest(spans));
    for (let attempt = 0; attempt < 2; attempt++) {
      const answer = await postTraces(collector.url, body);
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.json, {}, 'a duplicate is a full success, not a rejection');
    }
    assert.equal((await storedNames(trace)).length, 20);
    const linking = await collector.store.spansLinkingTo(producer.traceId, producer.spanId);
    assert.equal(linking.length, 20);
  });

  test('a re-sent span keeps its first version, whatever the second one says, in either encoding', async () => {
    const { trace, spans } = batch(3);
    assert.equal((await postTraces(collector.url, JSON.stringify(jsonRequest(spans)))).status, 200);

    const renamed = spans.map((span) => ({
      ...span,
      traceId: Buffer.from(String(span.traceId), 'hex'),
      spanId: Buffer.from(String(span.spanId), 'hex'),
      links: [],
      name: 'renamed',
    }));
    const protobuf = ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject({ resourceSpans: [{ scopeSpans: [{ spans: renamed }] }] })).finish();
    const answer = await postTraces(collector.url, protobuf, { 'content-type': 'application/x-protobuf' });
    assert.equal(answer.status, 200);
    assert.deepEqual(await storedNames(trace), ['hop 0', 'hop 1', 'hop 2']);
  });

  test('the store counts what was new and what was already there, also within one group of requests', async () => {
    const { spans } = batch(5);
    const records = (await collector.store.spansOfTrace(String(spans[0]!.traceId)));
    assert.equal(records.length, 0);
    // decode through the server once so the records are real ones
    assert.equal((await postTraces(collector.url, JSON.stringify(jsonRequest(spans)))).status, 200);
    const stored = await collector.store.spansOfTrace(String(spans[0]!.traceId));
    assert.deepEqual(await collector.store.writeSpans(stored), { stored: 0, duplicates: 5 });

    const fresh = stored.map((span, i) => ({ ...span, spanId: spanId(), name: `fresh ${i}` }));
    const [first, second] = await Promise.all([collector.store.writeSpans(fresh), collector.store.writeSpans(fresh)]);
    assert.deepEqual([first, second], [{ stored: 5, duplicates: 0 }, { stored: 0, duplicates: 5 }]);
  });
});
