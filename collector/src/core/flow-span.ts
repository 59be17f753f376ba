/**
 * The facts flow assembly reads off a span, taken once from its record: what it does in the choreography
 * (its role), which Kafka message it sends or handles, its consumer group, event type, business key and
 * host. Instrumentations name these facts differently (current and deprecated semantic conventions, the
 * official kafkajs instrumentation, Java's and Go's), so every name they use is read here and nowhere else.
 */
import {
  ATTR_CLOUDEVENTS_EVENT_TYPE, ATTR_CLOUDEVENTS_TYPE_HEADER, ATTR_CONTEXT_STATUS, ATTR_DELIVERY_ATTEMPT, ATTR_EVENT_TYPE,
  ATTR_MESSAGING_BATCH_MESSAGE_COUNT, ATTR_MESSAGING_CONSUMER_GROUP_NAME, ATTR_MESSAGING_DESTINATION_LEGACY,
  ATTR_MESSAGING_DESTINATION_NAME, ATTR_MESSAGING_DESTINATION_PARTITION_ID, ATTR_MESSAGING_KAFKA_CONSUMER_GROUP_LEGACY,
  ATTR_MESSAGING_KAFKA_OFFSET, ATTR_MESSAGING_KAFKA_PARTITION_LEGACY, ATTR_MESSAGING_OPERATION_TYPE, DEPRECATED_ATTRIBUTES,
  HOST_RESOURCE_ATTRIBUTES, OPERATION_TYPE_RECEIVE, PROCESS_OPERATION_TYPES, SEND_OPERATION_TYPES,
} from '@choreoscope/instrumentation/semconv';
import type { SpanRole } from './flow.ts';
import { spanKey, type Attributes, type AttributeValue, type BusinessKey, type SpanId, type SpanRecord, type TraceId } from './span.ts';

export interface FlowSpan {
  /** `traceId/spanId` (spanKey). */
  readonly key: string;
  readonly traceId: TraceId;
  readonly spanId: SpanId;
  /** The parent's span key (`traceId/parentSpanId`), null for a root. */
  parentKey: string | null;
  role: SpanRole;
  serviceName: string;
  /** The machine whose clock timed the span (see HOST_RESOURCE_ATTRIBUTES), else the service. */
  host: string;
  startMs: number;
  endMs: number;
  error: boolean;
  /** The topic a producer sent to or a consumer received from. */
  destination: string | null;
  /** The Kafka message a producer sent or a consumer handled, as MessageCoordinate; null unless topic, partition and offset are all known. */
  message: string | null;
  /** A consumer's group; null when the span names none (the consuming service then stands for it). */
  consumerGroup: string | null;
  /** `choreoscope.event.type`, else CloudEvents' type, else the topic; null for a span that is not messaging. */
  eventType: string | null;
  businessKey: BusinessKey | null;
  attempt: number | null;
  contextStatus: string | null;
  /** The distinct spans it links to, as span keys (a link to itself included: the assembler reports it). */
  links: string[];
}

const first = (attributes: Attributes, names: readonly string[]): AttributeValue | undefined => {
  for (const name of names) {
    const value = attributes[name];
    if (value !== undefined && value !== null && value !== '') return value;
  }
  return undefined;
};

const text = (value: AttributeValue | undefined): string | null =>
  typeof value === 'string' ? value : typeof value === 'number' && Number.isFinite(value) ? String(value) : null;

/** A partition or offset as its decimal digits, whether sent as a number (ours) or a string (the official kafkajs instrumentation). */
const wholeNumber = (value: AttributeValue | undefined): string | null => {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? String(value) : null;
  if (typeof value !== 'string' || !/^\d{1,19}$/.test(value)) return null;
  // "0042" and 42 name the same offset; past 2^53 only BigInt keeps every digit
  return value.length < 16 ? String(Number(value)) : String(BigInt(value));
};

const DESTINATION = [ATTR_MESSAGING_DESTINATION_NAME, ATTR_MESSAGING_DESTINATION_LEGACY];
const PARTITION = [ATTR_MESSAGING_DESTINATION_PARTITION_ID, DEPRECATED_ATTRIBUTES[ATTR_MESSAGING_DESTINATION_PARTITION_ID], ATTR_MESSAGING_KAFKA_PARTITION_LEGACY];
const OFFSET = [ATTR_MESSAGING_KAFKA_OFFSET, DEPRECATED_ATTRIBUTES[ATTR_MESSAGING_KAFKA_OFFSET]];
const OPERATION = [ATTR_MESSAGING_OPERATION_TYPE, DEPRECATED_ATTRIBUTES[ATTR_MESSAGING_OPERATION_TYPE]];
const GROUP = [ATTR_MESSAGING_CONSUMER_GROUP_NAME, DEPRECATED_ATTRIBUTES[ATTR_MESSAGING_CONSUMER_GROUP_NAME], ATTR_MESSAGING_KAFKA_CONSUMER_GROUP_LEGACY];
const EVENT_TYPE = [ATTR_EVENT_TYPE, ATTR_CLOUDEVENTS_EVENT_TYPE, ATTR_CLOUDEVENTS_TYPE_HEADER];

