// A realistic OTLP export, encoded once with the OpenTelemetry JS exporters' own serializers, and a cheap
// way to make every request's ids new: the collector keys spans by (trace id, span id), so a body sent
// twice would store nothing the second time.
import { ROOT_CONTEXT, SpanKind, trace, type Attributes, type Link } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import {
  ATTR_BUSINESS_KEY, ATTR_CONTEXT_MODE, ATTR_CONTEXT_STATUS, ATTR_DELIVERY_ATTEMPT, ATTR_EVENT_TYPE, ATTR_MESSAGING_CLIENT_ID,
  ATTR_MESSAGING_CONSUMER_GROUP_NAME, ATTR_MESSAGING_DESTINATION_NAME, ATTR_MESSAGING_DESTINATION_PARTITION_ID,
  ATTR_MESSAGING_KAFKA_MESSAGE_KEY, ATTR_MESSAGING_KAFKA_OFFSET, ATTR_MESSAGING_MESSAGE_BODY_SIZE, ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE, ATTR_MESSAGING_SYSTEM, MESSAGING_SYSTEM_KAFKA, OPERATION_TYPE_PROCESS, OPERATION_TYPE_SEND,
} from '@choreoscope/instrumentation/semconv';

export type OtlpEncoding = 'protobuf' | 'json';

export const CONTENT_TYPES: Record<OtlpEncoding, string> = {
  protobuf: 'application/x-protobuf',
  json: 'application/json',
};

/** One in this many consumer spans starts a trace of its own and links to its producer, as `eachBatch` consumers do. */
const LINKED_CONSUMER_EVERY = 5;

/**
 * Placeholders in business keys and offsets, overwritten per export like the ids (see RenewableExport),
 * so every export's messages are orders and Kafka messages of their own: flows are assembled per export,
 * not welded across all of them.
 */
const KEY_MARK = 'KKKKKKKK';
const OFFSET_MARK = 'OOOOOOOOOO';

/**
 * `spans` spans (rounded down to an even number) of one topic hop: each message a PRODUCER span in the
 * `orders` service and a CONSUMER span in `payments`, the consumer a child of the producer, or for some
 * a root that links to it. Attributes as Choreoscope's instrumentation writes them (~10 a span), an
 * event on each.
 */
export function messagingSpans(spans: number): ReadableSpan[] {
  const exporter = new InMemorySpanExporter();
  const tracer = (service: string) =>
    new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': service, 'service.version': '1.4.2', 'host.name': 'bench-host-1' }),
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    }).getTracer('@choreoscope/instrumentation', '0.1.0');
  const orders = tracer('orders');
  const payments = tracer('payments');
  const common = (i: number): Attributes => ({
    [ATTR_MESSAGING_SYSTEM]: MESSAGING_SYSTEM_KAFKA,
    [ATTR_MESSAGING_DESTINATION_NAME]: 'orders.created',
    [ATTR_MESSAGING_DESTINATION_PARTITION_ID]: String(i % 6),
    // a string, as the official kafkajs instrumentation sends it: its digits can be renewed in place
    [ATTR_MESSAGING_KAFKA_OFFSET]: `${OFFSET_MARK}${String(i).padStart(4, '0')}`,
    [ATTR_MESSAGING_KAFKA_MESSAGE_KEY]: `order-${KEY_MARK}-${i}`,
    [ATTR_MESSAGING_MESSAGE_BODY_SIZE]: 640 + (i % 300),
    [ATTR_BUSINESS_KEY]: `order-${KEY_MARK}-${i}`,
    [ATTR_EVENT_TYPE]: 'OrderCreated',
  });
  for (let i = 0; i < Math.floor(spans / 2); i++) {
    const producer = orders.startSpan('send orders.created', {
      kind: SpanKind.PRODUCER,
      attributes: { ...common(i), [ATTR_MESSAGING_OPERATION_TYPE]: OPERATION_TYPE_SEND, [ATTR_MESSAGING_OPERATION_NAME]: 'send', [ATTR_MESSAGING_CLIENT_ID]: 'orders-service' },
    });
    producer.addEvent('message.enqueued', { 'messaging.batch.index': i % 10 });
    producer.end();
    const linked = i % LINKED_CONSUMER_EVERY === 0;
    const links: Link[] = linked ? [{ context: producer.spanContext(), attributes: { [ATTR_CONTEXT_MODE]: 'link' } }] : [];
    const consumer = payments.startSpan(
      'process orders.created',
      {
        kind: SpanKind.CONSUMER,
        links,
        attributes: {
          ...common(i),
          [ATTR_MESSAGING_OPERATION_TYPE]: OPERATION_TYPE_PROCESS,
          [ATTR_MESSAGING_OPERATION_NAME]: 'process',
          [ATTR_MESSAGING_CONSUMER_GROUP_NAME]: 'payments',
          [ATTR_DELIVERY_ATTEMPT]: 1,
          [ATTR_CONTEXT_STATUS]: 'propagated',
          [ATTR_CONTEXT_MODE]: linked ? 'link' : 'parent',
        },
      },
      linked ? ROOT_CONTEXT : trace.setSpan(ROOT_CONTEXT, producer),
    );
    consumer.addEvent('payment.authorised', { 'payment.method': 'card' });
    consumer.end();
  }
  return exporter.getFinishedSpans();
}

