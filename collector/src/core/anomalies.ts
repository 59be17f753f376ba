/**
 * The shapes of a flow a user must see, found in its spans and hops: fan-out and fan-in, duplicate
 * deliveries, retries, steps handled out of order, orphan events, lost trace context and clock skew.
 * Pure: the orphan check compares span times with the `nowMs` it is given.
 */
import type { ContextStatus } from '@choreoscope/instrumentation/semconv';
import type { Anomaly, OrphanEventAnomaly } from './flow.ts';
import type { FlowSpan } from './flow-span.ts';
import { refOf, type Delivery } from './hops.ts';

/** Context statuses that say the consumer started a new trace although a message arrived. */
const LOST_CONTEXT: readonly string[] = ['missing', 'malformed', 'dropped'] satisfies ContextStatus[];

export interface AnomalyOptions {
  orphanAfterMs: number;
}

export interface FoundAnomalies {
  anomalies: Anomaly[];
  /** When an event still unconsumed becomes an orphan, if nothing arrives before. */
  recheckAtMs: number | null;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
const ms = (value: number): string => `${Math.round(value)} ms`;
const named = (eventType: string | null): string => eventType ?? 'an event';
const onTopic = (topic: string | null): string => (topic === null ? '' : ` on topic ${topic}`);

export function findAnomalies(spans: readonly FlowSpan[], deliveries: readonly Delivery[], nowMs: number, options: AnomalyOptions): FoundAnomalies {
  const anomalies: Anomaly[] = [];
  // deliveries of one message to one group: by producer span, else by Kafka message, else the consumer alone
  const perMessage = new Map<string, Delivery[]>();
  const consumedProducers = new Set<FlowSpan>();
  for (const delivery of deliveries) {
    const message = delivery.producer?.key ?? delivery.consumer.message ?? delivery.consumer.key;
    const id = `${message}\u0000${delivery.group}`;
    const list = perMessage.get(id);
    if (list) list.push(delivery);
    else perMessage.set(id, [delivery]);
    if (delivery.producer) consumedProducers.add(delivery.producer);
  }

  fanOut(deliveries, anomalies);
  fanIn(deliveries, anomalies);
  for (const list of perMessage.values()) repeatedDeliveries(list, anomalies);
  outOfOrder(perMessage, anomalies);
  const recheckAtMs = orphans(spans, consumedProducers, nowMs, options, anomalies);
  for (const delivery of deliveries) {
    propagationGap(delivery, anomalies);
    clockSkew(delivery, anomalies);
  }
  return { anomalies, recheckAtMs };
}

function fanOut(deliveries: readonly Delivery[], anomalies: Anomaly[]): void {
  const groups = new Map<FlowSpan, Set<string>>();
  for (const { producer, group } of deliveries) {
    if (producer === null) continue;
    const set = groups.get(producer) ?? new Set();
    set.add(group);
    groups.set(producer, set);
  }
  for (const [producer, set] of groups) {
    if (set.size < 2) continue;
    const list = [...set];
    anomalies.push({
      type: 'fan-out', severity: 'info', producer: refOf(producer), eventType: producer.eventType, destination: producer.destination, groups: list,
      message: `${named(producer.eventType)} from ${producer.serviceName} was handled by ${list.length} consumer groups: ${list.join(', ')}`,
    });
  }
}

function fanIn(deliveries: readonly Delivery[], anomalies: Anomaly[]): void {
  const byGroup = new Map<string, { service: string; eventTypes: Set<string> }>();
  for (const { group, hop, consumer } of deliveries) {
    if (hop.eventType === null) continue;
    const entry = byGroup.get(group) ?? { service: consumer.serviceName, eventTypes: new Set() };
    entry.eventTypes.add(hop.eventType);
    byGroup.set(group, entry);
  }
  for (const [group, { service, eventTypes }] of byGroup) {
    if (eventTypes.size < 2) continue;
    const list = [...eventTypes];
    anomalies.push({
      type: 'fan-in', severity: 'info', consumerGroup: group, service, eventTypes: list,
      message: `${group} handled ${list.length} of this flow's event types: ${list.join(', ')}`,
    });
  }
}

/** Several deliveries of one message to one group: retries (an attempt failed or was counted), duplicates (it succeeded twice). */
function repeatedDeliveries(list: readonly Delivery[], anomalies: Anomaly[]): void {
  const first = list[0]!;
  const { producer, group } = first;
  const consumer = first.consumer;
  const eventType = first.hop.eventType;
  const destination = first.hop.destination;
  const highestAttempt = list.reduce((highest, d) => Math.max(highest, d.consumer.attempt ?? 1), 1);
  const failed = list.some((d) => d.consumer.error);
  if (list.length > 1 || highestAttempt > 1) {
    if (failed || highestAttempt > 1) {
      const attempts = Math.max(list.length, highestAttempt);
      const succeeded = !list.at(-1)!.consumer.error;
      anomalies.push({
        type: 'retry', severity: succeeded ? 'info' : 'warning', producer: producer && refOf(producer), eventType, destination,
        consumerGroup: group, service: consumer.serviceName, attempts, succeeded, deliveries: list.map((d) => refOf(d.consumer)),
        message: `${group} took ${plural(attempts, 'attempt')} at ${named(eventType)}${succeeded ? '' : ', and the last one failed'}`,
      });
    }
  }
  const successes = list.filter((d) => !d.consumer.error);
  if (successes.length > 1) {
    anomalies.push({
      type: 'duplicate-delivery', severity: 'warning', producer: producer && refOf(producer), eventType, destination,
      consumerGroup: group, service: consumer.serviceName, deliveries: successes.map((d) => refOf(d.consumer)),
      repeatedAtMs: Math.min(...successes.slice(1).map((d) => d.consumer.startMs)),
      message: `${group} handled ${named(eventType)} ${successes.length} times: its handler must be idempotent`,
    });
  }
}

/** Per group, the first delivery of each message in handling order: one produced earlier but handled later is out of order. */
function outOfOrder(perMessage: ReadonlyMap<string, Delivery[]>, anomalies: Anomaly[]): void {
  const byGroup = new Map<string, Delivery[]>();
  for (const list of perMessage.values()) {
    const first = list[0]!;
    if (first.producer === null) continue;
    const entries = byGroup.get(first.group) ?? [];
    entries.push(first);
    byGroup.set(first.group, entries);
  }
  for (const [group, entries] of byGroup) {
    entries.sort((a, b) => a.consumer.startMs - b.consumer.startMs);
    let earliestLater: Delivery | undefined; // scanning back: the earliest-produced message handled after this one
    for (let i = entries.length - 1; i >= 0; i -= 1) {
      const handledFirst = entries[i]!;
      if (earliestLater !== undefined && earliestLater.producer!.startMs < handledFirst.producer!.startMs) {
        const producedFirst = earliestLater;
        anomalies.push({
          type: 'out-of-order', severity: 'warning', consumerGroup: group, service: handledFirst.consumer.serviceName,
          producedFirst: { eventType: producedFirst.hop.eventType, consumer: refOf(producedFirst.consumer) },
          handledFirst: { eventType: handledFirst.hop.eventType, consumer: refOf(handledFirst.consumer) },
          message: `${group} handled ${named(handledFirst.hop.eventType)} before ${named(producedFirst.hop.eventType)}, which was produced first`,
        });
        break;
      }
      if (earliestLater === undefined || handledFirst.producer!.startMs < earliestLater.producer!.startMs) earliestLater = handledFirst;
    }
  }
}

function orphans(spans: readonly FlowSpan[], consumed: ReadonlySet<FlowSpan>, nowMs: number, options: AnomalyOptions, anomalies: Anomaly[]): number | null {
  let recheckAtMs: number | null = null;
  for (const span of spans) {
    if (span.role !== 'producer' || consumed.has(span) || span.error) continue; // a failed send delivered nothing
    const dueMs = span.endMs + options.orphanAfterMs;
    if (dueMs > nowMs) {
      recheckAtMs = recheckAtMs === null ? dueMs : Math.min(recheckAtMs, dueMs);
      continue;
    }
    const orphan: OrphanEventAnomaly = {
      type: 'orphan-event', severity: 'warning', producer: refOf(span), eventType: span.eventType, destination: span.destination,
      service: span.serviceName, producedAtMs: span.endMs,
      message: `${named(span.eventType)} from ${span.serviceName}${onTopic(span.destination)} was not handled by any consumer within ${ms(options.orphanAfterMs)}`,
    };
    anomalies.push(orphan);
  }
  return recheckAtMs;
}

/**
 * The consumer started a new trace although its message could be matched (by Kafka message or key), or
 * its instrumentation says the context was missing or unreadable.
 */
function propagationGap({ hop, consumer, producer, group }: Delivery, anomalies: Anomaly[]): void {
  const matchedAcrossTraces = producer !== null && (hop.joinedBy === 'message' || hop.joinedBy === 'key') && producer.traceId !== consumer.traceId;
  const reportedLost = consumer.contextStatus !== null && LOST_CONTEXT.includes(consumer.contextStatus);
  if (!matchedAcrossTraces && !reportedLost) return;
  const how = producer === null ? '' : `; matched to ${producer.serviceName}'s span by ${hop.joinedBy === 'message' ? 'the Kafka message' : 'the business key'}`;
  anomalies.push({
    type: 'propagation-gap', severity: 'warning', service: consumer.serviceName, destination: hop.destination, consumerGroup: group,
    consumer: refOf(consumer), producer: producer && refOf(producer), joinedBy: producer === null ? null : hop.joinedBy,
    contextStatus: consumer.contextStatus, lostAtMs: consumer.startMs,
    message: `context lost at ${consumer.serviceName}${onTopic(hop.destination)}${how}`,
  });
}

function clockSkew({ hop, consumer, producer }: Delivery, anomalies: Anomaly[]): void {
  if (!hop.clockSkew || producer === null) return;
  const skewMs = producer.endMs - consumer.startMs;
  anomalies.push({
    type: 'clock-skew', severity: 'info', producer: refOf(producer), consumer: refOf(consumer), producerHost: producer.host,
    consumerHost: consumer.host, skewMs,
    message: `${consumer.host} started handling ${named(hop.eventType)} ${ms(skewMs)} before ${producer.host} finished sending it: their clocks disagree, the wait is shown as 0`,
  });
}
