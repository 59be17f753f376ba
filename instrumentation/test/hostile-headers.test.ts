// Headers come from whoever can write to the topic. Whatever they hold, the consumer keeps running, the
// user's handler runs, the span says what was refused and why, and nothing untrusted becomes an attribute
// or stays in memory.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Kafka, type IHeaders, type Message } from 'kafkajs';
import { startBroker, type RunningBroker } from '@choreoscope/embedded-kafka';
import { extractFromHeaders, getBusinessKey, instrumentKafka, semconv } from '../src/index.ts';
import { HEADER_BYTE_LIMITS, SafeHeaders } from '../src/safe-headers.ts';
import { MAX_WAIT_TIME_MS, Teardown, kafkaConfig, waitFor } from './kafka-fixture.ts';
import { describeSpans, spansNamed, theSpan } from './span-queries.ts';
import { startTestTracing, type TestTracing } from './tracing.ts';

const MiB = 1024 * 1024;
const VALID_TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const NOT_UTF8 = Buffer.from([0x6f, 0x2d, 0xc3, 0x28, 0xff, 0xfe]); // "o-", a broken 2-byte sequence, bytes never valid in UTF-8
/** 1,000 distinct entries in under 8 KiB: within W3C's byte limit, far over its 180-entry limit. */
const THOUSAND_BAGGAGE_ENTRIES = Array.from({ length: 1000 }, (_, i) => `k${i}=1`).join(',');

let tracing: TestTracing;
before(() => {
  tracing = startTestTracing();
});
after(async () => {
  await tracing.shutdown();
});

describe('SafeHeaders (pure)', () => {
  const refused = (headers: IHeaders, name: string) => {
    const safe = new SafeHeaders(headers);
    assert.equal(safe.get(name), undefined, `${name} is refused`);
    return safe.dropped.get(name);
  };

  test('too-large: over the header\'s byte limit, summed over repeated list values', () => {
    assert.equal(new SafeHeaders({ traceparent: 'a'.repeat(HEADER_BYTE_LIMITS.traceparent!) }).get('traceparent')?.length, 512, 'at the limit: kept');
    assert.equal(refused({ traceparent: 'a'.repeat(HEADER_BYTE_LIMITS.traceparent! + 1) }, 'traceparent'), 'too-large');
    assert.equal(refused({ traceparent: Buffer.alloc(MiB, 0x61) }, 'traceparent'), 'too-large');
    assert.equal(refused({ tracestate: ['a='.padEnd(300, 'x'), 'b='.padEnd(300, 'x')] }, 'tracestate'), 'too-large');
    assert.equal(refused({ 'choreoscope-business-key': 'é'.repeat(129) }, 'choreoscope-business-key'), 'too-large', '258 bytes in 129 characters');
    assert.equal(refused({ b3: 'a'.repeat(1025) }, 'b3'), 'too-large', 'any other header a propagator asks for: 1 KiB');
  });

  test('not-utf8: bytes that do not decode', () => {
    assert.equal(refused({ traceparent: NOT_UTF8 }, 'traceparent'), 'not-utf8');
    assert.equal(refused({ 'choreoscope-business-key': NOT_UTF8 }, 'choreoscope-business-key'), 'not-utf8');
    assert.equal(refused({ baggage: ['a=1', NOT_UTF8] }, 'baggage'), 'not-utf8', 'one bad part spoils the header');
  });

  test('ambiguous: a single-valued header given twice, repeated or in two letter cases', () => {
    assert.equal(refused({ traceparent: [VALID_TRACEPARENT, VALID_TRACEPARENT] }, 'traceparent'), 'ambiguous');
    assert.equal(refused({ traceparent: VALID_TRACEPARENT, TraceParent: VALID_TRACEPARENT }, 'traceparent'), 'ambiguous');
    assert.equal(new SafeHeaders({ tracestate: ['a=1', Buffer.from('b=2')] }).get('tracestate'), 'a=1,b=2', 'list headers are joined instead');
  });

  test('control-characters: CR, LF, NUL, DEL', () => {
    for (const bad of ['\r\nx-injected: 1', '\n', '\u0000', '\u007f', '\t']) {
      assert.equal(refused({ 'choreoscope-business-key': `o-1${bad}` }, 'choreoscope-business-key'), 'control-characters', JSON.stringify(bad));
    }
  });

  test('truncated: more baggage entries than W3C allows keeps the first 180', () => {
    const received = extractFromHeaders({ traceparent: VALID_TRACEPARENT, baggage: THOUSAND_BAGGAGE_ENTRIES });
    assert.equal(received.droppedHeaders.get('baggage'), 'truncated');
    assert.equal(received.status, 'propagated');
  });

  test('headers nobody asks for are never judged, however large or binary', () => {
    const safe = new SafeHeaders({ 'x-blob': Buffer.alloc(MiB, 0xff), Traceparent: VALID_TRACEPARENT });
    assert.equal(safe.get('traceparent'), VALID_TRACEPARENT);
    assert.deepEqual(safe.keys(), ['x-blob', 'traceparent']);
    assert.equal(safe.dropped.size, 0);
  });
});

