/**
 * A business flow: one order's causal chain across services, topics, traces and retries, and the words
 * the rest of the collector uses for it. Plain data, produced by the pure core (assemble.ts joins spans
 * into flows, describe-flow.ts says what each flow holds) and answered by the API as it is.
 */
import type { BusinessKey, SpanId, TraceId } from './span.ts';

/**
 * A flow's id: `<traceId>-<spanId>` of its anchor, the earliest of its spans (by start time, then ids).
 * It follows from the flow's spans alone, so every collector and every arrival order names a flow alike.
 * When flows merge, the surviving one is the one with the earlier anchor; the absorbed id still names a
 * span of the surviving flow, which is how an old id keeps answering.
 */
export type FlowId = string;

/** How a span was found to belong with another, strongest first. */
export type JoinReason =
  /** the same trace: a child of its parent span */
  | 'parent'
  /** a span link, e.g. a consumer in a trace of its own linking the producer of its message */
  | 'link'
  /** the same Kafka message: equal topic, partition and offset on the producer and the consumer span */
  | 'message'
  /** the same business key (e.g. the order id), when nothing stronger ties the two */
  | 'key';

/** What a span does in a choreography, read from its kind and messaging attributes (flow-span.ts). */
export type SpanRole =
  /** sends one message */
  | 'producer'
  /** handles one received message */
  | 'consumer'
  /**
   * covers several messages at once (a poll, a batch handler linking several producers): it belongs to
   * no single flow, and neither does work done directly under it
   */
  | 'batch'
  /** anything else: a handler's own work, an HTTP request, a database call */
  | 'internal';

export interface SpanRef {
  traceId: TraceId;
  spanId: SpanId;
}

/**
 * One edge of a flow's chain.
 * - `delivery`: a message going through Kafka, from its producer span to one consumer span (one per
 *   consumer group and delivery attempt).
 * - `step`: a service reacting, from the consumer span that handled a message to a producer span its
 *   handling sent (the next event of the chain).
 */
export type HopKind = 'delivery' | 'step';

export interface Hop {
  kind: HopKind;
  /**
   * delivery: the producer span, null when no producer span is known (an uninstrumented producer);
   * step: the consumer span
   */
  from: SpanRef | null;
  to: SpanRef;
  /** How `to` was tied to `from`; null when `from` is null. */
  joinedBy: JoinReason | null;
  /**
   * The consumer names its producer (parent or link) but that span has not arrived: consumers can
   * report before producers, so the hop waits for it rather than being dropped.
   */
  pending: boolean;
  /** The topic the message travelled on (delivery), or the one the step sent to. */
  destination: string | null;
  eventType: string | null;
  fromService: string | null;
  toService: string;
  /** The consumer group of a delivery (the consuming service when the span names no group). */
  consumerGroup: string | null;
  /** `choreoscope.delivery.attempt` of a delivery, when the consumer recorded it. */
  attempt: number | null;
  /** delivery: producer end → consumer start, time in Kafka (0 when clocks disagree); step: null. */
  waitMs: number | null;
  /** The duration of the `to` span: the consumer's handling, or the send. */
  processingMs: number;
  /** The consumer started before its producer ended (by the other host's clock): `waitMs` shows 0. */
  clockSkew: boolean;
}

export type AnomalyType =
  | 'fan-out'
  | 'fan-in'
  | 'duplicate-delivery'
  | 'retry'
  | 'out-of-order'
  | 'orphan-event'
  | 'propagation-gap'
  | 'clock-skew'
  | 'shared-key'
  | 'truncated';

export const ANOMALY_TYPES: readonly AnomalyType[] = [
  'fan-out', 'fan-in', 'duplicate-delivery', 'retry', 'out-of-order', 'orphan-event', 'propagation-gap', 'clock-skew',
  'shared-key', 'truncated',
];

/** `warning`: something a user may need to fix; `info`: a shape worth seeing. */
export type AnomalySeverity = 'info' | 'warning';

interface AnomalyBase {
  severity: AnomalySeverity;
  /** One sentence for a person, e.g. "context lost at inventory on topic orders.paid". */
  message: string;
}

/** One event consumed by several consumer groups. */
export interface FanOutAnomaly extends AnomalyBase {
  type: 'fan-out';
  producer: SpanRef;
  eventType: string | null;
  destination: string | null;
  groups: string[];
}

/** One consumer group handling several of the flow's event types (it waits for, or reacts to, each). */
export interface FanInAnomaly extends AnomalyBase {
  type: 'fan-in';
  consumerGroup: string;
  service: string;
  eventTypes: string[];
}

/** One message handled successfully more than once by the same group: its handler must be idempotent. */
export interface DuplicateDeliveryAnomaly extends AnomalyBase {
  type: 'duplicate-delivery';
  producer: SpanRef | null;
  eventType: string | null;
  destination: string | null;
  consumerGroup: string;
  service: string;
  deliveries: SpanRef[];
  /** When the first repeat began (the second successful handling's start): the anomaly's own time. */
  repeatedAtMs: number;
}

