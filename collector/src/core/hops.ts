/**
 * A flow's hops: each delivery of a message from its producer span to a consumer span, and each step
 * from a consumer span to an event its handling sent. Each says how its two ends were tied, strongest
 * first: the consumer's parent is the producer, it links the producer, both name the same Kafka message,
 * or only the business key (and the topic) ties them.
 */
import type { FlowSpan } from './flow-span.ts';
import type { Hop, JoinReason, SpanRef } from './flow.ts';

/** A delivery with the spans behind it, for the anomaly checks. */
export interface Delivery {
  hop: Hop;
  consumer: FlowSpan;
  producer: FlowSpan | null;
  /** The consumer group, or the consuming service when the span names none. */
  group: string;
}

export interface FlowHops {
  deliveries: Delivery[];
  steps: Hop[];
}

export const refOf = (span: FlowSpan): SpanRef => ({ traceId: span.traceId, spanId: span.spanId });


/** The hops among `spans` (one flow's, in causal order). */
export function findHops(spans: readonly FlowSpan[]): FlowHops {
  const byKey = new Map<string, FlowSpan>();
  const byMessage = new Map<string, FlowSpan>();
  const producersByTopic = new Map<string, FlowSpan[]>();
  for (const span of spans) {
    byKey.set(span.key, span);
    if (span.role !== 'producer') continue;
    if (span.message !== null && !byMessage.has(span.message)) byMessage.set(span.message, span);
    if (span.destination !== null) {
      const list = producersByTopic.get(span.destination);
      if (list) list.push(span);
      else producersByTopic.set(span.destination, [span]);
    }
  }
  const producerAt = (key: string | null | undefined): FlowSpan | undefined => {
    const span = key ? byKey.get(key) : undefined;
    return span?.role === 'producer' ? span : undefined;
  };

  // the nearest consumer span up each span's parent chain, found once per span (chains may loop)
  const nearestConsumer = new Map<FlowSpan, FlowSpan | null>();
  const consumerAbove = (span: FlowSpan): FlowSpan | undefined => {
    const path: FlowSpan[] = [];
    let found: FlowSpan | null = null;
    for (let at = byKey.get(span.parentKey ?? ''); at !== undefined; at = byKey.get(at.parentKey ?? '')) {
      const known = nearestConsumer.get(at);
      if (known !== undefined) {
        found = known;
        break;
      }
      if (at.role === 'consumer') {
        found = at;
        break;
      }
      nearestConsumer.set(at, null); // provisional: a chain that loops back here stops here
      path.push(at);
    }
    for (const at of path) nearestConsumer.set(at, found);
    return found ?? undefined;
  };
  const consumersByServiceAndKey = new Map<string, FlowSpan[]>();
  for (const span of spans) {
    if (span.role !== 'consumer' || span.businessKey === null) continue;
    const id = `${span.serviceName}\u0000${span.businessKey}`;
    const list = consumersByServiceAndKey.get(id);
    if (list) list.push(span);
    else consumersByServiceAndKey.set(id, [span]);
  }

  const deliveries: Delivery[] = [];
  const steps: Hop[] = [];
  for (const span of spans) {
    if (span.role === 'consumer') deliveries.push(deliveryTo(span));
    else if (span.role === 'producer') {
      const step = stepTo(span);
      if (step) steps.push(step);
    }
  }
  return { deliveries, steps };

  function deliveryTo(consumer: FlowSpan): Delivery {
    const parentKey = consumer.parentKey;
    const link = consumer.links.length === 1 ? consumer.links[0]! : null;
    let producer: FlowSpan | undefined;
    let joinedBy: JoinReason | null = null;
    if ((producer = producerAt(parentKey))) joinedBy = 'parent';
    else if ((producer = producerAt(link))) joinedBy = 'link';
    else if (consumer.message !== null && (producer = byMessage.get(consumer.message))) joinedBy = 'message';
    else if ((producer = byKeyAndTopic(consumer))) joinedBy = 'key';

    // named but not here: the producer has not reported yet (a link names it surely; a parent may be a poll)
    const awaited = producer === undefined ? (link !== null && !byKey.has(link) ? link : parentKey !== null && !byKey.has(parentKey) ? parentKey : null) : null;
    const from = producer ? refOf(producer) : awaited ? refFromKey(awaited) : null;
    let waitMs: number | null = null;
    let clockSkew = false;
    if (producer) {
      clockSkew = isClockSkew(producer, consumer);
      waitMs = Math.max(0, consumer.startMs - producer.endMs);
    }
    const group = consumer.consumerGroup ?? consumer.serviceName;
    const hop: Hop = {
      kind: 'delivery',
      from,
      to: refOf(consumer),
      joinedBy: producer ? joinedBy : awaited ? (awaited === link ? 'link' : 'parent') : null,
      pending: awaited !== null,
      destination: consumer.destination ?? producer?.destination ?? null,
      eventType: consumer.eventType ?? producer?.eventType ?? null,
      fromService: producer?.serviceName ?? null,
      toService: consumer.serviceName,
      consumerGroup: group,
      attempt: consumer.attempt,
      waitMs,
      processingMs: consumer.endMs - consumer.startMs,
      clockSkew,
    };
    return { hop, consumer, producer: producer ?? null, group };
  }

  /**
   * The producer of the consumer's topic with its business key: the latest one sent before it started, else
   * the earliest. One that sent another event type, or named another Kafka message, sent a different
   * message (PaymentAuthorized, not the PaymentRefunded whose send has not reported yet): taking it would
   * make one handling look like two of the same message.
   */
  function byKeyAndTopic(consumer: FlowSpan): FlowSpan | undefined {
    if (consumer.businessKey === null || consumer.destination === null) return undefined;
    const differ = (a: string | null, b: string | null) => a !== null && b !== null && a !== b;
    // a span without an event type of its own is named after its topic: that says nothing about the event
    const ownType = (span: FlowSpan) => (span.eventType === span.destination ? null : span.eventType);
    const candidates = (producersByTopic.get(consumer.destination) ?? []).filter((p) => p.businessKey === consumer.businessKey
      && !differ(ownType(p), ownType(consumer)) && !differ(p.message, consumer.message));
    let best: FlowSpan | undefined;
    for (const candidate of candidates) {
      if (candidate.startMs <= consumer.startMs) best = candidate; // in causal order: the last one before wins
    }
    return best ?? candidates[0];
  }

  /** The consumer whose handling sent this event: its nearest consumer ancestor, its linked consumer, or by key. */
  function stepTo(producer: FlowSpan): Hop | null {
    let cause = consumerAbove(producer);
    let joinedBy: JoinReason | null = cause ? 'parent' : null;
    const link = producer.links.length === 1 ? byKey.get(producer.links[0]!) : undefined;
    if (cause === undefined && link?.role === 'consumer') {
      cause = link;
      joinedBy = 'link';
    }
    if (cause === undefined && producer.businessKey !== null) {
      // e.g. an event sent from a batch handler, under the poll: the same service's latest handling of this order
      cause = latestBefore(consumersByServiceAndKey.get(`${producer.serviceName}\u0000${producer.businessKey}`), producer.startMs);
      if (cause) joinedBy = 'key';
    }
    if (cause === undefined) return null;
    return {
      kind: 'step',
      from: refOf(cause),
      to: refOf(producer),
      joinedBy,
      pending: false,
      destination: producer.destination,
      eventType: producer.eventType,
      fromService: cause.serviceName,
      toService: producer.serviceName,
      consumerGroup: null,
      attempt: null,
      waitMs: null,
      processingMs: producer.endMs - producer.startMs,
      clockSkew: false,
    };
  }
}

/** The last of `spans` (in start order) that started at or before `atMs`. */
function latestBefore(spans: readonly FlowSpan[] | undefined, atMs: number): FlowSpan | undefined {
  if (spans === undefined) return undefined;
  let low = 0;
  let high = spans.length; // the first index starting after atMs
  while (low < high) {
    const middle = (low + high) >> 1;
    if (spans[middle]!.startMs <= atMs) low = middle + 1;
    else high = middle;
  }
  return low === 0 ? undefined : spans[low - 1];
}

function refFromKey(key: string): SpanRef {
  const [traceId, spanId] = key.split('/') as [string, string];
  return { traceId, spanId };
}

/**
 * A consumer that starts before its producer ended. On one host that happens without any clock being
 * wrong (the broker hands the message out before the producer has read its acknowledgement), so there
 * only a start before the producer's start counts.
 */
export function isClockSkew(producer: FlowSpan, consumer: FlowSpan): boolean {
  if (consumer.startMs >= producer.endMs) return false;
  return producer.host !== consumer.host || consumer.startMs < producer.startMs;
}
