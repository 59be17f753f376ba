/**
 * GET /api/catalog: the event catalogue the flow worker counts from traffic (core/catalog.ts), one
 * entry per event type, with the rate of the last five minutes.
 */
import type { FastifyInstance } from 'fastify';
import type { CatalogEntry } from '../core/catalog.ts';
import type { SpanStore } from '../store/store.ts';
import { asyncApiDocument } from './asyncapi.ts';
import { COLLECTOR_VERSION } from './openapi.ts';
import { errorResponses, responseObject } from './schemas.ts';
import type { ApiCatalogEvent, AsyncApiDocument, CatalogResponse } from './types.ts';

const RATE_WINDOW_MS = 300_000;

const string = { type: 'string' };
const number = { type: 'number' };
const integer = { type: 'integer' };
const catalogEvent = responseObject({
  eventType: string,
  topics: { type: 'array', items: string },
  producers: { type: 'array', items: responseObject({ service: string, spans: integer, lastSeenMs: number }) },
  consumers: { type: 'array', items: responseObject({ service: string, consumerGroup: { type: ['string', 'null'] }, spans: integer, lastSeenMs: number }) },
  attributeKeys: { type: 'array', items: string },
  produced: integer,
  consumed: integer,
  ratePerSecond: number,
  firstSeenMs: number,
  lastSeenMs: number,
});

export async function catalogRoutes(app: FastifyInstance, options: { store: SpanStore }): Promise<void> {
  app.get('/api/catalog', {
    schema: {
      tags: ['flows'],
      summary: 'The event catalogue',
      description: 'Every event type seen, by name: the topics it travels on, producing services, consuming services and groups, '
        + 'the attribute keys its spans carry, how many were produced and consumed, the rate of the last five minutes, and when '
        + 'it was first and last seen. Counted as flows are assembled, each span once.',
      response: {
        200: responseObject({ atMs: number, rateWindowMs: integer, events: { type: 'array', items: catalogEvent } }, 'the catalogue'),
        ...errorResponses(),
      },
    },
  }, async (): Promise<CatalogResponse> => {
    const atMs = Date.now();
    const { entries, producedSince } = await options.store.flows.catalog(atMs - RATE_WINDOW_MS);
    const recent = new Map<string, number>();
    for (const rate of producedSince) recent.set(rate.eventType, (recent.get(rate.eventType) ?? 0) + rate.produced);
    const byType = groupBy(entries, (entry) => entry.eventType);
    const events = [...byType].map(([eventType, list]) => toEvent(eventType, list, (recent.get(eventType) ?? 0) / (RATE_WINDOW_MS / 1000)));
    return { atMs, rateWindowMs: RATE_WINDOW_MS, events: events.sort((a, b) => (a.eventType < b.eventType ? -1 : 1)) };
  });

  app.get('/api/catalog/asyncapi', {
    schema: {
      tags: ['flows'],
      summary: 'The choreography as observed, as an AsyncAPI 3.0 document',
      description: 'Channels (topics) with the event types seen on each, a message per event type with the span attribute keys it carried, '
        + 'and per service the send and receive operations seen (receive with its Kafka consumer group). Generated from traffic; payloads are not observed.',
      response: { 200: { type: 'object', additionalProperties: true, description: 'an AsyncAPI 3.0.0 document' }, ...errorResponses() },
    },
  }, async (): Promise<AsyncApiDocument> => asyncApiDocument((await options.store.flows.catalog(Date.now())).entries, Date.now(), COLLECTOR_VERSION));
}

function toEvent(eventType: string, entries: CatalogEntry[], ratePerSecond: number): ApiCatalogEvent {
  const producers = entries.filter((e) => e.role === 'producer');
  const consumers = entries.filter((e) => e.role === 'consumer');
  const sum = (list: CatalogEntry[]) => list.reduce((total, e) => total + e.spans, 0);
  const bySpans = <T extends { spans: number }>(list: T[]) => list.sort((a, b) => b.spans - a.spans);
  return {
    eventType,
    topics: [...new Set(entries.map((e) => e.destination).filter((d) => d !== ''))].sort(),
    producers: bySpans(merge(producers, (e) => e.service).map(([service, list]) => ({ service, spans: sum(list), lastSeenMs: lastSeen(list) }))),
    consumers: bySpans(merge(consumers, (e) => JSON.stringify([e.service, e.consumerGroup])).map(([, list]) => ({
      service: list[0]!.service, consumerGroup: list[0]!.consumerGroup === '' ? null : list[0]!.consumerGroup, spans: sum(list), lastSeenMs: lastSeen(list),
    }))),
    attributeKeys: [...new Set(entries.flatMap((e) => e.attributeKeys))].sort(),
    produced: sum(producers),
    consumed: sum(consumers),
    ratePerSecond,
    firstSeenMs: entries.reduce((first, e) => Math.min(first, e.firstSeenMs), Number.POSITIVE_INFINITY),
    lastSeenMs: lastSeen(entries),
  };
}

/** Entries of several topics grouped under one key (a service, a service and group). */
const merge = (entries: CatalogEntry[], key: (entry: CatalogEntry) => string): [string, CatalogEntry[]][] => [...groupBy(entries, key)];

/** Map.groupBy, which Node 20 lacks. */
function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(key(item));
    if (group) group.push(item);
    else groups.set(key(item), [item]);
  }
  return groups;
}
const lastSeen = (entries: CatalogEntry[]): number => entries.reduce((last, e) => Math.max(last, e.lastSeenMs), Number.NEGATIVE_INFINITY);
