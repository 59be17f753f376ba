import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanKind, SpanStatusCode, context, trace, type Link } from '@opentelemetry/api';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider, BatchSpanProcessor, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import type { ApiSpan, SpanSearchResponse, TraceResponse } from '../src/api/types.ts';
import { send, startCollector, type RunningCollector } from './helpers.ts';
import { forEachStore } from './stores.ts';

/**
 * What a producer → consumer hop looks like to Choreoscope: the producer's span in one trace, the
 * consumer's in a second trace linking back to it, a child of the consumer, all with the order id.
 */
async function emitHop(exporter: SpanExporter, orderId: string, batch: boolean) {
  const recorded = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'orders', 'deployment.environment.name': 'test' }),
    spanProcessors: [batch ? new BatchSpanProcessor(exporter) : new SimpleSpanProcessor(exporter), new SimpleSpanProcessor(recorded)],
  });
  const tracer = provider.getTracer('choreoscope-test', '1.2.3');

  const producer = tracer.startSpan('orders publish', {
    kind: SpanKind.PRODUCER,
    attributes: {
      'messaging.system': 'kafka',
      'choreoscope.business_key': orderId,
      'messaging.kafka.offset': 42,
      'ratio': 0.25,
      'retried': false,
      'tags': ['a', 'b'],
    },
  });
  producer.addEvent('serialized', { 'bytes': 512 });
  producer.end();

  const link: Link = { context: producer.spanContext(), attributes: { 'choreoscope.link': 'producer' } };
  const consumer = tracer.startSpan('orders process', {
    kind: SpanKind.CONSUMER,
    links: [link],
    attributes: { 'messaging.message.conversation_id': orderId },
  }, context.active());
  const child = tracer.startSpan('charge card', { attributes: { 'choreoscope.business_key': orderId } }, trace.setSpan(context.active(), consumer));
  child.setStatus({ code: SpanStatusCode.ERROR, message: 'card declined' });
  child.end();
  consumer.end();

  await provider.forceFlush();
  const all = recorded.getFinishedSpans(); // before shutdown, which empties the in-memory exporter
  await provider.shutdown();
  return { producer: all.find((s) => s.name === 'orders publish')!, all };
}

function assertStoredAsSent(stored: ApiSpan, sent: ReadableSpan): void {
  const ms = (time: [number, number]) => time[0] * 1000 + time[1] / 1e6;
  assert.equal(stored.traceId, sent.spanContext().traceId);
  assert.equal(stored.spanId, sent.spanContext().spanId);
  assert.equal(stored.parentSpanId, sent.parentSpanContext?.spanId ?? null);
  assert.equal(stored.name, sent.name);
  assert.ok(Math.abs(stored.startTimeMs - ms(sent.startTime)) < 0.001, `start ${stored.startTimeMs} vs ${ms(sent.startTime)}`);
  assert.ok(Math.abs(stored.endTimeMs - ms(sent.endTime)) < 0.001, `end ${stored.endTimeMs} vs ${ms(sent.endTime)}`);
  assert.deepEqual(stored.attributes, sent.attributes);
  assert.equal(stored.serviceName, 'orders');
  assert.deepEqual(stored.resource['deployment.environment.name'], 'test');
  assert.deepEqual(stored.scope, { name: 'choreoscope-test', version: '1.2.3' });
  assert.deepEqual(stored.events.map((e) => ({ name: e.name, attributes: e.attributes })),
    sent.events.map((e) => ({ name: e.name, attributes: e.attributes ?? {} })));
  assert.deepEqual(stored.links.map((l) => ({ traceId: l.traceId, spanId: l.spanId, attributes: l.attributes })),
    sent.links.map((l) => ({ traceId: l.context.traceId, spanId: l.context.spanId, attributes: l.attributes ?? {} })));
}

// the exporters' CompressionAlgorithm enum lives in a package of theirs we do not depend on; 'gzip' is its value
const GZIP = 'gzip' as NonNullable<ConstructorParameters<typeof JsonExporter>[0]>['compression'];

const exporters = [
  { name: 'OTLP/JSON (exporter-trace-otlp-http)', make: (url: string) => new JsonExporter({ url }), batch: false },
  { name: 'OTLP/protobuf (exporter-trace-otlp-proto)', make: (url: string) => new ProtobufExporter({ url }), batch: false },
  { name: 'OTLP/protobuf gzipped, batched', make: (url: string) => new ProtobufExporter({ url, compression: GZIP }), batch: true },
  { name: 'OTLP/JSON gzipped, batched', make: (url: string) => new JsonExporter({ url, compression: GZIP }), batch: true },
];

forEachStore((kind) => {
  let collector: RunningCollector;
  before(async () => {
    collector = await startCollector(kind);
  });
  after(() => collector.close());

  for (const { name, make, batch } of exporters) {
    test(`spans sent by the OpenTelemetry SDK over ${name} are queryable by trace and business key, intact`, async () => {
      const orderId = `order-${name.length}-${Math.random().toString(36).slice(2)}`;
      const { producer, all } = await emitHop(make(`${collector.url}/v1/traces`), orderId, batch);
      assert.equal(all.length, 3);

      for (const sent of all) {
        const answer = await send(`${collector.url}/api/traces/${sent.spanContext().traceId}`, {});
        assert.equal(answer.status, 200, answer.text);
        const stored = (answer.json as TraceResponse).spans.find((s) => s.spanId === sent.spanContext().spanId);
        assert.ok(stored, `span ${sent.name} is in its trace`);
        assertStoredAsSent(stored, sent);
      }

      const flow = await send(`${collector.url}/api/spans?businessKey=${encodeURIComponent(orderId)}`, {});
      assert.equal(flow.status, 200, flow.text);
      const { spans, nextCursor } = flow.json as SpanSearchResponse;
      assert.equal(nextCursor, null);
      assert.deepEqual(spans.map((s) => s.name).sort(), ['charge card', 'orders process', 'orders publish'],
        'the consumer is found by messaging.message.conversation_id, the others by choreoscope.business_key');
      const child = spans.find((s) => s.name === 'charge card')!;
      const consumer = spans.find((s) => s.name === 'orders process')!;
      assert.equal(child.parentSpanId, consumer.spanId);
      assert.equal(child.traceId, consumer.traceId);
      assert.deepEqual(child.status, { code: 'error', message: 'card declined' });
      assert.equal(consumer.kind, 'consumer');
      assert.notEqual(consumer.traceId, producer.spanContext().traceId);

      const linking = await collector.store.spansLinkingTo(producer.spanContext().traceId, producer.spanContext().spanId);
      assert.deepEqual(linking.map((s) => s.spanId), [consumer.spanId], 'the link is found from the producer side');
    });
  }
});