/** One message delivered again to the same group after a failed (or counted) attempt. */
export interface RetryAnomaly extends AnomalyBase {
  type: 'retry';
  producer: SpanRef | null;
  eventType: string | null;
  destination: string | null;
  consumerGroup: string;
  service: string;
  attempts: number;
  /** Whether the last attempt succeeded. */
  succeeded: boolean;
  deliveries: SpanRef[];
}

/** A group handled an event before one that was produced earlier in the same flow. */
export interface OutOfOrderAnomaly extends AnomalyBase {
  type: 'out-of-order';
  consumerGroup: string;
  service: string;
  /** Produced first, handled second. */
  producedFirst: { eventType: string | null; consumer: SpanRef };
  /** Produced second, handled first. */
  handledFirst: { eventType: string | null; consumer: SpanRef };
}

/** An event produced that no consumer handled within the orphan window. */
export interface OrphanEventAnomaly extends AnomalyBase {
  type: 'orphan-event';
  producer: SpanRef;
  eventType: string | null;
  destination: string | null;
  service: string;
  producedAtMs: number;
}

/** A consumer started a new trace although its message could be matched: the trace context was lost. */
export interface PropagationGapAnomaly extends AnomalyBase {
  type: 'propagation-gap';
  /** The consuming service, where the context was lost. */
  service: string;
  destination: string | null;
  consumerGroup: string;
  consumer: SpanRef;
  producer: SpanRef | null;
  /** How the consumer was matched instead (null: by nothing, it only said the context was missing). */
  joinedBy: JoinReason | null;
  /** What the consumer's instrumentation said of the context it received (`choreoscope.context.status`). */
  contextStatus: string | null;
  /** When the consumer that lost it started: the anomaly's own time. */
  lostAtMs: number;
}

/** A consumer that starts before its producer ended, by their hosts' clocks: the wait is shown as 0. */
export interface ClockSkewAnomaly extends AnomalyBase {
  type: 'clock-skew';
  producer: SpanRef;
  consumer: SpanRef;
  producerHost: string;
  consumerHost: string;
  /** How much earlier the consumer started than the producer ended. */
  skewMs: number;
}

/** The flow carries a business key shared by too many unrelated chains to join by (a customer id, a constant). */
export interface SharedKeyAnomaly extends AnomalyBase {
  type: 'shared-key';
  businessKey: BusinessKey;
}

/** The flow reached the most spans a flow holds; later spans were left out of it (and counted). */
export interface TruncatedAnomaly extends AnomalyBase {
  type: 'truncated';
  droppedSpans: number;
  maxFlowSpans: number;
}

export type Anomaly =
  | FanOutAnomaly | FanInAnomaly | DuplicateDeliveryAnomaly | RetryAnomaly | OutOfOrderAnomaly | OrphanEventAnomaly
  | PropagationGapAnomaly | ClockSkewAnomaly | SharedKeyAnomaly | TruncatedAnomaly;

/** What a flow holds, in figures: what lists and filters show. */
export interface FlowFacts {
  flowId: FlowId;
  /** Distinct business keys of its spans (a shared key included), at most MAX_LISTED. */
  businessKeys: BusinessKey[];
  /** Distinct trace ids, in order of first appearance, at most MAX_LISTED. */
  traceIds: TraceId[];
  traceCount: number;
  /** Start of its earliest span and end of its latest, epoch milliseconds. */
  firstEventMs: number;
  lastEventMs: number;
  durationMs: number;
  /** In order of first appearance. */
  services: string[];
  /** The event types it carried (`choreoscope.event.type`, else CloudEvents' type, else the topic), in order of first appearance. */
  eventTypes: string[];
  spanCount: number;
  errorCount: number;
  hopCount: number;
  /** Deliveries whose producer span is named but has not arrived. */
  pendingHops: number;
  /** The distinct anomaly types present, in ANOMALY_TYPES order. */
  anomalies: AnomalyType[];
  /** Spans left out because the flow reached its size limit. */
  droppedSpans: number;
}

/** A flow described: its facts, its hops, its anomalies, and when its description changes by time alone. */
export interface FlowDescription {
  facts: FlowFacts;
  hops: Hop[];
  anomalies: Anomaly[];
  /**
   * When an unconsumed event becomes an orphan if nothing arrives meanwhile: describe the flow again
   * then. Null when time alone changes nothing.
   */
  recheckAtMs: number | null;
}

/** The most business keys and trace ids a flow's facts list; the counts go on. */
export const MAX_LISTED = 64;

export function flowIdOf(anchor: SpanRef): FlowId {
  return `${anchor.traceId}-${anchor.spanId}`;
}

/** The anchor span a flow id names, or null when it is not of that form. */
export function anchorOf(flowId: string): SpanRef | null {
  const match = /^([0-9a-f]{32})-([0-9a-f]{16})$/.exec(flowId);
  return match ? { traceId: match[1]!, spanId: match[2]! } : null;
}
