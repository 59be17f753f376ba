/**
 * Every request and response shape of the collector's HTTP API, the one module the dashboard imports.
 * It imports nothing from the collector: these types are the contract, and `to-api-span.ts` maps the
 * core's records onto them. Times are milliseconds since the Unix epoch (fractional numbers).
 */

export type ApiAttributeValue = string | number | boolean | null | ApiAttributeValue[] | { [key: string]: ApiAttributeValue };
export type ApiAttributes = { [key: string]: ApiAttributeValue };

export type ApiSpanKind = 'unspecified' | 'internal' | 'server' | 'client' | 'producer' | 'consumer';
export type ApiStatusCode = 'unset' | 'ok' | 'error';

export interface ApiSpan {
  /** 32 lowercase hex digits. */
  traceId: string;
  /** 16 lowercase hex digits. */
  spanId: string;
  parentSpanId: string | null;
  name: string;
  kind: ApiSpanKind;
  startTimeMs: number;
  endTimeMs: number;
  status: { code: ApiStatusCode; message: string };
  serviceName: string;
  /** `choreoscope.business_key`, else `messaging.message.conversation_id`; null when neither is set. */
  businessKey: string | null;
  attributes: ApiAttributes;
  events: { name: string; timeMs: number; attributes: ApiAttributes }[];
  links: { traceId: string; spanId: string; attributes: ApiAttributes }[];
  resource: ApiAttributes;
  scope: { name: string; version: string };
}

/** GET /api/traces/:traceId — the trace's stored spans, by start time. */
export interface TraceResponse {
  traceId: string;
  spans: ApiSpan[];
}

/**
 * An answer's place in a paged listing: pass it back as `cursor` for the next page, with the same
 * filters. Opaque: built from the last span's (start time, trace id, span id), so pages neither repeat
 * nor skip a span while new ones arrive.
 */
export type ApiCursor = string;

/** GET /api/flows/:businessKey/spans?limit=N&cursor=C — spans carrying the business key, oldest first. */
export interface FlowSpansQuery {
  /** At most this many spans (default and maximum: the server's `maxQuerySpans`). */
  limit?: number;
  /** The previous page's `nextCursor`. */
  cursor?: ApiCursor;
}

export interface FlowSpansResponse {
  businessKey: string;
  spans: ApiSpan[];
  /** True when more spans carry the key than this page holds. */
  truncated: boolean;
  /** The next page's `cursor`; null on the last page. */
  nextCursor: ApiCursor | null;
}

/** GET /api/spans — a span search, newest first; every filter given must hold. */
export interface SpanSearchQuery {
  /** The service's name (`service.name`). */
  service?: string;
  /** The span's name. */
  operation?: string;
  /**
   * `key:value`, repeatable: the span attribute `key` (up to the first colon) equals `value`, as a string
   * or, when `value` reads as one, as a number or boolean (`attr=messaging.kafka.offset:42`).
   */
  attr?: string | string[];
  /** Spans starting at or after this: RFC 3339 with a time zone (`2025-01-31T12:00:00.5Z`) or epoch milliseconds. */
  start?: string;
  /** Spans starting before this, in the same forms. */
  end?: string;
  minDurationMs?: number;
  maxDurationMs?: number;
  businessKey?: string;
  status?: ApiStatusCode;
  /** 1 to 1000; default 100. */
  limit?: number;
  cursor?: ApiCursor;
}

export interface SpanSearchResponse {
  spans: ApiSpan[];
  /** The next page's `cursor`; null on the last page. */
  nextCursor: ApiCursor | null;
}

/** GET /api/services — every service that sent spans, by name. */
export interface ServicesResponse {
  services: ApiService[];
}

export interface ApiService {
  name: string;
  spanCount: number;
  /** The latest end time of its spans. */
  lastSeenMs: number;
}

/** GET /api/services/:service/operations — the service's span names with their kinds, by name then kind. */
export interface OperationsResponse {
  service: string;
  operations: ApiOperation[];
}

export interface ApiOperation {
  /** The span name. */
  name: string;
  kind: ApiSpanKind;
  spanCount: number;
}

/**
 * GET /api/links/:traceId/:spanId — the span's links, both ways: which spans link to it (who consumed
 * this producer span) and which stored spans it links to (which producers this consumer span read).
 * Each list by start time; empty when there is none, or none stored yet.
 */
export interface SpanLinksResponse {
  traceId: string;
  spanId: string;
  linkedBy: ApiSpan[];
  linksTo: ApiSpan[];
}

/** GET /healthz: the process answers. */
export interface HealthResponse {
  status: 'ok';
}

/** GET /readyz: 200 when the store answers, else 503 with an `ApiErrorBody`. */
export interface ReadyResponse {
  status: 'ready';
}

/** The body of every 4xx/5xx answer of the query API; `code` is one of docs/api-errors.md. */
export interface ApiErrorBody {
  error: { code: string; message: string };
}
