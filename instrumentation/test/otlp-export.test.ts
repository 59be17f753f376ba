// startTracing, as a service calls it, against a real OTLP/HTTP receiver on loopback: spans leave
// through the real protobuf exporter, and shutdown() does not resolve before they have arrived.
// startTracing registers the global OpenTelemetry providers, so this file never uses tracing.ts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { trace } from '@opentelemetry/api';
import { Kafka } from 'kafkajs';
import { startBroker, type RunningBroker } from '@choreoscope/embedded-kafka';
import { instrumentKafka, semconv, withBusinessKey } from '../src/index.ts';
import { startTracing } from '../src/setup.ts';
import { INSTRUMENTATION_NAME } from '../src/spans.ts';
import { MAX_WAIT_TIME_MS, Teardown, kafkaConfig, waitFor } from './kafka-fixture.ts';
import { restoreOtelEnv, setOtelEnv, stopTracing } from './otel-env.ts';
import { decodeTraceRequest, type OtlpSpan } from './otlp-protobuf.ts';
import { startReceiver, type Receiver } from './otlp-receiver.ts';

const OTLP_KIND_PRODUCER = 4;
const OTLP_KIND_CONSUMER = 5;

let receiver: Receiver;
let broker: RunningBroker;

before(async () => {
  receiver = await startReceiver();
  broker = await startBroker({ log: () => {} });
});
after(async () => {
  restoreOtelEnv();
  await broker.stop();
  await receiver.close();
});

test('a produced and consumed message reaches the collector as protobuf OTLP, flushed before shutdown resolves', async () => {
  receiver.requests.length = 0;
  // A minute between scheduled exports: within this test, only shutdown() can send the spans.
  setOtelEnv({ OTEL_BSP_SCHEDULE_DELAY: '60000' });
  const tracing = startTracing({ serviceName: 'payment', collectorUrl: receiver.url });
  const teardown = new Teardown();
  teardown.defer(() => stopTracing(tracing));
  try {
    const kafka = instrumentKafka(new Kafka(kafkaConfig(broker.address, 'payment-service')));
    const producer = await teardown.connect(kafka.producer());
    const consumer = await teardown.connect(kafka.consumer({ groupId: 'payment', maxWaitTimeInMs: MAX_WAIT_TIME_MS }));
    await consumer.subscribe({ topics: ['orders'], fromBeginning: true });
    let handled = false;
    await consumer.run({ eachMessage: async () => void (handled = true) });
    await withBusinessKey('o-1', () => producer.send({ topic: 'orders', messages: [{ key: 'o-1', value: 'OrderCreated' }] }));
    await waitFor(() => handled, 15_000, 'the message handled');
    await consumer.disconnect(); // waits for the handler, so its span has ended

    assert.equal(receiver.requests.length, 0, 'nothing exported before shutdown');
    await tracing.shutdown();
    assert.ok(receiver.requests.length > 0, 'spans arrived before shutdown resolved');
  } finally {
    await teardown.run();
  }

  for (const request of receiver.requests) {
    assert.equal(request.method, 'POST');
    assert.equal(request.path, '/v1/traces');
    assert.equal(request.contentType, 'application/x-protobuf');
  }
  assert.ok(receiver.requests.some((request) => request.body.includes(Buffer.from('payment'))), 'the service name, as UTF-8 bytes in the body');
  const resources = receiver.requests.flatMap((request) => decodeTraceRequest(request.body));
  assert.ok(resources.length > 0 && resources.every((resource) => resource.resource['service.name'] === 'payment'), 'resource service.name');

  const spans = receiver.spans();
  const one = (name: string): OtlpSpan => {
    const found = spans.filter((span) => span.name === name);
    assert.equal(found.length, 1, `one ${name} span, got ${spans.map((span) => span.name).join(', ')}`);
    return found[0]!;
  };
  const send = one('send orders');
  const processSpan = one('process orders');
  assert.equal(send.scope, INSTRUMENTATION_NAME);
  assert.equal(send.kind, OTLP_KIND_PRODUCER);
  assert.equal(send.parentSpanId, '');
  assert.equal(send.attributes[semconv.ATTR_BUSINESS_KEY], 'o-1');
  assert.equal(send.attributes[semconv.ATTR_MESSAGING_DESTINATION_NAME], 'orders');
  assert.equal(processSpan.kind, OTLP_KIND_CONSUMER);
  assert.equal(processSpan.traceId, send.traceId);
  assert.equal(processSpan.parentSpanId, send.spanId, 'the consumer span is the send span\'s child, across the broker');
  assert.equal(processSpan.attributes[semconv.ATTR_BUSINESS_KEY], 'o-1');
  assert.equal(processSpan.attributes[semconv.ATTR_CONTEXT_STATUS], 'propagated');
  assert.equal(processSpan.attributes[semconv.ATTR_DELIVERY_ATTEMPT], 1);
  assert.equal(processSpan.attributes[semconv.ATTR_MESSAGING_CONSUMER_GROUP_NAME], 'payment');
});

test('OTEL_SERVICE_NAME wins over the serviceName option', async () => {
  receiver.requests.length = 0;
  setOtelEnv({ OTEL_SERVICE_NAME: 'payment-from-env' });
  const tracing = startTracing({ serviceName: 'payment', collectorUrl: `${receiver.url}/` });
  try {
    trace.getTracer('probe').startSpan('probe').end();
  } finally {
    await stopTracing(tracing);
  }
  assert.deepEqual(receiver.requests.map((request) => request.path), ['/v1/traces'], 'one export, to <url>/v1/traces whatever the trailing slash');
  const [resource] = decodeTraceRequest(receiver.requests[0]!.body);
  assert.equal(resource?.resource['service.name'], 'payment-from-env');
  assert.deepEqual(resource?.spans.map((span) => span.name), ['probe']);
});
