/**
 * The event catalogue discovered from traffic: for each event type and topic, who produces it, which
 * services and groups consume it, the attribute keys its spans carry, and how many went by, per minute.
 * Pure: the flow worker counts each messaging span once, when assembly first places it in a flow, and
 * stores these deltas with that flow write.
 */
import type { FlowSpan } from './flow-span.ts';

/** Attribute keys kept per catalogue entry: the first this many seen, in name order. */
export const MAX_CATALOG_ATTRIBUTE_KEYS = 100;

/** One producing service, or one consuming service and group, of one event type on one topic. */
export interface CatalogEntry {
  eventType: string;
  /** '' when the spans named no topic. */
  destination: string;
  role: 'producer' | 'consumer';
  service: string;
  /** '' for producers, and for consumers that named no group. */
  consumerGroup: string;
  spans: number;
  firstSeenMs: number;
  lastSeenMs: number;
  attributeKeys: string[];
}

/** Events produced in one minute (by the producer span's start). */
export interface CatalogMinute {
  eventType: string;
  destination: string;
  minuteMs: number;
  produced: number;
}

export interface CatalogDelta {
  entries: CatalogEntry[];
  minutes: CatalogMinute[];
}

/** The catalogue's deltas for spans newly placed in flows, with their attribute keys. */
export function catalogDelta(spans: readonly { span: FlowSpan; attributeKeys: readonly string[] }[]): CatalogDelta {
  // keys gathered as sets while counting and sorted once per entry: most spans of an entry carry the same keys
  const entries = new Map<string, { entry: CatalogEntry; keys: Set<string> }>();
  const minutes = new Map<string, CatalogMinute>();
  for (const { span, attributeKeys } of spans) {
    if ((span.role !== 'producer' && span.role !== 'consumer') || span.eventType === null) continue;
    const destination = span.destination ?? '';
    const consumerGroup = span.role === 'consumer' ? span.consumerGroup ?? '' : '';
    const id = JSON.stringify([span.eventType, destination, span.role, span.serviceName, consumerGroup]);
    let found = entries.get(id);
    if (found === undefined) {
      found = {
        entry: {
          eventType: span.eventType, destination, role: span.role, service: span.serviceName, consumerGroup,
          spans: 0, firstSeenMs: span.startMs, lastSeenMs: span.endMs, attributeKeys: [],
        },
        keys: new Set(),
      };
      entries.set(id, found);
    }
    const { entry, keys } = found;
    entry.spans += 1;
    entry.firstSeenMs = Math.min(entry.firstSeenMs, span.startMs);
    entry.lastSeenMs = Math.max(entry.lastSeenMs, span.endMs);
    for (const key of attributeKeys) keys.add(key);
    // only the first keys in name order are kept: trimming now and then keeps that exact and the set small
    if (keys.size > 4 * MAX_CATALOG_ATTRIBUTE_KEYS) found.keys = new Set([...keys].sort().slice(0, MAX_CATALOG_ATTRIBUTE_KEYS));
    if (span.role === 'producer') {
      const minuteMs = Math.floor(span.startMs / 60_000) * 60_000;
      const minuteId = JSON.stringify([span.eventType, destination, minuteMs]);
      const minute = minutes.get(minuteId) ?? { eventType: span.eventType, destination, minuteMs, produced: 0 };
      minute.produced += 1;
      minutes.set(minuteId, minute);
    }
  }
  return {
    entries: [...entries.values()].map(({ entry, keys }) => ({ ...entry, attributeKeys: [...keys].sort().slice(0, MAX_CATALOG_ATTRIBUTE_KEYS) })),
    minutes: [...minutes.values()],
  };
}
