/**
 * Spans for the query API's tests, described by what the queries filter on (service, name, start,
 * duration, status, business key, attributes) and posted as OTLP/JSON, one resource per service.
 */
import assert from 'node:assert/strict';
import { jsonRequest, jsonSpan, postTraces, spanId, traceId, type Answer } from './helpers.ts';

export interface Seed {
  service: string;
  name: string;
  /** Milliseconds since the epoch; whole, so the nanoseconds sent are exact. */
  startMs: number;
  durationMs: number;
  status?: 'ok' | 'error';
  businessKey?: string;
  attributes?: Record<string, string | number | boolean>;
  links?: { traceId: string; spanId: string }[];
  /** OTLP's SpanKind number; default 5 (consumer). */
  kind?: number;
  /** Default: new random ids. */
  traceId?: string;
  spanId?: string;
}

/** A seed with its ids decided. */
export type SeededSpan = Seed & { traceId: string; spanId: string };

const STATUS_CODES = { ok: 1, error: 2 };

function anyValue(value: string | number | boolean): Record<string, unknown> {
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  return Number.isInteger(value) ? { intValue: value } : { doubleValue: value };
}

const nanos = (ms: number): string => (BigInt(ms) * 1_000_000n).toString();

/** Posts the seeds (one request per service) and returns them with their ids. */
export async function postSeeds(url: string, seeds: Seed[]): Promise<SeededSpan[]> {
  const seeded = seeds.map((seed) => ({ ...seed, traceId: seed.traceId ?? traceId(), spanId: seed.spanId ?? spanId() }));
  for (const service of new Set(seeded.map((s) => s.service))) {
    const spans = seeded.filter((s) => s.service === service).map((s) => jsonSpan({
      traceId: s.traceId,
      spanId: s.spanId,
      name: s.name,
      ...(s.kind === undefined ? {} : { kind: s.kind }),
      startTimeUnixNano: nanos(s.startMs),
      endTimeUnixNano: nanos(s.startMs + s.durationMs),
      status: s.status === undefined ? {} : { code: STATUS_CODES[s.status] },
      attributes: Object.entries({ ...s.attributes, ...(s.businessKey === undefined ? {} : { 'choreoscope.business_key': s.businessKey }) })
        .map(([key, value]) => ({ key, value: anyValue(value) })),
      links: (s.links ?? []).map((link) => ({ traceId: link.traceId, spanId: link.spanId })),
    }));
    const answer = await postTraces(url, JSON.stringify(jsonRequest(spans, service)));
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual(answer.json, {}, 'every span stored');
  }
  return seeded;
}

/** The API's order for a search: newest first by start time, then trace id, then span id. */
export function newestFirst(a: SeededSpan, b: SeededSpan): number {
  return b.startMs - a.startMs || compare(b.traceId, a.traceId) || compare(b.spanId, a.spanId);
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The spans of an answer as `traceId/spanId` keys, in the answer's order. */
export function keysOf(answer: Answer): string[] {
  assert.equal(answer.status, 200, answer.text);
  return (answer.json as { spans: { traceId: string; spanId: string }[] }).spans.map((s) => `${s.traceId}/${s.spanId}`);
}

export const keyOf = (span: { traceId: string; spanId: string }): string => `${span.traceId}/${span.spanId}`;
