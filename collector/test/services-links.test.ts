import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanKind, context, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ApiErrorBody, OperationsResponse, ServicesResponse, SpanLinksResponse } from '../src/api/types.ts';
import { send, spanId, startCollector, traceId, type RunningCollector } from './helpers.ts';
import { keyOf, postSeeds } from './seed-spans.ts';
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
});
