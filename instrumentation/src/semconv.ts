/**
 * Every attribute and header name Choreoscope writes or reads, in one place. The instrumentation
 * writes the current OpenTelemetry messaging semantic conventions; the collector also reads the
 * deprecated names listed beside them, so spans from older instrumentations still join flows.
 */

// --- OpenTelemetry messaging semantic conventions (current names) ---------------------------------
export const ATTR_MESSAGING_SYSTEM = 'messaging.system';
export const ATTR_MESSAGING_DESTINATION_NAME = 'messaging.destination.name';
export const ATTR_MESSAGING_OPERATION_TYPE = 'messaging.operation.type';
export const ATTR_MESSAGING_OPERATION_NAME = 'messaging.operation.name';
export const ATTR_MESSAGING_DESTINATION_PARTITION_ID = 'messaging.destination.partition.id';
export const ATTR_MESSAGING_KAFKA_OFFSET = 'messaging.kafka.offset';
export const ATTR_MESSAGING_KAFKA_MESSAGE_KEY = 'messaging.kafka.message.key';
export const ATTR_MESSAGING_KAFKA_MESSAGE_TOMBSTONE = 'messaging.kafka.message.tombstone';
export const ATTR_MESSAGING_CONSUMER_GROUP_NAME = 'messaging.consumer.group.name';
export const ATTR_MESSAGING_CLIENT_ID = 'messaging.client.id';
export const ATTR_MESSAGING_BATCH_MESSAGE_COUNT = 'messaging.batch.message_count';
export const ATTR_MESSAGING_MESSAGE_CONVERSATION_ID = 'messaging.message.conversation_id';
export const ATTR_MESSAGING_MESSAGE_BODY_SIZE = 'messaging.message.body.size';
export const ATTR_ERROR_TYPE = 'error.type';

export const MESSAGING_SYSTEM_KAFKA = 'kafka';
export const OPERATION_TYPE_SEND = 'send';
export const OPERATION_TYPE_PROCESS = 'process';

// --- Deprecated names of the same facts, read (never written) by the collector ---------------------
export const DEPRECATED_ATTRIBUTES = {
  [ATTR_MESSAGING_OPERATION_TYPE]: 'messaging.operation',
  [ATTR_MESSAGING_DESTINATION_PARTITION_ID]: 'messaging.kafka.destination.partition',
  [ATTR_MESSAGING_KAFKA_OFFSET]: 'messaging.kafka.message.offset',
  [ATTR_MESSAGING_CONSUMER_GROUP_NAME]: 'messaging.kafka.consumer.group',
  [ATTR_MESSAGING_CLIENT_ID]: 'messaging.client_id',
} as const;

/**
 * Older spellings still sent by Java, Go and older JavaScript instrumentations, read after the names above
 * (semantic conventions before 1.24): the topic was `messaging.destination`, the partition
 * `messaging.kafka.partition`, the consumer group `messaging.kafka.consumer_group`.
 */
export const ATTR_MESSAGING_DESTINATION_LEGACY = 'messaging.destination';
export const ATTR_MESSAGING_KAFKA_PARTITION_LEGACY = 'messaging.kafka.partition';
export const ATTR_MESSAGING_KAFKA_CONSUMER_GROUP_LEGACY = 'messaging.kafka.consumer_group';

/** `receive`: a span covering a poll of several messages (a batch), as opposed to `process`, one message. */
export const OPERATION_TYPE_RECEIVE = 'receive';
/** Operation types (and deprecated `messaging.operation` values) that mean a span sends a message. */
export const SEND_OPERATION_TYPES: readonly string[] = ['send', 'publish', 'create'];
/** Operation types that mean a span handles one received message. */
export const PROCESS_OPERATION_TYPES: readonly string[] = ['process', 'deliver'];

// --- Other conventions the collector reads -------------------------------------------------------------
/** CloudEvents' type, as the CloudEvents semantic conventions name it, then as the Kafka binding's header. */
export const ATTR_CLOUDEVENTS_EVENT_TYPE = 'cloudevents.event_type';
export const ATTR_CLOUDEVENTS_TYPE_HEADER = 'ce_type';
/** Resource attributes naming the machine a span's clock belongs to, most specific first. */
export const HOST_RESOURCE_ATTRIBUTES: readonly string[] = ['host.name', 'host.id', 'k8s.pod.name', 'service.instance.id'];

// --- Choreoscope's own attributes --------------------------------------------------------------------
/** The business flow this hop belongs to (e.g. the order id): the same on every hop of one order. */
export const ATTR_BUSINESS_KEY = 'choreoscope.business_key';
/** What happened, in the users' words (`OrderCreated`), as opposed to the topic it travelled on. */
export const ATTR_EVENT_TYPE = 'choreoscope.event.type';
/** 1 on the first delivery of a message to this consumer, 2 on the first retry, … */
export const ATTR_DELIVERY_ATTEMPT = 'choreoscope.delivery.attempt';
/** How the producer's context arrived with the message: see ContextStatus. */
export const ATTR_CONTEXT_STATUS = 'choreoscope.context.status';
/** Names of headers dropped as untrustworthy (too large, not UTF-8, ambiguous). */
export const ATTR_CONTEXT_DROPPED_HEADERS = 'choreoscope.context.dropped_headers';
/** How a consumer span is tied to its producer: `parent` or `link`. */
export const ATTR_CONTEXT_MODE = 'choreoscope.context.mode';

/**
 * `propagated`: a valid traceparent continued the trace; `missing`: the message carried none (a
 * producer without instrumentation); `malformed`: it carried one that does not parse; `dropped`: it
 * carried one too large or not UTF-8 to be trusted. Anything but `propagated` starts a new trace,
 * and the collector reports the hop as where context was lost.
 */
export type ContextStatus = 'propagated' | 'missing' | 'malformed' | 'dropped';

// --- Kafka header names --------------------------------------------------------------------------
export const HEADER_TRACEPARENT = 'traceparent';
export const HEADER_TRACESTATE = 'tracestate';
export const HEADER_BAGGAGE = 'baggage';
export const HEADER_BUSINESS_KEY = 'choreoscope-business-key';
export const HEADER_EVENT_TYPE = 'choreoscope-event-type';
/** CloudEvents' Kafka binding carries the event type here; read when ours is absent. */
export const HEADER_CLOUDEVENTS_TYPE = 'ce_type';

/** The baggage entry that carries the business key for code that uses the baggage API directly. */
export const BAGGAGE_BUSINESS_KEY = 'choreoscope.business_key';
