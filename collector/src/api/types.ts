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

/** GET /api/flows/:businessKey/spans?limit=N — spans carrying the business key, by start time. */
export interface FlowSpansQuery {
  /** At most this many spans (default and maximum: the server's `maxQuerySpans`). */
  limit?: number;
}

export interface FlowSpansResponse {
  businessKey: string;
  spans: ApiSpan[];
  /** True when more spans carry the key than `limit` allowed. */
  truncated: boolean;
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
