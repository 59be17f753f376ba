import type { SpanRecord } from '../core/span.ts';
import type { ApiSpan } from './types.ts';

/**
 * A span record as the API answers it. The shapes match field for field today; the mapping is here so
 * the record can grow without the API (and the dashboard) changing with it.
 */
export function toApiSpan(span: SpanRecord): ApiSpan {
  return {
    traceId: span.traceId,
    spanId: span.spanId,
    parentSpanId: span.parentSpanId,
    name: span.name,
    kind: span.kind,
    startTimeMs: span.startTimeMs,
    endTimeMs: span.endTimeMs,
    status: span.status,
    serviceName: span.serviceName,
    businessKey: span.businessKey,
    attributes: span.attributes,
    events: span.events,
    links: span.links,
    resource: span.resource,
    scope: span.scope,
  };
}
