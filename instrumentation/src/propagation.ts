import {
  ROOT_CONTEXT, isSpanContextValid, propagation, trace,
  type Context, type SpanContext, type TextMapGetter, type TextMapSetter,
} from '@opentelemetry/api';
import type { IHeaders } from 'kafkajs';
import { getBusinessKey, setBusinessKey, type BusinessKey } from './flow-context.ts';
import { SafeHeaders, type DropReason } from './safe-headers.ts';
import {
  HEADER_BAGGAGE, HEADER_BUSINESS_KEY, HEADER_CLOUDEVENTS_TYPE, HEADER_EVENT_TYPE, HEADER_TRACEPARENT,
  type ContextStatus,
} from './semconv.ts';

const safeGetter: TextMapGetter<SafeHeaders> = {
  keys: (carrier) => carrier.keys(),
  get: (carrier, key) => carrier.get(key),
};

/** Writes string headers into a fresh headers object; the user's own object is never mutated. */
const headerSetter: TextMapSetter<IHeaders> = {
  set(carrier, key, value) {
    for (const name of Object.keys(carrier)) if (name !== key && name.toLowerCase() === key) delete carrier[name];
    carrier[key] = value;
  },
};

/** What a consumed message says about where it came from. */
export interface ReceivedContext {
  /** Baggage, business key and (when valid) the producer's span context: the context to work in. */
  context: Context;
  /** The producer's span context, when one arrived intact. */
  producer: SpanContext | undefined;
  status: ContextStatus;
  /** Header names refused as untrustworthy, with why. */
  droppedHeaders: Map<string, DropReason>;
  businessKey: BusinessKey | undefined;
  eventType: string | undefined;
}

/**
 * Reads trace context, baggage, business key and event type from a consumed message's headers. Never
 * throws: a missing, malformed or hostile header yields a fresh context and a status that says why.
 */
export function extractFromHeaders(headers: IHeaders | undefined, fallbackKey?: () => string | undefined): ReceivedContext {
  const safe = new SafeHeaders(headers);
  let extracted = propagation.extract(ROOT_CONTEXT, safe, safeGetter);
  const spanContext = trace.getSpanContext(extracted);
  const producer = spanContext && isSpanContextValid(spanContext) ? spanContext : undefined;

  const baggageHeader = safe.get(HEADER_BAGGAGE);
  const baggageEntries = propagation.getBaggage(extracted)?.getAllEntries().length ?? 0;
  if (baggageHeader && baggageHeader.split(',').length > baggageEntries) safe.dropped.set(HEADER_BAGGAGE, 'truncated');

  let status: ContextStatus = 'propagated';
  if (!producer) {
    if (safe.dropped.has(HEADER_TRACEPARENT)) status = 'dropped';
    else status = safe.has(HEADER_TRACEPARENT) ? 'malformed' : 'missing';
  }

  const businessKey = boundedKey(safe.get(HEADER_BUSINESS_KEY)) ?? boundedKey(safeCall(fallbackKey)) ?? boundedKey(getBusinessKey(extracted));
  if (businessKey !== undefined) extracted = setBusinessKey(extracted, businessKey);
  return {
    context: extracted,
    producer,
    status,
    droppedHeaders: safe.dropped,
    businessKey,
    eventType: safe.get(HEADER_EVENT_TYPE) ?? safe.get(HEADER_CLOUDEVENTS_TYPE),
  };
}

/**
 * The headers a produced message goes out with: the user's, plus W3C trace context and baggage of
 * `ctx` (through the globally configured propagator) and Choreoscope's business key and event type.
 */
export function headersWithContext(
  userHeaders: IHeaders | undefined,
  ctx: Context,
  flow: { businessKey: BusinessKey | undefined; eventType: string | undefined },
): IHeaders {
  // Not `{ ...userHeaders }`: V8 adds properties to a spread copy tens of times slower, and this adds two per
  // message. Spread only for an own `__proto__` header, which Object.assign would set as the prototype instead.
  const headers: IHeaders = userHeaders && Object.hasOwn(userHeaders, '__proto__') ? { ...userHeaders } : Object.assign({}, userHeaders);
  propagation.inject(ctx, headers, headerSetter);
  if (flow.businessKey !== undefined) headerSetter.set(headers, HEADER_BUSINESS_KEY, flow.businessKey);
  if (flow.eventType !== undefined) headerSetter.set(headers, HEADER_EVENT_TYPE, flow.eventType);
  return headers;
}

/** Keys longer than this are not ids but payload (or an attack): they are not recorded. */
export const MAX_BUSINESS_KEY_BYTES = 256;

/** The key when it is a sane id: non-empty, bounded, no control characters. */
export function boundedKey(key: string | undefined): string | undefined {
  if (key === undefined || key === '' || Buffer.byteLength(key) > MAX_BUSINESS_KEY_BYTES) return undefined;
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001f\u007f]/.test(key) ? undefined : key;
}

/** A user-supplied function must never break a send or a handler. */
export function safeCall<T>(fn: (() => T | undefined) | undefined): T | undefined {
  if (!fn) return undefined;
  try {
    return fn() ?? undefined;
  } catch {
    return undefined;
  }
}
