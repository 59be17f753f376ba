/**
 * How far one flow has got, in the choreography's words: which events were sent and when, which consumer
 * groups handled each, which event led to which, and whether something failed for good. This is what the
 * learned model (model.ts) learns from and what stall detection (stalls.ts) judges; it follows from the
 * flow's spans and hops alone, so it is the same whatever order the spans came in.
 */
import type { FlowSpan } from './flow-span.ts';
import { findHops, type FlowHops } from './hops.ts';

/** An event type's first occurrence in the flow. */
export interface EventOccurrence {
  eventType: string;
  /** The producing service; for an event only its consumers reported (an uninstrumented producer), null. */
  service: string | null;
  /** When it was sent: its producer span's end, else its earliest consumer's start. */
  atMs: number;
  /**
   * The Kafka message (`topic/partition/offset`, flow-span.ts) from its producer span, else from a span
   * that handled it (a producer recording no offset); null when none says. Absent: not known.
   */
  message?: string | null;
}

/** One consumer group's handling of one event type (the first attempt's start; whether any attempt succeeded). */
export interface Consumption {
  eventType: string;
  group: string;
  service: string;
  atMs: number;
  succeeded: boolean;
  /** How long the first successful attempt took (its span); null when none succeeded; absent: not known. */
  handlingMs?: number | null;
  /** Attempts at it (every delivery of the message to the group), and how many failed; absent: one. */
  attempts?: number;
  failedAttempts?: number;
  /** When its earliest attempt ended: the first moment a collector can know of it (spans report when they end). Absent: not known. */
  endedAtMs?: number;
  /** When the first successful attempt ended (its span's end); null when none succeeded; absent: not known. */
  doneAtMs?: number | null;
  /**
   * An attempt sent an event from inside its handling (a step hop out of its span): what a handler that
   * always sends, ending without it, is judged by (stalls.ts). Absent: not known.
   */
  sentNext?: boolean;
}

/**
 * Handling `from` sent `to`: a step hop (the producer span is under the consumer span that handled
 * `from`), else `to`'s service had begun handling `from` before sending it.
 */
export interface Transition {
  from: string;
  to: string;
  /** From `from` sent to `to` sent. */
  latencyMs: number;
}

/** Something that went wrong and was not retried successfully: the flow failed there. */
export interface Failure {
  service: string;
  eventType: string | null;
  /** The group whose every attempt failed; null when a send failed. */
  group: string | null;
  atMs: number;
}

export interface FlowProgress {
  /** In the order they were sent. */
  events: EventOccurrence[];
  consumptions: Consumption[];
  transitions: Transition[];
  failure: Failure | null;
  /** The end of its latest span. */
  lastActivityMs: number;
}

