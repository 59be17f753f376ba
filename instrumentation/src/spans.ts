import { SpanStatusCode, trace, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import type { ResolvedOptions } from './options.ts';
import { ATTR_ERROR_TYPE, ATTR_MESSAGING_KAFKA_MESSAGE_KEY, ATTR_MESSAGING_KAFKA_MESSAGE_TOMBSTONE, ATTR_MESSAGING_MESSAGE_BODY_SIZE } from './semconv.ts';

export const INSTRUMENTATION_NAME = '@choreoscope/instrumentation';
export const INSTRUMENTATION_VERSION = '0.1.0';

export function tracerFor(options: ResolvedOptions): Tracer {
  return (options.tracerProvider ?? trace.getTracerProvider()).getTracer(INSTRUMENTATION_NAME, INSTRUMENTATION_VERSION);
}

/** Marks the span failed with the app's own error; the caller rethrows it unchanged. */
export function markFailed(span: Span, error: unknown): void {
  const err = error instanceof Error ? error : new Error(String(error));
  span.recordException(err);
  span.setAttribute(ATTR_ERROR_TYPE, err.name && err.name !== 'Error' ? err.name : err.constructor?.name ?? 'Error');
  span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
}

const MAX_KEY_ATTRIBUTE_BYTES = 256;

/** Key, tombstone and size attributes shared by producer and consumer spans. */
export function messageAttributes(
  key: Buffer | string | null | undefined,
  value: Buffer | string | null,
  options: ResolvedOptions,
): Attributes {
  const attributes: Attributes = {
    [ATTR_MESSAGING_MESSAGE_BODY_SIZE]: value === null ? 0 : typeof value === 'string' ? Buffer.byteLength(value) : value.length,
  };
  if (value === null) attributes[ATTR_MESSAGING_KAFKA_MESSAGE_TOMBSTONE] = true;
  if (options.recordMessageKey && key !== null && key !== undefined) {
    const text = typeof key === 'string' ? key : key.length <= MAX_KEY_ATTRIBUTE_BYTES ? key.toString('utf8') : undefined;
    // Binary or huge keys are not ids a person reads: leave them out rather than record noise.
    if (text !== undefined && Buffer.byteLength(text) <= MAX_KEY_ATTRIBUTE_BYTES && !text.includes('\ufffd')) {
      attributes[ATTR_MESSAGING_KAFKA_MESSAGE_KEY] = text;
    }
  }
  return attributes;
}
