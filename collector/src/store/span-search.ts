/**
 * What the query API asks the store for beyond a trace: a span search with keyset pagination, the
 * services and operations seen. Plain data, the same for every store; `queries.ts` turns it into SQL.
 */
import type { BusinessKey, SpanId, SpanKind, SpanRecord, StatusCode, TraceId } from '../core/span.ts';

/**
 * Where a span sits in start-time order, the key pages continue from: the start time as stored (RFC
 * 3339 in UTC, to the microsecond: `2023-11-14T22:13:20.123456Z`), then trace and span id as ties.
 */
export interface SpanPosition {
  startTime: string;
  traceId: TraceId;
  spanId: SpanId;
}

/** The span's attribute `key` equals one of `anyOf` (e.g. the string "42" or the number 42). */
export interface AttributeMatch {
  key: string;
  anyOf: (string | number | boolean)[];
}

export type SpanOrder = 'newest-first' | 'oldest-first';

/** Every filter given must hold. */
export interface SpanSearch {
  serviceName?: string;
  /** The span's name (the operation). */
  name?: string;
  attributes?: AttributeMatch[];
  businessKey?: BusinessKey;
  statusCode?: StatusCode;
  /** Spans starting at or after this, in milliseconds since the Unix epoch. */
  startFromMs?: number;
  /** Spans starting before this. */
  startBeforeMs?: number;
  /** Spans lasting at least this long (inclusive). */
  minDurationMs?: number;
  /** Spans lasting at most this long (inclusive). */
  maxDurationMs?: number;
  /** By start time, then trace id and span id, in this direction. */
  order: SpanOrder;
  /** Only spans strictly after this position in `order`: the previous page's `next`. */
  after?: SpanPosition;
  /** At most this many spans. */
  limit: number;
}

export interface SpanPage {
  spans: SpanRecord[];
  /** Where the next page starts (the last span's position), or null when no span follows. */
  next: SpanPosition | null;
}

export interface ServiceSummary {
  serviceName: string;
  spanCount: number;
  /** The latest end time of the service's spans, in milliseconds since the Unix epoch (to the µs). */
  lastSeenMs: number;
}

/** One (span name, kind) pair of a service's spans. */
export interface OperationSummary {
  name: string;
  kind: SpanKind;
  spanCount: number;
}
