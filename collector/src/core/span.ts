/**
 * The span record the core works on. Ingest decodes each OTLP span into one of these once, at the edge;
 * from there on nothing looks at protobuf or OTLP/JSON again. A record is plain JSON: it is stored as
 * it is, answered by the API as it is, and compared with `deepStrictEqual` in tests.
 *
 * Times are milliseconds since the Unix epoch as (fractional) numbers: the unit of `now` (`Date.now()`)
 * the core is given, so a latency is a subtraction. OTLP's nanoseconds are converted exactly to the
 * whole millisecond plus a fraction; a double keeps that fraction to about 0.25 µs at today's dates,
 * far below the clock skew between two services.
 */

/** 32 lowercase hex digits (16 bytes), never all zeros. */
export type TraceId = string;
/** 16 lowercase hex digits (8 bytes), never all zeros. */
export type SpanId = string;
/** The business flow a span belongs to, e.g. the order id: the same on every hop of one order. */
export type BusinessKey = string;

export type SpanKind = 'unspecified' | 'internal' | 'server' | 'client' | 'producer' | 'consumer';
export type StatusCode = 'unset' | 'ok' | 'error';

/** An attribute value, flattened from OTLP's AnyValue into JSON. See `AttributeValue` rules in ingest. */
export type AttributeValue = string | number | boolean | null | AttributeValue[] | { [key: string]: AttributeValue };
export type Attributes = { [key: string]: AttributeValue };

export interface SpanStatus {
  code: StatusCode;
  message: string;
}

export interface SpanEvent {
  name: string;
  timeMs: number;
  attributes: Attributes;
}

/** A pointer from this span to another one, in this trace or another (e.g. a batch consumer to each producer). */
export interface SpanLink {
  traceId: TraceId;
  spanId: SpanId;
  attributes: Attributes;
}

export interface InstrumentationScope {
  name: string;
  version: string;
}

export interface SpanRecord {
  traceId: TraceId;
  spanId: SpanId;
  /** null for a root span. */
  parentSpanId: SpanId | null;
  name: string;
  kind: SpanKind;
  startTimeMs: number;
  /** Never before `startTimeMs`. */
  endTimeMs: number;
  status: SpanStatus;
  attributes: Attributes;
  events: SpanEvent[];
  links: SpanLink[];
  /** The resource's `service.name`; `unknown_service` when it has none, as the OpenTelemetry SDKs do. */
  serviceName: string;
  resource: Attributes;
  scope: InstrumentationScope;
  /** Read from the span's attributes once, at ingest (see `business-key.ts`); null when it carries none. */
  businessKey: BusinessKey | null;
}

/** The key a span is stored under: ingesting the same span twice stores it once. */
export function spanKey(span: Pick<SpanRecord, 'traceId' | 'spanId'>): string {
  return `${span.traceId}/${span.spanId}`;
}
