import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanKind, context, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type {
  ApiErrorBody, FlowSpansResponse, OperationsResponse, ServicesResponse, SpanLinksResponse,
} from '../src/api/types.ts';
import { send, spanId, startCollector, traceId, type RunningCollector } from './helpers.ts';
import { keyOf, keysOf, postSeeds, type Seed } from './seed-spans.ts';
import { forEachStore } from './stores.ts';

/** A service's tracer exporting over OTLP/protobuf with the SDK's own exporter, one span at a time. */
function sdkService(url: string, service: string) {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `${url}/v1/traces` }))],
  });
  return { tracer: provider.getTracer('choreoscope-test'), done: () => provider.shutdown() };
}

forEachStore((kind) => {
  let collector: RunningCollector;
  before(async () => {
    collector = await startCollector(kind);
  });
  after(() => collector.close());

  const get = (path: string) => send(`${collector.url}${path}`, {});
  const errorCode = (body: unknown) => (body as ApiErrorBody).error.code;

  test('links both ways: the consumers of a producer span, and the producers a batch consumer read', async () => {
    const orders = sdkService(collector.url, 'orders');
    // explicit start times: two spans started in the same millisecond would tie on start time
    const startedAt = Date.now();
    const produce = (n: number) => {
      const span = orders.tracer.startSpan(
        `orders publish ${n}`, { kind: SpanKind.PRODUCER, startTime: startedAt + n }, context.active());
      span.end(startedAt + n + 1);
      return span.spanContext();
    };
    const [first, second] = [produce(1), produce(2)];
    await orders.done();

    const shipping = sdkService(collector.url, 'shipping');
    // a batch consumer in a trace of its own links every message it read, and one whose producer never reported
    const missing = { traceId: traceId(), spanId: spanId(), traceFlags: 1 };
    const batch = shipping.tracer.startSpan('orders process', {
      kind: SpanKind.CONSUMER, links: [{ context: first }, { context: second }, { context: missing }, { context: first }],
    }, trace.deleteSpan(context.active()));
    batch.end();
    const retry = shipping.tracer.startSpan('orders retry', { kind: SpanKind.CONSUMER, links: [{ context: first }] });
    retry.end();
    await shipping.done();
    const [consumer, retrier] = [batch.spanContext(), retry.spanContext()];

    const fromProducer = await get(`/api/links/${first.traceId}/${first.spanId.toUpperCase()}`);
    assert.equal(fromProducer.status, 200, fromProducer.text);
    const producerLinks = fromProducer.json as SpanLinksResponse;
    assert.equal(producerLinks.spanId, first.spanId);
    assert.deepEqual(producerLinks.linkedBy.map(keyOf).sort(), [keyOf(consumer), keyOf(retrier)].sort(), 'who consumed it, each once');
    assert.deepEqual(producerLinks.linksTo, []);
    assert.equal(producerLinks.linkedBy.find((s) => s.spanId === consumer.spanId)?.serviceName, 'shipping');

    const fromConsumer = (await get(`/api/links/${consumer.traceId}/${consumer.spanId}`)).json as SpanLinksResponse;
    assert.deepEqual(fromConsumer.linksTo.map(keyOf), [keyOf(first), keyOf(second)], 'the stored producers, by start time, each once');
    assert.deepEqual(fromConsumer.linkedBy, []);
    assert.equal(fromConsumer.linksTo[0]?.kind, 'producer');

    const fromMissing = (await get(`/api/links/${missing.traceId}/${missing.spanId}`)).json as SpanLinksResponse;
    assert.deepEqual(fromMissing.linkedBy.map(keyOf), [keyOf(consumer)], 'a producer not stored is still found consumed');

    const badTrace = await get(`/api/links/xyz/${first.spanId}`);
    assert.equal(badTrace.status, 400);
    assert.equal(errorCode(badTrace.json), 'CHS_ERR_TRACE_ID_INVALID');
    for (const badSpan of ['0'.repeat(16), 'abc', 'g'.repeat(16), `${first.spanId}00`]) {
      const answer = await get(`/api/links/${first.traceId}/${badSpan}`);
      assert.equal(answer.status, 400, badSpan);
      assert.equal(errorCode(answer.json), 'CHS_ERR_SPAN_ID_INVALID', badSpan);
    }
  });

  test('services with their span counts and last activity; a service\'s operations with their kinds', async () => {
    await postSeeds(collector.url, [
      { service: 'billing', name: 'invoice', startMs: 1_000_000, durationMs: 5 },
      { service: 'billing', name: 'invoice', startMs: 2_000_000, durationMs: 7 },
      { service: 'billing', name: 'send invoice', startMs: 1_500_000, durationMs: 1 },
      { service: 'billing/eu ü', name: 'x', startMs: 1_000, durationMs: 1 },
    ]);
    const services = (await get('/api/services')).json as ServicesResponse;
    const billing = services.services.find((s) => s.name === 'billing');
    assert.deepEqual(billing, { name: 'billing', spanCount: 3, lastSeenMs: 2_000_007 });
    const names = services.services.map((s) => s.name);
    assert.deepEqual(names, [...names].sort(), 'by name');
    assert.ok(names.includes('billing/eu ü') && names.includes('orders') && names.includes('shipping'));

    const operations = await get('/api/services/billing/operations');
    assert.equal(operations.status, 200, operations.text);
    assert.deepEqual(operations.json as OperationsResponse, {
      service: 'billing',
      operations: [{ name: 'invoice', kind: 'consumer', spanCount: 2 }, { name: 'send invoice', kind: 'consumer', spanCount: 1 }],
    });
    const shipping = (await get('/api/services/shipping/operations')).json as OperationsResponse;
    assert.deepEqual(shipping.operations.map((o) => [o.name, o.kind]), [['orders process', 'consumer'], ['orders retry', 'consumer']]);
    const escaped = (await get(`/api/services/${encodeURIComponent('billing/eu ü')}/operations`)).json as OperationsResponse;
    assert.equal(escaped.service, 'billing/eu ü');

    const unknown = await get('/api/services/nobody/operations');
    assert.equal(unknown.status, 404);
    assert.equal(errorCode(unknown.json), 'CHS_ERR_SERVICE_NOT_FOUND');
    const long = await get(`/api/services/${'s'.repeat(513)}/operations`);
    assert.equal(long.status, 400);
    assert.equal(errorCode(long.json), 'CHS_ERR_PARAMETER_INVALID');
  });

  test('a flow pages oldest first by cursor, later spans joining its end as they arrive', async () => {
    const flow = (startMs: number): Seed => ({ service: 'orders', name: 'step', startMs, durationMs: 1, businessKey: 'order-paged' });
    const seeded = await postSeeds(collector.url, [5, 1, 4, 2, 3, 3, 6].map((s) => flow(Date.UTC(2025, 3, 1) + s)));
    const pages: FlowSpansResponse[] = [];
    let cursor: string | null = null;
    do {
      const answer = await get(`/api/flows/order-paged/spans?limit=3${cursor === null ? '' : `&cursor=${cursor}`}`);
      assert.equal(answer.status, 200, answer.text);
      pages.push(answer.json as FlowSpansResponse);
      cursor = pages.at(-1)!.nextCursor;
      // after the first page, one span later than all (it will be read) and one earlier (it will not)
      if (pages.length === 1) await postSeeds(collector.url, [flow(Date.UTC(2025, 3, 2)), flow(Date.UTC(2025, 2, 1))]);
    } while (cursor !== null);

    assert.deepEqual(pages.map((p) => p.spans.length), [3, 3, 2]);
    assert.deepEqual(pages.map((p) => p.truncated), [true, true, false]);
    const starts = pages.flatMap((p) => p.spans.map((s) => s.startTimeMs - Date.UTC(2025, 3, 1)));
    assert.deepEqual(starts, [1, 2, 3, 3, 4, 5, 6, 86_400_000]);
    assert.equal(new Set(pages.flatMap((p) => p.spans.map(keyOf))).size, 8);
    assert.ok(seeded.every((s) => pages.some((p) => p.spans.some((span) => keyOf(span) === keyOf(s)))));

    const all = await get('/api/flows/order-paged/spans');
    assert.equal(keysOf(all).length, 9, 'without a limit: up to maxQuerySpans');
    const bad = await get('/api/flows/order-paged/spans?cursor=bm9wZQ');
    assert.equal(bad.status, 400);
    assert.equal(errorCode(bad.json), 'CHS_ERR_QUERY_CURSOR_INVALID');
    const unknown = await get('/api/flows/order-paged/spans?page=2');
    assert.equal(unknown.status, 400);
    assert.equal(errorCode(unknown.json), 'CHS_ERR_QUERY_PARAMETER_UNKNOWN');
  });
});