interface HostileCase {
  key: string;
  headers: IHeaders;
  status: semconv.ContextStatus;
  dropped: string[];
}

const CASES: HostileCase[] = [
  { key: 'huge-traceparent', headers: { traceparent: Buffer.alloc(MiB, 0x61) }, status: 'dropped', dropped: ['traceparent:too-large'] },
  { key: 'thousand-baggage-entries', headers: { traceparent: VALID_TRACEPARENT, baggage: THOUSAND_BAGGAGE_ENTRIES }, status: 'propagated', dropped: ['baggage:truncated'] },
  {
    key: 'thousand-large-baggage-entries',
    headers: { traceparent: VALID_TRACEPARENT, baggage: Array.from({ length: 1000 }, (_, i) => `entry${i}=value${i}`).join(',') },
    status: 'propagated',
    dropped: ['baggage:too-large'],
  },
  { key: 'binary-traceparent', headers: { traceparent: NOT_UTF8 }, status: 'dropped', dropped: ['traceparent:not-utf8'] },
  { key: 'binary-business-key', headers: { traceparent: VALID_TRACEPARENT, 'choreoscope-business-key': NOT_UTF8 }, status: 'propagated', dropped: ['choreoscope-business-key:not-utf8'] },
  { key: 'long-business-key', headers: { traceparent: VALID_TRACEPARENT, 'choreoscope-business-key': 'o'.repeat(257) }, status: 'propagated', dropped: ['choreoscope-business-key:too-large'] },
  { key: 'empty-business-key', headers: { traceparent: VALID_TRACEPARENT, 'choreoscope-business-key': '' }, status: 'propagated', dropped: [] },
  { key: 'control-traceparent', headers: { traceparent: `${VALID_TRACEPARENT}\r\nx-injected: 1` }, status: 'dropped', dropped: ['traceparent:control-characters'] },
  {
    key: 'control-business-key-and-event-type',
    headers: { traceparent: VALID_TRACEPARENT, 'choreoscope-business-key': 'o-1\u0000', 'choreoscope-event-type': 'OrderCreated\n<script>' },
    status: 'propagated',
    dropped: ['choreoscope-business-key:control-characters', 'choreoscope-event-type:control-characters'],
  },
  { key: 'repeated-traceparent', headers: { traceparent: [VALID_TRACEPARENT, VALID_TRACEPARENT] }, status: 'dropped', dropped: ['traceparent:ambiguous'] },
];

/** Every string an attribute holds is a bounded, printable, valid string; none of it is hostile input. */
function assertNothingUntrusted(span: ReadableSpan, hostile: IHeaders): void {
  const hostileTexts = Object.values(hostile).flat().map(String).filter((text) => text.length > 0 && text !== VALID_TRACEPARENT);
  for (const [name, value] of Object.entries(span.attributes)) {
    for (const text of [value].flat().filter((v): v is string => typeof v === 'string')) {
      assert.ok(Buffer.byteLength(text) <= 256, `${name} is bounded`);
      assert.ok(!/[\u0000-\u001f\u007f\ufffd]/.test(text), `${name} has no control or replacement characters`);
      assert.ok(!hostileTexts.includes(text), `${name} is not a hostile header's value`);
    }
  }
}

