import { SpanKind, context, trace, type Span } from '@opentelemetry/api';
import type { IHeaders, Message, Producer, ProducerBatch, ProducerRecord, RecordMetadata, TopicMessages, Transaction } from 'kafkajs';
import { unwrapped } from './coexistence.ts';
import { getBusinessKey } from './flow-context.ts';
import type { ResolvedOptions } from './options.ts';
import { boundedKey, headersWithContext, safeCall } from './propagation.ts';
import { markFailed, messageAttributes, tracerFor } from './spans.ts';
import { SafeHeaders } from './safe-headers.ts';
import {
  ATTR_BUSINESS_KEY, ATTR_EVENT_TYPE, ATTR_MESSAGING_CLIENT_ID, ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_DESTINATION_PARTITION_ID, ATTR_MESSAGING_KAFKA_OFFSET, ATTR_MESSAGING_MESSAGE_CONVERSATION_ID,
  ATTR_MESSAGING_OPERATION_NAME, ATTR_MESSAGING_OPERATION_TYPE, ATTR_MESSAGING_SYSTEM, HEADER_CLOUDEVENTS_TYPE,
  HEADER_EVENT_TYPE, MESSAGING_SYSTEM_KAFKA, OPERATION_TYPE_SEND,
} from './semconv.ts';
import { watchClientId } from './client-id.ts';

const INSTRUMENTED = Symbol.for('choreoscope.instrumented');

interface SentMessage {
  topic: string;
  message: Message;
  span: Span;
}

type Send<R> = (record: R) => Promise<RecordMetadata[]>;

/**
 * Wraps `send`, `sendBatch` and transactions of a kafkajs producer: one PRODUCER span `send <topic>`
 * per message, whose context goes out in that message's headers with the business key and event type.
 */
export function instrumentProducer<P extends Producer>(producer: P, options: ResolvedOptions): P {
  const tagged = producer as P & { [INSTRUMENTED]?: true };
  if (tagged[INSTRUMENTED]) return producer;
  tagged[INSTRUMENTED] = true;
  const clientId = watchClientId(producer, options.clientId);
  const tracer = tracerFor(options);

  const startSpans = (topicMessages: TopicMessages[]): { records: TopicMessages[]; sent: SentMessage[] } => {
    const parent = context.active();
    const sent: SentMessage[] = [];
    const records = topicMessages.map(({ topic, messages }) => ({
      topic,
      messages: messages.map((message) => {
        const view = { topic, key: message.key, value: message.value, headers: message.headers };
        const businessKey = boundedKey(safeCall(() => options.businessKey?.(view)) ?? getBusinessKey(parent));
        const eventType = safeCall(() => options.eventType?.(view)) ?? userEventType(message.headers);
        const span = tracer.startSpan(`send ${topic}`, {
          kind: SpanKind.PRODUCER,
          attributes: {
            [ATTR_MESSAGING_SYSTEM]: MESSAGING_SYSTEM_KAFKA,
            [ATTR_MESSAGING_OPERATION_TYPE]: OPERATION_TYPE_SEND,
            [ATTR_MESSAGING_OPERATION_NAME]: 'send',
            [ATTR_MESSAGING_DESTINATION_NAME]: topic,
            ...(message.partition !== undefined ? { [ATTR_MESSAGING_DESTINATION_PARTITION_ID]: String(message.partition) } : {}),
            ...(clientId() ? { [ATTR_MESSAGING_CLIENT_ID]: clientId() } : {}),
            ...(businessKey !== undefined ? { [ATTR_BUSINESS_KEY]: businessKey, [ATTR_MESSAGING_MESSAGE_CONVERSATION_ID]: businessKey } : {}),
            ...(eventType !== undefined ? { [ATTR_EVENT_TYPE]: eventType } : {}),
            ...messageAttributes(message.key, message.value, options),
          },
        }, parent);
        const spanContext = trace.setSpan(parent, span);
        const outgoing: Message = { ...message, headers: headersWithContext(message.headers, spanContext, { businessKey, eventType }) };
        sent.push({ topic, message: outgoing, span });
        return outgoing;
      }),
    }));
    return { records, sent };
  };

  const finish = async (sent: SentMessage[], sending: Promise<RecordMetadata[]>): Promise<RecordMetadata[]> => {
    try {
      const metadata = await sending;
      recordOffsets(sent, metadata);
      return metadata;
    } catch (error) {
      for (const { span } of sent) markFailed(span, error);
      throw error;
    } finally {
      for (const { span } of sent) span.end();
    }
  };

  const wrapSend = (original: Send<ProducerRecord>): Send<ProducerRecord> =>
    function send(this: unknown, record) {
      const { records, sent } = startSpans([{ topic: record.topic, messages: record.messages }]);
      return finish(sent, original.call(this, { ...record, messages: records[0]!.messages }));
    };
  const wrapSendBatch = (original: Send<ProducerBatch>): Send<ProducerBatch> =>
    function sendBatch(this: unknown, batch) {
      const { records, sent } = startSpans(batch.topicMessages ?? []);
      return finish(sent, original.call(this, { ...batch, topicMessages: records }));
    };

  producer.send = wrapSend(unwrapped(producer.send, 'producer.send'));
  producer.sendBatch = wrapSendBatch(unwrapped(producer.sendBatch, 'producer.sendBatch'));
  const transaction = unwrapped(producer.transaction, 'producer.transaction');
  producer.transaction = async function (this: unknown) {
    const tx: Transaction = await transaction.call(this);
    tx.send = wrapSend(tx.send);
    tx.sendBatch = wrapSendBatch(tx.sendBatch);
    return tx;
  };
  return producer;
}

function userEventType(headers: IHeaders | undefined): string | undefined {
  const safe = new SafeHeaders(headers);
  return safe.get(HEADER_EVENT_TYPE) ?? safe.get(HEADER_CLOUDEVENTS_TYPE);
}

/**
 * kafkajs reports a base offset per partition, not per message. A message's offset is known when its
 * partition is (set explicitly, or the topic's messages all went to one partition): messages of one
 * partition are appended in the order given.
 */
function recordOffsets(sent: SentMessage[], metadata: RecordMetadata[]): void {
  const next = new Map<string, number>();
  for (const m of metadata) next.set(`${m.topicName}\u0000${m.partition}`, Number(m.baseOffset));
  const onlyPartition = new Map<string, number | undefined>(); // per topic: its partition when it is the only one
  for (const { topic, message, span } of sent) {
    if (!onlyPartition.has(topic)) {
      const partitions = metadata.filter((m) => m.topicName === topic);
      onlyPartition.set(topic, partitions.length === 1 ? partitions[0]!.partition : undefined);
    }
    const partition = message.partition ?? onlyPartition.get(topic);
    if (partition === undefined) continue;
    const key = `${topic}\u0000${partition}`;
    const offset = next.get(key);
    if (offset === undefined || Number.isNaN(offset)) continue;
    next.set(key, offset + 1);
    span.setAttribute(ATTR_MESSAGING_DESTINATION_PARTITION_ID, String(partition));
    span.setAttribute(ATTR_MESSAGING_KAFKA_OFFSET, offset);
  }
}
