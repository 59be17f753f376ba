// Kafka headers as real producers write them, through the real broker: the user's own headers survive
// next to Choreoscope's, any letter case of `traceparent` is understood, and a message without usable
// context says why it starts a new trace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { isSpanContextValid } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Kafka, type IHeaders, type Message } from 'kafkajs';
import { instrumentKafka, semconv } from '../src/index.ts';
import { MAX_WAIT_TIME_MS, Teardown, kafkaConfig, waitFor } from './kafka-fixture.ts';
import { describeSpans, spansNamed, theSpan } from './span-queries.ts';
import { useBrokerAndTracing } from './tracing.ts';

const env = useBrokerAndTracing();

interface Received {
  /** Headers as the consumer's handler saw them, by message key. */
  headers: Map<string, IHeaders>;
  spans: ReadableSpan[];
}

/**
 * Sends `messages` (each with a distinct key) to a fresh topic, from an instrumented producer or a plain
 * one, and consumes them with an instrumented consumer.
 */
async function roundTrip(topic: string, messages: Message[], producerKind: 'instrumented' | 'plain'): Promise<Received> {
  env.tracing.reset();
  const teardown = new Teardown();
  const headers = new Map<string, IHeaders>();
  try {
    const plain = new Kafka(kafkaConfig(env.broker.address, 'plain-producer'));
    const instrumented = instrumentKafka(new Kafka(kafkaConfig(env.broker.address, 'some-service')));
    const producer = await teardown.connect((producerKind === 'plain' ? plain : instrumented).producer());
    const consumer = await teardown.connect(instrumented.consumer({ groupId: topic, maxWaitTimeInMs: MAX_WAIT_TIME_MS }));
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void headers.set(String(message.key), message.headers ?? {}) });
    await producer.send({ topic, messages });
    await waitFor(
      () => spansNamed(env.tracing.spans(), `process ${topic}`).length >= messages.length,
      15_000,
      () => `${messages.length} messages consumed; spans so far: ${describeSpans(env.tracing.spans())}`,
    );
  } finally {
    await teardown.run();
  }
  return { headers, spans: env.tracing.spans() };
}

const processSpan = (received: Received, topic: string, key: string) =>
  theSpan(received.spans, `process ${topic}`, { [semconv.ATTR_MESSAGING_KAFKA_MESSAGE_KEY]: key });
const sendSpan = (received: Received, topic: string, key: string) =>
  theSpan(received.spans, `send ${topic}`, { [semconv.ATTR_MESSAGING_KAFKA_MESSAGE_KEY]: key });

/** The header names that are `name` in any letter case. */
const namesLike = (headers: IHeaders, name: string) => Object.keys(headers).filter((key) => key.toLowerCase() === name);

/** The traceparent a span's context goes out as. */
const traceparentOf = (span: ReadableSpan) => {
  const { traceId, spanId, traceFlags } = span.spanContext();
  return `00-${traceId}-${spanId}-0${traceFlags}`;
};

test('user headers with Buffer, string and array values arrive intact next to Choreoscope\'s', async () => {
  const userHeaders: IHeaders = {
    'x-bytes': Buffer.from([0x00, 0x01, 0xfe, 0xff]),
    'x-text': 'hello, wörld',
    'x-list': ['first', Buffer.from('second')],
  };
  const snapshot = (headers: IHeaders) => Object.entries(headers).map(([name, value]) => [name, Array.isArray(value) ? [...value] : value]);
  const original = snapshot(userHeaders);
  const received = await roundTrip('user-headers', [{ key: 'm-1', value: 'v', headers: userHeaders }], 'instrumented');

  assert.deepEqual(snapshot(userHeaders), original, 'the caller\'s headers object is not modified');
  const headers = received.headers.get('m-1')!;
  // kafkajs hands every header value to the consumer as a Buffer, a repeated header as an array of them.
  assert.deepEqual(headers['x-bytes'], Buffer.from([0x00, 0x01, 0xfe, 0xff]));
  assert.deepEqual(headers['x-text'], Buffer.from('hello, wörld'));
  assert.deepEqual(headers['x-list'], [Buffer.from('first'), Buffer.from('second')]);
  assert.equal(String(headers[semconv.HEADER_TRACEPARENT]), traceparentOf(sendSpan(received, 'user-headers', 'm-1')));
  assert.deepEqual(Object.keys(headers).sort(), ['traceparent', 'x-bytes', 'x-list', 'x-text'], 'nothing else added or lost');
  assert.equal(processSpan(received, 'user-headers', 'm-1').attributes[semconv.ATTR_CONTEXT_STATUS], 'propagated');
});

