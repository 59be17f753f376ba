// Span records back into an OTLP/JSON export (one resource per service), as an SDK would send them.
import { otlpKeyValues as keyValues } from '@choreoscope/test-support';
import type { SpanKind, SpanRecord } from '../collector/src/core/span.ts';

const KINDS: Record<SpanKind, number> = { unspecified: 0, internal: 1, server: 2, client: 3, producer: 4, consumer: 5 };
const STATUS = { unset: 0, ok: 1, error: 2 };
const nanos = (ms: number) => (BigInt(Math.round(ms * 1000)) * 1000n).toString();

export function toOtlpJson(records: readonly SpanRecord[]): { resourceSpans: unknown[] } {
  const byService = new Map<string, SpanRecord[]>();
  for (const record of records) byService.set(record.serviceName, [...(byService.get(record.serviceName) ?? []), record]);
  return {
    resourceSpans: [...byService.values()].map((spans) => ({
      resource: { attributes: keyValues(spans[0]!.resource) },
      scopeSpans: [{
        scope: spans[0]!.scope,
        spans: spans.map((span) => ({
          traceId: span.traceId,
          spanId: span.spanId,
          parentSpanId: span.parentSpanId ?? '',
          name: span.name,
          kind: KINDS[span.kind],
          startTimeUnixNano: nanos(span.startTimeMs),
          endTimeUnixNano: nanos(span.endTimeMs),
          attributes: keyValues(span.attributes),
          links: span.links.map((link) => ({ traceId: link.traceId, spanId: link.spanId, attributes: keyValues(link.attributes) })),
          status: { code: STATUS[span.status.code], message: span.status.message },
        })),
      }],
    })),
  };
}
