import { SpanKind, context, trace, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import type { Consumer, ConsumerRunConfig, EachBatchPayload, EachMessagePayload, KafkaMessage } from 'kafkajs';
import { watchClientId } from './client-id.ts';
import { unwrapped } from './coexistence.ts';
import { DeliveryAttempts } from './delivery-attempts.ts';
import type { ResolvedOptions } from './options.ts';
import { extractFromHeaders, safeCall, type ReceivedContext } from './propagation.ts';
import { markFailed, messageAttributes, tracerFor } from './spans.ts';
import {
  ATTR_BUSINESS_KEY, ATTR_CONTEXT_DROPPED_HEADERS, ATTR_CONTEXT_MODE, ATTR_CONTEXT_STATUS, ATTR_DELIVERY_ATTEMPT,
  ATTR_EVENT_TYPE, ATTR_MESSAGING_BATCH_MESSAGE_COUNT, ATTR_MESSAGING_CLIENT_ID, ATTR_MESSAGING_CONSUMER_GROUP_NAME,
  ATTR_MESSAGING_DESTINATION_NAME, ATTR_MESSAGING_DESTINATION_PARTITION_ID, ATTR_MESSAGING_KAFKA_OFFSET,
  ATTR_MESSAGING_MESSAGE_CONVERSATION_ID, ATTR_MESSAGING_OPERATION_NAME, ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM, MESSAGING_SYSTEM_KAFKA, OPERATION_TYPE_PROCESS,
} from './semconv.ts';

const INSTRUMENTED = Symbol.for('choreoscope.instrumented');

/** Where a message handled inside an instrumented `eachBatch` came from, for `processMessage`. */
interface BatchMessage {
  topic: string;
  partition: number;
  start: (startTime?: number) => { span: Span; received: ReceivedContext };
  span: Span | null;
}

const batchMessages = new WeakMap<KafkaMessage, BatchMessage>();

interface ProcessSpanInput {
  tracer: Tracer;
  options: ResolvedOptions;
  topic: string;
  partition: number;
  message: KafkaMessage;
  groupId: string | undefined;
  clientId: string | undefined;
  attempt: number;
  extra?: Attributes;
  startTime?: number;
}

/** The CONSUMER span `process <topic>` for one message, parented or linked to its producer's span. */
function startProcessSpan(input: ProcessSpanInput): { span: Span; received: ReceivedContext } {
  const { options, topic, partition, message } = input;
  const received = extractFromHeaders(message.headers, options.businessKey
    ? () => options.businessKey!({ topic, key: message.key, value: message.value, headers: message.headers })
    : undefined);
  const eventType = received.eventType
    ?? safeCall(() => options.eventType?.({ topic, key: message.key, value: message.value, headers: message.headers }));
  const attributes: Attributes = {
    [ATTR_MESSAGING_SYSTEM]: MESSAGING_SYSTEM_KAFKA,
    [ATTR_MESSAGING_OPERATION_TYPE]: OPERATION_TYPE_PROCESS,
    [ATTR_MESSAGING_OPERATION_NAME]: 'process',
    [ATTR_MESSAGING_DESTINATION_NAME]: topic,
    [ATTR_MESSAGING_DESTINATION_PARTITION_ID]: String(partition),
    [ATTR_MESSAGING_KAFKA_OFFSET]: Number(message.offset),
    [ATTR_DELIVERY_ATTEMPT]: input.attempt,
    [ATTR_CONTEXT_STATUS]: received.status,
    [ATTR_CONTEXT_MODE]: options.contextMode,
    ...messageAttributes(message.key, message.value, options),
    ...input.extra,
  };
  if (input.groupId) attributes[ATTR_MESSAGING_CONSUMER_GROUP_NAME] = input.groupId;
  if (input.clientId) attributes[ATTR_MESSAGING_CLIENT_ID] = input.clientId;
  if (received.businessKey !== undefined) {
    attributes[ATTR_BUSINESS_KEY] = received.businessKey;
    attributes[ATTR_MESSAGING_MESSAGE_CONVERSATION_ID] = received.businessKey;
  }
  if (eventType !== undefined) attributes[ATTR_EVENT_TYPE] = eventType;
  if (received.droppedHeaders.size > 0) {
    attributes[ATTR_CONTEXT_DROPPED_HEADERS] = [...received.droppedHeaders].map(([name, why]) => `${name}:${why}`);
  }
  const asParent = options.contextMode === 'parent' && received.producer !== undefined;
  const span = input.tracer.startSpan(`process ${topic}`, {
    kind: SpanKind.CONSUMER,
    attributes,
    startTime: input.startTime,
    root: !asParent,
    links: !asParent && received.producer ? [{ context: received.producer }] : [],
  }, received.context);
  return { span, received };
}

/** Runs `work` inside the span, ends it, marks it failed and rethrows when `work` throws. */
async function runInSpan<T>(span: Span, received: ReceivedContext, work: () => Promise<T>): Promise<T> {
  try {
    return await context.with(trace.setSpan(received.context, span), work);
  } catch (error) {
    markFailed(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/**
 * Runs one message's work inside an instrumented `eachBatch`: within that message's context and its own
 * `process` span, so whatever the work publishes continues that message's flow (its order's chain),
 * not the batch's. Outside an instrumented batch it still extracts the message's context.
 */
export async function processMessage<T>(message: KafkaMessage, work: () => Promise<T> | T): Promise<T> {
  const entry = batchMessages.get(message);
  if (!entry) {
    const received = extractFromHeaders(message.headers);
    return context.with(received.context, async () => work());
  }
  if (entry.span) {
    // Called twice for one message: the work joins the span already open for it.
    return context.with(trace.setSpan(context.active(), entry.span), async () => work());
  }
  const { span, received } = entry.start();
  entry.span = span;
  return runInSpan(span, received, async () => work());
}

/**
 * Wraps `run` of a kafkajs consumer: `eachMessage` handlers run inside one CONSUMER span per message;
 * `eachBatch` gets one `process` span per message (see `processMessage` for per-message work).
 */
export function instrumentConsumer<C extends Consumer>(consumer: C, options: ResolvedOptions, configuredGroupId?: string): C {
  const tagged = consumer as C & { [INSTRUMENTED]?: true };
  if (tagged[INSTRUMENTED]) return consumer;
  tagged[INSTRUMENTED] = true;
  const tracer = tracerFor(options);
  const clientId = watchClientId(consumer, options.clientId);
  let groupId = configuredGroupId;
  if (groupId === undefined) consumer.on(consumer.events.GROUP_JOIN, (event) => (groupId ??= event.payload.groupId));
  const attempts = new DeliveryAttempts();

  const wrapEachMessage = (handler: NonNullable<ConsumerRunConfig['eachMessage']>) =>
    async function eachMessage(payload: EachMessagePayload): Promise<void> {
      const { topic, partition, message } = payload;
      const attempt = attempts.next(topic, partition, message.offset);
      // Spelled out, not `{ ...shared, topic, … }`: V8 adds properties to a spread copy tens of times slower.
      const { span, received } = startProcessSpan({ tracer, options, groupId, clientId: clientId(), topic, partition, message, attempt });
      await runInSpan(span, received, () => handler(payload));
      attempts.succeeded(topic, partition, message.offset);
    };

  const wrapEachBatch = (handler: NonNullable<ConsumerRunConfig['eachBatch']>) =>
    async function eachBatch(payload: EachBatchPayload): Promise<void> {
      const { topic, partition, messages } = payload.batch;
      const batchStart = Date.now();
      const entries = messages.map((message) => {
        const attempt = attempts.next(topic, partition, message.offset);
        const entry: BatchMessage = {
          topic, partition, span: null,
          start: (startTime) => startProcessSpan({
            tracer, options, groupId, clientId: clientId(), topic, partition, message, attempt, startTime,
            extra: { [ATTR_MESSAGING_BATCH_MESSAGE_COUNT]: messages.length },
          }),
        };
        batchMessages.set(message, entry);
        return entry;
      });
      let failure: unknown = undefined;
      try {
        await handler(payload);
      } catch (error) {
        failure = error;
        throw error;
      } finally {
        // Messages the handler did not pass through processMessage still get their span, covering the batch.
        messages.forEach((message, i) => {
          const entry = entries[i]!;
          batchMessages.delete(message);
          if (entry.span) return;
          const { span } = entry.start(batchStart);
          if (failure !== undefined) markFailed(span, failure);
          span.end();
        });
        if (failure === undefined) for (const message of messages) attempts.succeeded(topic, partition, message.offset);
      }
    };

  const run = unwrapped(consumer.run, 'consumer.run');
  consumer.run = function (this: unknown, config?: ConsumerRunConfig) {
    const wrapped: ConsumerRunConfig | undefined = config && {
      ...config,
      ...(config.eachMessage ? { eachMessage: wrapEachMessage(config.eachMessage) } : {}),
      ...(config.eachBatch ? { eachBatch: wrapEachBatch(config.eachBatch) } : {}),
    };
    return run.call(this, wrapped);
  };
  return consumer;
}