test('a traceparent header in any letter case continues the producer\'s trace', async () => {
  const contexts = {
    Traceparent: { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331' },
    TRACEPARENT: { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' },
  };
  const messages = Object.entries(contexts).map(([name, { traceId, spanId }]) =>
    ({ key: name, value: 'v', headers: { [name]: `00-${traceId}-${spanId}-01` } }));
  const received = await roundTrip('header-case', messages, 'plain');

  for (const [name, { traceId, spanId }] of Object.entries(contexts)) {
    const span = processSpan(received, 'header-case', name);
    assert.equal(span.attributes[semconv.ATTR_CONTEXT_STATUS], 'propagated', name);
    assert.equal(span.spanContext().traceId, traceId, name);
    assert.equal(span.parentSpanContext?.spanId, spanId, name);
  }
});

test('a garbage traceparent starts a new trace marked malformed; a missing one, marked missing', async () => {
  const received = await roundTrip('no-context', [
    { key: 'garbage', value: 'v', headers: { traceparent: '00-not-a-trace-context-at-all' } },
    { key: 'all-zero', value: 'v', headers: { traceparent: `00-${'0'.repeat(32)}-${'0'.repeat(16)}-01` } },
    { key: 'missing', value: 'v', headers: { unrelated: 'x' } },
  ], 'plain');

  for (const [key, status] of [['garbage', 'malformed'], ['all-zero', 'malformed'], ['missing', 'missing']] as const) {
    const span = processSpan(received, 'no-context', key);
    assert.equal(span.attributes[semconv.ATTR_CONTEXT_STATUS], status, key);
    assert.equal(span.parentSpanContext, undefined, `${key}: a root`);
    assert.deepEqual(span.links, [], `${key}: linked to nothing`);
    assert.ok(isSpanContextValid(span.spanContext()), `${key}: in a valid new trace`);
    assert.equal(span.attributes[semconv.ATTR_CONTEXT_DROPPED_HEADERS], undefined, `${key}: nothing was dropped`);
  }
  const traces = new Set(['garbage', 'all-zero', 'missing'].map((key) => processSpan(received, 'no-context', key).spanContext().traceId));
  assert.equal(traces.size, 3, 'each a trace of its own');
});

test('a 10 KiB header Choreoscope does not read is carried untouched', async () => {
  const big = randomBytes(10 * 1024);
  const received = await roundTrip('big-header', [{ key: 'm-1', value: 'v', headers: { 'x-attachment': big } }], 'instrumented');

  assert.deepEqual(received.headers.get('m-1')!['x-attachment'], big);
  const span = processSpan(received, 'big-header', 'm-1');
  assert.equal(span.attributes[semconv.ATTR_CONTEXT_STATUS], 'propagated');
  assert.equal(span.attributes[semconv.ATTR_CONTEXT_DROPPED_HEADERS], undefined);
});

test('a traceparent the user set on an instrumented send is replaced by Choreoscope\'s, whatever its case', async () => {
  const stale = `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`;
  const names = ['traceparent', 'Traceparent', 'TRACEPARENT'];
  const messages = names.map((name) => ({ key: name, value: 'v', headers: { [name]: stale, 'x-kept': 'yes' } }));
  const received = await roundTrip('replaced', messages, 'instrumented');

  for (const name of names) {
    const headers = received.headers.get(name)!;
    const send = sendSpan(received, 'replaced', name);
    assert.deepEqual(namesLike(headers, 'traceparent'), ['traceparent'], `${name}: exactly one traceparent header`);
    assert.equal(String(headers.traceparent), traceparentOf(send), `${name}: it is the send span's`);
    assert.equal(String(headers['x-kept']), 'yes');
    const process = processSpan(received, 'replaced', name);
    assert.equal(process.parentSpanContext?.spanId, send.spanContext().spanId, `${name}: the consumer continues the send span`);
    assert.notEqual(process.spanContext().traceId, 'a'.repeat(32));
  }
});