/**
 * Topic, partition and offset in one string, `orders/0/42`: the identity of a Kafka message within a
 * cluster. Unambiguous even for a topic holding a slash, since the last two parts are digits.
 */
export function messageCoordinate(topic: string, partition: string, offset: string): string {
  return `${topic}/${partition}/${offset}`;
}

/**
 * A span's facts as the assembler holds them for as long as its flow is open: the trace and span ids are
 * read off the key, and names that repeat across spans (services, hosts, topics, groups, event types)
 * are shared, so an open flow costs little memory (bench/flows.bench.ts measures it).
 */
class SpanFacts implements FlowSpan {
  constructor(
    readonly key: string,
    readonly parentKey: string | null,
    readonly role: SpanRole,
    readonly serviceName: string,
    readonly host: string,
    readonly startMs: number,
    readonly endMs: number,
    readonly error: boolean,
    readonly destination: string | null,
    readonly message: string | null,
    readonly consumerGroup: string | null,
    readonly eventType: string | null,
    readonly businessKey: BusinessKey | null,
    readonly attempt: number | null,
    readonly contextStatus: string | null,
    readonly links: string[],
  ) {}

  get traceId(): TraceId {
    return this.key.slice(0, 32);
  }

  get spanId(): SpanId {
    return this.key.slice(33);
  }
}

const NO_LINKS: string[] = [];

/** Strings that repeat across spans, kept once; the table stops growing at its bound (a flood of distinct names). */
const interned = new Map<string, string>();
const MAX_INTERNED = 100_000;
function intern(value: string | null): string | null {
  if (value === null) return null;
  const known = interned.get(value);
  if (known !== undefined) return known;
  if (interned.size < MAX_INTERNED) interned.set(value, value);
  return value;
}

export function toFlowSpan(record: SpanRecord): FlowSpan {
  const attributes = record.attributes;
  const key = spanKey(record);
  const links = record.links.length === 0 ? NO_LINKS : [...new Set(record.links.map(spanKey))];
  const operation = text(first(attributes, OPERATION));
  const offset = wholeNumber(first(attributes, OFFSET));
  const role = roleOf(record, operation, offset, links.length, attributes);
  const destination = intern(text(first(attributes, DESTINATION)));
  const partition = wholeNumber(first(attributes, PARTITION));
  const messaging = role === 'producer' || role === 'consumer';
  const attempt = attributes[ATTR_DELIVERY_ATTEMPT];
  return new SpanFacts(
    key,
    record.parentSpanId === null ? null : `${record.traceId}/${record.parentSpanId}`,
    role,
    intern(record.serviceName)!,
    intern(text(first(record.resource, HOST_RESOURCE_ATTRIBUTES)) ?? record.serviceName)!,
    record.startTimeMs,
    record.endTimeMs,
    record.status.code === 'error',
    messaging ? destination : null,
    messaging && destination !== null && partition !== null && offset !== null ? messageCoordinate(destination, partition, offset) : null,
    role === 'consumer' ? intern(text(first(attributes, GROUP))) : null,
    messaging ? intern(text(first(attributes, EVENT_TYPE)) ?? destination) : null,
    record.businessKey,
    typeof attempt === 'number' && Number.isInteger(attempt) && attempt >= 1 ? attempt : null,
    intern(text(attributes[ATTR_CONTEXT_STATUS] ?? null)),
    links,
  );
}

/**
 * A batch first, since batch spans come in consumer and client kinds alike: a span linking several
 * messages (unless it sends one), a `receive` (the official kafkajs instrumentation's `poll`, Java's `receive`), or one counting
 * a batch without naming a message of its own. Choreoscope's per-message spans inside `eachBatch` carry
 * the batch's count too, but also their own offset: those are consumers.
 */
function roleOf(record: SpanRecord, operation: string | null, offset: string | null, links: number, attributes: Attributes): SpanRole {
  // a producer linking what it read (a join of several events) still sends one message of one flow
  if (links >= 2 && record.kind !== 'producer') return 'batch';
  const perMessage = offset !== null || links === 1;
  if (operation === OPERATION_TYPE_RECEIVE && !perMessage) return 'batch';
  const batchCount = attributes[ATTR_MESSAGING_BATCH_MESSAGE_COUNT];
  if (typeof batchCount === 'number' && batchCount >= 2 && !perMessage) return 'batch';
  if (record.kind === 'producer' || (operation !== null && SEND_OPERATION_TYPES.includes(operation))) return 'producer';
  if (record.kind === 'consumer' || (operation !== null && PROCESS_OPERATION_TYPES.includes(operation))) return 'consumer';
  return 'internal';
}