describe('hostile headers through the broker', () => {
  let broker: RunningBroker;
  let spans: ReadableSpan[];
  const handled = new Map<string, string | undefined>(); // message key → business key the handler's context held
  const crashes: unknown[] = [];

  before(async () => {
    broker = await startBroker({ log: () => {} });
    const teardown = new Teardown();
    try {
      const plain = new Kafka(kafkaConfig(broker.address, 'anyone'));
      const service = instrumentKafka(new Kafka(kafkaConfig(broker.address, 'payment-service')));
      const producer = await teardown.connect(plain.producer());
      const consumer = await teardown.connect(service.consumer({ groupId: 'payment', maxWaitTimeInMs: MAX_WAIT_TIME_MS }));
      consumer.on(consumer.events.CRASH, (event) => void crashes.push(event.payload.error));
      await consumer.subscribe({ topics: ['hostile'], fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void handled.set(String(message.key), getBusinessKey()) });
      for (const { key, headers } of CASES) await producer.send({ topic: 'hostile', messages: [{ key, value: 'v', headers }] });
      await waitFor(
        () => handled.size === CASES.length && spansNamed(tracing.spans(), 'process hostile').length >= CASES.length,
        15_000,
        () => `every hostile message handled (${handled.size}/${CASES.length}); spans: ${describeSpans(tracing.spans())}`,
      );
    } finally {
      await teardown.run();
    }
    spans = tracing.spans();
  });
  after(() => broker.stop());

  test('the consumer never crashed', () => {
    assert.deepEqual(crashes, []);
  });

  for (const hostile of CASES) {
    test(`${hostile.key}: the handler ran; the span says ${hostile.status}, dropped [${hostile.dropped.join(', ')}]`, () => {
      assert.ok(handled.has(hostile.key), 'the user\'s handler ran');
      const span = theSpan(spans, 'process hostile', { [semconv.ATTR_MESSAGING_KAFKA_MESSAGE_KEY]: hostile.key });
      assert.equal(span.attributes[semconv.ATTR_CONTEXT_STATUS], hostile.status);
      assert.deepEqual(span.attributes[semconv.ATTR_CONTEXT_DROPPED_HEADERS] ?? [], hostile.dropped);
      if (hostile.status === 'dropped') assert.equal(span.parentSpanContext, undefined, 'a refused context starts a new trace');
      else assert.equal(span.parentSpanContext?.spanId, VALID_TRACEPARENT.split('-')[2]);
      assert.equal(span.attributes[semconv.ATTR_BUSINESS_KEY], undefined, 'no business key from a refused or empty header');
      assert.equal(handled.get(hostile.key), undefined, 'nor in the handler\'s context');
      assert.equal(span.attributes[semconv.ATTR_EVENT_TYPE], undefined);
      assertNothingUntrusted(span, hostile.headers);
    });
  }
});

describe('memory', () => {
  const MESSAGES = 200;
  const PER_SEND = 10;

  test(`${MESSAGES} messages with a 1 MiB garbage traceparent each leave no trace in memory`, async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    /** Heap plus memory outside it: Buffers, and strings decoded from large Buffers (V8 keeps those external). */
    const used = async () => {
      for (let i = 0; i < 3; i++) {
        gc();
        await new Promise((resolve) => setTimeout(resolve, 20)); // let weak references and finalizers settle
      }
      const { heapUsed, external } = process.memoryUsage();
      return heapUsed + external;
    };
    const broker = await startBroker({ log: () => {} });
    const teardown = new Teardown();
    teardown.defer(() => broker.stop());
    try {
      broker.createTopic('garbage', 1);
      const plain = new Kafka(kafkaConfig(broker.address, 'anyone'));
      const service = instrumentKafka(new Kafka(kafkaConfig(broker.address, 'payment-service')));
      const producer = await teardown.connect(plain.producer());
      const admin = await teardown.connect(plain.admin());
      const consumer = await teardown.connect(service.consumer({ groupId: 'garbage', maxWaitTimeInMs: MAX_WAIT_TIME_MS }));
      await consumer.subscribe({ topics: ['garbage'], fromBeginning: true });
      let handled = 0;
      await consumer.run({ eachMessage: async () => void handled++ });
      const garbage = (i: number): Message => ({ key: `g-${i}`, value: 'v', headers: { traceparent: Buffer.alloc(MiB, 0x30 + (i % 10)) } });
      const sendGarbage = async (from: number, count: number) => {
        for (let i = from; i < from + count; i += PER_SEND) {
          await producer.send({ topic: 'garbage', messages: Array.from({ length: PER_SEND }, (_, j) => garbage(i + j)) });
        }
        await waitFor(() => handled >= from + count, 30_000, () => `${from + count} handled, got ${handled}`);
      };

      await sendGarbage(0, PER_SEND); // warm-up: every code path has run once
      tracing.reset();
      const before = await used();
      await sendGarbage(PER_SEND, MESSAGES);
      // The broker keeps its log in this process: delete the topic so only the consumer side is measured.
      await consumer.stop();
      await admin.deleteTopics({ topics: ['garbage'] });
      const growth = (await used()) - before;

      const processSpans = spansNamed(tracing.spans(), 'process garbage');
      assert.equal(processSpans.length, MESSAGES);
      assert.ok(processSpans.every((span) => span.attributes[semconv.ATTR_CONTEXT_STATUS] === 'dropped'));
      const processed = MESSAGES * MiB;
      assert.ok(growth < processed / 10, `memory grew by ${(growth / MiB).toFixed(1)} MiB after ${processed / MiB} MiB of hostile headers`);
    } finally {
      await teardown.run();
    }
  });
});