/** The progress of a flow from its spans (any order); `hops` when already found for them. */
export function flowProgress(spans: readonly FlowSpan[], hops: FlowHops = findHops(spans)): FlowProgress {
  const events = new Map<string, EventOccurrence>();
  const sent = (eventType: string, service: string | null, atMs: number, message: string | null) => {
    const known = events.get(eventType);
    // a known producer beats a time read off a consumer; then the earliest
    if (known === undefined || (known.service === null && service !== null) || ((known.service === null) === (service === null) && atMs < known.atMs)) {
      events.set(eventType, { eventType, service, atMs, message });
    }
  };
  let lastActivityMs = -Infinity;
  const failedSends = new Map<string, FlowSpan>();
  // an event sent as two messages (a transaction aborted and sent again, a send retried by hand): which one
  // a consumer group should have read is not known, so none is named
  const firstMessage = new Map<string, string>();
  const sentTwice = new Set<string>();
  const goodSends = new Set<string>();
  for (const span of spans) {
    lastActivityMs = Math.max(lastActivityMs, span.endMs);
    if (span.role !== 'producer' || span.eventType === null) continue;
    if (span.error) {
      if (!failedSends.has(span.eventType)) failedSends.set(span.eventType, span);
      continue;
    }
    goodSends.add(span.eventType);
    sent(span.eventType, span.serviceName, span.endMs, span.message);
    if (span.message === null) continue;
    const first = firstMessage.get(span.eventType);
    if (first === undefined) firstMessage.set(span.eventType, span.message);
    else if (first !== span.message) sentTwice.add(span.eventType);
  }

  const consumptions = new Map<string, Consumption>();
  const handling = new Map<string, Consumption>(); // consumer span key → the consumption it is an attempt at
  for (const { consumer, producer, group } of hops.deliveries) {
    const eventType = consumer.eventType ?? producer?.eventType ?? null;
    if (eventType === null) continue;
    if (producer === null) sent(eventType, null, consumer.startMs, consumer.message);
    const id = `${eventType}\u0000${group}`;
    let known = consumptions.get(id);
    const handlingMs = consumer.error ? null : consumer.endMs - consumer.startMs;
    const doneAtMs = consumer.error ? null : consumer.endMs;
    if (known === undefined) {
      known = {
        eventType, group, service: consumer.serviceName, atMs: consumer.startMs, succeeded: !consumer.error, handlingMs,
        attempts: 1, failedAttempts: consumer.error ? 1 : 0, endedAtMs: consumer.endMs, doneAtMs, sentNext: false,
      };
      consumptions.set(id, known);
    } else {
      // the first success's handling: a redelivery after it is a duplicate, not how long handling takes
      if (handlingMs !== null && (known.handlingMs === null || known.handlingMs === undefined || consumer.startMs < known.atMs)) known.handlingMs = handlingMs;
      if (doneAtMs !== null && (known.doneAtMs === null || known.doneAtMs === undefined || doneAtMs < known.doneAtMs)) known.doneAtMs = doneAtMs;
      known.atMs = Math.min(known.atMs, consumer.startMs);
      known.endedAtMs = Math.min(known.endedAtMs ?? Infinity, consumer.endMs);
      known.succeeded ||= !consumer.error;
      known.attempts = (known.attempts ?? 1) + 1;
      known.failedAttempts = (known.failedAttempts ?? 0) + (consumer.error ? 1 : 0);
    }
    handling.set(consumer.key, known);
  }
  // a producer that recorded no offset: the message its consumers say they handled
  for (const { consumer, producer } of hops.deliveries) {
    const event = events.get(consumer.eventType ?? producer?.eventType ?? '');
    if (event !== undefined && event.message === null && consumer.message !== null) event.message = consumer.message;
  }
  for (const eventType of sentTwice) events.get(eventType)!.message = null;

  const byKey = new Map(spans.map((span) => [span.key, span]));
  const transitions = new Map<string, Transition>();
  for (const step of hops.steps) {
    if (step.from === null) continue;
    const cause = handling.get(`${step.from.traceId}/${step.from.spanId}`);
    const from = cause?.eventType;
    const to = byKey.get(`${step.to.traceId}/${step.to.spanId}`)?.eventType ?? null;
    if (cause === undefined || from === undefined || to === null || from === to) continue;
    // sent from inside the handling (its span is the send's parent or link), not matched by key afterwards
    if (step.joinedBy === 'parent' || step.joinedBy === 'link') cause.sentNext = true;
    const fromAt = events.get(from)?.atMs;
    const toAt = events.get(to)?.atMs;
    if (fromAt === undefined || toAt === undefined) continue;
    const id = `${from}\u0000${to}`;
    if (!transitions.has(id)) transitions.set(id, { from, to, latencyMs: Math.max(0, toAt - fromAt) });
  }

  // an event with no step hop into it (sent outside the handler's span: a batch handler's sends sit under
  // the poll) followed what its service last began handling before sending it
  const explained = new Set([...transitions.values()].map((t) => t.to));
  for (const event of events.values()) {
    if (explained.has(event.eventType) || event.service === null) continue;
    let cause: Consumption | null = null;
    for (const c of consumptions.values()) {
      if (c.service === event.service && c.eventType !== event.eventType && c.atMs <= event.atMs && (cause === null || c.atMs > cause.atMs)) cause = c;
    }
    const fromAt = cause === null ? undefined : events.get(cause.eventType)?.atMs;
    if (cause === null || fromAt === undefined) continue;
    transitions.set(`${cause.eventType}\u0000${event.eventType}`, { from: cause.eventType, to: event.eventType, latencyMs: Math.max(0, event.atMs - fromAt) });
  }

  return {
    events: [...events.values()].sort((a, b) => a.atMs - b.atMs || (a.eventType < b.eventType ? -1 : 1)),
    consumptions: [...consumptions.values()],
    transitions: [...transitions.values()].sort((a, b) => events.get(a.from)!.atMs - events.get(b.from)!.atMs || (a.to < b.to ? -1 : 1)),
    failure: firstFailure(consumptions, failedSends, goodSends),
    lastActivityMs: Number.isFinite(lastActivityMs) ? lastActivityMs : 0,
  };
}

/** The earliest consumption whose every attempt failed, or send that never succeeded. */
function firstFailure(consumptions: Map<string, Consumption>, failedSends: Map<string, FlowSpan>, goodSends: Set<string>): Failure | null {
  let failure: Failure | null = null;
  const consider = (candidate: Failure) => {
    if (failure === null || candidate.atMs < failure.atMs) failure = candidate;
  };
  for (const c of consumptions.values()) {
    if (!c.succeeded) consider({ service: c.service, eventType: c.eventType, group: c.group, atMs: c.atMs });
  }
  for (const [eventType, span] of failedSends) {
    if (!goodSends.has(eventType)) consider({ service: span.serviceName, eventType, group: null, atMs: span.endMs });
  }
  return failure;
}