export function encodeSpans(spans: ReadableSpan[], encoding: OtlpEncoding): Buffer {
  const bytes = (encoding === 'protobuf' ? ProtobufTraceSerializer : JsonTraceSerializer).serializeRequest(spans);
  if (bytes === undefined) throw new Error(`the ${encoding} serializer returned nothing`);
  return Buffer.from(bytes);
}

/**
 * An encoded export whose ids can be renewed in place: `renew(n)` writes `n` into the first 4 bytes of
 * every trace and span id, wherever it occurs (a parent id, a link), so references stay whole and export
 * `n` holds ids no other export has. In protobuf the ids are raw bytes; in OTLP/JSON, hex. The business
 * keys and offsets get `n` too (in hex, and in decimal), where their placeholders stand.
 */
export class RenewableExport {
  readonly body: Buffer;
  readonly spans: number;
  private readonly offsets: number[];
  private readonly keyMarks: number[];
  private readonly offsetMarks: number[];
  private readonly hex: boolean;

  constructor(spans: ReadableSpan[], encoding: OtlpEncoding) {
    this.body = encodeSpans(spans, encoding);
    this.spans = spans.length;
    this.hex = encoding === 'json';
    const ids = new Set(spans.flatMap((s) => [s.spanContext().traceId, s.spanContext().spanId]));
    // ids that differ only in their first 4 bytes would collide once those are overwritten
    if (new Set([...ids].map((id) => id.slice(8))).size !== ids.size) throw new Error('two ids share their tail: build the batch again');
    this.offsets = [...ids].flatMap((id) => occurrences(this.body, this.hex ? Buffer.from(id, 'latin1') : Buffer.from(id, 'hex')));
    this.keyMarks = maybeOccurrences(this.body, Buffer.from(KEY_MARK, 'latin1'));
    this.offsetMarks = maybeOccurrences(this.body, Buffer.from(OFFSET_MARK, 'latin1'));
  }

  /** The body with export `n`'s ids (0 ≤ n < 2^32). The same buffer each time: send it before the next call. */
  renew(n: number): Buffer {
    const key = n.toString(16).padStart(8, '0');
    for (const offset of this.keyMarks) this.body.write(key, offset, 'latin1');
    const digits = String(n).padStart(10, '0');
    for (const offset of this.offsetMarks) this.body.write(digits, offset, 'latin1');
    if (this.hex) {
      const text = n.toString(16).padStart(8, '0');
      for (const offset of this.offsets) this.body.write(text, offset, 'latin1');
    } else {
      for (const offset of this.offsets) this.body.writeUInt32BE(n, offset);
    }
    return this.body;
  }
}

function occurrences(haystack: Buffer, needle: Buffer): number[] {
  const found = maybeOccurrences(haystack, needle);
  if (found.length === 0) throw new Error(`id ${needle.toString('hex')} not found in the encoded export`);
  return found;
}

function maybeOccurrences(haystack: Buffer, needle: Buffer): number[] {
  const found: number[] = [];
  for (let at = haystack.indexOf(needle); at !== -1; at = haystack.indexOf(needle, at + needle.length)) found.push(at);
  return found;
}
